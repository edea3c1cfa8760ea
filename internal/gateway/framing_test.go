package gateway_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRequestFramingSmuggling looks for a sibling of issue 10 item 1 (a request the gateway
// never decides): requests whose framing two HTTP parsers could read differently
// (Transfer-Encoding with Content-Length, obfuscated or repeated framing headers). The gateway
// parses each request itself and forwards it re-framed, so a request hidden in a body either
// stays body bytes or is read as the next request on the connection and decided like any
// other: nothing reaches the upstream at /admin without the admin's token.
func TestRequestFramingSmuggling(t *testing.T) {
	t.Parallel()
	e := newConfusionEnv(t)
	e.putAPI(t, strings.Replace(`
name: Framing
basePath: /f
upstream: UP
routes:
  - {route: "POST /public/{proxy+}", authorizer: none}
`, "UP", e.up.srv.URL, 1))
	const smuggled = "GET /admin/secret HTTP/1.1\r\nHost: gateway.test\r\n\r\n"
	// want: the statuses read on the connection. 200 is the POST forwarded with an empty body
	// (chunked wins over Content-Length, RFC 9112 §6.3), 401 the smuggled GET decided on its
	// own; framing Go cannot read unambiguously is refused (501, 400) and the connection closed.
	cases := []struct {
		name, head, body string
		want             []int
	}{
		{"chunked with a Content-Length", "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", "0\r\n\r\n" + smuggled, []int{200, 401}},
		{"Content-Length with a chunked terminator", "Content-Length: 5\r\n", "0\r\n\r\n" + smuggled, []int{200, 401}},
		{"obfuscated Transfer-Encoding", "Transfer-Encoding: xchunked\r\nContent-Length: 5\r\n", "0\r\n\r\n" + smuggled, []int{501}},
		{"Transfer-Encoding with two codings", "Transfer-Encoding: chunked, identity\r\n", "0\r\n\r\n" + smuggled, []int{501}},
		{"two Transfer-Encoding headers", "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n", "0\r\n\r\n" + smuggled, []int{501}},
		{"two different Content-Lengths", "Content-Length: 5\r\nContent-Length: 0\r\n", "0\r\n\r\n" + smuggled, []int{400}},
		{"Content-Length with a sign", "Content-Length: +5\r\n", "0\r\n\r\n" + smuggled, []int{400}},
		{"space before the colon", "Transfer-Encoding : chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n" + smuggled, []int{400}},
	}
	for _, c := range cases {
		statuses := sendFramed(t, e.srv.Listener.Addr().String(),
			"POST /f/public/x HTTP/1.1\r\nHost: gateway.test\r\n"+c.head+"\r\n"+c.body)
		if !slices.Equal(statuses, c.want) {
			t.Errorf("%s: statuses %v, want %v", c.name, statuses, c.want)
		}
	}
	all := e.up.all()
	if len(all) != 2 {
		t.Errorf("the upstream received %d requests, want the 2 POSTs", len(all))
	}
	for _, s := range all {
		if s.Method != http.MethodPost || s.Path != "/public/x" {
			t.Errorf("the upstream received %s %s", s.Method, s.Path)
		}
	}
}

// sendFramed writes raw bytes on one connection and reads every response until the
// connection closes or goes quiet, returning their statuses.
func sendFramed(t *testing.T, addr, raw string) []int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	var statuses []int
	for {
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			return statuses
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		statuses = append(statuses, res.StatusCode)
	}
}
