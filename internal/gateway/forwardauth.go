package gateway

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// ForwardAuthHandler returns the decision endpoint for nginx auth_request, Traefik ForwardAuth
// and Caddy forward_auth. The API is named by the path (/apis/<name>) or, on "/", by the
// X-Gatehouse-Api header; the original request comes from X-Original-Method and
// X-Original-URI (nginx) or X-Forwarded-Method and X-Forwarded-Uri (Traefik, Caddy). The path
// is canonicalized and routed exactly as on the proxy path and the same authorizers run.
//
// Answers: 200 with every identity header the API can set (empty when absent) when allowed;
// otherwise the same 401/403 statuses and bodies as the proxy. A decision request carrying a
// client's X-Gatehouse-* header (any spelling; X-Gatehouse-Api excepted) is refused 403
// (reason client_identity_header), as is a protocol upgrade the route does not allow
// (upgrade_refused). Requests the endpoint cannot read (no API, no original URI, a path
// Canonicalize refuses) are 403, never 5xx, since nginx turns any status other than 2xx, 401
// and 403 into an error; a policy store outage is 500 like the proxy, which also denies.
//
// Name the API by the path (/apis/<name>) in the proxy's configuration: the header form is
// only safe when the proxy overwrites X-Gatehouse-Api (nginx proxy_set_header, Caddy
// header_up); Traefik forwards client headers to the auth server, so with Traefik use the
// path. When both the nginx and the Traefik/Caddy header of the original method or URI are
// present and disagree, or one is repeated, the request is refused (403): each proxy
// overwrites only its own pair and a client could add the other.
//
// This listener must only be reachable by the proxy in front of it (loopback or a private
// socket), and that proxy must overwrite the headers it believes: X-Original-* or
// X-Forwarded-Method/-Uri, and X-Real-Ip (else the right-most X-Forwarded-For entry) for the
// client address of IAM conditions and Cedar's context.sourceIp, X-Forwarded-Proto for
// aws:SecureTransport. nginx passes client headers to the auth subrequest unchanged, so its
// auth location needs:
//
//	proxy_pass_request_body off;
//	proxy_set_header Content-Length "";
//	proxy_set_header X-Original-URI $request_uri;
//	proxy_set_header X-Original-Method $request_method;
//	proxy_set_header X-Real-IP $remote_addr;
//	proxy_set_header X-Forwarded-Proto $scheme;
//
// Traefik and Caddy set their X-Forwarded-* headers themselves.
func (g *Gateway) ForwardAuthHandler() http.Handler { return http.HandlerFunc(g.serveForwardAuth) }

// serveForwardAuth is an adapter over Check: it reads the original request from the proxy's
// headers and answers the verdict.
func (g *Gateway) serveForwardAuth(w http.ResponseWriter, r *http.Request) {
	var name string
	switch {
	case strings.HasPrefix(r.URL.Path, "/apis/"):
		name = strings.TrimPrefix(r.URL.Path, "/apis/")
	case r.URL.Path == "/":
		name = r.Header.Get(HeaderAPI)
	}
	method, okM := originalHeader(r.Header, "X-Original-Method", "X-Forwarded-Method")
	uri, okU := originalHeader(r.Header, "X-Original-Uri", "X-Forwarded-Uri")
	fa := forwardAuthInput{on: true}
	switch {
	case !okM || !okU:
		// Each proxy overwrites only its own pair; a client can add the other. Two answers
		// to "which request is this" are refused rather than resolved.
		fa.refuse = &refusal{reason: ReasonForwardAuthConflict, resp: respMissingToken, msg: msgMissingToken}
	case method == "" || uri == "":
		fa.refuse = &refusal{reason: ReasonForwardAuthMissing, resp: respMissingToken, msg: msgMissingToken}
	default:
		if h := clientIdentityHeader(r.Header); h != "" {
			// The proxy passes client headers to this request; one claiming an identity is a
			// forgery attempt. Refusing it also covers spellings a proxy cannot delete before
			// the upstream (Caddy keeps X_Gatehouse_Groups, which some upstream stacks read as
			// X-Gatehouse-Groups).
			fa.refuse = &refusal{reason: ReasonClientIdentityHeader, resp: respAccessDenied, msg: msgImplicitDeny,
				attrs: []any{"header", h}}
		}
	}
	rawPath, rawQuery, _ := strings.Cut(uri, "?")
	if u, err := url.ParseRequestURI(rawPath); err == nil && u.IsAbs() {
		// An absolute-form URI: only its path counts.
		rawPath = u.EscapedPath()
	}
	// The decision concerns the original request, not the auth subrequest: its client is the
	// one the proxy reports, and its body is not here.
	v := g.check(r.Context(), Input{Source: SourceForwardAuth, API: name, Method: method, RawPath: rawPath,
		RawQuery: rawQuery, Header: r.Header, Peer: parseRemote(r.RemoteAddr), Client: forwardedClient(r),
		TLS: r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https"), ContentLength: -1, fa: fa}, true)
	w.Header().Set(HeaderDecisionID, v.DecisionID)
	if !v.Allow {
		writeVerdict(w, v)
		return
	}
	setIdentityHeaders(w.Header(), v.fwd.q, v.fwd.out, true)
	w.WriteHeader(http.StatusOK)
}

// clientIdentityHeader returns the name of a header on the decision request that would be an
// identity header in any spelling (X-Gatehouse-*, any case, '_' for '-'), other than
// X-Gatehouse-Api, which names the API; "" when there is none.
func clientIdentityHeader(h http.Header) string {
	for k := range h {
		if isGatehouseHeader(k) && !normalizedEqual(k, "x-gatehouse-api") {
			return k
		}
	}
	return ""
}

// originalHeader reads the original request's method or URI from the nginx header or the
// Traefik/Caddy one. ok is false when a header is repeated or both are present and disagree.
func originalHeader(h http.Header, nginx, forwarded string) (string, bool) {
	a, b := h.Values(nginx), h.Values(forwarded)
	if len(a) > 1 || len(b) > 1 {
		return "", false
	}
	switch {
	case len(a) == 1 && len(b) == 1:
		return a[0], a[0] == b[0]
	case len(a) == 1:
		return a[0], true
	case len(b) == 1:
		return b[0], true
	}
	return "", true
}

// forwardedClient is the client address the proxy in front reported: X-Real-Ip, else the
// right-most X-Forwarded-For entry (the one the proxy appended), else the peer.
func forwardedClient(r *http.Request) netip.Addr {
	if a, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-Ip"))); err == nil {
		return a.Unmap()
	}
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if a, err := netip.ParseAddr(strings.TrimSpace(last)); err == nil {
			return a.Unmap()
		}
	}
	return parseRemote(r.RemoteAddr)
}
