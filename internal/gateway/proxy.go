package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// upstream is one upstream URL and its reverse proxy.
type upstream struct {
	target   *url.URL
	basePath string // escaped, without a trailing slash
	proxy    *httputil.ReverseProxy
}

// forward carries one allowed request's facts into Rewrite and ErrorHandler.
type forward struct {
	q    *request
	out  outcome
	vars *vars
}

type fwdKey struct{}

func (g *Gateway) newUpstream(target *url.URL) *upstream {
	u := &upstream{target: target, basePath: strings.TrimSuffix(target.EscapedPath(), "/")}
	u.proxy = &httputil.ReverseProxy{
		Rewrite:   u.rewrite,
		Transport: g.transport,
		ModifyResponse: func(resp *http.Response) error {
			// The decision id on the response is the gateway's, never the upstream's.
			resp.Header.Del(HeaderDecisionID)
			return nil
		},
		ErrorHandler: g.proxyError,
		ErrorLog:     slog.NewLogLogger(g.log.Handler(), slog.LevelWarn),
		BufferPool:   g.buffers,
	}
	return u
}

// bufferPool recycles ReverseProxy's 32 KiB copy buffers across requests.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (bp *bufferPool) Get() []byte  { return *bp.p.Get().(*[]byte) }
func (bp *bufferPool) Put(b []byte) { bp.p.Put(&b) }

// forwardedHeader reports client-supplied headers that claim facts about the original request
// (address, scheme, host, path, method). They are dropped unless the peer is a trusted proxy:
// frameworks that honour X-Original-URL or X-Rewrite-URL would otherwise route to a path that
// was never authorized.
func forwardedHeader(name string) bool {
	return hasNormalizedPrefix(name, "x-forwarded-") || normalizedEqual(name, "forwarded") ||
		normalizedEqual(name, "x-real-ip") || hasNormalizedPrefix(name, "x-original-") ||
		normalizedEqual(name, "x-rewrite-url")
}

// rewrite builds the outbound request. ReverseProxy has already removed hop-by-hop headers and
// those listed in Connection, so headers set here cannot be stripped by a client's Connection
// header.
func (u *upstream) rewrite(pr *httputil.ProxyRequest) {
	f, _ := pr.In.Context().Value(fwdKey{}).(*forward)
	if f == nil {
		// Unreachable: only serveHTTP calls the proxy. Send nowhere rather than guess.
		pr.Out.URL = &url.URL{Scheme: "http", Host: "invalid.invalid", Path: "/"}
		return
	}
	pr.SetURL(u.target)
	// The canonical path that was authorized, under the upstream's base path, byte for byte.
	raw := u.basePath + f.q.sub
	pr.Out.URL.RawPath = raw
	pr.Out.URL.Path = unescapePath(raw)
	pr.Out.URL.RawQuery = pr.In.URL.RawQuery

	h := pr.Out.Header
	for k := range h {
		if dropInbound(k, f.q.trusted) {
			delete(h, k)
		}
	}
	if f.q.trusted {
		if v := pr.In.Header["X-Forwarded-For"]; v != nil {
			h["X-Forwarded-For"] = v
		}
	}
	pr.SetXForwarded()
	if f.q.trusted {
		for _, k := range []string{"X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := pr.In.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
	}
	setIdentityHeaders(h, f.q, f.out, false)
}

// setIdentityHeaders sets the identity headers; the caller has removed inbound X-Gatehouse-*.
// With all set, every identity header the API can produce is present, empty when the request
// has no such fact: a forward-auth proxy that copies them then overwrites whatever the client
// sent under those names.
func setIdentityHeaders(h http.Header, q *request, out outcome, all bool) {
	h.Set(HeaderDecisionID, q.decisionID)
	if p := encodeIdentity(out.principal); p != "" || all {
		h.Set(HeaderPrincipal, p)
	}
	if g := encodeIdentityList(out.groups); g != "" || all {
		h.Set(HeaderGroups, g)
	}
	for i, ch := range q.api.claimHeaders {
		var c string
		if i < len(out.claims) {
			c = out.claims[i]
		}
		if c != "" || all {
			h.Set(ch.header, c)
		}
	}
}

// encodeIdentity percent-encodes (RFC 3986, upper-case hex) every byte of an identity header
// value that would make it ambiguous or unsafe: '%' and ',' (the list separator), space and
// control bytes (trimmed or refused by HTTP parsers) and non-ASCII bytes. Other printable ASCII
// passes unchanged, so "us-east-1_X|sub" and e-mail addresses arrive as they are, and any
// percent-decoder (url.PathUnescape, decodeURIComponent, urllib.parse.unquote) reads it back.
func encodeIdentity(s string) string {
	n := encodedLen(s)
	if n == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(n)
	writeEncoded(&b, s)
	return b.String()
}

func mustEncode(c byte) bool { return c <= ' ' || c >= 0x7f || c == '%' || c == ',' }

func encodedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if mustEncode(s[i]) {
			n += 2
		}
	}
	return n
}

