// Package examples_test runs every example directory end to end: a node with the built-in IdP
// and the gateway, the example's users and groups, `apply` of the directory, and the example's
// curl flow as real HTTP requests, asserting status and body of each row.
package examples_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

type env struct {
	t    *testing.T
	node *app.Node
	vars map[string]string
}

func newEnv(t *testing.T, backend string) *env {
	cfg := apptest.WithIdP(t, apptest.Config(t, backend))
	return &env{t: t, node: apptest.Start(t, cfg), vars: map[string]string{}}
}

func (e *env) must(err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// pool creates a pool, a client allowed to sign in with a password, groups and users (each
// user in the listed groups); it returns the pool and client ids and the users' subs.
func (e *env) pool(name string, groups []string, users map[string][]string, scopes ...string) (poolID, clientID string, subs map[string]string) {
	e.t.Helper()
	ctx := context.Background()
	p, err := e.node.IdP.CreatePool(ctx, idp.PoolInput{Name: name})
	e.must(err)
	if len(scopes) > 0 {
		var infos []idp.ScopeInfo
		for _, s := range scopes {
			_, n, _ := strings.Cut(s, "/")
			infos = append(infos, idp.ScopeInfo{Name: n, Description: n})
		}
		_, rs, _ := strings.Cut(scopes[0], "/")
		_ = rs
		id, _, _ := strings.Cut(scopes[0], "/")
		_, err := e.node.IdP.CreateResourceServer(ctx, p.ID, id, id, infos)
		e.must(err)
	}
	c, err := e.node.IdP.CreateClient(ctx, p.ID, idp.ClientInput{Name: name + "-app",
		ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}, AllowedOAuthScopes: scopes})
	e.must(err)
	for _, g := range groups {
		_, err := e.node.IdP.CreateGroup(ctx, p.ID, idp.GroupInput{Name: g})
		e.must(err)
	}
	subs = map[string]string{}
	for u, gs := range users {
		usr, err := e.node.IdP.CreateUser(ctx, p.ID, u, "Passw0rd!"+u, map[string]string{"email": u + "@example.com"})
		e.must(err)
		subs[u] = usr.Sub
		for _, g := range gs {
			e.must(e.node.IdP.AddUserToGroup(ctx, p.ID, u, g))
		}
	}
	return p.ID, c.ID, subs
}

func (e *env) token(poolID, clientID, user string, id bool) string {
	e.t.Helper()
	t, err := e.node.IdP.IssueTokens(context.Background(), poolID, clientID, user)
	e.must(err)
	if id {
		return t.IDToken
	}
	return t.AccessToken
}

func (e *env) upstream(h http.Handler) string {
	srv := httptest.NewServer(h)
	e.t.Cleanup(srv.Close)
	return srv.URL
}

func (e *env) apply(dir string) *apply.Report {
	e.t.Helper()
	d, err := apply.Load(dir, func(k string) (string, bool) { v, ok := e.vars[k]; return v, ok })
	e.must(err)
	rep, err := apply.Apply(context.Background(), apptest.Client(e.node), d)
	e.must(err)
	return rep
}

type row struct {
	name, method, path, auth string
	status                   int
	body                     string // substring expected in the body ("" = not checked)
}

