package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

const petPool = "us-east-1_PetPool1"

const petStoreSchema = `namespace PetStore {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  action "get /", "get /pets", "get /pets/{petId}", "post /pets",
         "delete /admin/{proxy+}", "get /admin/{proxy+}", "patch /admin/{proxy+}",
         "post /admin/{proxy+}", "put /admin/{proxy+}" appliesTo {
    principal: [User], resource: [Application], context: {}
  };
}`

var (
	customer = user{pool: petPool, client: "petclient", sub: "sub-customer", username: "carol", groups: []string{"customers"}, scopes: []string{"petstore/api"}}
	employee = user{pool: petPool, client: "petclient", sub: "sub-employee", username: "eve", groups: []string{"employees"}, scopes: []string{"petstore/api"}}
	owner    = user{pool: petPool, client: "petclient", sub: "sub-owner", username: "otto", groups: []string{"owners"}, scopes: []string{"petstore/api"}}
)

// petStore is article 000's setup: a policy store generated from the API, and the API.
type petStore struct {
	*env
	storeID        string
	employeePolicy string
}

func employeesPolicy() string { return employeesPolicyFor(petPool) }

func employeesPolicyFor(pool string) string {
	return fmt.Sprintf(`permit (principal in PetStore::UserGroup::"%s|employees", action in [PetStore::Action::"post /pets"], resource);`, pool)
}

func newPetStore(t testing.TB, st store.Store) *petStore {
	t.Helper()
	return newPetStoreIn(t, newEnv(t, st), petPool, "petclient")
}

// newPetStoreIn sets article 000's store and API up for a pool and app client.
func newPetStoreIn(t testing.TB, e *env, pool, client string) *petStore {
	t.Helper()
	ctx := context.Background()
	ps, err := e.ps.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: policystore.ModeStrict})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.ps.PutSchema(ctx, ps.ID, petStoreSchema); err != nil {
		t.Fatal(err)
	}
	_, err = e.ps.CreateIdentitySource(ctx, ps.ID, policystore.IdentitySourceInput{
		Configuration: identity.Configuration{CognitoUserPoolConfiguration: &identity.CognitoUserPoolConfiguration{
			UserPoolARN: poolARN(pool), ClientIDs: []string{client},
			GroupConfiguration: &identity.CognitoGroupConfiguration{GroupEntityType: "PetStore::UserGroup"}}},
		PrincipalEntityType: "PetStore::User"})
	if err != nil {
		t.Fatal(err)
	}
	p := &petStore{env: e, storeID: ps.ID}
	pol, err := e.ps.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: employeesPolicyFor(pool)}})
	if err != nil {
		t.Fatal(err)
	}
	p.employeePolicy = pol.ID
	owners := fmt.Sprintf(`permit (principal in PetStore::UserGroup::"%s|owners", action in [PetStore::Action::"post /pets",
  PetStore::Action::"delete /admin/{proxy+}", PetStore::Action::"get /admin/{proxy+}", PetStore::Action::"patch /admin/{proxy+}",
  PetStore::Action::"post /admin/{proxy+}", PetStore::Action::"put /admin/{proxy+}"], resource);`, pool)
	if _, err := e.ps.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: owners}}); err != nil {
		t.Fatal(err)
	}
	e.putAPI(t, petStoreAPIFor(ps.ID, e.up.srv.URL, "GET /pets", pool, client))
	return p
}

func petStoreAPI(storeID, upstream, petsRoute string) string {
	return petStoreAPIFor(storeID, upstream, petsRoute, petPool, "petclient")
}

func petStoreAPIFor(storeID, upstream, petsRoute, pool, client string) string {
	return fmt.Sprintf(`
name: PetStore
stage: demo
upstream: %s
authorizers:
  cognito:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [%s]}}
    cacheTtl: 300s
  avp:
    type: cedar
    policyStoreId: %s
    tokenType: accessToken
    cacheTtl: 300s
routes:
  - {route: "GET /", authorizer: none}
  - {route: "%s", authorizer: cognito, scopes: [petstore/api]}
  - {route: "GET /pets/{petId}", authorizer: cognito, scopes: [petstore/api]}
  - {route: "POST /pets", authorizer: avp}
  - {route: "ANY /admin/{proxy+}", authorizer: avp, mock: {status: 200, body: '{"Message": "User authorized for $context.path"}'}}
identityHeaders: {claims: [username, scope]}
`, upstream, poolARN(pool), client, storeID, petsRoute)
}

