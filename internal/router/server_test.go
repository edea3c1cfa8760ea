package router_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// TestCanonicalizeBehindNetHTTP sends raw request lines to a real net/http server and
// canonicalizes r.URL.EscapedPath(), as the gateway does. net/http re-escapes bytes that are
// not valid raw (so a raw backslash or non-ASCII byte arrives as an escape), and the policy
// must hold for what it hands over, not only for what the client typed.
func TestCanonicalizeBehindNetHTTP(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := router.Canonicalize(r.URL.EscapedPath())
		if err != nil {
			http.Error(w, "rejected: "+err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "ok "+c)
	}))
	t.Cleanup(srv.Close)

	tests := []struct {
		target string
		want   string // response body prefix
	}{
		{"/pets/1", "ok /pets/1"},
		{"/pets/%7e1?x=%2F", "ok /pets/~1"},
		{"/caf%c3%a9", "ok /caf%C3%A9"},
		{"/café", "ok /caf%C3%A9"}, // net/http escapes raw UTF-8; it is then valid
		{"/admin／x", "rejected: bad request path: escaped characters not in NFKC form"},
		{"/ａｄｍｉｎ", "rejected: bad request path: escaped characters not in NFKC form"},
		{`/p\..\admin`, "rejected: bad request path: encoded backslash"},
		{"/..;/admin", "rejected: bad request path: semicolon"},
		{"/p%2F..%2Fadmin", "rejected: bad request path: encoded slash"},
		{"/p/%2e%2e/admin", "rejected: bad request path: encoded dot"},
		{"/p/../admin", "rejected: bad request path: dot segment"},
		{"//admin", "rejected: bad request path: empty segment"},
		{"/admin%00", "rejected: bad request path: encoded NUL"},
		{"/admin%0d%0a", "rejected: bad request path: encoded control character"},
		{"/%252e%252e/admin", "rejected: bad request path: double encoding"},
		{`/a"b`, "ok /a%22b"},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			t.Parallel()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := io.WriteString(conn, "GET "+tc.target+" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(string(body), tc.want) {
				t.Fatalf("GET %s: %d %q, want body starting %q", tc.target, resp.StatusCode, body, tc.want)
			}
		})
	}
}
