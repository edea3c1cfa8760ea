package extauthz

import (
	"errors"
	"net/http"
	"net/netip"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// BadRequestError is a CheckRequest (or an HTTP-service request) that does not say which request
// Envoy is asking about. Field names the part at fault, in the CheckRequest's proto field path.
type BadRequestError struct {
	Field   string
	Problem string
}

func (e *BadRequestError) Error() string { return e.Field + ": " + e.Problem }

// FromCheckRequest maps a CheckRequest to the gateway's Input, as Envoy's gRPC mode sends it:
// method and path (which carries the query) from attributes.request.http, else from the
// :method and :path pseudo-headers; headers from headers or, with encode_raw_headers, from
// header_map (repeated names kept as separate values); the client address from
// attributes.source.address.socket_address (the downstream address Envoy established, after its
// own X-Forwarded-For rules); TLS from the scheme "https" or the presence of the downstream
// certificate or TLS session; the body length from http.size. The body itself is ignored: it
// takes no part in the decision. Pseudo-headers are not passed on as headers.
func FromCheckRequest(req *authv3.CheckRequest) (gateway.Input, error) {
	in := gateway.Input{Source: gateway.SourceExtAuthz, ContentLength: -1}
	h := req.GetAttributes().GetRequest().GetHttp()
	if h == nil {
		return in, &BadRequestError{Field: "attributes.request.http", Problem: "missing"}
	}
	header := http.Header{}
	pseudo := map[string][]string{}
	add := func(k, v string) {
		if strings.HasPrefix(k, ":") {
			pseudo[strings.ToLower(k)] = append(pseudo[strings.ToLower(k)], v)
			return
		}
		// Canonical keys, as net/http keys them, so the gateway's Header.Get finds them; a name
		// that is not a valid token is kept as sent (and matches nothing the gateway reads).
		k = textproto.CanonicalMIMEHeaderKey(k)
		header[k] = append(header[k], v)
	}
	if hm := h.GetHeaderMap(); len(hm.GetHeaders()) > 0 {
		for _, hv := range hm.GetHeaders() {
			add(hv.GetKey(), headerValue(hv))
		}
	} else {
		for k, v := range h.GetHeaders() {
			add(k, v)
		}
	}
	var err error
	if in.Method, err = oneOf("attributes.request.http.method", h.GetMethod(), pseudo[":method"]); err != nil {
		return in, err
	}
	target, err := oneOf("attributes.request.http.path", h.GetPath(), pseudo[":path"])
	if err != nil {
		return in, err
	}
	if target == "" {
		return in, &BadRequestError{Field: "attributes.request.http.path", Problem: "missing"}
	}
	in.RawPath, in.RawQuery = splitTarget(target)
	in.Header = header
	in.Client = socketAddr(req.GetAttributes().GetSource().GetAddress())
	in.TLS = strings.EqualFold(h.GetScheme(), "https") || req.GetAttributes().GetSource().GetCertificate() != "" ||
		req.GetAttributes().GetTlsSession() != nil
	switch size := h.GetSize(); {
	case size > 0:
		in.ContentLength = size
	case size < 0: // unknown
	default:
		// 0 is also proto3's "not set": fall back to what the request itself says.
		if n, err := strconv.ParseInt(header.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
			in.ContentLength = n
		} else {
			in.ContentLength = int64(max(len(h.GetBody()), len(h.GetRawBody())))
		}
	}
	return in, nil
}

// headerValue is a header_map entry's value: raw_value when set (encode_raw_headers), else value.
func headerValue(hv *corev3.HeaderValue) string {
	if rv := hv.GetRawValue(); len(rv) > 0 {
		return string(rv)
	}
	return hv.GetValue()
}

// oneOf returns the request line element from its attribute field or, when that is empty, from
// its pseudo-header; two different answers (or a repeated pseudo-header) refuse the request, as
// the forward-auth endpoint refuses two answers to "which request is this".
func oneOf(field, attr string, pseudo []string) (string, error) {
	if len(pseudo) > 1 {
		return "", &BadRequestError{Field: field, Problem: "pseudo-header repeated"}
	}
	switch {
	case len(pseudo) == 1 && attr != "" && pseudo[0] != attr:
		return "", &BadRequestError{Field: field, Problem: "differs from its pseudo-header"}
	case attr != "":
		return attr, nil
	case len(pseudo) == 1:
		return pseudo[0], nil
	}
	return "", nil
}

// splitTarget splits a request target into its escaped path and query. An absolute-form target
// counts by its path only, as on the forward-auth endpoint; anything else is left for the
// gateway's canonicalization to refuse.
func splitTarget(target string) (path, query string) {
	path, query, _ = strings.Cut(target, "?")
	if !strings.HasPrefix(path, "/") {
		if u, err := url.ParseRequestURI(path); err == nil && u.IsAbs() {
			path = u.EscapedPath()
		}
	}
	return path, query
}

// socketAddr is the IP of an Envoy address; the zero Addr when it has none (a pipe, or no
// source reported).
func socketAddr(a *corev3.Address) netip.Addr {
	ip, err := netip.ParseAddr(a.GetSocketAddress().GetAddress())
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// fromHTTPService maps a request of Envoy's HTTP service mode: Envoy sends the original method,
// the path_prefix followed by the original path and query, and the headers its allowed_headers
// let through. The client is the right-most X-Forwarded-For entry (the one Envoy appends with
// use_remote_address: true), else the peer; TLS is X-Forwarded-Proto: https, which Envoy sets.
// The original body length is not known here (Envoy sends the auth request's own length).
func fromHTTPService(r *http.Request, prefix string) (gateway.Input, error) {
	in := gateway.Input{Source: gateway.SourceExtAuthz, Method: r.Method, ContentLength: -1}
	target := r.RequestURI
	if !strings.HasPrefix(target, "/") {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return in, &BadRequestError{Field: "path", Problem: "not a request target"}
		}
		target = u.EscapedPath()
		if u.RawQuery != "" {
			target += "?" + u.RawQuery
		}
	}
	rest, ok := strings.CutPrefix(target, prefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		return in, errNotOurs
	}
	in.RawPath, in.RawQuery = splitTarget(rest)
	in.Header = r.Header
	in.Client = rightmostForwardedFor(r.Header)
	if !in.Client.IsValid() {
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			in.Client = ap.Addr().Unmap()
		}
	}
	// The auth request's own connection (Envoy to Gatehouse) says nothing of the client's.
	in.TLS = strings.EqualFold(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto")), "https")
	return in, nil
}

// errNotOurs: an HTTP request outside the path prefix.
var errNotOurs = errors.New("not under the ext_authz path prefix")

func rightmostForwardedFor(h http.Header) netip.Addr {
	xff := h.Values("X-Forwarded-For")
	if len(xff) == 0 {
		return netip.Addr{}
	}
	last := xff[len(xff)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	a, err := netip.ParseAddr(strings.TrimSpace(last))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
