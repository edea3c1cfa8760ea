package gateway_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// ---- groups mapped to IAM policies (article 001, examples/groups-iam) ----

const vetPool = "us-east-1_VetPool1"

var vet = user{pool: vetPool, client: "vetclient", sub: "sub-vet", username: "cognitouser", groups: []string{"pet-veterinarian"}}

func vetPolicy(condition string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Sid":"PetStore-API","Effect":"Allow","Action":"execute-api:Invoke",
 "Resource":["arn:aws:execute-api:*:*:*/*/*/petstore/v1/*","arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status"]%s}]}`, condition)
}

func newIAMEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: PetApi
stage: dev
upstream: %s
authorizers:
  groups:
    type: iam
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [vetclient]}}
    cacheTtl: 300s
routes:
  - {route: "ANY /{api+}", authorizer: groups}
`, e.up.srv.URL, poolARN(vetPool)))
	if _, err := e.apis.PutGroupPolicy(context.Background(), "PetApi", "pet-veterinarian", []byte(vetPolicy(""))); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestIAMGroupsScenario(t *testing.T) {
	e := newIAMEnv(t)
	tok := e.idp.access(t, vet)
	e.do(t, "GET", "/dev/petstore/v1/pets", "").want(t, "no Authorization", 401, bodyUnauthorized)
	e.do(t, "GET", "/dev/petstore/v1/pets", garbageToken).want(t, "garbage token", 403, bodyImplicitDeny)
	e.do(t, "GET", "/dev/petstore/v1/pets", tok).want(t, "vet GET v1/pets", 200, "")
	if got := e.up.last(t); got.Path != "/petstore/v1/pets" || got.Method != "GET" {
		t.Fatalf("upstream saw %s %s", got.Method, got.Path)
	}
	e.do(t, "GET", "/dev/petstore/v2/pets", tok).want(t, "vet GET v2/pets", 403, bodyImplicitDeny)
	e.do(t, "GET", "/dev/petstore/v2/status", tok).want(t, "vet GET v2/status", 200, "")
	e.do(t, "POST", "/dev/petstore/v2/status", tok).want(t, "vet POST v2/status", 403, bodyImplicitDeny)
	e.do(t, "GET", "/dev/petstore/v1/pets/3", tok).want(t, "vet GET v1/pets/3", 200, "")

	// Around the table (sample A's derived rows).
	e.do(t, "GET", "/dev/petstore/v1/pets", e.idp.id(t, vet)).want(t, "ID token", 403, bodyImplicitDeny)
	e.do(t, "GET", "/dev/petstore/v1/pets", e.idp.expiredAccess(t, vet)).want(t, "expired token", 403, bodyImplicitDeny)
	nobody := vet
	nobody.groups = nil
	e.do(t, "GET", "/dev/petstore/v1/pets", e.idp.access(t, nobody)).want(t, "no groups", 403, bodyImplicitDeny)
	stranger := vet
	stranger.groups = []string{"cat-lovers"}
	e.do(t, "GET", "/dev/petstore/v1/pets", e.idp.access(t, stranger)).want(t, "group without policy", 403, bodyImplicitDeny)
	e.do(t, "GET", "/dev/", tok).want(t, "root is not a route", 403, bodyMissingToken)

	ctx := context.Background()
	// Source IP outside the condition's CIDRs → 403; inside → 200. The next request sees it.
	if _, err := e.apis.PutGroupPolicy(ctx, "PetApi", "pet-veterinarian", []byte(vetPolicy(`,"Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8"]}}`))); err != nil {
		t.Fatal(err)
	}
	e.do(t, "GET", "/dev/petstore/v1/pets", tok).want(t, "source IP outside the condition", 403, bodyImplicitDeny)
	if _, err := e.apis.PutGroupPolicy(ctx, "PetApi", "pet-veterinarian", []byte(vetPolicy(`,"Condition":{"IpAddress":{"aws:SourceIp":["127.0.0.0/8","::1/128"]}}`))); err != nil {
		t.Fatal(err)
	}
	e.do(t, "GET", "/dev/petstore/v1/pets", tok).want(t, "source IP inside the condition", 200, "")

	// A Deny statement in a second group of the user gives the explicit-deny body; a user in
	// several groups gets the union of their statements.
	if _, err := e.apis.PutGroupPolicy(ctx, "PetApi", "suspended", []byte(`{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"execute-api:*","Resource":"arn:aws:execute-api:*:*:*/*/*/petstore/v1/pets/9"}}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.apis.PutGroupPolicy(ctx, "PetApi", "readers", []byte(`{"Version":"2012-10-17","Statement":{"Effect":"ALLOW","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:us-east-1:123456789012:*/dev/GET/petstore/v2/pets"}}`)); err != nil {
		t.Fatal(err)
	}
	both := vet
	both.groups = []string{"pet-veterinarian", "suspended", "readers"}
	bt := e.idp.access(t, both)
	e.do(t, "GET", "/dev/petstore/v1/pets/9", bt).want(t, "explicit deny", 403, bodyExplicitDeny)
	e.do(t, "GET", "/dev/petstore/v1/pets/8", bt).want(t, "allowed by the first group", 200, "")
	e.do(t, "GET", "/dev/petstore/v2/pets", bt).want(t, "allowed by the third group (union)", 200, "")
}

// ---- static role mapping with hierarchy and lateral roles (article 003, examples/role-map) ----

const staffPool = "us-east-1_StaffPool"

func TestStaticRoleMapping(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Intranet
basePath: /
upstream: %s
authorizers:
  roles:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [staff]}}
    roleHierarchy: [admin, manager, employee]
routes:
  - {route: "GET /handbook", authorizer: roles, groups: [employee]}
  - {route: "GET /reports", authorizer: roles, groups: [manager]}
  - {route: "ANY /settings", authorizer: roles, groups: [admin]}
  - {route: "GET /ledger", authorizer: roles, groups: [finance, auditor]}
  - {route: "GET /me", authorizer: roles}
`, e.up.srv.URL, poolARN(staffPool)))
	mk := func(groups ...string) string {
		return e.idp.id(t, user{pool: staffPool, client: "staff", sub: "s-" + fmt.Sprint(groups), username: "u", groups: groups})
	}
	admin, manager, employee, auditor, none := mk("admin"), mk("manager"), mk("employee"), mk("auditor"), mk()
	financeEmployee := mk("finance", "employee")
	cases := []struct {
		who, token, path string
		status           int
	}{
		{"admin", admin, "/handbook", 200}, {"admin", admin, "/reports", 200}, {"admin", admin, "/settings", 200},
		{"manager", manager, "/handbook", 200}, {"manager", manager, "/reports", 200}, {"manager", manager, "/settings", 403},
		{"employee", employee, "/handbook", 200}, {"employee", employee, "/reports", 403}, {"employee", employee, "/settings", 403},
		// Lateral roles: not in the hierarchy, any-of.
		{"auditor", auditor, "/ledger", 200}, {"auditor", auditor, "/handbook", 403}, {"admin", admin, "/ledger", 403},
		{"finance+employee", financeEmployee, "/ledger", 200}, {"finance+employee", financeEmployee, "/handbook", 200},
		{"finance+employee", financeEmployee, "/reports", 403},
		{"no groups", none, "/me", 200}, {"no groups", none, "/handbook", 403},
	}
	for _, c := range cases {
		body := ""
		if c.status == 403 {
			body = bodyImplicitDeny
		}
		e.do(t, "GET", c.path, c.token).want(t, c.who+" GET "+c.path, c.status, body)
	}
	e.do(t, "GET", "/handbook", "").want(t, "no token", 401, bodyUnauthorized)
	// Zero network calls per request: the JWKS was fetched once for the first token, and the
	// requests above and these did not fetch again.
	fetches := e.idp.JWKSFetches()
	for range 20 {
		e.do(t, "GET", "/reports", manager).want(t, "repeat", 200, "")
	}
	if e.idp.JWKSFetches() != fetches || fetches != 1 {
		t.Fatalf("JWKS fetched %d times (then %d)", fetches, e.idp.JWKSFetches())
	}
}

