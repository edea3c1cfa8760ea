package gateway_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// tunnelUpstream switches to any protocol it is asked for (as an h2c or WebSocket server
// would) and then answers every HTTP/1.1 request read inside the tunnel with its path,
// recording the handshake and every tunnelled request.
type tunnelUpstream struct {
	srv *httptest.Server
	// answer, when set, is the protocol the 101 names instead of the one asked for.
	answer string

	mu        sync.Mutex
	handshake []*http.Request
	inside    []string
}

func newTunnelUpstream(t *testing.T, answer string) *tunnelUpstream {
	t.Helper()
	u := &tunnelUpstream{answer: answer}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.handshake = append(u.handshake, r.Clone(r.Context()))
		u.mu.Unlock()
		up := r.Header.Get("Upgrade")
		if up == "" {
			_, _ = io.WriteString(w, "plain "+r.URL.Path)
			return
		}
		if u.answer != "" {
			up = u.answer
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", up)
		_ = brw.Flush()
		for {
			in, err := http.ReadRequest(brw.Reader)
			if err != nil {
				return
			}
			u.mu.Lock()
			u.inside = append(u.inside, in.URL.Path)
			u.mu.Unlock()
			body := "tunnelled " + in.URL.Path
			fmt.Fprintf(brw, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			_ = brw.Flush()
		}
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *tunnelUpstream) seen() (handshakes []*http.Request, inside []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.handshake...), append([]string(nil), u.inside...)
}

// upgrade sends a request with the given headers on a raw connection and, when the answer is
// 101, one more request inside the tunnel for innerPath. It returns the first status and the
// inner response's body ("" when there was no tunnel or it answered nothing).
func upgrade(t *testing.T, addr, requestLine, innerPath string, hdrs ...string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	b.WriteString(requestLine + "\r\nHost: gateway.test\r\n")
	for i := 0; i+1 < len(hdrs); i += 2 {
		b.WriteString(hdrs[i] + ": " + hdrs[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	method, _, _ := strings.Cut(requestLine, " ")
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode, ""
	}
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: inside\r\n\r\n", innerPath)
	in, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		return res.StatusCode, ""
	}
	body, _ := io.ReadAll(in.Body)
	in.Body.Close()
	return res.StatusCode, string(body)
}

// A protocol switch opens a tunnel whose requests the gateway never sees. Every upgrade is
// refused on a route without websocket: true, h2c everywhere; an allowed WebSocket handshake
// is authorized like any request and tunnels only to its own upstream path.
func TestProtocolUpgrade(t *testing.T) {
	up := newTunnelUpstream(t, "")
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Tunnels
basePath: /
upstream: %s
authorizers:
  admins:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [app]}}
routes:
  - {route: "GET /public/{proxy+}", authorizer: none}
  - {route: "ANY /admin/{proxy+}", authorizer: admins, groups: [admins]}
  - {route: "GET /ws/chat", authorizer: admins, groups: [admins], websocket: true}
  - {route: "ANY /ws/any", authorizer: none, websocket: true}
`, up.srv.URL, poolARN(adminPool)))
	addr := e.srv.Listener.Addr().String()
	admin, user := "Bearer "+e.idp.id(t, anAdmin), "Bearer "+e.idp.id(t, aUser)
	const badRequest = `{"message":"Protocol upgrade not allowed"}`

	refused := []struct {
		name, line string
		hdrs       []string
	}{
		{"h2c on a public route", "GET /public/x HTTP/1.1", []string{"Connection", "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "HTTP2-Settings", "AAMAAABkAAQAAP__"}},
		{"h2c by an admin", "GET /admin/x HTTP/1.1", []string{"Authorization", admin, "Connection", "Upgrade", "Upgrade", "h2c"}},
		{"websocket on a route without websocket", "GET /public/x HTTP/1.1", []string{"Connection", "Upgrade", "Upgrade", "websocket"}},
		{"any token", "GET /public/x HTTP/1.1", []string{"Connection", "keep-alive, upgrade", "Upgrade", "foo/1"}},
		{"Upgrade without Connection", "GET /public/x HTTP/1.1", []string{"Upgrade", "h2c"}},
		{"HTTP2-Settings alone", "GET /public/x HTTP/1.1", []string{"HTTP2-Settings", "AAMAAABkAAQAAP__"}},
		{"h2c on a websocket route", "GET /ws/chat HTTP/1.1", []string{"Authorization", admin, "Connection", "Upgrade", "Upgrade", "h2c"}},
		{"two protocols on a websocket route", "GET /ws/chat HTTP/1.1", []string{"Authorization", admin, "Connection", "Upgrade", "Upgrade", "websocket, h2c"}},
		{"two Upgrade headers", "GET /ws/chat HTTP/1.1", []string{"Authorization", admin, "Connection", "Upgrade", "Upgrade", "websocket", "Upgrade", "h2c"}},
		{"websocket POST on an ANY route", "POST /ws/any HTTP/1.1", []string{"Connection", "Upgrade", "Upgrade", "websocket", "Content-Length", "0"}},
	}
	for _, c := range refused {
		status, inner := upgrade(t, addr, c.line, "/admin/secret", c.hdrs...)
		if status != http.StatusBadRequest || inner != "" {
			t.Errorf("%s: status %d, tunnelled %q; want 400 and no tunnel", c.name, status, inner)
		}
	}
	r := e.raw(t, "GET /public/x HTTP/1.1", "Connection", "Upgrade", "Upgrade", "h2c")
	r.want(t, "refusal body", 400, badRequest)
	if !strings.Contains(e.logs.String(), `"reason":"upgrade_refused"`) {
		t.Error("no upgrade_refused denial logged")
	}
	for _, line := range []string{"CONNECT 127.0.0.1:1 HTTP/1.1", "CONNECT /public/x HTTP/1.1", "CONNECT /ws/any HTTP/1.1"} {
		if status, inner := upgrade(t, addr, line, "/admin/secret"); status < 400 || status > 499 || inner != "" {
			t.Errorf("%s: status %d, tunnelled %q", line, status, inner)
		}
	}
	if hs, inside := up.seen(); len(hs) != 0 || len(inside) != 0 {
		t.Fatalf("refused upgrades reached the upstream: %d handshakes, tunnelled %v", len(hs), inside)
	}

	// A websocket route: the handshake is authorized and carries the identity headers.
	if status, _ := upgrade(t, addr, "GET /ws/chat HTTP/1.1", "/x", "Connection", "Upgrade", "Upgrade", "websocket"); status != 401 {
		t.Errorf("websocket without a token: %d, want 401", status)
	}
	if status, _ := upgrade(t, addr, "GET /ws/chat HTTP/1.1", "/x", "Authorization", user, "Connection", "Upgrade", "Upgrade", "websocket"); status != 403 {
		t.Errorf("websocket for a non-admin: %d, want 403", status)
	}
	status, inner := upgrade(t, addr, "GET /ws/chat?room=1 HTTP/1.1", "/admin/secret", "Authorization", admin,
		"Connection", "Upgrade", "Upgrade", "WebSocket", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Version", "13", "X-Gatehouse-Principal", "forged", "HTTP2-Settings", "AAMAAABkAAQAAP__")
	if status != http.StatusSwitchingProtocols || inner != "tunnelled /admin/secret" {
		t.Fatalf("allowed websocket: %d %q", status, inner)
	}
	hs, _ := up.seen()
	if len(hs) != 1 {
		t.Fatalf("%d handshakes reached the upstream, want 1", len(hs))
	}
	h := hs[0]
	if h.URL.Path != "/ws/chat" || h.URL.RawQuery != "room=1" || h.Header.Get("Upgrade") != "WebSocket" ||
		h.Header.Get("Sec-WebSocket-Key") == "" || h.Header.Get("X-Gatehouse-Principal") != adminPool+"|root-sub" ||
		h.Header.Get("X-Gatehouse-Groups") != "admins" || h.Header.Get("Http2-Settings") != "" {
		t.Fatalf("handshake at the upstream: %s %v", h.URL, h.Header)
	}
	if status, _ := upgrade(t, addr, "GET /ws/any HTTP/1.1", "/x", "Connection", "Upgrade", "Upgrade", "websocket"); status != 101 {
		t.Errorf("websocket on a public ANY route: %d, want 101", status)
	}

	// Forward-auth: a proxy that passes the client's Upgrade on gets the same rule, as 403
	// (nginx turns other statuses into 500).
	fa := httptest.NewServer(e.gw.ForwardAuthHandler())
	t.Cleanup(fa.Close)
	orig := func(method, uri string, more ...string) []string {
		return append([]string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri}, more...)
	}
	doURL(t, fa.URL, "GET", "/apis/Tunnels", "", orig("GET", "/public/x", "Connection", "Upgrade", "Upgrade", "h2c")...).
		want(t, "forward-auth h2c", 403, `{"Message":"Protocol upgrade not allowed"}`)
	doURL(t, fa.URL, "GET", "/apis/Tunnels", "", orig("GET", "/public/x", "Connection", "Upgrade", "Upgrade", "websocket")...).
		want(t, "forward-auth websocket on a plain route", 403, "")
	doURL(t, fa.URL, "GET", "/apis/Tunnels", strings.TrimPrefix(admin, "Bearer "), orig("GET", "/ws/chat", "Connection", "Upgrade", "Upgrade", "websocket")...).
		want(t, "forward-auth websocket on a websocket route", 200, "")
	doURL(t, fa.URL, "GET", "/apis/Tunnels", "", orig("CONNECT", "/ws/any")...).want(t, "forward-auth CONNECT", 403, "")
}

// An upstream that answers a WebSocket handshake by switching to another protocol is an
// integration failure, not a tunnel.
func TestUpgradeProtocolMismatch(t *testing.T) {
	up := newTunnelUpstream(t, "h2c")
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Mismatch
basePath: /
upstream: %s
routes:
  - {route: "GET /ws", authorizer: none, websocket: true}
`, up.srv.URL))
	status, inner := upgrade(t, e.srv.Listener.Addr().String(), "GET /ws HTTP/1.1", "/admin", "Connection", "Upgrade", "Upgrade", "websocket")
	if status != http.StatusBadGateway || inner != "" {
		t.Fatalf("status %d, tunnelled %q; want 502", status, inner)
	}
}

