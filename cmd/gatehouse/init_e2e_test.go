package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

// TestInitApplyPassesScenario runs `gatehouse init --apply` for article 000 against a running
// node with a built-in IdP pool, then plays SPEC §2.1's table through the gateway with real
// tokens: the wizard's output is a working setup, not just text.
func TestInitApplyPassesScenario(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tmp := t.TempDir()
	t.Setenv("GATEHOUSE_ACCESS_KEY_ID", "AKIDINITTEST0001")
	t.Setenv("GATEHOUSE_SECRET_ACCESS_KEY", "init-test-secret-0123456789abcdef")
	cfg := config.Defaults()
	// The node and the CLI (which reads the variables) share the management credentials.
	cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDINITTEST0001", "init-test-secret-0123456789abcdef"
	cfg.DB = filepath.Join(tmp, "g.db")
	cfg.Listen, cfg.AdminListen, cfg.IdPListen, cfg.ForwardAuthListen = freePort(t), freePort(t), freePort(t), "off"
	cfg.IdPIssuerBase = "http://" + cfg.IdPListen
	node, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	if err := node.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- node.Serve(ctx) }()
	defer func() { cancel(); <-done }()

	up := httptest.NewServer(sampleapi.PetStore())
	defer up.Close()

	// The pool of article 000, in the built-in IdP.
	p := node.IdP
	pool, err := p.CreatePool(ctx, idp.PoolInput{Name: "PetStorePool"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateResourceServer(ctx, pool.ID, "petstore", "PetStore API", []idp.ScopeInfo{{Name: "api"}}); err != nil {
		t.Fatal(err)
	}
	client, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "petstore",
		ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH"}, AllowedOAuthScopes: []string{"petstore/api"}})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[string]string{}
	for group, user := range map[string]string{"customers": "carol", "employees": "eve", "owners": "otto"} {
		if _, err := p.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: group}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.CreateUser(ctx, pool.ID, user, "Passw0rd!-"+user, nil); err != nil {
			t.Fatal(err)
		}
		if err := p.AddUserToGroup(ctx, pool.ID, user, group); err != nil {
			t.Fatal(err)
		}
		tok, err := p.IssueTokens(ctx, pool.ID, client.ID, user)
		if err != nil {
			t.Fatal(err)
		}
		tokens[group] = tok.AccessToken
	}

	dir := filepath.Join(tmp, "petstore")
	args := petStoreInitArgs(dir)
	args[slices.Index(args, "--pool")+1] = pool.ID
	args[slices.Index(args, "--upstream")+1] = up.URL
	args[slices.Index(args, "--db")+1] = cfg.DB
	args = append(args, "--client-id", client.ID, "--apply", "--endpoint", "http://"+node.Addr("admin"))
	out, code := run(t, args...)
	if code != 0 {
		t.Fatalf("init --apply: %d %s", code, out)
	}
	t.Logf("init --apply:\n%s", out)

	gw := node.Addr("gateway")
	if host, port, _ := net.SplitHostPort(gw); host == "::" || host == "0.0.0.0" || host == "" {
		gw = "127.0.0.1:" + port
	}
	do := func(method, path, token string) (int, string) {
		req, _ := http.NewRequest(method, "http://"+gw+path, strings.NewReader(`{"type": "dog","price": 249.99}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// The gateway picks the new API up on the store's change notification.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := do("GET", "/demo/", ""); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the applied API never answered GET /demo/")
		}
	}
	const explicitDeny = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	for _, c := range []struct {
		method, path, group string
		status              int
		body                string // substring
	}{
		{"GET", "/demo/", "", 200, "Welcome to your Pet Store API"},
		{"GET", "/demo/pets", "", 401, `{"message":"Unauthorized"}`},
		{"GET", "/demo/pets", "customers", 200, `"dog"`},
		{"GET", "/demo/pets/1", "customers", 200, `"dog"`},
		{"POST", "/demo/pets", "customers", 403, explicitDeny},
		{"POST", "/demo/pets", "employees", 200, ""},
		{"POST", "/demo/pets", "owners", 200, ""},
		{"GET", "/demo/admin/curltest1", "employees", 403, explicitDeny},
		{"GET", "/demo/admin/curltest1", "owners", 200, `{"Message": "User authorized for /demo/admin/curltest1"}`},
		{"DELETE", "/demo/admin/a/b", "owners", 200, `{"Message": "User authorized for /demo/admin/a/b"}`},
	} {
		code, body := do(c.method, c.path, tokens[c.group])
		if code != c.status || !strings.Contains(body, c.body) {
			t.Errorf("%s %s as %q: %d %s, want %d %s", c.method, c.path, c.group, code, body, c.status, c.body)
		}
	}

	// The same API with the pool as a plain OIDC issuer (discovery checked live): groups come
	// from the cognito:groups claim and are keyed by the issuer.
	issuer := "http://" + cfg.IdPListen + "/" + pool.ID
	oidc := petStoreInitArgs(filepath.Join(tmp, "oidc"))
	i := slices.Index(oidc, "--pool")
	oidc = slices.Delete(oidc, i, i+2)
	oidc[slices.Index(oidc, "--stage")+1] = "oidc"
	oidc[slices.Index(oidc, "--upstream")+1] = up.URL
	oidc = append(oidc, "--issuer", issuer, "--group-claim", "cognito:groups", "--client-id", client.ID,
		"--name", "PetStoreOIDC", "--apply", "--endpoint", "http://"+node.Addr("admin"))
	if out, code := run(t, oidc...); code != 0 {
		t.Fatalf("init --issuer --apply: %d %s", code, out)
	}
	if pol := tree(t, filepath.Join(tmp, "oidc"))["policies/owners.cedar"]; !strings.Contains(pol, `PetStoreOIDC::UserGroup::"`+strings.TrimPrefix(issuer, "https://")+`|owners"`) {
		t.Errorf("owners policy:\n%s", pol)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := do("GET", "/oidc/", ""); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the OIDC API never answered GET /oidc/")
		}
	}
	for _, c := range []struct {
		method, path, group string
		status              int
	}{
		{"GET", "/oidc/pets", "", 401}, {"GET", "/oidc/pets", "customers", 200}, {"POST", "/oidc/pets", "customers", 403},
		{"POST", "/oidc/pets", "employees", 200}, {"GET", "/oidc/admin/x", "employees", 403}, {"GET", "/oidc/admin/x", "owners", 200},
	} {
		if code, body := do(c.method, c.path, tokens[c.group]); code != c.status {
			t.Errorf("OIDC %s %s as %q: %d %s, want %d", c.method, c.path, c.group, code, body, c.status)
		}
	}

	// Applying again without a directory (the files go to a temporary one) changes nothing.
	i = slices.Index(args, "--dir")
	args = slices.Delete(args, i, i+2)
	out, code = run(t, args...)
	if code != 0 || strings.Contains(out, "created") || strings.Contains(out, "changed") && !strings.Contains(out, "0 changed") {
		t.Errorf("second init --apply: %d %s", code, out)
	}
}
