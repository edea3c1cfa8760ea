package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// Decision sources: Input.Source, reported as Decision.Source.
const (
	SourceGateway     = "gateway"
	SourceForwardAuth = "forward-auth"
	SourceExtAuthz    = "ext-authz"
	SourceLambda      = "lambda"
)

// Input is one request as a front door received it, before any interpretation: Check does the
// canonicalization, the API and route selection and the authorization.
type Input struct {
	// Source is the front door (SourceGateway, SourceForwardAuth, SourceExtAuthz,
	// SourceLambda): Decision.Source of the decision, for audit, metrics and logs.
	Source string
	// API names the API when the front door does (forward-auth's /apis/<name>); "" chooses it
	// by path as the gateway does (the longest base path that is a prefix of the path).
	API      string
	Method   string
	RawPath  string // the escaped path as the client sent it, without the query
	RawQuery string
	// Header holds the request headers. Check never modifies it.
	Header http.Header
	// Peer is the immediate peer. X-Forwarded-For and X-Forwarded-Proto are believed only when
	// it is in Deps.TrustedProxies, and forwarding headers from any other peer are in
	// Verdict.Remove.
	Peer netip.Addr
	// Client, when valid, is the client address as the front door established it (forward-auth's
	// X-Real-Ip, ext_authz's source address, Lambda's sourceIp); Peer and X-Forwarded-For are
	// then not consulted for the address.
	Client netip.Addr
	// TLS reports that the client connection used TLS (or a peer the front door trusts said so).
	TLS bool
	// ContentLength is the request body's length, -1 when unknown. A known length over the
	// route's maxBodyBytes is refused 413 (body_too_large) on routes with an upstream.
	ContentLength int64

	// fa is set by the forward-auth endpoint only (see forwardAuthInput).
	fa forwardAuthInput
}

// forwardAuthInput is what only the forward-auth endpoint asks of Check. nginx turns any status
// other than 2xx, 401 and 403 into an error, so every refusal before authorization is a 403
// from the default responses, and the API is always named (an empty name is unknown_api).
type forwardAuthInput struct {
	on bool // the request came through the forward-auth endpoint
	// refuse, when set, refuses the request once the API is known (headers the endpoint cannot
	// read one way only, or a client's identity header).
	refuse *refusal
}

// refusal is a front door's own reason to refuse a request before routing.
type refusal struct {
	reason Reason
	resp   string // response type of defaults
	msg    string
	attrs  []any // log attributes
}

// Verdict is Check's answer: what the gateway would do with the request, for any front door to
// carry out in its own protocol.
type Verdict struct {
	Allow bool
	// Status is 200 on allow, else the status the gateway answers.
	Status int
	// Body is, on deny, the gateway response body exactly as the proxy writes it.
	Body []byte
	// Header is, on deny, the response headers: X-Gatehouse-Decision-Id, the gateway response's
	// own headers, Content-Type and x-amzn-ErrorType. Content-Length is left to the transport.
	Header http.Header
	// Set is, on allow, the identity headers for the upstream request: X-Gatehouse-Decision-Id
	// always; X-Gatehouse-Principal, X-Gatehouse-Groups and X-Gatehouse-Claim-<Name> when the
	// request has such a fact, encoded as in doc.go.
	Set http.Header
	// Remove is, on allow, the names (as keyed in Input.Header) of headers the upstream must not
	// receive: every client X-Gatehouse-* spelling, forwarding headers (X-Forwarded-*,
	// Forwarded, X-Real-Ip, X-Original-*, X-Rewrite-Url) unless Peer is trusted, method
	// overrides, HTTP2-Settings and hop-by-hop headers (Connection and Upgrade are kept for a
	// websocket handshake the route allows).
	Remove []string
	// Principal, Groups: the identity decided on (also on a deny after the token was read).
	Principal string
	Groups    []string
	// Claims are the claims the API exposes (identityHeaders.claims) by claim name, valued as
	// in their X-Gatehouse-Claim-* headers (percent-encoded); nil when the API exposes none.
	Claims     map[string]string
	DecisionID string
	Reason     Reason // "" on allow
	APIName    string // "" when no API matched
	RouteKey   string // "METHOD /path" as written; "" when no route matched

	fwd *forward // the allowed request's facts for the proxy and forward-auth adapters
}

