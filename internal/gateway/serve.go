package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// Header names the gateway owns.
const (
	HeaderDecisionID = "X-Gatehouse-Decision-Id"
	HeaderPrincipal  = "X-Gatehouse-Principal"
	HeaderGroups     = "X-Gatehouse-Groups"
	// HeaderAPI names the API on the forward-auth endpoint's root path.
	HeaderAPI = "X-Gatehouse-Api"
)

// methodOverrideHeaders are dropped from every request: the method authorized is the method
// sent, and an upstream framework honouring an override would run another one.
var methodOverrideHeaders = []string{"X-Http-Method-Override", "X-Http-Method", "X-Method-Override"}

// reqInfo is one request as the authorizers see it.
type reqInfo struct {
	header     http.Header
	sub        string // canonical path under the API's base path
	rawQuery   string
	clientIP   netip.Addr
	clientStr  string // clientIP as text ("" when unknown)
	trusted    bool   // the peer is a trusted proxy
	secure     bool
	api        *api
	match      router.Match
	route      *route
	decisionID string
	rev        int64
	start      time.Time // set only when decisions are observed

	// Facts about the decision for Deps.OnDecision, filled by the authorizers.
	cached    bool
	storeID   string
	storeRev  int64
	policies  []string
	tokenHash string
}

// outcome is an authorizer's answer.
type outcome struct {
	allow     bool
	resp      string // response type when denied
	message   string // $context.error.message
	reason    Reason
	principal string
	groups    []string
	claims    []string
}

func deny(resp, message string, reason Reason) outcome {
	return outcome{resp: resp, message: message, reason: reason}
}

func newDecisionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return id.String()
}

// Handler returns the data-plane handler.
func (g *Gateway) Handler() http.Handler { return http.HandlerFunc(g.serveHTTP) }

func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	id := newDecisionID()
	w.Header().Set(HeaderDecisionID, id)
	ctx := r.Context()
	var start time.Time
	if g.deps.OnDecision != nil {
		start = time.Now()
	}
	if g.failStale(ctx, w, SourceGateway, id, start, r.Method, addrString(parseRemote(r.RemoteAddr))) {
		return
	}
	st, err := g.state(ctx)
	if err != nil {
		g.early(ctx, SourceGateway, id, start, r.Method, addrString(parseRemote(r.RemoteAddr)), "", nil, ReasonGatewayUnavailable, http.StatusInternalServerError)
		writeResponse(w, defaults[respAuthorizerFail], &vars{requestID: id})
		return
	}
	canon, err := router.Canonicalize(r.URL.EscapedPath())
	if err != nil {
		g.early(ctx, SourceGateway, id, start, r.Method, addrString(parseRemote(r.RemoteAddr)), "", nil, ReasonBadPath, http.StatusBadRequest, "err", err)
		writeBadPath(w, http.StatusBadRequest)
		return
	}
	a, sub := st.pick(canon)
	if a == nil {
		g.early(ctx, SourceGateway, id, start, r.Method, addrString(parseRemote(r.RemoteAddr)), canon, nil, ReasonNoAPI, http.StatusForbidden)
		writeResponse(w, defaults[respMissingToken], &vars{path: canon, requestID: id, errMessage: msgMissingToken, responseType: respMissingToken})
		return
	}
	m, ok := a.table.Match(r.Method, sub)
	if !ok {
		v := &vars{path: canon, httpMethod: r.Method, stage: a.stage, apiID: a.id, requestID: id, errMessage: msgMissingToken, responseType: respMissingToken}
		g.early(ctx, SourceGateway, id, start, r.Method, addrString(parseRemote(r.RemoteAddr)), canon, a, ReasonNoRoute, a.responses[respMissingToken].status)
		writeResponse(w, a.responses[respMissingToken], v)
		return
	}
	for _, h := range methodOverrideHeaders {
		r.Header.Del(h)
	}
	q := &reqInfo{header: r.Header, sub: sub, rawQuery: r.URL.RawQuery, api: a, match: m,
		route: m.Route.Value.(*route), decisionID: id, rev: st.rev, start: start}
	q.clientIP, q.trusted = g.clientIP(r.RemoteAddr, r.Header)
	q.clientStr = addrString(q.clientIP)
	q.secure = r.TLS != nil || (q.trusted && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"))

	var out outcome
	if upgradeRefused(r.Method, r.Header, q.route.websocket) {
		out = deny(respBadParameters, msgUpgrade, ReasonUpgradeRefused)
	} else {
		out = g.authorize(ctx, q)
	}
	v := &vars{path: canon, resourcePath: q.route.path, httpMethod: r.Method, stage: a.stage, apiID: a.id,
		requestID: id, principalID: out.principal, sourceIP: q.clientStr}
	if !out.allow {
		g.respondDenied(ctx, w, SourceGateway, r.Method, canon, q, out, v)
		return
	}
	rt := q.route
	if rt.mock != nil {
		g.decided(ctx, SourceGateway, r.Method, canon, q, out, 0)
		writeMock(w, r, rt.mock, v)
		return
	}
	if r.ContentLength > rt.maxBody {
		out.allow, out.reason = false, ReasonBodyTooLarge
		v.errMessage, v.responseType = msgTooLarge, respTooLarge
		g.decided(ctx, SourceGateway, r.Method, canon, q, out, a.responses[respTooLarge].status)
		writeResponse(w, a.responses[respTooLarge], v)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
	}
	g.decided(ctx, SourceGateway, r.Method, canon, q, out, 0)
	f := &forward{q: q, out: out, vars: v}
	rt.upstream.proxy.ServeHTTP(w, r.WithContext(context.WithValue(ctx, fwdKey{}, f)))
}

