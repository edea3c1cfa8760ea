package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/router"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

const adminPool = "us-east-1_AdminPool"

var (
	anAdmin = user{pool: adminPool, client: "app", sub: "root-sub", username: "root", groups: []string{"admins"}}
	aUser   = user{pool: adminPool, client: "app", sub: "user-sub", username: "joe", groups: []string{"users"}}
)

func newConfusionEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Confusion
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
`, e.up.srv.URL, poolARN(adminPool)))
	return e
}

// pathVectors are sec.md §2's path-confusion vectors aimed at /admin through the public route.
var pathVectors = []string{
	"/public/../admin/x", "/public/./../admin/x", "/public/%2e%2e/admin/x", "/public/%2E%2E/admin/x",
	"/public/.%2e/admin/x", "/public/%2e./admin/x", "/public/%2e/admin/x", "/public%2F..%2Fadmin/x",
	"/public/..%2Fadmin/x", "/public/x%2F..%2F..%2Fadmin%2Fx", "/public%2fadmin/x", "/public/%252e%252e%252fadmin/x",
	"/public/%252e%252e/admin/x", `/public/..\admin/x`, `/public\..\admin\x`, "/public/%5c..%5cadmin/x",
	"/public/..;/admin/x", "/public/x;/../admin/x", "/public/x;a=b/../../admin/x", "/public/x%3b/../admin/x",
	"//admin/x", "/public//../admin/x", "/public/x//../../admin/x", "/admin/x%00", "/public/x%00/../../admin/x",
	"/admin/x%0a", "/public/x%0d%0a/../../admin/x", "/public/x%23/../../admin/x", "/public/x%3f/../../admin/x",
	"/public/%EF%BC%8F..%EF%BC%8Fadmin/x", "/public/%EF%BC%8E%EF%BC%8E/admin/x", "/public/x/%EF%BC%BC../admin",
	"/%61dmin/x", "/%41DMIN/x", "/ADMIN/x", "/Admin/x", "/admin/", "/admin", "/admin%2fx", "/adm%69n/x",
	"/./admin/x", "/public/.", "/public/..", "/public/x/..", "/public/x/.", "/public/%2e", "/%2e%2e/admin/x",
	"/public/x/%2e%2e%2f%2e%2e%2fadmin/x", "/public/x%c0%ae%c0%ae/admin", "/public/%c0%af../admin",
}

// Every path-confusion vector, without a token and with a non-admin token: nothing reaches the
// upstream at an /admin path; with the admin token, every request the upstream receives has
// exactly the canonical path that was authorized.
func TestPathConfusion(t *testing.T) {
	e := newConfusionEnv(t)
	userTok, adminTok := e.idp.id(t, aUser), e.idp.id(t, anAdmin)
	for _, tok := range []string{"", userTok} {
		for _, v := range pathVectors {
			for _, m := range []string{"GET", "HEAD", "POST"} {
				hdrs := []string{}
				if tok != "" {
					hdrs = []string{"Authorization", "Bearer " + tok}
				}
				r := e.raw(t, m+" "+v+" HTTP/1.1", hdrs...)
				if r.header.Get("X-Gatehouse-Decision-Id") == "" {
					t.Errorf("%s %s: no decision id", m, v)
				}
				if r.status == 200 {
					// Allowed: must be a public path, forwarded as its canonical form.
					c, err := router.Canonicalize(v)
					if err != nil || !strings.HasPrefix(c, "/public/") {
						t.Errorf("%s %s allowed (canonical %q, %v)", m, v, c, err)
					}
				}
			}
		}
	}
	for _, s := range e.up.all() {
		if strings.HasPrefix(strings.ToLower(s.Path), "/admin") || strings.Contains(s.Path, "..") || strings.Contains(strings.ToLower(s.Path), "%2f") {
			t.Errorf("upstream received %s %s unauthorized", s.Method, s.Path)
		}
	}
	// Absolute-form request target with a public Host: only the path counts.
	e.raw(t, "GET http://internal.example/admin/x HTTP/1.1").want(t, "absolute URI to /admin", 401, bodyUnauthorized)

	// With the admin token: whatever is allowed is forwarded as exactly its canonical form.
	before := len(e.up.all())
	var allowed []string
	benign := []string{"/admin/x", "/admin/x/", "/admin/a%7eb/c%7E", "/admin/caf%c3%a9", "/admin/%41%42", "/admin/a%20b", "/admin/x.y"}
	for _, v := range append(benign, pathVectors...) {
		r := e.raw(t, "GET "+v+" HTTP/1.1", "Authorization", "Bearer "+adminTok)
		if r.status == 200 {
			c, err := router.Canonicalize(v)
			if err != nil {
				t.Fatalf("%s allowed but not canonical: %v", v, err)
			}
			allowed = append(allowed, c)
		}
	}
	got := e.up.all()[before:]
	if len(got) != len(allowed) {
		t.Fatalf("upstream got %d requests for %d allowed", len(got), len(allowed))
	}
	for i, s := range got {
		if s.Path != allowed[i] {
			t.Errorf("authorized %s, upstream saw %s", allowed[i], s.Path)
		}
	}
	if len(allowed) < len(benign) {
		t.Fatalf("too few vectors allowed for the admin to test forwarding: %v", allowed)
	}
	// Specific canonical forms: decoded unreserved characters are authorized as the decoded
	// route, so %61dmin is /admin for the authorizer and the upstream alike.
	e.raw(t, "GET /%61dmin/x HTTP/1.1").want(t, "/%61dmin/x without token", 401, bodyUnauthorized)
	e.raw(t, "GET /%61dmin/x HTTP/1.1", "Authorization", "Bearer "+adminTok).want(t, "/%61dmin/x admin", 200, "")
	if s := e.up.last(t); s.Path != "/admin/x" {
		t.Fatalf("upstream saw %s", s.Path)
	}
	e.raw(t, "GET /public/caf%c3%a9%20x HTTP/1.1").want(t, "escaped UTF-8 and space", 200, "")
	if s := e.up.last(t); s.Path != "/public/caf%C3%A9%20x" {
		t.Fatalf("upstream saw %s", s.Path)
	}
	e.raw(t, "GET /public/../admin/x HTTP/1.1").want(t, "dot segments", 400, `{"message":"Invalid request path"}`)
}

// Identity headers cannot be supplied by clients, in any spelling, nor stripped through
// Connection.
func TestHeaderSpoofing(t *testing.T) {
	e := newConfusionEnv(t)
	adminTok, userTok := e.idp.id(t, anAdmin), e.idp.id(t, aUser)
	spoof := []string{
		"X-Gatehouse-Principal", "evil", "x_gatehouse_principal", "evil", "X-GATEHOUSE-PRINCIPAL", "evil",
		"x-gatehouse-groups", "admins", "X_Gatehouse_Groups", "admins", "X-Gatehouse-Decision-Id", "forged",
		"X-Gatehouse-Claim-Email", "ceo@example.com", "x-gAtEhOuSe_anything", "1",
		"Connection", "X-Gatehouse-Principal, X-Gatehouse-Groups, X-Gatehouse-Decision-Id",
		"X-Forwarded-For", "10.9.9.9", "X-Forwarded-Host", "admin.internal", "X-Forwarded-Prefix", "/admin",
		"X-Original-URL", "/admin/x", "X-Rewrite-URL", "/admin/x", "Forwarded", "for=10.9.9.9",
		"X-HTTP-Method-Override", "DELETE", "X-HTTP-Method", "DELETE", "X-Method-Override", "DELETE",
	}
	check := func(what, wantPrincipal, wantGroups string) {
		t.Helper()
		s := e.up.last(t)
		var principal, groups []string
		for k, v := range s.Headers {
			lk := strings.ToLower(strings.ReplaceAll(k, "_", "-"))
			switch {
			case lk == "x-gatehouse-principal":
				principal = append(principal, v...)
			case lk == "x-gatehouse-groups":
				groups = append(groups, v...)
			case lk == "x-gatehouse-decision-id":
				if len(v) != 1 || v[0] == "forged" {
					t.Errorf("%s: decision id %v", what, v)
				}
			case strings.HasPrefix(lk, "x-gatehouse-"):
				t.Errorf("%s: upstream received %s: %v", what, k, v)
			case strings.HasPrefix(lk, "x-forwarded-") && lk != "x-forwarded-for" && lk != "x-forwarded-host" && lk != "x-forwarded-proto",
				lk == "x-original-url", lk == "x-rewrite-url", lk == "forwarded",
				lk == "x-http-method-override", lk == "x-http-method", lk == "x-method-override":
				t.Errorf("%s: upstream received %s: %v", what, k, v)
			}
		}
		if strings.Join(principal, "|") != wantPrincipal || strings.Join(groups, "|") != wantGroups {
			t.Errorf("%s: principal %v groups %v, want %q %q", what, principal, groups, wantPrincipal, wantGroups)
		}
		if xff := s.Headers["X-Forwarded-For"]; len(xff) != 1 || xff[0] != "127.0.0.1" {
			t.Errorf("%s: X-Forwarded-For %v", what, xff)
		}
		if xfh := s.Headers["X-Forwarded-Host"]; len(xfh) != 1 || xfh[0] != "gateway.test" {
			t.Errorf("%s: X-Forwarded-Host %v", what, xfh)
		}
		if s.Method != "GET" {
			t.Errorf("%s: method override honoured: %s", what, s.Method)
		}
	}
	e.raw(t, "GET /admin/x HTTP/1.1", append([]string{"Authorization", "Bearer " + adminTok}, spoof...)...).want(t, "admin", 200, "")
	check("admin", adminPool+"|root-sub", "admins")
	e.raw(t, "GET /public/x HTTP/1.1", spoof...).want(t, "public", 200, "")
	check("public", "", "")
	e.raw(t, "GET /admin/x HTTP/1.1", append([]string{"Authorization", "Bearer " + userTok}, spoof...)...).want(t, "non-admin with spoofed groups", 403, bodyImplicitDeny)
	// The spoofed principal/group headers never count for the authorizer either.
	e.raw(t, "GET /admin/x HTTP/1.1", spoof...).want(t, "spoofed headers without a token", 401, bodyUnauthorized)
}

// HEAD is authorized as GET; an override header never changes the method authorized.
func TestMethodHandling(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	cust, own := p.idp.access(t, customer), p.idp.access(t, owner)
	p.do(t, "HEAD", "/demo/pets", "").want(t, "HEAD without token", 401, "")
	p.do(t, "HEAD", "/demo/pets", cust).want(t, "HEAD customer", 200, "")
	if s := p.up.last(t); s.Method != "HEAD" || s.Path != "/pets" {
		t.Fatalf("upstream saw %s %s", s.Method, s.Path)
	}
	// HEAD on the ANY admin route is decided as "get /admin/{proxy+}".
	p.do(t, "HEAD", "/demo/admin/x", own).want(t, "HEAD admin owner", 200, "")
	p.do(t, "HEAD", "/demo/admin/x", p.idp.access(t, employee)).want(t, "HEAD admin employee", 403, "")
	// A customer may GET /pets but not POST it; an override header does not turn a GET into a
	// POST at the upstream, nor a POST into a GET for the authorizer.
	p.do(t, "GET", "/demo/pets", cust, "X-HTTP-Method-Override", "POST").want(t, "GET with override", 200, "")
	if s := p.up.last(t); s.Method != "GET" || s.Headers["X-Http-Method-Override"] != nil {
		t.Fatalf("upstream saw %s with %v", s.Method, s.Headers)
	}
	p.do(t, "POST", "/demo/pets", cust, "X-HTTP-Method-Override", "GET", "X-Method-Override", "GET").want(t, "POST with override", 403, bodyExplicitDeny)
	p.do(t, "OPTIONS", "/demo/pets", "").want(t, "OPTIONS without a route", 403, bodyMissingToken)
	p.do(t, "TRACE", "/demo/pets", cust).want(t, "TRACE", 403, bodyMissingToken)
}

func TestBodyLimitAndUpstreamFailure(t *testing.T) {
	var mu sync.Mutex
	var failures []string
	e := newEnv(t, storetest.Open(t, "sqlite"), func(d *gateway.Deps, _ *[]gateway.Option) {
		d.OnUpstreamError = func(_ context.Context, api, kind string) {
			mu.Lock()
			failures = append(failures, api+":"+kind)
			mu.Unlock()
		}
	})
	e.putAPI(t, fmt.Sprintf(`