// ---- two identity providers, one layer (article 004, examples/vet-clinic) ----

const (
	internalPool = "us-east-1_Internal1"
	externalPool = "us-east-1_External1"
)

var (
	jane = user{pool: internalPool, client: "internal-app", sub: "jane-sub", username: "Jane", groups: []string{"AllVeterinarians"}, extra: map[string]any{"custom:Role": "Doctor"}}
	adam = user{pool: internalPool, client: "internal-app", sub: "adam-sub", username: "Adam", groups: []string{"AllVeterinarians"}, extra: map[string]any{"custom:Role": "Doctor"}}
	dave = user{pool: externalPool, client: "external-app", sub: "dave-sub", username: "Dave", groups: []string{"AllClients"}, extra: map[string]any{"custom:Role": "Client"}}
	joy  = user{pool: externalPool, client: "external-app", sub: "joy-sub", username: "Joy", groups: []string{"AllClients"}, extra: map[string]any{"custom:Role": "Client"}}
)

func principalOf(u user) types.EntityUID {
	return types.NewEntityUID("User", types.String(u.pool+"|"+u.sub))
}

func appointment(id string, owner, vet user) types.Entity {
	return types.Entity{UID: types.NewEntityUID("Appointment", types.String(id)),
		Attributes: types.NewRecord(types.RecordMap{"owner": principalOf(owner), "veterinarian": principalOf(vet)})}
}

type clinic struct {
	*env
	storeID string
}