func (e *env) check(rows []row) {
	e.t.Helper()
	base := "http://" + e.node.Addr("gateway")
	for _, r := range rows {
		req, err := http.NewRequest(r.method, base+r.path, nil)
		e.must(err)
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		e.must(err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.status || (r.body != "" && !strings.Contains(string(b), r.body)) {
			e.t.Errorf("%s: %s %s → %d %s; want %d containing %q", r.name, r.method, r.path, resp.StatusCode, b, r.status, r.body)
		}
		if resp.Header.Get("X-Gatehouse-Decision-Id") == "" {
			e.t.Errorf("%s: no decision id", r.name)
		}
	}
}

const (
	unauthorized  = `{"message":"Unauthorized"}`
	explicitDeny  = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	implicitDeny  = `{"Message":"User is not authorized to access this resource"}`
	garbageBearer = "Bearer aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJl"
)

func TestPetStore(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			pool, client, _ := e.pool("PetStorePool", []string{"customers", "employees", "owners"},
				map[string][]string{"carol": {"customers"}, "erin": {"employees"}, "oscar": {"owners"}}, "petstore/api")
			e.vars["POOL_ID"], e.vars["UPSTREAM"] = pool, e.upstream(sampleapi.PetStore())
			if rep := e.apply("petstore"); len(rep.Changes) == 0 {
				t.Fatal("nothing applied")
			}
			c, em, o := e.token(pool, client, "carol", false), e.token(pool, client, "erin", false), e.token(pool, client, "oscar", false)
			e.check([]row{
				{"root", "GET", "/demo/", "", 200, "Welcome to your Pet Store API"},
				{"pets without token", "GET", "/demo/pets", "", 401, unauthorized},
				{"customer lists pets", "GET", "/demo/pets", "Bearer " + c, 200, `"type":"dog"`},
				{"customer adds pet", "POST", "/demo/pets", "Bearer " + c, 403, explicitDeny},
				{"employee adds pet", "POST", "/demo/pets", "Bearer " + em, 400, "want"}, // upstream reached (empty body)
				{"employee admin", "GET", "/demo/admin/curltest1", "Bearer " + em, 403, explicitDeny},
				{"owner admin", "GET", "/demo/admin/curltest1", "Bearer " + o, 200, `{"Message": "User authorized for /demo/admin/curltest1"}`},
			})
			if rep := e.apply("petstore"); len(rep.Changes) != 0 {
				t.Fatalf("second apply changed %v", rep.Changes)
			}
		})
	}
}

func TestGroupsIAM(t *testing.T) {
	e := newEnv(t, "sqlite")
	pool, client, _ := e.pool("PetPool", []string{"pet-veterinarian"}, map[string][]string{"cognitouser": {"pet-veterinarian"}, "nogroup": nil})
	e.vars["POOL_ID"], e.vars["CLIENT_ID"], e.vars["ALLOWED_CIDR"] = pool, client, "127.0.0.0/8"
	e.vars["UPSTREAM"] = e.upstream(sampleapi.VersionedPets())
	e.apply("groups-iam")
	tok := "Bearer " + e.token(pool, client, "cognitouser", false)
	e.check([]row{
		{"no header", "GET", "/dev/petstore/v1/pets", "", 401, unauthorized},
		{"garbage", "GET", "/dev/petstore/v1/pets", garbageBearer, 403, implicitDeny},
		{"v1 pets", "GET", "/dev/petstore/v1/pets", tok, 200, `"Birds"`},
		{"v2 pets", "GET", "/dev/petstore/v2/pets", tok, 403, implicitDeny},
		{"v2 status", "GET", "/dev/petstore/v2/status", tok, 200, `"ok"`},
		{"v2 status POST", "POST", "/dev/petstore/v2/status", tok, 403, implicitDeny},
		{"no group", "GET", "/dev/petstore/v1/pets", "Bearer " + e.token(pool, client, "nogroup", false), 403, implicitDeny},
		{"id token", "GET", "/dev/petstore/v1/pets", "Bearer " + e.token(pool, client, "cognitouser", true), 403, implicitDeny},
	})
	// The caller's address is outside the condition's CIDRs: denied.
	e.vars["ALLOWED_CIDR"] = "10.0.0.0/8"
	e.apply("groups-iam")
	e.check([]row{{"outside CIDR", "GET", "/dev/petstore/v1/pets", tok, 403, implicitDeny}})
}

func TestFinanceABAC(t *testing.T) {
	e := newEnv(t, "sqlite")
	ctx := context.Background()
	pool, client, _ := e.pool("corp", nil, nil)
	_, err := e.node.IdP.CreateUser(ctx, pool, "alice", "Passw0rd!a", map[string]string{"custom:costCenter": "Finance-EMEA"})
	e.must(err)
	_, err = e.node.IdP.CreateUser(ctx, pool, "bob", "Passw0rd!b", map[string]string{"custom:costCenter": "Sales"})
	e.must(err)
	e.vars["POOL_ID"], e.vars["CLIENT_ID"] = pool, client
	e.apply("finance-abac")
	c := apptest.Client(e.node)
	ask := func(user string) string {
		in := map[string]any{"policyStoreId": "finance", "identityToken": e.token(pool, client, user, true),
			"action":   map[string]string{"actionType": "ExampleCorp::Action", "actionId": "readFile"},
			"resource": map[string]string{"entityType": "ExampleCorp::File", "entityId": "quarterly-report.xlsx"}}
		var out struct{ Decision string }
		e.must(c.Call(ctx, "VerifiedPermissions.IsAuthorizedWithToken", in, &out))
		return out.Decision
	}
	if d := ask("alice"); d != "ALLOW" {
		t.Fatalf("alice (Finance): %s", d)
	}
	if d := ask("bob"); d != "DENY" {
		t.Fatalf("bob (Sales): %s", d)
	}
}