// upgradeRefused reports whether a request asks to switch protocols in a way the route does not
// allow. Once the upstream answers 101 the connection is a tunnel the gateway cannot read, so
// every request sent inside it would reach the upstream undecided: "Upgrade: h2c" would let a
// client speak HTTP/2 to any upstream path. Only a route with websocket: true takes an upgrade,
// and only a GET asking for exactly "websocket" (RFC 6455 §4.1); ReverseProxy then refuses a
// 101 for any other protocol. An Upgrade header without "Connection: upgrade", or an
// HTTP2-Settings header, counts as asking: a proxy in front may read them more loosely.
func upgradeRefused(method string, h http.Header, websocket bool) bool {
	up := h.Values("Upgrade")
	conn := connectionHasToken(h, "upgrade")
	if len(up) == 0 && !conn && h.Values("Http2-Settings") == nil {
		return false
	}
	if !websocket || method != http.MethodGet || !conn || len(up) != 1 {
		return true
	}
	return !strings.EqualFold(strings.TrimSpace(up[0]), "websocket")
}

// connectionHasToken reports whether the Connection header lists token (case-insensitively).
func connectionHasToken(h http.Header, token string) bool {
	for _, v := range h.Values("Connection") {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func (g *Gateway) respondDenied(ctx context.Context, w http.ResponseWriter, source, method, canon string, q *reqInfo, out outcome, v *vars) {
	resp := q.api.responses[out.resp]
	v.errMessage, v.responseType = out.message, out.resp
	g.decided(ctx, source, method, canon, q, out, resp.status)
	writeResponse(w, resp, v)
}

func writeBadPath(w http.ResponseWriter, status int) {
	body := `{"message":"Invalid request path"}`
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h["x-amzn-ErrorType"] = []string{"BadRequestException"}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

func writeMock(w http.ResponseWriter, r *http.Request, m *mock, v *vars) {
	body := m.body.render(v)
	h := w.Header()
	for k, val := range m.headers {
		h.Set(k, val)
	}
	h.Set("Content-Type", m.contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(m.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// pick finds the API whose base path is the longest prefix (on a segment boundary) of the
// canonical path, and the path under it ("/demo" and "/demo/" are both the root "/").
func (s *state) pick(canon string) (*api, string) {
	for _, a := range s.apis {
		if a.basePath == "/" {
			return a, canon
		}
		if strings.HasPrefix(canon, a.basePath) {
			rest := canon[len(a.basePath):]
			if rest == "" {
				return a, "/"
			}
			if rest[0] == '/' {
				return a, rest
			}
		}
	}
	return nil, ""
}

// clientIP returns the client address: the peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy.
func (g *Gateway) clientIP(remoteAddr string, h http.Header) (netip.Addr, bool) {
	peer := parseRemote(remoteAddr)
	if !g.isTrusted(peer) {
		return peer, false
	}
	xff := h.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer, true // unparseable: stop believing the chain
			}
			a = a.Unmap()
			if !g.isTrusted(a) {
				return a, true
			}
		}
	}
	return peer, true
}

func parseRemote(remoteAddr string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(remoteAddr); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

func (g *Gateway) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range g.deps.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

func (g *Gateway) logDeny(ctx context.Context, a *api, reason Reason, status int, id string, attrs ...any) {
	args := append([]any{"reason", string(reason), "status", status, "decisionId", id}, attrs...)
	if a != nil {
		args = append(args, "api", a.name)
	}
	g.log.InfoContext(ctx, "request denied", args...)
}

// early records a request refused before any route was found.
func (g *Gateway) early(ctx context.Context, source, id string, start time.Time, method, clientIP, canon string, a *api, reason Reason, status int, attrs ...any) {
	g.logDeny(ctx, a, reason, status, id, attrs...)
	if g.deps.OnDecision == nil {
		return
	}
	d := Decision{ID: id, Source: source, Time: start, Method: method, Path: canon, Reason: string(reason), Status: status,
		ClientIP: clientIP, Latency: time.Since(start)}
	if a != nil {
		d.API = a.name
	}
	g.deps.OnDecision(ctx, d)
}

// decided logs a decision on a route and hands it to Deps.OnDecision. status is the status
// answered for a denial, 0 when the request goes on to the upstream or mock.
func (g *Gateway) decided(ctx context.Context, source, method, canon string, q *reqInfo, out outcome, status int) {
	route := q.route.method + " " + q.route.path
	if !out.allow {
		g.logDeny(ctx, q.api, out.reason, status, q.decisionID, "route", route)
	} else if g.log.Enabled(ctx, slog.LevelDebug) {
		g.log.DebugContext(ctx, "request allowed", "api", q.api.name, "route", route,
			"principal", out.principal, "decisionId", q.decisionID, "source", source)
	}
	if g.deps.OnDecision == nil {
		return
	}
	d := Decision{ID: q.decisionID, Source: source, Time: q.start, API: q.api.name, Route: route,
		Authorizer: apidef.AuthorizerNone, AuthorizerType: apidef.AuthorizerNone, Method: method, Path: canon,
		ClientIP: q.clientStr, Allowed: out.allow, Status: status, Reason: string(out.reason),
		Principal: out.principal, TokenHash: q.tokenHash, PolicyStoreID: q.storeID, Revision: q.rev,
		DeterminingPolicies: q.policies, Cached: q.cached, Latency: time.Since(q.start)}
	if a := q.route.authz; a != nil {
		d.Authorizer, d.AuthorizerType = a.name, a.typeName()
	}
	if q.storeID != "" {
		d.Revision = q.storeRev
	}
	g.deps.OnDecision(ctx, d)
}

// isGatehouseHeader reports whether a header name is X-Gatehouse-*, case-insensitively and
// with '_' read as '-' (some upstream stacks treat them alike).
func isGatehouseHeader(name string) bool { return hasNormalizedPrefix(name, "x-gatehouse-") }

// hasNormalizedPrefix compares name's prefix to a lower-case prefix, folding case and '_'.
func hasNormalizedPrefix(name, prefix string) bool {
	if len(name) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		c := name[i]
		if c == '_' {
			c = '-'
		} else if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[i] {
			return false
		}
	}
	return true
}

func normalizedEqual(name, lower string) bool {
	return len(name) == len(lower) && hasNormalizedPrefix(name, lower)
}
