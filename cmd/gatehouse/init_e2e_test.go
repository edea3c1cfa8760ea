package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

// TestInitApplyPassesScenario runs `gatehouse init --apply` for article 000 against a running
// node with a built-in IdP pool, then plays article 000's requests (examples/petstore/README.md) through the gateway with real
// tokens: the wizard's output is a working setup, not just text.
func TestInitApplyPassesScenario(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	t.Setenv("GATEHOUSE_ACCESS_KEY_ID", "AKIDINITTEST0001")
	t.Setenv("GATEHOUSE_SECRET_ACCESS_KEY", "init-test-secret-0123456789abcdef")
	cfg := config.Defaults()
	// The node and the CLI (which reads the variables) share the management credentials.
	cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDINITTEST0001", "init-test-secret-0123456789abcdef"
	cfg.DB = filepath.Join(tmp, "g.db")
	cfg.Listen, cfg.AdminListen, cfg.IdPListen, cfg.ForwardAuthListen = freePort(t), freePort(t), freePort(t), "off"
	cfg.IdPIssuerBase = "http://" + cfg.IdPListen
	cfg.ShutdownDelay = 0
	node := apptest.Start(t, cfg)

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

// initNode is a running node with a built-in IdP pool whose users are in groups, for
// end-to-end runs of init --apply.
type initNode struct {
	cfg    config.Config
	gw     string // gateway host:port
	pool   string
	tokens map[string]string // "<group>" (client with every scope) or "<group>/bare" (no scope)
	client []string          // client ids
}

func startInitNode(t *testing.T, scopes map[string][]string) *initNode {
	t.Helper()
	ctx := context.Background()
	tmp := t.TempDir()
	t.Setenv("GATEHOUSE_ACCESS_KEY_ID", "AKIDINITTEST0001")
	t.Setenv("GATEHOUSE_SECRET_ACCESS_KEY", "init-test-secret-0123456789abcdef")
	cfg := config.Defaults()
	cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDINITTEST0001", "init-test-secret-0123456789abcdef"
	cfg.DB = filepath.Join(tmp, "g.db")
	cfg.Listen, cfg.AdminListen, cfg.IdPListen, cfg.ForwardAuthListen = freePort(t), freePort(t), freePort(t), "off"
	cfg.IdPIssuerBase = "http://" + cfg.IdPListen
	cfg.ShutdownDelay = 0
	node := apptest.Start(t, cfg)

	p := node.IdP
	pool, err := p.CreatePool(ctx, idp.PoolInput{Name: "CorpusPool"})
	if err != nil {
		t.Fatal(err)
	}
	var all, servers []string
	for server := range scopes {
		servers = append(servers, server)
	}
	slices.Sort(servers)
	for _, server := range servers {
		var infos []idp.ScopeInfo
		for _, s := range scopes[server] {
			infos = append(infos, idp.ScopeInfo{Name: s})
			all = append(all, server+"/"+s)
		}
		if _, err := p.CreateResourceServer(ctx, pool.ID, server, server, infos); err != nil {
			t.Fatal(err)
		}
	}
	full, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "full", AllowedOAuthScopes: all})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "bare"})
	if err != nil {
		t.Fatal(err)
	}
	n := &initNode{cfg: cfg, pool: pool.ID, tokens: map[string]string{}, client: []string{full.ID, bare.ID}}
	for group, user := range map[string]string{"readers": "rita", "writers": "will", "": "nora"} {
		if _, err := p.CreateUser(ctx, pool.ID, user, "Passw0rd!-"+user, nil); err != nil {
			t.Fatal(err)
		}
		if group != "" {
			if _, err := p.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: group}); err != nil {
				t.Fatal(err)
			}
			if err := p.AddUserToGroup(ctx, pool.ID, user, group); err != nil {
				t.Fatal(err)
			}
		} else {
			group = "nobody"
		}
		for _, c := range []struct{ suffix, id string }{{"", full.ID}, {"/bare", bare.ID}} {
			tok, err := p.IssueTokens(ctx, pool.ID, c.id, user)
			if err != nil {
				t.Fatal(err)
			}
			n.tokens[group+c.suffix] = tok.AccessToken
		}
	}
	n.gw = node.Addr("gateway")
	if _, port, _ := net.SplitHostPort(n.gw); port != "" {
		n.gw = "127.0.0.1:" + port
	}
	return n
}

