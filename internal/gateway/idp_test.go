package gateway_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Article 000 (examples/petstore) end to end with tokens from the built-in IdP: a real pool, app client, resource
// server scope, groups and users; the gateway fetches the pool's JWKS over HTTP.
func TestPetStoreWithBuiltInIdP(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		srv := httptest.NewUnstartedServer(nil)
		srv.Start()
		t.Cleanup(srv.Close)
		provider := idp.New(st, idp.WithBaseURL(srv.URL), idp.WithArgon2(idp.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}))
		srv.Config.Handler = provider.Handler()

		pool, err := provider.CreatePool(ctx, idp.PoolInput{Name: "petstore"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := provider.CreateResourceServer(ctx, pool.ID, "petstore", "PetStore API", []idp.ScopeInfo{{Name: "api", Description: "the API"}}); err != nil {
			t.Fatal(err)
		}
		client, err := provider.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web", AllowedOAuthScopes: []string{"petstore/api"}})
		if err != nil {
			t.Fatal(err)
		}
		subs := map[string]string{}
		for _, u := range []struct{ name, group string }{{"carol", "customers"}, {"eve", "employees"}, {"otto", "owners"}} {
			if _, err := provider.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: u.group}); err != nil {
				t.Fatal(err)
			}
			created, err := provider.CreateUser(ctx, pool.ID, u.name, "Correct-Horse-9-Battery", map[string]string{"email": u.name + "@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			subs[u.name] = created.Sub
			if err := provider.AddUserToGroup(ctx, pool.ID, u.name, u.group); err != nil {
				t.Fatal(err)
			}
		}
		access := func(name string) string {
			tk, err := provider.IssueTokens(ctx, pool.ID, client.ID, name)
			if err != nil {
				t.Fatal(err)
			}
			return tk.AccessToken
		}

		e := newEnv(t, st)
		e.cognitoURL = srv.URL
		p := newPetStoreIn(t, e, pool.ID, client.ID)
		cust, emp, own := access("carol"), access("eve"), access("otto")

		p.do(t, "GET", "/demo/", "").want(t, "GET /demo/ no token", 200, `{"message":"Welcome to the PetStore"}`)
		p.do(t, "GET", "/demo/pets", "").want(t, "GET /demo/pets no token", 401, bodyUnauthorized)
		p.do(t, "GET", "/demo/pets", cust).want(t, "GET /demo/pets customer", 200, `[{"id":1,"type":"dog"},{"id":2,"type":"cat"}]`)
		p.do(t, "POST", "/demo/pets", cust).want(t, "POST /demo/pets customer", 403, bodyExplicitDeny)
		p.do(t, "POST", "/demo/pets", emp).want(t, "POST /demo/pets employee", 200, "")
		if got := p.up.last(t); got.Method != "POST" || got.Path != "/pets" ||
			len(got.Headers["X-Gatehouse-Principal"]) != 1 || got.Headers["X-Gatehouse-Principal"][0] != pool.ID+"|"+subs["eve"] {
			t.Fatalf("upstream saw %s %s %v", got.Method, got.Path, got.Headers["X-Gatehouse-Principal"])
		}
		p.do(t, "GET", "/demo/admin/curltest1", emp).want(t, "GET /demo/admin/curltest1 employee", 403, bodyExplicitDeny)
		p.do(t, "GET", "/demo/admin/curltest1", own).want(t, "GET /demo/admin/curltest1 owner", 200, `{"Message": "User authorized for /demo/admin/curltest1"}`)
		// Every issue is a new token (fresh jti): a second customer token behaves the same.
		p.do(t, "POST", "/demo/pets", access("carol")).want(t, "fresh customer token", 403, bodyExplicitDeny)
	})
}