func testPetStore(t *testing.T, st store.Store) {
	p := newPetStore(t, st)
	idp := p.idp
	cust, emp, own := idp.access(t, customer), idp.access(t, employee), idp.access(t, owner)

	// Every request of article 000 (examples/petstore/README.md), status and body.
	p.do(t, "GET", "/demo/", "").want(t, "GET /demo/ no token", 200, `{"message":"Welcome to the PetStore"}`)
	p.do(t, "GET", "/demo/pets", "").want(t, "GET /demo/pets no token", 401, bodyUnauthorized)
	p.do(t, "GET", "/demo/pets", cust).want(t, "GET /demo/pets customer", 200, `[{"id":1,"type":"dog"},{"id":2,"type":"cat"}]`)
	p.do(t, "POST", "/demo/pets", cust).want(t, "POST /demo/pets customer", 403, bodyExplicitDeny)
	before := p.up.count()
	empRes := p.do(t, "POST", "/demo/pets", emp)
	empRes.want(t, "POST /demo/pets employee", 200, "")
	if p.up.count() != before+1 {
		t.Fatal("POST /demo/pets employee did not reach the upstream")
	}
	got := p.up.last(t)
	if got.Method != "POST" || got.Path != "/pets" {
		t.Fatalf("upstream saw %s %s, want POST /pets", got.Method, got.Path)
	}
	if v := got.Headers["X-Gatehouse-Principal"]; len(v) != 1 || v[0] != petPool+"|sub-employee" {
		t.Fatalf("principal header %v", v)
	}
	if v := got.Headers["X-Gatehouse-Groups"]; len(v) != 1 || v[0] != "employees" {
		t.Fatalf("groups header %v", v)
	}
	if v := got.Headers["X-Gatehouse-Claim-Username"]; len(v) != 1 || v[0] != "eve" {
		t.Fatalf("claim header %v", v)
	}
	// The upstream and the client see the same decision id, a UUIDv7.
	id := empRes.header.Get("X-Gatehouse-Decision-Id")
	if v := got.Headers["X-Gatehouse-Decision-Id"]; len(v) != 1 || v[0] != id {
		t.Fatalf("decision id upstream %v, client %s", v, id)
	}
	if u, err := uuid.Parse(id); err != nil || u.Version() != 7 {
		t.Fatalf("decision id %q is not a UUIDv7: %v", id, err)
	}
	p.do(t, "GET", "/demo/admin/curltest1", emp).want(t, "GET /demo/admin/curltest1 employee", 403, bodyExplicitDeny)
	p.do(t, "GET", "/demo/admin/curltest1", own).want(t, "GET /demo/admin/curltest1 owner", 200, `{"Message": "User authorized for /demo/admin/curltest1"}`)

	// Around the table.
	p.do(t, "GET", "/demo", "").want(t, "GET /demo (root without slash)", 200, `{"message":"Welcome to the PetStore"}`)
	p.do(t, "GET", "/demo/pets/7", cust).want(t, "GET /demo/pets/7 customer", 200, "")
	if got := p.up.last(t); got.Path != "/pets/7" {
		t.Fatalf("upstream path %s", got.Path)
	}
	p.do(t, "DELETE", "/demo/pets", cust).want(t, "DELETE /demo/pets (no such method)", 403, bodyMissingToken)
	p.do(t, "GET", "/demo/nowhere", cust).want(t, "unknown route", 403, bodyMissingToken)
	p.do(t, "GET", "/other/pets", cust).want(t, "unknown base path", 403, bodyMissingToken)
	p.do(t, "GET", "/demo/pets", idp.id(t, customer)).want(t, "ID token on a scoped route", 401, bodyUnauthorized)
	noScope := customer
	noScope.scopes = nil
	p.do(t, "GET", "/demo/pets", idp.access(t, noScope)).want(t, "access token without the scope", 401, bodyUnauthorized)
	p.do(t, "GET", "/demo/pets", idp.expiredAccess(t, customer)).want(t, "expired token", 401, bodyExpired)
	p.do(t, "GET", "/demo/pets", garbageToken).want(t, "garbage token on jwt", 401, bodyUnauthorized)
	p.do(t, "POST", "/demo/pets", garbageToken).want(t, "garbage token on cedar", 403, bodyExplicitDeny)
	p.do(t, "POST", "/demo/pets", "").want(t, "no token on cedar", 401, bodyUnauthorized)
	p.do(t, "POST", "/demo/pets", emp, "Authorization", "Bearer "+own).want(t, "two Authorization headers", 403, bodyExplicitDeny)
	other := employee
	other.client = "someone-else"
	p.do(t, "POST", "/demo/pets", idp.access(t, other)).want(t, "token of another client", 403, bodyExplicitDeny)
	p.do(t, "PUT", "/demo/admin/a/b/c", own).want(t, "PUT admin owner (ANY expands)", 200, `{"Message": "User authorized for /demo/admin/a/b/c"}`)
	r := p.do(t, "GET", "/demo/admin/x", own)
	if r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("mock content type %q", r.header.Get("Content-Type"))
	}
	// Token without the Bearer prefix is accepted (API Gateway's Cognito authorizer does).
	p.do(t, "GET", "/demo/pets", "", "Authorization", cust).want(t, "no Bearer prefix", 200, "")
	// x-amzn-ErrorType as API Gateway sets it.
	if et := p.do(t, "GET", "/demo/pets", "").header.Get("x-amzn-ErrorType"); et != "UnauthorizedException" {
		t.Fatalf("x-amzn-ErrorType %q", et)
	}
	if et := p.do(t, "POST", "/demo/pets", cust).header.Get("x-amzn-ErrorType"); et != "AccessDeniedException" {
		t.Fatalf("x-amzn-ErrorType %q", et)
	}
	// The upstream's decision id never replaces the gateway's.
	if id := p.do(t, "GET", "/demo/", "").header.Values("X-Gatehouse-Decision-Id"); len(id) != 1 || id[0] == "spoofed-by-upstream" {
		t.Fatalf("decision id %v", id)
	}
	if !strings.Contains(p.logs.String(), `"reason":"policy_deny"`) || !strings.Contains(p.logs.String(), `"reason":"missing_token"`) {
		t.Fatalf("denials are not logged with a reason:\n%s", p.logs.String())
	}
	if strings.Contains(p.logs.String(), cust) {
		t.Fatal("a token was logged")
	}
}