// request is one routed request as the authorizers see it. Read-only once built: the
// authorizers' answers, and the facts they report, travel in their outcome.
type request struct {
	header     http.Header
	method     string // as sent (HEAD stays HEAD; match.Method is the method authorized)
	canon      string // the canonical path, base path included
	sub        string // the canonical path under the API's base path
	rawQuery   string
	client     netip.Addr
	clientStr  string // client as text ("" when unknown)
	trusted    bool   // the peer is a trusted proxy
	secure     bool
	api        *api
	match      router.Match
	route      *route
	decisionID string
	rev        int64     // the gateway state's revision
	start      time.Time // set only when decisions are observed
	routed     time.Time // when the route was found; set only when decisions are observed
}

// Check decides one request as the gateway does: stale-node and state checks, canonicalization,
// API and route selection, protocol-upgrade rules, the route's authorizer and the gateway
// response. It reports the decision to Deps.OnDecision (with in.Source) and logs a denial;
// the caller only carries the verdict out.
func (g *Gateway) Check(ctx context.Context, in Input) Verdict { return g.check(ctx, in, false) }

// check is Check for every front door. The proxy and forward-auth pass lean: they write the
// identity headers from Verdict's unexported facts themselves, so the allow verdict's Set,
// Remove and Claims (allocations on every request) are left empty for them.
func (g *Gateway) check(ctx context.Context, in Input, lean bool) Verdict {
	c := checkRun{g: g, in: in, id: newDecisionID(), lean: lean}
	if g.deps.OnDecision != nil {
		c.start = time.Now()
	}
	c.client, c.trusted = in.Client, g.isTrusted(in.Peer)
	if !c.client.IsValid() {
		// X-Forwarded-For is read only when the front door did not name the client.
		c.client = g.clientIP(in.Peer, in.Header)
	}
	return c.run(ctx)
}

// checkRun is one run of Check.
type checkRun struct {
	g       *Gateway
	in      Input
	id      string
	lean    bool
	start   time.Time
	client  netip.Addr
	trusted bool
	reason  Reason // of a refusal before routing
}

func (c *checkRun) run(ctx context.Context) Verdict {
	g, in := c.g, c.in
	if g.deps.Fresh != nil {
		if err := g.deps.Fresh(); err != nil {
			return c.storeUnavailable(ctx, err)
		}
	}
	st, err := g.state(ctx)
	if errors.Is(err, errStoreUnreadable) {
		return c.storeUnavailable(ctx, err)
	}
	if err != nil {
		c.early(ctx, "", nil, ReasonGatewayUnavailable, http.StatusInternalServerError)
		return c.respond(defaults[respAuthorizerFail], &vars{requestID: c.id}, nil, nil)
	}
	var a *api
	if in.fa.on || in.API != "" {
		if a = st.byName[in.API]; a == nil {
			return c.missing(ctx, "", nil, ReasonUnknownAPI)
		}
	}
	if in.fa.refuse != nil {
		r := in.fa.refuse
		c.early(ctx, "", a, r.reason, defaults[r.resp].status, r.attrs...)
		return c.respond(defaults[r.resp], &vars{requestID: c.id, errMessage: r.msg, responseType: r.resp}, a, nil)
	}
	canon, err := router.Canonicalize(in.RawPath)
	if err != nil {
		status := http.StatusBadRequest
		if in.fa.on {
			status = http.StatusForbidden
		}
		c.early(ctx, "", a, ReasonBadPath, status, "err", err)
		return c.fixed(status, "BadRequestException", badPathBody)
	}
	var sub string
	if a == nil {
		if a, sub = st.pick(canon); a == nil {
			return c.missing(ctx, canon, nil, ReasonNoAPI)
		}
	} else if sub = a.under(canon); sub == "" {
		return c.missing(ctx, canon, a, ReasonNoRoute)
	}
	m, ok := a.table.Match(in.Method, sub)
	if !ok {
		if in.fa.on {
			return c.missing(ctx, canon, a, ReasonNoRoute)
		}
		v := &vars{path: canon, httpMethod: in.Method, stage: a.stage, apiID: a.id, requestID: c.id,
			errMessage: msgMissingToken, responseType: respMissingToken}
		c.early(ctx, canon, a, ReasonNoRoute, a.responses[respMissingToken].status)
		return c.respond(a.responses[respMissingToken], v, a, nil)
	}
	q := &request{header: in.Header, method: in.Method, canon: canon, sub: sub, rawQuery: in.RawQuery,
		client: c.client, clientStr: addrString(c.client), trusted: c.trusted, api: a, match: m,
		route: m.Route.Value.(*route), decisionID: c.id, rev: st.rev, start: c.start}
	if !c.start.IsZero() {
		q.routed = time.Now()
	}
	q.secure = in.TLS || (c.trusted && strings.EqualFold(in.Header.Get("X-Forwarded-Proto"), "https"))

	var out outcome
	if upgradeRefused(in.Method, in.Header, q.route.websocket) {
		// Forward-auth answers 403, not 400: nginx passes only 401 and 403.
		resp := respBadParameters
		if in.fa.on {
			resp = respAccessDenied
		}
		out = deny(resp, msgUpgrade, ReasonUpgradeRefused)
	} else {
		out = g.authorize(ctx, q)
	}
	v := &vars{path: canon, resourcePath: q.route.path, httpMethod: in.Method, stage: a.stage, apiID: a.id,
		requestID: c.id, principalID: out.principal, sourceIP: q.clientStr}
	if out.allow && q.route.mock == nil && in.ContentLength > q.route.maxBody {
		out.allow, out.resp, out.message, out.reason = false, respTooLarge, msgTooLarge, ReasonBodyTooLarge
	}
	if !out.allow {
		resp := a.responses[out.resp]
		v.errMessage, v.responseType = out.message, out.resp
		g.decided(ctx, in.Source, q, out, resp.status)
		return c.respond(resp, v, a, &forward{q: q, out: out, vars: v})
	}
	g.decided(ctx, in.Source, q, out, 0)
	f := &forward{q: q, out: out, vars: v}
	vd := c.identity(a, f)
	vd.Allow, vd.Status = true, http.StatusOK
	if c.lean {
		return vd
	}
	vd.Set = make(http.Header, 4)
	setIdentityHeaders(vd.Set, q, out, false)
	vd.Remove = removedHeaders(in.Header, c.trusted, q.route.websocket)
	return vd
}