// do sends one request through the gateway as the holder of token key ("" for none).
func (n *initNode) do(t *testing.T, method, path, token string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+n.gw+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+n.tokens[token])
	}
	if method == http.MethodOptions {
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "GET")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// corpusRequest is one request and its expected outcome: the status, and for allowed
// requests the path the upstream received (it answers with it) or a response header.
type corpusRequest struct {
	method, path, token string
	status              int
	upstream            string // path the upstream saw, or "header:Name=value"
}

// TestInitCorpus runs init --apply on each document of the corpus (shapes of public APIs
// that made init abort) against a running node and plays requests with real tokens through
// the gateway: routes the document could not spell for API Gateway still authorize as the
// policies say, the servers base path reaches the upstream, the document's public
// operations and scopes hold, and preflights get the CORS mock's answer.
func TestInitCorpus(t *testing.T) {
	n := startInitNode(t, map[string][]string{"incidents": {"read", "write"}, "files": {"groups"}, "tasks": {"read", "write", "default"}})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, r.URL.Path) }))
	defer up.Close()
	tmp := t.TempDir()
	corpus := filepath.Join(wizardTestdata, "corpus")
	for _, c := range []struct {
		file, stage string
		args        []string
		reqs        []corpusRequest
	}{
		{"incidents.yaml", "incidents", []string{"--authenticated", "listIncidents,getIncident",
			"--allow", "writers=createIncident,updateIncident", "--allow", "readers=listNotes"}, []corpusRequest{
			{"GET", "/incidents/status", "", 200, "/status"},
			{"GET", "/incidents/incidents", "", 401, ""},
			{"GET", "/incidents/incidents", "readers/bare", 401, ""},
			{"GET", "/incidents/incidents", "readers", 200, "/incidents"},
			{"POST", "/incidents/incidents", "readers", 403, ""},
			{"POST", "/incidents/incidents", "writers", 200, "/incidents"},
			{"GET", "/incidents/incidents/P1/notes", "readers", 200, "/incidents/P1/notes"},
			{"GET", "/incidents/incidents/P1/notes", "writers", 403, ""},
		}},
		{"calls.yaml", "calls", []string{"--allow", "readers=FetchAccount,FetchCall,ListCall", "--allow", "writers=CreateCall,DeleteCall"}, []corpusRequest{
			{"GET", "/calls/2010-04-01/Accounts/AC1.json", "readers", 200, "/2010-04-01/Accounts/AC1.json"},
			{"GET", "/calls/2010-04-01/Accounts/AC1.xml", "readers", 403, ""},
			{"GET", "/calls/2010-04-01/Accounts/AC1", "readers", 403, ""},
			{"GET", "/calls/2010-04-01/Accounts/AC1/Calls/CA1.json", "readers", 200, "/2010-04-01/Accounts/AC1/Calls/CA1.json"},
			{"GET", "/calls/2010-04-01/Accounts/AC1/Calls/CA1.xml", "readers", 403, ""},
			{"GET", "/calls/2010-04-01/Accounts/AC1/Calls/CA1.json", "writers", 403, ""},
			{"DELETE", "/calls/2010-04-01/Accounts/AC1/Calls/CA1.json", "writers", 200, "/2010-04-01/Accounts/AC1/Calls/CA1.json"},
			{"DELETE", "/calls/2010-04-01/Accounts/AC1/Calls/CA1.json", "readers", 403, ""},
			{"POST", "/calls/2010-04-01/Accounts/AC1/Calls.json", "writers", 200, "/2010-04-01/Accounts/AC1/Calls.json"},
			{"GET", "/calls/2010-04-01/Accounts/AC1/Calls.json", "nobody", 403, ""},
			{"GET", "/calls/2010-04-01/Accounts.json", "", 401, ""},
		}},
		{"messaging.yaml", "messaging", []string{"--allow", "readers=FetchService,ListPhoneNumber", "--allow", "writers=DeleteService"}, []corpusRequest{
			{"GET", "/messaging/Services/MG1", "readers", 200, "/v1/Services/MG1"},
			{"DELETE", "/messaging/Services/MG1", "readers", 403, ""},
			{"DELETE", "/messaging/Services/MG1", "writers", 200, "/v1/Services/MG1"},
			{"GET", "/messaging/Services/MG1/PhoneNumbers", "readers", 200, "/v1/Services/MG1/PhoneNumbers"},
			{"GET", "/messaging/Services/MG1/PhoneNumbers/PN1", "readers", 403, ""},
		}},
		{"files.yaml", "files", []string{"--authenticated", "get_groups",
			"--allow", "readers=get_files_id#get_shared_link,get_files_id_thumbnail_id", "--allow", "writers=put_files_id#add_shared_link,delete_files_id"}, []corpusRequest{
			{"GET", "/files/files/F1", "readers", 200, "/2.0/files/F1"},
			{"PUT", "/files/files/F1", "readers", 403, ""},
			{"PUT", "/files/files/F1", "writers", 200, "/2.0/files/F1"},
			{"GET", "/files/files/F1/thumbnail.png", "readers", 200, "/2.0/files/F1/thumbnail.png"},
			{"GET", "/files/files/F1/preview.png", "readers", 403, ""},
			{"GET", "/files/groups", "nobody", 200, "/2.0/groups"},
			{"GET", "/files/groups", "nobody/bare", 401, ""},
		}},
		{"sites.yaml", "sites", []string{"--allow", "readers=getSite,listSiteForms", "--allow", "writers=deleteSite,lockDeploy"}, []corpusRequest{
			{"GET", "/sites/sites/S1", "readers", 200, "/api/v1/sites/S1"},
			{"GET", "/sites/sites/S1/forms", "readers", 200, "/api/v1/sites/S1/forms"},
			{"DELETE", "/sites/sites/S1", "readers", 403, ""},
			{"DELETE", "/sites/sites/S1", "writers", 200, "/api/v1/sites/S1"},
			{"POST", "/sites/deploys/D1/lock", "writers", 200, "/api/v1/deploys/D1/lock"},
			{"GET", "/sites/sites/S1/deploys/D1", "readers", 403, ""},
		}},
		{"aws-petstore.yaml", "petstore-aws", []string{"--allow", "readers=listPets,getPet", "--allow", "writers=createPet"}, []corpusRequest{
			{"OPTIONS", "/petstore-aws/pets", "", 200, "header:Access-Control-Allow-Origin=*"},
			{"OPTIONS", "/petstore-aws/pets", "", 200, "header:Access-Control-Allow-Methods=POST,GET,OPTIONS"},
			{"GET", "/petstore-aws/pets", "readers", 200, "/pets"},
			{"GET", "/petstore-aws/pets/7", "readers", 200, "/pets/7"},
			{"POST", "/petstore-aws/pets", "readers", 403, ""},
			{"POST", "/petstore-aws/pets", "writers", 200, "/pets"},
		}},
		{"workspaces.yaml", "workspaces", []string{"--authenticated", "getTasks",
			"--allow", "readers=getTask,getSubtasksForTask", "--allow", "writers=createTask,deleteTask"}, []corpusRequest{
			{"OPTIONS", "/workspaces/tasks", "", 204, "header:Access-Control-Allow-Origin=https://app.workspaces.example"},
			{"OPTIONS", "/workspaces/tasks/T1", "", 204, "header:Access-Control-Max-Age=600"},
			{"GET", "/workspaces/tasks", "nobody", 200, "/api/1.0/tasks"},
			{"GET", "/workspaces/tasks", "nobody/bare", 401, ""},
			{"GET", "/workspaces/tasks/T1", "readers", 200, "/api/1.0/tasks/T1"},
			{"GET", "/workspaces/tasks/T1", "writers", 403, ""},
			{"DELETE", "/workspaces/tasks/T1", "writers", 200, "/api/1.0/tasks/T1"},
			{"GET", "/workspaces/users/me", "readers", 403, ""},
		}},
		{"reports.yaml", "reports", []string{"--allow", "readers=listReports", "--allow", "writers=DELETE /reports/{id}"}, []corpusRequest{
			{"GET", "/reports/reports", "readers", 200, "/v1/reports"},
			{"GET", "/reports/reports/R1", "readers", 403, ""},
			{"DELETE", "/reports/reports/R1", "readers", 403, ""},
			{"DELETE", "/reports/reports/R1", "writers", 200, "/v1/reports/R1"},
			// The document makes {id}.csv public, but its route also matches {id}.pdf, which
			// takes a token: the route stays with the policies (it was public, and GET
			// /exports/R1.pdf passed without a token).
			{"GET", "/reports/exports/R1.pdf", "", 401, ""},
			{"GET", "/reports/exports/R1.csv", "", 401, ""},
			{"GET", "/reports/exports/R1.pdf", "readers", 403, ""},
		}},
		{"large.json", "large", []string{"--allow", "readers=list_resource0000,GET /resource0249/{id}", "--allow", "writers=ANY /resource0100/{id}"}, []corpusRequest{
			{"GET", "/large/resource0000", "readers", 200, "/v2/resource0000"},
			{"GET", "/large/resource0249/x", "readers", 200, "/v2/resource0249/x"},
			{"DELETE", "/large/resource0249/x", "readers", 403, ""},
			{"DELETE", "/large/resource0100/x", "writers", 200, "/v2/resource0100/x"},
			{"GET", "/large/resource0001", "readers", 403, ""},
		}},
	} {
		t.Run(c.file, func(t *testing.T) {
			args := append([]string{"init", "--openapi", filepath.Join(corpus, c.file), "--dir", filepath.Join(tmp, c.stage),
				"--pool", n.pool, "--stage", c.stage, "--upstream", up.URL, "--client-id", strings.Join(n.client, ","),
				"--apply", "--endpoint", "http://" + n.cfg.AdminListen, "--db", n.cfg.DB}, c.args...)
			out, code := run(t, args...)
			if code != 0 {
				t.Fatalf("init --apply: %d %s", code, out)
			}
			t.Logf("init --apply:\n%s", out)
			first := c.reqs[0]
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				if code, _, _ := n.do(t, first.method, first.path, first.token); code == first.status {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the applied API never answered %s %s with %d", first.method, first.path, first.status)
				}
			}
			for _, r := range c.reqs {
				code, h, body := n.do(t, r.method, r.path, r.token)
				ok := code == r.status
				if name, val, isHeader := strings.Cut(strings.TrimPrefix(r.upstream, "header:"), "="); strings.HasPrefix(r.upstream, "header:") && isHeader {
					ok = ok && h.Get(name) == val
				} else if r.upstream != "" {
					ok = ok && body == r.upstream
				}
				if !ok {
					t.Errorf("%s %s as %q: %d %s (headers %v), want %d %s", r.method, r.path, r.token, code, body, h, r.status, r.upstream)
				}
			}
		})
	}
}