name: Limits
basePath: /
upstream: %s
routes:
  - {route: "POST /small", authorizer: none, maxBodyBytes: 10}
  - {route: "POST /big", authorizer: none}
  - {route: "GET /down", authorizer: none, upstream: "http://127.0.0.1:1"}
`, e.up.srv.URL))
	r, err := http.Post(e.srv.URL+"/small", "text/plain", strings.NewReader("0123456789ABC"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 413 {
		t.Fatalf("oversized body: %d", r.StatusCode)
	}
	// Chunked (no Content-Length): the limit applies while streaming.
	pr := strings.NewReader(strings.Repeat("x", 100))
	req, _ := http.NewRequest("POST", e.srv.URL+"/small", struct{ *strings.Reader }{pr})
	req.ContentLength = -1
	r, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 413 {
		t.Fatalf("oversized chunked body: %d", r.StatusCode)
	}
	r, err = http.Post(e.srv.URL+"/big", "text/plain", strings.NewReader("0123456789ABC"))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Fatalf("body under the default limit: %d", r.StatusCode)
	}
	e.do(t, "GET", "/down", "").want(t, "upstream down", 502, `{"message":"Internal server error"}`)
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(failures, "Limits:upstream_error") || !slices.Contains(failures, "Limits:body_too_large") {
		t.Fatalf("upstream failures reported: %v", failures)
	}
}