// under returns the path under the API's base path, or "" when canon is not under it.
func (a *api) under(canon string) string {
	if a.basePath == "/" {
		return canon
	}
	rest, ok := strings.CutPrefix(canon, a.basePath)
	switch {
	case !ok:
		return ""
	case rest == "":
		return "/"
	case rest[0] == '/':
		return rest
	}
	return ""
}

// identity starts a verdict with the facts of a routed request.
func (c *checkRun) identity(a *api, f *forward) Verdict {
	v := Verdict{DecisionID: c.id, Reason: f.out.reason, APIName: a.name, Principal: f.out.principal,
		Groups: f.out.groups, RouteKey: f.q.route.method + " " + f.q.route.path, fwd: f}
	if len(a.claimHeaders) > 0 && len(f.out.claims) > 0 && !c.lean {
		v.Claims = make(map[string]string, len(a.claimHeaders))
		for i, ch := range a.claimHeaders {
			if i < len(f.out.claims) && f.out.claims[i] != "" {
				v.Claims[ch.claim] = f.out.claims[i]
			}
		}
	}
	return v
}

// missing refuses a request that names or reaches no route: 403 Missing Authentication Token
// from the default responses.
func (c *checkRun) missing(ctx context.Context, canon string, a *api, reason Reason) Verdict {
	c.early(ctx, canon, a, reason, http.StatusForbidden)
	v := &vars{requestID: c.id, errMessage: msgMissingToken, responseType: respMissingToken}
	if !c.in.fa.on {
		v.path = canon
	}
	return c.respond(defaults[respMissingToken], v, a, nil)
}

// respond renders a gateway response as a deny verdict.
func (c *checkRun) respond(r *response, v *vars, a *api, f *forward) Verdict {
	var vd Verdict
	if f != nil {
		vd = c.identity(a, f)
	} else {
		vd = Verdict{DecisionID: c.id}
		if a != nil {
			vd.APIName = a.name
		}
	}
	vd.Status, vd.Body = r.status, r.body.render(v)
	h := make(http.Header, len(r.headers)+3)
	h.Set(HeaderDecisionID, c.id)
	for k, val := range r.headers {
		h.Set(k, val)
	}
	h.Set("Content-Type", "application/json")
	// API Gateway's spelling; clients read header names case-insensitively.
	h["x-amzn-ErrorType"] = []string{r.errorType}
	vd.Header = h
	if f == nil {
		vd.Reason = c.reason
	}
	return vd
}

// fixed is a deny verdict with a body that no gateway response customizes.
func (c *checkRun) fixed(status int, errorType, body string) Verdict {
	h := make(http.Header, 3)
	h.Set(HeaderDecisionID, c.id)
	h.Set("Content-Type", "application/json")
	h["x-amzn-ErrorType"] = []string{errorType}
	return Verdict{Status: status, Body: []byte(body), Header: h, DecisionID: c.id, Reason: c.reason}
}

