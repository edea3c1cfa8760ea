package examples_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

// The README's forward-auth section holds the proxy configurations this test runs, with
// these placeholders for the addresses it substitutes.
const (
	docForwardAuth = "127.0.0.1:8182"
	docUpstream    = "127.0.0.1:9000"
)

// readmeSnippet returns the one fenced block of the given language in the README's
// forward-auth section, so that the documented configuration is the tested one.
func readmeSnippet(t *testing.T, lang string) string {
	t.Helper()
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "### Forward-auth")
	if start < 0 {
		t.Fatal("README.md has no forward-auth section")
	}
	doc = doc[start+3:]
	if end := strings.Index(doc, "\n## "); end >= 0 {
		doc = doc[:end]
	}
	if end := strings.Index(doc, "\n### "); end >= 0 {
		doc = doc[:end]
	}
	m := regexp.MustCompile("(?s)\n```"+lang+"\n(.*?)\n```\n").FindAllStringSubmatch(doc, -1)
	if len(m) != 1 {
		t.Fatalf("README forward-auth section: %d %s blocks, want 1", len(m), lang)
	}
	return m[0][1]
}

// substitute replaces each old string, which must occur in the snippet (else the README and
// this test have drifted apart).
func substitute(t *testing.T, s string, pairs ...string) string {
	t.Helper()
	for i := 0; i+1 < len(pairs); i += 2 {
		if !strings.Contains(s, pairs[i]) {
			t.Fatalf("snippet has no %q", pairs[i])
		}
		s = strings.ReplaceAll(s, pairs[i], pairs[i+1])
	}
	return s
}

// proxyBinary finds a proxy's binary; only outside CI may a missing one skip the test.
func proxyBinary(t *testing.T, name string, paths ...string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run installs it", name)
	}
	t.Skipf("%s not installed (apt-get install nginx-light caddy); CI always runs this test", name)
	return ""
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProxy runs cmd until the test ends and waits for addr to accept connections.
func startProxy(t *testing.T, cmd *exec.Cmd, addr string) {
	t.Helper()
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), stderr.String())
		}
	})
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			t.Fatalf("%s exited: %s", filepath.Base(cmd.Path), stderr.String())
		default:
		}
		if i > 200 {
			t.Fatalf("%s did not start: %s", filepath.Base(cmd.Path), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// recorder is the pet store upstream, recording the headers of every request it receives.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	seen []http.Header
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Clone())
	r.mu.Unlock()
	r.next.ServeHTTP(w, req)
}

func (r *recorder) take() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.seen
	r.seen = nil
	return s
}

func nginxProxy(t *testing.T, listen, forwardAuth, upstream string) {
	bin := proxyBinary(t, "nginx", "/usr/sbin/nginx")
	dir := t.TempDir()
	server := substitute(t, readmeSnippet(t, "nginx"), "listen 8080;", "listen "+listen+";",
		docForwardAuth, forwardAuth, docUpstream, upstream)
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, server)
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	startProxy(t, exec.Command(bin, "-p", dir, "-c", path, "-e", "stderr"), listen)
}

func caddyProxy(t *testing.T, listen, forwardAuth, upstream string) {
	bin := proxyBinary(t, "caddy", "/usr/bin/caddy")
	dir := t.TempDir()
	site := substitute(t, readmeSnippet(t, "caddyfile"), ":8080 {", "http://"+listen+" {",
		docForwardAuth, forwardAuth, docUpstream, upstream)
	conf := "{\n\tadmin off\n\tauto_https off\n}\n\n" + site + "\n"
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	startProxy(t, cmd, listen)
}

