package gateway

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Header names the gateway owns.
const (
	HeaderDecisionID = "X-Gatehouse-Decision-Id"
	HeaderPrincipal  = "X-Gatehouse-Principal"
	HeaderGroups     = "X-Gatehouse-Groups"
	// HeaderAPI names the API on the forward-auth endpoint's root path.
	HeaderAPI = "X-Gatehouse-Api"
)

// methodOverrideHeaders (lower case) are dropped from every request: the method authorized is
// the method sent, and an upstream framework honouring an override would run another one.
var methodOverrideHeaders = []string{"x-http-method-override", "x-http-method", "x-method-override"}

// outcome is an authorizer's answer, with the facts it reports for Deps.OnDecision.
type outcome struct {
	allow     bool
	resp      string // response type when denied
	message   string // $context.error.message
	reason    Reason
	principal string
	groups    []string
	claims    []string

	cached    bool // the decision (or identity) came from the decision cache
	storeID   string
	storeRev  int64
	policies  []string
	tokenHash string
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

// serveHTTP is the reverse proxy: an adapter that asks Check and carries the verdict out.
func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request) {
	v := g.check(r.Context(), Input{Source: SourceGateway, Method: r.Method, RawPath: r.URL.EscapedPath(),
		RawQuery: r.URL.RawQuery, Header: r.Header, Peer: parseRemote(r.RemoteAddr), TLS: r.TLS != nil,
		ContentLength: r.ContentLength}, true)
	w.Header().Set(HeaderDecisionID, v.DecisionID)
	if !v.Allow {
		writeVerdict(w, v)
		return
	}
	f := v.fwd
	rt := f.q.route
	if rt.mock != nil {
		writeMock(w, r, rt.mock, f.vars)
		return
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, rt.maxBody)
	}
	rt.upstream.proxy.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), fwdKey{}, f)))
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

const badPathBody = `{"message":"Invalid request path"}`

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
	for _, a := range s.apis { // longest base path first
		if sub := a.under(canon); sub != "" {
			return a, sub
		}
	}
	return nil, ""
}

// clientIP returns the client address: the peer, or, when the peer is a trusted proxy, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy.
func (g *Gateway) clientIP(peer netip.Addr, h http.Header) netip.Addr {
	if !g.isTrusted(peer) {
		return peer
	}
	xff := h.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer // unparseable: stop believing the chain
			}
			a = a.Unmap()
			if !g.isTrusted(a) {
				return a
			}
		}
	}
	return peer
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