func newClinic(t testing.TB) *clinic {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	ps, err := e.ps.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: policystore.ModeOff})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ pool, client string }{{internalPool, "internal-app"}, {externalPool, "external-app"}} {
		_, err := e.ps.CreateIdentitySource(ctx, ps.ID, policystore.IdentitySourceInput{
			Configuration: identity.Configuration{CognitoUserPoolConfiguration: &identity.CognitoUserPoolConfiguration{
				UserPoolARN: poolARN(p.pool), ClientIDs: []string{p.client},
				GroupConfiguration: &identity.CognitoGroupConfiguration{GroupEntityType: "UserGroup"}}},
			PrincipalEntityType: "User"})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		fmt.Sprintf(`permit (principal in UserGroup::"%s|AllVeterinarians", action == Action::"get /appointment/{id}", resource is Appointment) when { principal == resource.veterinarian };`, internalPool),
		fmt.Sprintf(`permit (principal in UserGroup::"%s|AllClients", action == Action::"get /appointment/{id}", resource is Appointment) when { principal == resource.owner };`, externalPool),
	} {
		if _, err := e.ps.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: stmt}}); err != nil {
			t.Fatal(err)
		}
	}
	err = e.ps.PutEntities(ctx, ps.ID, []types.Entity{
		appointment("PI-T123", dave, jane), appointment("PI-T124", joy, jane), appointment("PI-T125", dave, adam)})
	if err != nil {
		t.Fatal(err)
	}
	e.putAPI(t, fmt.Sprintf(`
name: Clinic
stage: dev
upstream: %s
authorizers:
  avp: {type: cedar, policyStoreId: %s, tokenType: identityToken}
routes:
  - {route: "GET /appointment/{id}", authorizer: avp, resource: 'Appointment::"{id}"'}
identityHeaders: {claims: ["custom:Role", "cognito:username"]}
`, e.up.srv.URL, ps.ID))
	return &clinic{env: e, storeID: ps.ID}
}

func TestTwoIdentityProviders(t *testing.T) {
	c := newClinic(t)
	tok := map[string]string{"Jane": c.idp.id(t, jane), "Adam": c.idp.id(t, adam), "Dave": c.idp.id(t, dave), "Joy": c.idp.id(t, joy), "garbage": garbageToken}
	rows := []struct {
		caller, appt string
		status       int
	}{
		{"garbage", "PI-T123", 403},
		{"Jane", "PI-T123", 200}, {"Adam", "PI-T123", 403}, {"Adam", "PI-T125", 200},
		{"Dave", "PI-T123", 200}, {"Joy", "PI-T123", 403}, {"Joy", "PI-T124", 200}, {"Jane", "PI-T124", 200},
		// Derived rows of sample B.
		{"Dave", "PI-T125", 200}, {"Jane", "PI-T125", 403}, {"Adam", "PI-T124", 403}, {"Dave", "PI-T124", 403},
		{"Joy", "PI-T125", 403}, {"Jane", "PI-T999", 403},
	}
	for _, appt := range []string{"PI-T123", "PI-T124", "PI-T125"} {
		c.do(t, "GET", "/dev/appointment/"+appt, "").want(t, "no token "+appt, 401, bodyUnauthorized)
	}
	for _, r := range rows {
		body := ""
		if r.status == 403 {
			body = bodyExplicitDeny
		}
		c.do(t, "GET", "/dev/appointment/"+r.appt, tok[r.caller]).want(t, r.caller+" → "+r.appt, r.status, body)
		if r.status == 200 {
			if got := c.up.last(t); got.Path != "/appointment/"+r.appt {
				t.Fatalf("upstream path %s", got.Path)
			}
		}
	}
	c.do(t, "GET", "/dev/appointment/PI-T123", tok["Dave"]).want(t, "Dave again", 200, "")
	got := c.up.last(t)
	if h := got.Headers; len(h["X-Gatehouse-Claim-Custom-Role"]) != 1 || h["X-Gatehouse-Claim-Custom-Role"][0] != "Client" ||
		h["X-Gatehouse-Claim-Cognito-Username"][0] != "Dave" || h["X-Gatehouse-Principal"][0] != externalPool+"|dave-sub" ||
		h["X-Gatehouse-Groups"][0] != "AllClients" {
		t.Fatalf("identity headers %v", h)
	}
	// The issuer comes from the token: a client header naming the other pool changes nothing,
	// and an access token is not an ID token.
	c.do(t, "GET", "/dev/appointment/PI-T123", tok["Joy"], "clienttype", "internal").want(t, "Joy claiming internal", 403, bodyExplicitDeny)
	c.do(t, "GET", "/dev/appointment/PI-T123", c.idp.access(t, dave)).want(t, "access token instead of ID token", 403, bodyExplicitDeny)
	c.do(t, "GET", "/dev/appointment", tok["Dave"]).want(t, "no id", 403, bodyMissingToken)
	c.do(t, "POST", "/dev/appointment/PI-T123", tok["Dave"]).want(t, "POST", 403, bodyMissingToken)
	// A token of an unknown pool that is otherwise perfect.
	mallory := dave
	mallory.pool = "us-east-1_Unknown1"
	c.do(t, "GET", "/dev/appointment/PI-T123", c.idp.id(t, mallory)).want(t, "unknown issuer", 403, bodyExplicitDeny)
}