func writeEncoded(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	start := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; mustEncode(c) {
			b.WriteString(s[start:i])
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			start = i + 1
		}
	}
	b.WriteString(s[start:])
}

// EncodeIdentity is the identity header encoding of one value (see encodeIdentity), for front
// doors that carry identity outside HTTP headers: the Lambda authorizer's context becomes
// request headers through API Gateway's mappings, so it must read the same way.
func EncodeIdentity(s string) string { return encodeIdentity(s) }

// EncodeIdentityList is the identity header encoding of a list (see encodeIdentityList).
func EncodeIdentityList(vs []string) string { return encodeIdentityList(vs) }

// encodeIdentityList encodes each element and joins them with commas: a comma in the value is
// always a separator, never part of a name. One allocation.
func encodeIdentityList(vs []string) string {
	switch len(vs) {
	case 0:
		return ""
	case 1:
		return encodeIdentity(vs[0])
	}
	n := len(vs) - 1
	for _, v := range vs {
		n += encodedLen(v)
	}
	var b strings.Builder
	b.Grow(n)
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		writeEncoded(&b, v)
	}
	return b.String()
}

func unescapePath(raw string) string {
	p, err := url.PathUnescape(raw)
	if err != nil {
		return raw
	}
	return p
}

// proxyError answers upstream failures with the API's integration responses.
func (g *Gateway) proxyError(w http.ResponseWriter, r *http.Request, err error) {
	f, _ := r.Context().Value(fwdKey{}).(*forward)
	if f == nil {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	a := f.q.api
	var (
		typ, msg string
		reason   Reason
		mbe      *http.MaxBytesError
		ne       net.Error
	)
	switch {
	case errors.As(err, &mbe):
		typ, msg, reason = respTooLarge, msgTooLarge, ReasonBodyTooLarge
	case r.Context().Err() != nil:
		// The client went away; nobody reads this answer.
		g.log.DebugContext(r.Context(), "client canceled", "api", a.name, "decisionId", f.q.decisionID)
		w.WriteHeader(http.StatusBadGateway)
		return
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		typ, msg, reason = respIntegrationTO, msgIntegrationTO, ReasonUpstreamTimeout
	default:
		typ, msg, reason = respIntegrationErr, msgIntegrationErr, ReasonUpstreamError
	}
	if g.deps.OnUpstreamError != nil {
		g.deps.OnUpstreamError(r.Context(), a.name, string(reason))
	}
	resp := a.responses[typ]
	g.log.WarnContext(r.Context(), "upstream failed", "reason", string(reason), "api", a.name, "status", resp.status,
		"decisionId", f.q.decisionID, "err", err)
	f.vars.errMessage, f.vars.responseType = msg, typ
	writeResponse(w, resp, f.vars)
}