// TestFrontProxies puts real nginx and Caddy, configured exactly as the README says, in front
// of the pet store with forward-auth to Gatehouse, and checks what reaches the upstream: the
// decisions of scenario 2.1, the identity headers of the token and nothing a client forged,
// the client address and scheme as the proxy saw them, and no protocol upgrade.
func TestFrontProxies(t *testing.T) {
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.ForwardAuthListen = "127.0.0.1:0"
	e := &env{t: t, node: apptest.Start(t, cfg), vars: map[string]string{}}
	pool, client, subs := e.pool("PetStorePool", []string{"customers", "employees", "owners"},
		map[string][]string{"carol": {"customers"}, "erin": {"employees"}, "oscar": {"owners"}}, "petstore/api")
	rec := &recorder{next: sampleapi.PetStore()}
	upstreamURL := e.upstream(rec)
	e.vars["POOL_ID"], e.vars["UPSTREAM"] = pool, upstreamURL
	e.apply("petstore")
	// The README's configurations copy the claim headers of identityHeaders: {claims: [username, email]}.
	ctx := context.Background()
	d, err := e.node.APIs.Get(ctx, "PetStore")
	e.must(err)
	d.IdentityHeaders = &apidef.IdentityHeaders{Claims: []string{"username", "email"}}
	_, err = e.node.APIs.Put(ctx, d)
	e.must(err)
	up, err := url.Parse(upstreamURL)
	e.must(err)
	c, em, o := e.token(pool, client, "carol", false), e.token(pool, client, "erin", false), e.token(pool, client, "oscar", false)

	proxies := []struct {
		name  string
		start func(t *testing.T, listen, forwardAuth, upstream string)
	}{{"nginx", nginxProxy}, {"caddy", caddyProxy}}
	for _, p := range proxies {
		t.Run(p.name, func(t *testing.T) {
			addr := freeAddr(t)
			p.start(t, addr, e.node.Addr("forward-auth"), up.Host)
			rec.take()
			send := func(method, path, token string, hdrs ...string) int {
				t.Helper()
				req, err := http.NewRequest(method, "http://"+addr+path, strings.NewReader(""))
				if err != nil {
					t.Fatal(err)
				}
				if token != "" {
					req.Header.Set("Authorization", "Bearer "+token)
				}
				for i := 0; i+1 < len(hdrs); i += 2 {
					req.Header[hdrs[i]] = append(req.Header[hdrs[i]], hdrs[i+1])
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			// Headers any client may send; the proxy and Gatehouse must not believe them.
			forwarded := []string{"X-Real-IP", "10.6.6.6", "X-Forwarded-For", "10.6.6.6", "X-Forwarded-Proto", "https"}
			rows := []struct {
				name, method, path, token string
				status                    int
				principal, groups, user   string // identity headers the upstream must receive
			}{
				{"root", "GET", "/demo/", "", 200, "", "", ""},
				{"pets without token", "GET", "/demo/pets", "", 401, "", "", ""},
				{"customer lists pets", "GET", "/demo/pets", c, 200, pool + "|" + subs["carol"], "customers", "carol"},
				{"customer adds pet", "POST", "/demo/pets", c, 403, "", "", ""},
				{"employee adds pet", "POST", "/demo/pets", em, 400, pool + "|" + subs["erin"], "employees", "erin"}, // the upstream wants a body
				{"employee admin", "GET", "/demo/admin/curltest1", em, 403, "", "", ""},
				{"owner admin", "GET", "/demo/admin/curltest1", o, 404, pool + "|" + subs["oscar"], "owners", "oscar"}, // allowed; the pet store has no /admin
				{"dot-segment smuggling", "GET", "/demo/pets/../admin/x", em, 403, "", "", ""},
				{"encoded slash", "GET", "/demo/admin%2Fx", em, 403, "", "", ""},
			}
			for _, r := range rows {
				if got := send(r.method, r.path, r.token, forwarded...); got != r.status {
					t.Errorf("%s: %s %s → %d, want %d", r.name, r.method, r.path, got, r.status)
				}
				seen := rec.take()
				reached := r.principal != "" || r.status == 200
				if !reached {
					if len(seen) != 0 {
						t.Errorf("%s: a denied request reached the upstream", r.name)
					}
					continue
				}
				if len(seen) != 1 {
					t.Fatalf("%s: the upstream received %d requests", r.name, len(seen))
				}
				h := seen[0]
				for k, want := range map[string]string{
					"X-Gatehouse-Principal": r.principal, "X-Gatehouse-Groups": r.groups,
					"X-Gatehouse-Claim-Username": r.user, "X-Gatehouse-Claim-Email": "", // access tokens carry no email
					"X-Gatehouse-Api": "", "X-Real-Ip": "127.0.0.1", "X-Forwarded-Proto": "http",
				} {
					if got := strings.Join(h.Values(k), ","); got != want {
						t.Errorf("%s: upstream %s = %q, want %q", r.name, k, got, want)
					}
				}
				if xff := h.Values("X-Forwarded-For"); len(xff) != 1 || xff[0] != "127.0.0.1" {
					t.Errorf("%s: upstream X-Forwarded-For %q", r.name, xff)
				}
				if id := h.Get("X-Gatehouse-Decision-Id"); len(id) != 36 {
					t.Errorf("%s: upstream decision id %q", r.name, id)
				}
			}

			// Forged identity headers, in every spelling: deleted by the proxy or refused by
			// Gatehouse (which sees the client's headers on the decision request); either way
			// no forged value reaches the upstream.
			forgeries := [][]string{
				{"X-Gatehouse-Principal", "spoofed-admin"}, {"X-Gatehouse-Groups", "owners"},
				{"X-Gatehouse-Claim-Email", "ceo@example.com"}, {"x-gatehouse-claim-username", "oscar"},
				{"X-Gatehouse-Decision-Id", "forged"}, {"X-Gatehouse-Claim-Phone", "555"},
				{"X_Gatehouse_Groups", "owners"}, {"x_gatehouse_principal", "spoofed-admin"},
			}
			for _, f := range forgeries {
				for _, tok := range []string{"", c} {
					status := send("GET", "/demo/pets/1", tok, f...)
					seen := rec.take()
					if status != 200 && status != 401 && status != 403 {
						t.Errorf("forged %s (token %v): status %d", f[0], tok != "", status)
					}
					for _, h := range seen {
						for k, v := range h {
							if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(k, "_", "-")), "x-gatehouse-") &&
								strings.Contains(strings.Join(v, ","), f[1]) {
								t.Errorf("forged %s (token %v) reached the upstream as %s: %q", f[0], tok != "", k, v)
							}
						}
					}
				}
			}

			// Protocol upgrades: the public root takes none, and nothing switches protocols nor
			// reaches the upstream with an Upgrade header. Caddy passes the client's Upgrade on
			// the decision request and Gatehouse refuses; nginx passes HTTP2-Settings (refused)
			// but drops Upgrade and Connection, so a bare WebSocket handshake is served as a
			// plain GET.
			for _, upg := range [][]string{
				{"Connection", "Upgrade, HTTP2-Settings", "Upgrade", "h2c", "HTTP2-Settings", "AAMAAABkAAQAAP__"},
				{"Connection", "Upgrade", "Upgrade", "websocket", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version", "13"},
			} {
				want := http.StatusForbidden
				if p.name == "nginx" && upg[3] == "websocket" {
					want = http.StatusOK
				}
				if status := rawStatus(t, addr, "GET /demo/ HTTP/1.1", upg...); status != want {
					t.Errorf("Upgrade: %s → %d, want %d", upg[3], status, want)
				}
				for _, h := range rec.take() {
					if h.Get("Upgrade") != "" || h.Get("Http2-Settings") != "" {
						t.Errorf("Upgrade: %s reached the upstream: %v", upg[3], h)
					}
				}
			}
		})
	}
}

// rawStatus sends one request on a raw connection and returns the response status.
func rawStatus(t *testing.T, addr, requestLine string, hdrs ...string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	b.WriteString(requestLine + "\r\nHost: " + addr + "\r\n")
	for i := 0; i+1 < len(hdrs); i += 2 {
		b.WriteString(hdrs[i] + ": " + hdrs[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	res.Body.Close()
	return res.StatusCode
}