func TestPetStoreScenario(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) { testPetStore(t, s) })
}

func TestGatewayResponsesCustomized(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	yml := petStoreAPI(p.storeID, p.up.srv.URL, "GET /pets") + `
gatewayResponses:
  ACCESS_DENIED: {status: 401, body: '{"error":"denied","path":"$context.path","why":$context.error.messageString,"id":"$context.requestId"}'}
  DEFAULT_4XX: {body: '{"oops":"$context.error.message"}', headers: {X-Custom: yes-it-is}}
`
	p.putAPI(t, yml)
	r := p.do(t, "POST", "/demo/pets", p.idp.access(t, customer))
	var got map[string]string
	if err := json.Unmarshal([]byte(r.body), &got); err != nil || r.status != 401 {
		t.Fatalf("custom ACCESS_DENIED: %d %s %v", r.status, r.body, err)
	}
	if got["error"] != "denied" || got["path"] != "/demo/pets" || got["why"] != "User is not authorized to access this resource with an explicit deny" ||
		got["id"] != r.header.Get("X-Gatehouse-Decision-Id") {
		t.Fatalf("custom body %v", got)
	}
	r = p.do(t, "GET", "/demo/pets", "")
	r.want(t, "DEFAULT_4XX fallback", 401, `{"oops":"Unauthorized"}`)
	if r.header.Get("X-Custom") != "yes-it-is" {
		t.Fatalf("custom header missing: %v", r.header)
	}
}

// A token's claims are inserted JSON-escaped, so a hostile claim cannot break a template out
// of its string.
func TestTemplateEscapesValues(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	p.putAPI(t, strings.Replace(petStoreAPI(p.storeID, p.up.srv.URL, "GET /pets"),
		`'{"Message": "User authorized for $context.path"}'`, `'{"p":"$context.authorizer.principalId"}'`, 1))
	hostile := owner
	hostile.sub = `x","admin":true,"y":"`
	r := p.do(t, "GET", "/demo/admin/q", p.idp.access(t, hostile))
	// The owner policy allows; the mock body is still valid JSON with one key.
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil || len(m) != 1 || m["p"] != petPool+"|"+hostile.sub {
		t.Fatalf("mock body %s: %v", r.body, err)
	}
}