func TestRoleMap(t *testing.T) {
	e := newEnv(t, "sqlite")
	pool, client, _ := e.pool("staff", []string{"Admin", "Manager", "ReadOnly", "Billing", "Support"},
		map[string][]string{"ada": {"Admin"}, "mia": {"Manager"}, "rob": {"ReadOnly"}, "bo": {"Billing", "Support"}})
	e.vars["POOL_ID"], e.vars["CLIENT_ID"], e.vars["UPSTREAM"] = pool, client, e.upstream(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"ok":true}`)
	}))
	e.apply("role-map")
	tok := func(u string) string { return e.token(pool, client, u, true) } // no Bearer prefix, as the article's clients send
	e.check([]row{
		{"no token", "GET", "/prod/orders", "", 401, unauthorized},
		{"readonly reads", "GET", "/prod/orders", tok("rob"), 200, "ok"},
		{"readonly writes", "POST", "/prod/orders", tok("rob"), 403, implicitDeny},
		{"manager inherits readonly", "GET", "/prod/orders", tok("mia"), 200, "ok"},
		{"manager writes", "POST", "/prod/orders", tok("mia"), 200, "ok"},
		{"manager deletes", "DELETE", "/prod/orders/7", tok("mia"), 403, implicitDeny},
		{"admin deletes", "DELETE", "/prod/orders/7", tok("ada"), 200, "ok"},
		{"admin not billing", "GET", "/prod/invoices", tok("ada"), 403, implicitDeny},
		{"lateral billing", "GET", "/prod/invoices", tok("bo"), 200, "ok"},
		{"lateral support", "GET", "/prod/tickets", tok("bo"), 200, "ok"},
		{"lateral has no orders", "GET", "/prod/orders", tok("bo"), 403, implicitDeny},
	})
}

func TestVetClinic(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			e := newEnv(t, backend)
			vets, vetsClient, vs := e.pool("vets", []string{"AllVeterinarians"}, map[string][]string{"Jane": {"AllVeterinarians"}, "Adam": {"AllVeterinarians"}})
			clients, clientsClient, cs := e.pool("clients", []string{"AllClients"}, map[string][]string{"Dave": {"AllClients"}, "Joy": {"AllClients"}})
			for k, v := range map[string]string{"VETS_POOL_ID": vets, "VETS_CLIENT_ID": vetsClient, "CLIENTS_POOL_ID": clients, "CLIENTS_CLIENT_ID": clientsClient,
				"JANE_SUB": vs["Jane"], "ADAM_SUB": vs["Adam"], "DAVE_SUB": cs["Dave"], "JOY_SUB": cs["Joy"], "UPSTREAM": e.upstream(sampleapi.Appointments())} {
				e.vars[k] = v
			}
			e.apply("vet-clinic")
			jane, adam := "Bearer "+e.token(vets, vetsClient, "Jane", true), "Bearer "+e.token(vets, vetsClient, "Adam", true)
			dave, joy := "Bearer "+e.token(clients, clientsClient, "Dave", true), "Bearer "+e.token(clients, clientsClient, "Joy", true)
			e.check([]row{
				{"none", "GET", "/dev/appointment/PI-T123", "", 401, unauthorized},
				{"garbage", "GET", "/dev/appointment/PI-T123", garbageBearer, 403, explicitDeny},
				{"Jane T123", "GET", "/dev/appointment/PI-T123", jane, 200, `"Onyx`},
				{"Adam T123", "GET", "/dev/appointment/PI-T123", adam, 403, explicitDeny},
				{"Adam T125", "GET", "/dev/appointment/PI-T125", adam, 200, `"Sassy`},
				{"Dave T123", "GET", "/dev/appointment/PI-T123", dave, 200, `"Onyx`},
				{"Joy T123", "GET", "/dev/appointment/PI-T123", joy, 403, explicitDeny},
				{"Joy T124", "GET", "/dev/appointment/PI-T124", joy, 200, `"Jelly`},
				{"Jane T124", "GET", "/dev/appointment/PI-T124", jane, 200, `"Jelly`},
				{"Dave T124", "GET", "/dev/appointment/PI-T124", dave, 403, explicitDeny},
			})
		})
	}
}