// TestInitApplyAVPSchemaLimit: with AVP's schema quota set (maxSchemaBytes 100000, the AWS
// compatibility setting), init --apply of a 1,000-operation API fails naming the setting and
// leaves neither a policy store without its schema nor the API behind; by default (1 MiB) the
// same document applies (TestInitCorpus).
func TestInitApplyAVPSchemaLimit(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	t.Setenv("GATEHOUSE_ACCESS_KEY_ID", "AKIDINITTEST0001")
	t.Setenv("GATEHOUSE_SECRET_ACCESS_KEY", "init-test-secret-0123456789abcdef")
	cfg := config.Defaults()
	cfg.AccessKeyID, cfg.SecretAccessKey = "AKIDINITTEST0001", "init-test-secret-0123456789abcdef"
	cfg.DB = filepath.Join(tmp, "g.db")
	cfg.Listen, cfg.AdminListen, cfg.IdPListen, cfg.ForwardAuthListen = freePort(t), freePort(t), "off", "off"
	cfg.ShutdownDelay = 0
	cfg.MaxSchemaBytes = 100000
	node := apptest.Start(t, cfg)

	out, code := run(t, "init", "--openapi", filepath.Join(wizardTestdata, "corpus", "large.json"), "--dir", filepath.Join(tmp, "large"),
		"--pool", "us-east-1_Large", "--upstream", "http://127.0.0.1:9", "--allow", "readers=list_resource0000",
		"--apply", "--endpoint", "http://"+cfg.AdminListen, "--db", filepath.Join(tmp, "none.db"))
	if code == 0 || !strings.Contains(out, "maxSchemaBytes") {
		t.Fatalf("init --apply over the AVP quota: %d %s", code, out)
	}
	t.Logf("init --apply:\n%s", out)
	if ps, err := node.Policies.GetPolicyStore(ctx, "LargeAPIgenerated"); err == nil {
		t.Errorf("policy store %s was created without its schema", ps.ID)
	}
	if _, err := node.APIs.Get(ctx, "Large-API-generated"); err == nil {
		t.Error("the API was created although its policy store was refused")
	}
}