// storeUnavailable is the answer of a node without data it can trust: stale (Deps.Fresh) or
// never read (no state could be built). Retry-After says the condition is transient.
func (c *checkRun) storeUnavailable(ctx context.Context, err error) Verdict {
	c.early(ctx, "", nil, ReasonStoreUnavailable, http.StatusServiceUnavailable, "err", err)
	v := c.fixed(http.StatusServiceUnavailable, "ServiceUnavailableException", storeUnavailableBody)
	v.Header.Set("Retry-After", retryAfterSeconds)
	return v
}

// early logs and reports a request refused before any route was found.
func (c *checkRun) early(ctx context.Context, canon string, a *api, reason Reason, status int, attrs ...any) {
	c.reason = reason
	g := c.g
	g.logDeny(ctx, a, reason, status, c.id, attrs...)
	if g.deps.OnDecision == nil {
		return
	}
	d := Decision{ID: c.id, Source: c.in.Source, Time: c.start, Method: c.in.Method, Path: canon, Reason: string(reason),
		Status: status, ClientIP: addrString(c.client), Latency: time.Since(c.start)}
	if a != nil {
		d.API = a.name
	}
	g.deps.OnDecision(ctx, d)
}

// decided logs a decision on a route and hands it to Deps.OnDecision. status is the status
// answered for a denial, 0 when the request goes on to the upstream or mock.
func (g *Gateway) decided(ctx context.Context, source string, q *request, out outcome, status int) {
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
		Authorizer: q.route.authz.name, AuthorizerType: q.route.authz.typeName(), Method: q.method, Path: q.canon,
		ClientIP: q.clientStr, Allowed: out.allow, Status: status, Reason: string(out.reason),
		Principal: out.principal, TokenHash: out.tokenHash, PolicyStoreID: out.storeID, Revision: q.rev,
		DeterminingPolicies: out.policies, Cached: out.cached, Latency: time.Since(q.start), Routed: q.routed}
	if out.storeID != "" {
		d.Revision = out.storeRev
	}
	g.deps.OnDecision(ctx, d)
}

// hopByHop are the hop-by-hop headers of RFC 9110 §7.6.1 (and the obsolete ones proxies still
// strip), which a proxy never forwards.
var hopByHop = [...]string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

// dropInbound reports whether an inbound header must not reach the upstream (hop-by-hop headers
// aside): identity headers in any spelling, forwarding headers from an untrusted peer, method
// overrides and HTTP2-Settings (only meaningful in an h2c upgrade, which is never forwarded).
// The proxy's Rewrite and Verdict.Remove share it.
func dropInbound(name string, trusted bool) bool {
	if isGatehouseHeader(name) || (!trusted && forwardedHeader(name)) || normalizedEqual(name, "http2-settings") {
		return true
	}
	for _, m := range methodOverrideHeaders {
		if normalizedEqual(name, m) {
			return true
		}
	}
	return false
}

// removedHeaders lists the names of h the upstream must not receive. Names are compared
// case-insensitively, so a front door that keys h by the lower-case names of HTTP/2 still gets
// them all.
func removedHeaders(h http.Header, trusted, websocket bool) []string {
	var listed []string // Connection-listed names, lower case
	for k, vs := range h {
		if normalizedEqual(k, "connection") {
			for _, v := range vs {
				for _, t := range strings.Split(v, ",") {
					if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
						listed = append(listed, t)
					}
				}
			}
		}
	}
	var out []string
	for k := range h {
		if dropInbound(k, trusted) || hopHeader(k, listed, websocket) {
			out = append(out, k)
		}
	}
	return out
}

// hopHeader reports whether name is hop-by-hop: a standard one or one Connection lists.
// Connection and Upgrade stay for a websocket handshake the route allows.
func hopHeader(name string, listed []string, websocket bool) bool {
	if websocket && (strings.EqualFold(name, "connection") || strings.EqualFold(name, "upgrade")) {
		return false
	}
	for _, h := range hopByHop {
		if strings.EqualFold(name, h) {
			return true
		}
	}
	for _, l := range listed {
		if strings.EqualFold(name, l) {
			return true
		}
	}
	return false
}

// writeVerdict writes a deny verdict as an HTTP response.
func writeVerdict(w http.ResponseWriter, v Verdict) {
	h := w.Header()
	for k, vals := range v.Header {
		h[k] = vals
	}
	h.Set("Content-Length", strconv.Itoa(len(v.Body)))
	w.WriteHeader(v.Status)
	_, _ = w.Write(v.Body)
}