// Hop-by-hop headers, and headers a client names in Connection, never reach the upstream;
// the identity headers survive a Connection header naming them.
func TestHopByHopHeaders(t *testing.T) {
	e := newConfusionEnv(t)
	e.raw(t, "GET /admin/x HTTP/1.1", "Authorization", "Bearer "+e.idp.id(t, anAdmin),
		"Connection", "keep-alive, X-Gatehouse-Principal, X-Gatehouse-Groups, X-Forwarded-For, X-Custom",
		"Keep-Alive", "timeout=5", "Proxy-Connection", "keep-alive", "TE", "gzip", "Proxy-Authorization", "Basic eDp5",
		"X-Custom", "1", "Trailer", "X-T").want(t, "hop-by-hop", 200, "")
	s := e.up.last(t)
	for _, k := range []string{"Keep-Alive", "Proxy-Connection", "Te", "Proxy-Authorization", "X-Custom", "Trailer", "Upgrade", "Http2-Settings"} {
		if v, ok := s.Headers[k]; ok {
			t.Errorf("upstream received %s: %v", k, v)
		}
	}
	if s.Headers["X-Gatehouse-Principal"][0] != adminPool+"|root-sub" || s.Headers["X-Gatehouse-Groups"][0] != "admins" ||
		s.Headers["X-Forwarded-For"][0] != "127.0.0.1" {
		t.Errorf("identity or forwarded headers lost: %v", s.Headers)
	}
}
