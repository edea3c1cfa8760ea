package console_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/console"
)

// Console keys of test nodes besides the management pair (administrator).
const (
	viewerID     = "AKIDVIEWER"
	viewerSecret = "viewer-secret-0123456789"
	authorID     = "AKIDAUTHOR"
	authorSecret = "author-secret-0123456789"
)

type testNode struct {
	*app.Node
	base      string
	auditFile string
	stop      func()
}

func startNode(t *testing.T) *testNode {
	t.Helper()
	cfg := apptest.Config(t, "sqlite")
	cfg.ConsoleKeys = []string{"viewer:" + viewerID + ":" + viewerSecret, "author:" + authorID + ":" + authorSecret}
	cfg.AuditFile = filepath.Join(t.TempDir(), "audit.jsonl")
	n, stop := apptest.StartStoppable(t, cfg)
	return &testNode{Node: n, base: "http://" + n.Addr("admin"), auditFile: cfg.AuditFile, stop: stop}
}

// browser is an HTTP client that keeps cookies and sends the Origin a console page would.
type browser struct {
	t      *testing.T
	c      *http.Client
	base   string
	origin string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, origin: base, c: &http.Client{Jar: jar, Timeout: 60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) get(path string) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Get(b.base + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if b.origin != "" {
		req.Header.Set("Origin", b.origin)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (b *browser) signIn(id, secret string) {
	b.t.Helper()
	resp, body := b.post("/console/signin", url.Values{"accessKeyId": {id}, "secretAccessKey": {secret}})
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("sign-in as %s: %d\n%s", id, resp.StatusCode, body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the synchronizer token of the signed-in session, from a page's form.
func (b *browser) csrf() string {
	b.t.Helper()
	_, body := b.get("/console/stores")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		b.t.Fatalf("no csrf field on the stores page:\n%s", body)
	}
	return m[1]
}

func TestNoPageWithoutSession(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.base)
	for _, p := range []string{"/console/", "/console/stores", "/console/stores/x", "/console/stores/x/policies", "/console/stores/x/policies/new",
		"/console/stores/x/test", "/console/stores/x/entities", "/console/stores/x/sources", "/console/stores/x/templates", "/console/apis", "/console/matrix", "/console/audit"} {
		resp, body := b.get(p)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/signin?next=") {
			t.Errorf("GET %s without a session: %d %s\n%s", p, resp.StatusCode, resp.Header.Get("Location"), body)
		}
	}
	for _, p := range []string{"/console/stores", "/console/stores/x/schema", "/console/stores/x/policies", "/console/stores/x/test", "/console/signout"} {
		resp, _ := b.post(p, url.Values{"csrf": {"guess"}})
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d, want 401", p, resp.StatusCode)
		}
	}
	// The page templates are not files anyone may fetch; the stylesheet is.
	if resp, _ := b.get("/console/assets/layout.html"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("template served: %d", resp.StatusCode)
	}
	if resp, _ := b.get("/console/assets/console.css"); resp.StatusCode != http.StatusOK {
		t.Errorf("stylesheet: %d", resp.StatusCode)
	}
}

func TestSignInAndSecurityHeaders(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.base)

	for _, tc := range []struct{ id, secret, want string }{
		{apptest.KeyID, "wrong-secret", "wrong"},
		{"AKIDUNKNOWN", apptest.Secret, "wrong"},
		{"", apptest.Secret, "Access key id: enter"},
		{apptest.KeyID, "", "Secret access key: enter"},
	} {
		resp, body := b.post("/console/signin", url.Values{"accessKeyId": {tc.id}, "secretAccessKey": {tc.secret}})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, tc.want) || len(resp.Cookies()) != 0 {
			t.Errorf("sign-in %q/%q: %d cookies %v, want 401 naming %q", tc.id, tc.secret, resp.StatusCode, resp.Cookies(), tc.want)
		}
	}
	resp, _ := b.post("/console/signin", url.Values{"accessKeyId": {apptest.KeyID}, "secretAccessKey": {apptest.Secret}, "next": {"//evil.example/x"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/stores" {
		t.Fatalf("sign-in: %d to %q (an outside next must not be followed)", resp.StatusCode, resp.Header.Get("Location"))
	}
	ck := resp.Cookies()
	if len(ck) != 1 || ck[0].Name != "gatehouse-console" || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/" ||
		ck[0].Secure || ck[0].MaxAge <= 0 || len(ck[0].Value) < 40 {
		t.Fatalf("session cookie over plain HTTP: %+v", ck)
	}
	resp, body := b.get("/console/stores")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Policy stores") {
		t.Fatalf("stores page: %d\n%s", resp.StatusCode, body)
	}
	h := resp.Header
	for k, want := range map[string]string{"X-Frame-Options": "DENY", "Referrer-Policy": "same-origin", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"} {
		if h.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, h.Get(k), want)
		}
	}
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"script-src 'self'", "frame-ancestors 'none'", "default-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(body, "<script>") || strings.Contains(body, " onclick=") {
		t.Errorf("inline script allowed or used")
	}

	// Sign-out ends the session on the server: the old cookie no longer opens a page.
	old := b.c.Jar.Cookies(mustURL(n.base))
	resp, _ = b.post("/console/signout", url.Values{"csrf": {b.csrf()}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	replay := newBrowser(t, n.base)
	replay.c.Jar.SetCookies(mustURL(n.base), old)
	if resp, _ := replay.get("/console/stores"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the cookie of a signed-out session still works: %d", resp.StatusCode)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestTLSCookieIsHostPrefixed(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	srv := httptest.NewTLSServer(n.AdminHandler())
	defer srv.Close()
	b := newBrowser(t, srv.URL)
	b.c.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} // the test server's own certificate
	resp, _ := b.post("/console/signin", url.Values{"accessKeyId": {apptest.KeyID}, "secretAccessKey": {apptest.Secret}})
	ck := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(ck) != 1 || ck[0].Name != "__Host-gatehouse-console" || !ck[0].Secure || !ck[0].HttpOnly || ck[0].Path != "/" || ck[0].Domain != "" {
		t.Fatalf("TLS sign-in: %d %+v", resp.StatusCode, ck)
	}
	if resp, _ := b.get("/console/stores"); resp.StatusCode != http.StatusOK {
		t.Fatalf("stores over TLS: %d", resp.StatusCode)
	}
}

func countStores(t *testing.T, n *testNode) int {
	t.Helper()
	list, _, err := n.Policies.ListPolicyStores(context.Background(), "", 50)
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

func TestCSRFRefused(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	tok := b.csrf() // seeds the console store too
	before := countStores(t, n)
	create := url.Values{"validationMode": {"OFF"}, "description": {"csrf test"}}

	for name, tc := range map[string]struct {
		csrf, origin, referer, fetchSite string
	}{
		"no token":             {origin: n.base},
		"wrong token":          {csrf: tok + "x", origin: n.base},
		"cross origin":         {csrf: tok, origin: "http://evil.example"},
		"no origin":            {csrf: tok},
		"cross-site fetch":     {csrf: tok, origin: n.base, fetchSite: "cross-site"},
		"referer of elsewhere": {csrf: tok, referer: "http://evil.example/page"},
	} {
		form := url.Values{}
		for k, v := range create {
			form[k] = v
		}
		if tc.csrf != "" {
			form.Set("csrf", tc.csrf)
		}
		req, _ := http.NewRequest(http.MethodPost, n.base+"/console/stores", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range map[string]string{"Origin": tc.origin, "Referer": tc.referer, "Sec-Fetch-Site": tc.fetchSite} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "Request refused") {
			t.Errorf("%s: %d, want 403\n%s", name, resp.StatusCode, body)
		}
	}
	// A token belongs to its session: another person's token is refused too.
	other := newBrowser(t, n.base)
	other.signIn(authorID, authorSecret)
	if resp, _ := other.post("/console/stores", url.Values{"csrf": {tok}, "validationMode": {"OFF"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("another session's token: %d, want 403", resp.StatusCode)
	}
	if got := countStores(t, n); got != before {
		t.Fatalf("a refused request created a store: %d stores, had %d", got, before)
	}
	create.Set("csrf", tok)
	resp, body := b.post("/console/stores", create)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/stores/PS") {
		t.Fatalf("good request: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	// The Referer suffices when a browser sends no Origin.
	b.origin = ""
	req, _ := http.NewRequest(http.MethodPost, n.base+"/console/stores", strings.NewReader(create.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", n.base+"/console/stores")
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("same-origin Referer: %v %v", resp, err)
	}
	if got := countStores(t, n); got != before+2 {
		t.Fatalf("%d stores, want %d", got, before+2)
	}
}

func TestSignInRefusesCrossOrigin(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.base)
	b.origin = "http://evil.example"
	resp, _ := b.post("/console/signin", url.Values{"accessKeyId": {apptest.KeyID}, "secretAccessKey": {apptest.Secret}})
	if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 {
		t.Fatalf("cross-origin sign-in: %d %v", resp.StatusCode, resp.Cookies())
	}
}

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// consoleOn serves a console built directly over n's parts, with options (a clock).
func consoleOn(t *testing.T, n *testNode, opts ...console.Option) string {
	t.Helper()
	return consoleWith(t, n, nil, opts...)
}

// consoleWith is consoleOn with trusted proxies.
func consoleWith(t *testing.T, n *testNode, trusted []netip.Prefix, opts ...console.Option) string {
	t.Helper()
	api := avpapi.New(n.Policies, n.Decider)
	c, err := console.New(console.Deps{Operation: api.Operation, Policies: n.Policies, Decider: n.Decider, APIs: n.APIs, Store: n.Store,
		TrustedProxies: trusted,
		Keys: func(id string) (console.Key, bool) {
			if id == apptest.KeyID {
				return console.Key{Secret: apptest.Secret, Roles: []string{console.RoleAdministrator}}, true
			}
			return console.Key{}, false
		}}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestSessionExpiry(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	clk := &clock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	base := consoleOn(t, n, console.WithClock(clk.Now), console.WithSessionLifetime(2*time.Hour, 20*time.Minute))

	// Idle timeout: 19 minutes between requests keep the session, 20 end it.
	b := newBrowser(t, base)
	b.signIn(apptest.KeyID, apptest.Secret)
	for range 3 {
		clk.Add(19 * time.Minute)
		if resp, _ := b.get("/console/stores"); resp.StatusCode != http.StatusOK {
			t.Fatalf("active session refused after 19 idle minutes: %d", resp.StatusCode)
		}
	}
	clk.Add(20 * time.Minute)
	if resp, _ := b.get("/console/stores"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("session alive after its idle timeout: %d", resp.StatusCode)
	}

	// Absolute lifetime: activity does not extend it.
	b = newBrowser(t, base)
	b.signIn(apptest.KeyID, apptest.Secret)
	tok := b.csrf()
	for range 6 {
		clk.Add(19 * time.Minute)
		if resp, _ := b.get("/console/stores"); resp.StatusCode != http.StatusOK {
			t.Fatalf("session refused before its lifetime: %d", resp.StatusCode)
		}
	}
	clk.Add(7 * time.Minute) // 2h since sign-in
	if resp, _ := b.get("/console/stores"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("session alive past its lifetime: %d", resp.StatusCode)
	}
	if resp, _ := b.post("/console/stores", url.Values{"csrf": {tok}, "validationMode": {"OFF"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("write with an expired session: %d, want 401", resp.StatusCode)
	}
}

func TestRolesDecidedByConsoleStore(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	admin := newBrowser(t, n.base)
	admin.signIn(apptest.KeyID, apptest.Secret)
	adminTok := admin.csrf()
	resp, _ := admin.post("/console/stores", url.Values{"csrf": {adminTok}, "validationMode": {"OFF"}})
	storePath := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin create: %d", resp.StatusCode)
	}

	viewer := newBrowser(t, n.base)
	viewer.signIn(viewerID, viewerSecret)
	vt := viewer.csrf()
	if resp, body := viewer.get(storePath); resp.StatusCode != http.StatusOK {
		t.Fatalf("viewer reads a store: %d\n%s", resp.StatusCode, body)
	}
	before := countStores(t, n)
	resp, body := viewer.post("/console/stores", url.Values{"csrf": {vt}, "validationMode": {"OFF"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not CreateStore") {
		t.Fatalf("viewer creates a store: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = viewer.post(storePath+"/policies", url.Values{"csrf": {vt}, "statement": {"permit(principal, action, resource);"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer writes a policy: %d", resp.StatusCode)
	}
	if countStores(t, n) != before {
		t.Fatal("a forbidden write happened")
	}

	author := newBrowser(t, n.base)
	author.signIn(authorID, authorSecret)
	at := author.csrf()
	if resp, body := author.post(storePath+"/policies", url.Values{"csrf": {at}, "statement": {"permit(principal, action, resource);"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("author writes a policy: %d\n%s", resp.StatusCode, body)
	}
	// The seeded forbid keeps authors from granting themselves more.
	resp, body = author.post("/console/stores/"+console.ConsoleStoreID+"/policies", url.Values{"csrf": {at},
		"statement": {`permit(principal == Console::User::"AKIDAUTHOR", action, resource);`}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "forbidden by policy") {
		t.Fatalf("author edits the console store: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := author.post("/console/stores", url.Values{"csrf": {at}, "validationMode": {"OFF"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("author creates a store: %d", resp.StatusCode)
	}

	// The console store is editable like any store: an administrator grants viewers
	// CreateStore, and the next decision follows.
	resp, body = admin.post("/console/stores/"+console.ConsoleStoreID+"/policies", url.Values{"csrf": {adminTok},
		"statement": {`permit(principal in Console::Role::"viewer", action == Console::Action::"CreateStore", resource);`}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin edits the console store: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := viewer.post("/console/stores", url.Values{"csrf": {vt}, "validationMode": {"OFF"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("viewer after the grant: %d\n%s", resp.StatusCode, body)
	}
	// The reserved store cannot be deleted while its protection is on.
	ps, err := n.Policies.GetPolicyStore(context.Background(), console.ConsoleStoreID)
	if err != nil || ps.DeletionProtection != "ENABLED" || ps.ValidationMode != "STRICT" {
		t.Fatalf("console store: %+v %v", ps, err)
	}
	if err := n.Policies.DeletePolicyStore(context.Background(), console.ConsoleStoreID); err == nil {
		t.Fatal("the console store was deleted")
	}
}

func TestWritesAuditedWithPerson(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.base)
	b.signIn(authorID, authorSecret)
	admin := newBrowser(t, n.base)
	admin.signIn(apptest.KeyID, apptest.Secret)
	resp, _ := admin.post("/console/stores", url.Values{"csrf": {admin.csrf()}, "validationMode": {"OFF"}})
	store := strings.TrimPrefix(resp.Header.Get("Location"), "/console/stores/")
	if resp, body := b.post("/console/stores/"+store+"/policies", url.Values{"csrf": {b.csrf()}, "statement": {"permit(principal, action, resource);"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("author writes a policy: %d\n%s", resp.StatusCode, body)
	}
	auditActors(t, n, map[string]string{"VerifiedPermissions.CreatePolicyStore": "console:" + apptest.KeyID, "VerifiedPermissions.CreatePolicy": "console:" + authorID})
	if _, err := audit.VerifyPaths(n.auditFile); err != nil {
		t.Fatalf("trail does not verify: %v", err)
	}
}

func TestLiveValidation(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.base)
	b.signIn(viewerID, viewerSecret) // validation writes nothing: viewers may use it
	tok := b.csrf()
	check := func(kind, text, csrf string) (int, map[string]any) {
		t.Helper()
		body, _ := json.Marshal(map[string]string{"kind": kind, "text": text})
		req, _ := http.NewRequest(http.MethodPost, n.base+"/console/stores/"+console.ConsoleStoreID+"/validate", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", n.base)
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if code, _ := check("policy", "permit(principal, action, resource);", ""); code != http.StatusForbidden {
		t.Fatalf("without the csrf header: %d", code)
	}
	for _, tc := range []struct {
		kind, text string
		ok         bool
		want       string
		line, col  float64
	}{
		{"policy", `permit (principal in Console::Role::"viewer", action == Console::Action::"View", resource);`, true, "", 0, 0},
		{"policy", `permit (principal, action == Console::Action::"Fly", resource);`, false, "Fly", 0, 0},
		{"policy", "permit (principal,\n  action,\n  resource) when { 1 + };", false, "", 3, 0},
		{"schema", "entity A;\nentity B in [A]", false, "", 2, 0},
		{"schema", "entity A;", true, "", 0, 0},
	} {
		code, out := check(tc.kind, tc.text, tok)
		if code != http.StatusOK || out["ok"] != tc.ok || !strings.Contains(fmt.Sprint(out["message"]), tc.want) {
			t.Errorf("%s %q: %d %v", tc.kind, tc.text, code, out)
		}
		if tc.line != 0 && out["line"] != tc.line {
			t.Errorf("%s %q: position %v:%v, want line %v", tc.kind, tc.text, out["line"], out["column"], tc.line)
		}
	}
	if code, _ := check("yaml", "x", tok); code != http.StatusBadRequest {
		t.Errorf("unknown kind: %d", code)
	}
}

// TestForwardedProtoFromTrustedProxy: behind a TLS-terminating proxy listed in
// trustedProxies the cookie is Secure and __Host-, and the Origin must be https; from any
// other peer X-Forwarded-Proto is ignored.
func TestForwardedProtoFromTrustedProxy(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		origin  string
		cookie  string
		secure  bool
	}{
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, "https://", "__Host-gatehouse-console", true},
		{"untrusted peer", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, "http://", "gatehouse-console", false},
		{"no proxies", nil, "http://", "gatehouse-console", false},
	} {
		base := consoleWith(t, n, tc.trusted)
		host := strings.TrimPrefix(base, "http://")
		form := url.Values{"accessKeyId": {apptest.KeyID}, "secretAccessKey": {apptest.Secret}}
		req, _ := http.NewRequest(http.MethodPost, base+"/console/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Origin", tc.origin+host)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		ck := resp.Cookies()
		if resp.StatusCode != http.StatusSeeOther || len(ck) != 1 || ck[0].Name != tc.cookie || ck[0].Secure != tc.secure {
			t.Errorf("%s: %d %+v", tc.name, resp.StatusCode, ck)
		}
		// The other scheme's Origin is refused.
		other := map[string]string{"https://": "http://", "http://": "https://"}[tc.origin]
		req, _ = http.NewRequest(http.MethodPost, base+"/console/signin", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("Origin", other+host)
		if resp, err := http.DefaultTransport.RoundTrip(req); err != nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: Origin %s accepted", tc.name, other)
		}
	}
}

// TestIdPCallbackRefusals: the IdP's redirect back is accepted only with the state this
// browser started, once, and a code the IdP issued.
func TestIdPCallbackRefusals(t *testing.T) {
	t.Parallel()
	_, base := idpConsole(t)
	b := newBrowser(t, base)
	if resp, body := b.get("/console/oauth2/callback?state=x&code=y"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "not started by this browser") {
		t.Fatalf("callback without a started sign-in: %d", resp.StatusCode)
	}
	resp, _ := b.get("/console/oauth2/start")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	q := loc.Query()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc.Path, "/oauth2/authorize") || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != base+"/console/oauth2/callback" {
		t.Fatalf("start: %d %s", resp.StatusCode, loc)
	}
	var ck *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "gatehouse-console-oauth" {
			ck = c
		}
	}
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Value != q.Get("state") {
		t.Fatalf("state cookie: %+v", ck)
	}
	state := q.Get("state")
	if resp, body := b.get("/console/oauth2/callback?state=other&code=y"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "state") {
		t.Fatalf("wrong state: %d", resp.StatusCode)
	}
	// The refusal cleared the cookie; a fresh start and a forged code.
	resp, _ = b.get("/console/oauth2/start")
	loc, _ = url.Parse(resp.Header.Get("Location"))
	state = loc.Query().Get("state")
	if resp, body := b.get("/console/oauth2/callback?state=" + state + "&code=forged"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "token endpoint answered 400") {
		t.Fatalf("forged code: %d\n%s", resp.StatusCode, body)
	}
	b.c.Jar.SetCookies(mustURL(base+"/console/oauth2/"), []*http.Cookie{{Name: "gatehouse-console-oauth", Value: state, Path: "/console/oauth2/"}})
	if resp, body := b.get("/console/oauth2/callback?state=" + state + "&code=forged"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "already used") {
		t.Fatalf("replayed state: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.get("/console/stores"); resp.StatusCode != http.StatusSeeOther {
		t.Fatal("a refused IdP sign-in opened a session")
	}
}

// TestBenchWithToken: the test bench decides with a real token of a store's identity source
// (the built-in IdP's pool), shows the principal the token maps to, and refuses a forged one
// naming the field.
func TestBenchWithToken(t *testing.T) {
	t.Parallel()
	n, base, pool, client := idpConsoleIDs(t)
	in := avpapi.ApplyBundleInput{PolicyStore: &avpapi.BundleStore{PolicyStoreID: "tokens", ValidationMode: "OFF",
		Policies: []avpapi.BundleStatement{{Name: "readers", Statement: `permit (principal, action == App::Action::"read", resource);`}},
		IdentitySources: []avpapi.BundleIdentitySource{{PrincipalEntityType: "App::User", Configuration: &avpapi.Configuration{
			CognitoUserPoolConfiguration: &avpapi.CognitoUserPoolConfiguration{UserPoolArn: "arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + pool}}}}}}
	body, _ := json.Marshal(in)
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatal(err)
	}
	tok, err := n.IdP.IssueTokens(context.Background(), pool, client, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.signIn(apptest.KeyID, apptest.Secret)
	tokTest := url.Values{"csrf": {b.csrf()}, "action": {`App::Action::"read"`}, "resource": {`App::Doc::"d1"`}, "tokenType": {"accessToken"}, "token": {tok.AccessToken}}
	resp, page := b.post("/console/stores/tokens/test", tokTest)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="decision">ALLOW`) || !strings.Contains(page, "The token's principal: <code>App::User::&#34;"+pool+"|") {
		t.Fatalf("decision with a token: %d\n%s", resp.StatusCode, page)
	}
	tokTest.Set("token", tok.AccessToken[:len(tok.AccessToken)-4]+"AAAA")
	resp, page = b.post("/console/stores/tokens/test", tokTest)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "accessToken: token is not valid") {
		t.Fatalf("forged token: %d\n%s", resp.StatusCode, page)
	}
}

// TestSignInThrottled: ten failed sign-ins from one address within ten minutes hold that
// address off (429 with Retry-After) even with the right secret, until the window passes.
func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	clk := &clock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
	base := consoleOn(t, n, console.WithClock(clk.Now))
	b := newBrowser(t, base)
	for i := range 10 {
		if resp, _ := b.post("/console/signin", url.Values{"accessKeyId": {apptest.KeyID}, "secretAccessKey": {fmt.Sprint("guess", i)}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, resp.StatusCode)
		}
		clk.Add(30 * time.Second)
	}
	resp, body := b.post("/console/signin", url.Values{"accessKeyId": {apptest.KeyID}, "secretAccessKey": {apptest.Secret}})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins") || len(resp.Cookies()) != 0 {
		t.Fatalf("after 10 failures: %d %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clk.Add(6 * time.Minute) // the first failure is now older than the window
	b.signIn(apptest.KeyID, apptest.Secret)
}

// TestDeletePolicy: deleting needs EditPolicy (a viewer gets 403) and the csrf token; an
// author's delete runs DeletePolicy and the policy is gone from the list.
func TestDeletePolicy(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	admin := newBrowser(t, n.base)
	admin.signIn(apptest.KeyID, apptest.Secret)
	tok := admin.csrf()
	resp, _ := admin.post("/console/stores", url.Values{"csrf": {tok}, "validationMode": {"OFF"}})
	store := resp.Header.Get("Location")
	resp, _ = admin.post(store+"/policies", url.Values{"csrf": {tok}, "statement": {`permit (principal, action, resource);`}})
	policy := strings.TrimSuffix(resp.Header.Get("Location"), "?saved=1")
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(policy, "/policies/SP") {
		t.Fatalf("create: %d %s", resp.StatusCode, policy)
	}
	viewer := newBrowser(t, n.base)
	viewer.signIn(viewerID, viewerSecret)
	if resp, _ := viewer.post(policy+"/delete", url.Values{"csrf": {viewer.csrf()}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer deletes: %d", resp.StatusCode)
	}
	author := newBrowser(t, n.base)
	author.signIn(authorID, authorSecret)
	if resp, _ := author.post(policy+"/delete", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("delete without csrf: %d", resp.StatusCode)
	}
	if resp, _ := author.get(policy); resp.StatusCode != http.StatusOK {
		t.Fatalf("policy gone after refused deletes: %d", resp.StatusCode)
	}
	if resp, _ := author.post(policy+"/delete", url.Values{"csrf": {author.csrf()}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("author deletes: %d", resp.StatusCode)
	}
	if resp, _ := author.get(policy); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted policy still shown: %d", resp.StatusCode)
	}
	if _, body := author.get(store + "/policies"); !strings.Contains(body, "0 policies") {
		t.Fatal("deleted policy still listed")
	}
}

func TestTemplatesPage(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	in := avpapi.ApplyBundleInput{PolicyStore: &avpapi.BundleStore{PolicyStoreID: "tpl", ValidationMode: "OFF",
		Templates: []avpapi.BundleStatement{{Name: "owner-reads", Statement: `permit (principal == ?principal, action, resource in ?resource);`}}}}
	body, _ := json.Marshal(in)
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, n.base)
	b.signIn(viewerID, viewerSecret)
	resp, page := b.get("/console/stores/tpl/templates")
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "owner-reads") || !strings.Contains(page, "?principal") {
		t.Fatalf("templates page: %d\n%s", resp.StatusCode, page)
	}
}

// TestConsoleStoreReseeded: an administrator may turn deletion protection off and delete the
// console store through the management API; the next console request seeds the defaults
// again instead of denying everything.
func TestConsoleStoreReseeded(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	if resp, _ := b.get("/console/stores"); resp.StatusCode != http.StatusOK {
		t.Fatalf("stores: %d", resp.StatusCode)
	}
	ops := consoleOps(n)
	ctx := awsjson.WithCaller(context.Background(), apptest.KeyID)
	for _, call := range []struct{ op, body string }{
		{"VerifiedPermissions.UpdatePolicyStore", `{"policyStoreId":"gatehouse-console","validationSettings":{"mode":"STRICT"},"deletionProtection":"DISABLED"}`},
		{"VerifiedPermissions.DeletePolicyStore", `{"policyStoreId":"gatehouse-console"}`},
	} {
		op, _ := ops(call.op)
		if _, err := op(ctx, []byte(call.body)); err != nil {
			t.Fatalf("%s: %v", call.op, err)
		}
	}
	if _, err := n.Policies.GetPolicyStore(context.Background(), console.ConsoleStoreID); err == nil {
		t.Fatal("console store not deleted")
	}
	if resp, body := b.get("/console/stores"); resp.StatusCode != http.StatusOK {
		t.Fatalf("stores after the console store was deleted: %d\n%s", resp.StatusCode, body)
	}
	ps, err := n.Policies.GetPolicyStore(context.Background(), console.ConsoleStoreID)
	if err != nil || ps.DeletionProtection != "ENABLED" {
		t.Fatalf("not seeded again: %+v %v", ps, err)
	}
}
