package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// With a 300 s decision cache, every change is enforced on the very next request: decisions
// are keyed by the revisions they were made at. Each step first warms the cache with the same
// token, so a stale entry would be served if the key did not cover the change.
func TestFreshnessPolicyChange(t *testing.T) {
	ctx := context.Background()
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	emp := p.idp.access(t, employee)
	for range 3 {
		p.do(t, "POST", "/demo/pets", emp).want(t, "employee before", 200, "")
	}
	if err := p.ps.DeletePolicy(ctx, p.storeID, p.employeePolicy); err != nil {
		t.Fatal(err)
	}
	p.do(t, "POST", "/demo/pets", emp).want(t, "employee right after the policy is deleted", 403, bodyExplicitDeny)
	pol, err := p.ps.CreatePolicy(ctx, p.storeID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: employeesPolicy()}})
	if err != nil {
		t.Fatal(err)
	}
	p.do(t, "POST", "/demo/pets", emp).want(t, "employee right after the policy is re-created", 200, "")
	// A forbid added alongside wins at once.
	if _, err := p.ps.CreatePolicy(ctx, p.storeID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{
		Statement: fmt.Sprintf(`forbid (principal == PetStore::User::"%s|sub-employee", action, resource);`, petPool)}}); err != nil {
		t.Fatal(err)
	}
	p.do(t, "POST", "/demo/pets", emp).want(t, "employee right after a forbid", 403, bodyExplicitDeny)
	_ = pol
}

func TestFreshnessEntityChange(t *testing.T) {
	ctx := context.Background()
	c := newClinic(t)
	daveTok, joyTok := c.idp.id(t, dave), c.idp.id(t, joy)
	c.do(t, "GET", "/dev/appointment/PI-T123", daveTok).want(t, "Dave owns T123", 200, "")
	c.do(t, "GET", "/dev/appointment/PI-T123", joyTok).want(t, "Joy does not", 403, bodyExplicitDeny)
	if err := c.ps.PutEntities(ctx, c.storeID, []types.Entity{appointment("PI-T123", joy, jane)}); err != nil {
		t.Fatal(err)
	}
	c.do(t, "GET", "/dev/appointment/PI-T123", daveTok).want(t, "Dave right after the owner changed", 403, bodyExplicitDeny)
	c.do(t, "GET", "/dev/appointment/PI-T123", joyTok).want(t, "Joy right after the owner changed", 200, "")
	if err := c.ps.DeleteEntities(ctx, c.storeID, []types.EntityUID{types.NewEntityUID("Appointment", "PI-T123")}); err != nil {
		t.Fatal(err)
	}
	c.do(t, "GET", "/dev/appointment/PI-T123", joyTok).want(t, "Joy right after the appointment is deleted", 403, bodyExplicitDeny)
}

func TestFreshnessRouteChange(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	cust := p.idp.access(t, customer)
	p.do(t, "GET", "/demo/pets", cust).want(t, "customer before", 200, "")
	rev := p.gw.Revision()
	// GET /pets moves behind the cedar authorizer, which customers are denied by.
	yml := petStoreAPI(p.storeID, p.up.srv.URL, "GET /pets/list")
	p.putAPI(t, yml+"\n")
	p.do(t, "GET", "/demo/pets", cust).want(t, "route removed: next request", 403, bodyMissingToken)
	if p.gw.Revision() <= rev {
		t.Fatalf("revision did not move: %d → %d", rev, p.gw.Revision())
	}
	p.do(t, "GET", "/demo/pets/list", cust).want(t, "new route: next request", 200, "")
	// The authorizer of a route changes: public → the same route now needs a token.
	p.putAPI(t, `
name: PetStore
stage: demo
upstream: `+p.up.srv.URL+`
routes:
  - {route: "GET /pets", authorizer: none}
`)
	p.do(t, "GET", "/demo/pets", "").want(t, "route made public: next request", 200, "")
	p.putAPI(t, petStoreAPI(p.storeID, p.up.srv.URL, "GET /pets"))
	p.do(t, "GET", "/demo/pets", "").want(t, "route protected again: next request", 401, bodyUnauthorized)
	// Deleting the API removes every route at once.
	if err := p.apis.Delete(context.Background(), "PetStore"); err != nil {
		t.Fatal(err)
	}
	p.do(t, "GET", "/demo/", "").want(t, "API deleted: next request", 403, bodyMissingToken)
}

func TestFreshnessGroupPolicyChange(t *testing.T) {
	e := newIAMEnv(t)
	tok := e.idp.access(t, vet)
	e.do(t, "GET", "/dev/petstore/v2/status", tok).want(t, "before", 200, "")
	if _, err := e.apis.PutGroupPolicy(context.Background(), "PetApi", "pet-veterinarian",
		[]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/*/petstore/v1/*"}]}`)); err != nil {
		t.Fatal(err)
	}
	e.do(t, "GET", "/dev/petstore/v2/status", tok).want(t, "right after the policy shrank", 403, bodyImplicitDeny)
	if err := e.apis.DeleteGroupPolicy(context.Background(), "PetApi", "pet-veterinarian"); err != nil {
		t.Fatal(err)
	}
	e.do(t, "GET", "/dev/petstore/v1/pets", tok).want(t, "right after the policy is deleted", 403, bodyImplicitDeny)
}

// FlushCache empties the decision caches; decisions stay correct either way.
func TestFlushCache(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	emp := p.idp.access(t, employee)
	p.do(t, "POST", "/demo/pets", emp).want(t, "before flush", 200, "")
	p.gw.FlushCache("PetStore")
	p.gw.FlushCache("")
	p.do(t, "POST", "/demo/pets", emp).want(t, "after flush", 200, "")
}

// Two nodes on one database: a change written through node A reaches node B through Refresh
// (what a multi-node poller calls when notifications may be missed).
func TestRefreshSeesAnotherNodesChange(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, backend)
			stA, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stA.Close() })
			stB, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stB.Close() })
			a := newEnv(t, stA)
			b := newEnv(t, stB)
			api := `
name: Shared
basePath: /
upstream: ` + a.up.srv.URL + `
routes:
  - {route: "GET %s", authorizer: none}
`
			a.putAPI(t, fmt.Sprintf(api, "/one"))
			if err := b.gw.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			b.do(t, "GET", "/one", "").want(t, "node B serves A's route", 200, "")
			a.putAPI(t, fmt.Sprintf(api, "/two"))
			if err := b.gw.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			b.do(t, "GET", "/one", "").want(t, "node B after refresh: old route gone", 403, bodyMissingToken)
			b.do(t, "GET", "/two", "").want(t, "node B after refresh: new route", 200, "")
		})
	}
}
