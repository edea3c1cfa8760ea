package apidef_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

const petStore = `
name: PetStore                 # unique
stage: demo
upstream: http://127.0.0.1:9000
region: us-east-1
authorizers:
  cognito:
    type: jwt
    identitySources:
      - configuration:
          cognitoUserPoolConfiguration:
            userPoolArn: arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc123
            clientIds: [client1]
    cacheTtl: 300s
  avp: {type: cedar, policyStoreId: PSEXAMPLE, tokenType: accessToken, namespace: PetStore, cacheTtl: 120}
  groups:
    type: iam
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc123"}}
    tokenType: accessToken
  roles:
    type: jwt
    identitySources:
      - configuration: {openIdConnectConfiguration: {issuer: "https://idp.example.com", tokenSelection: {identityTokenOnly: {clientIds: [web]}}, groupConfiguration: {groupClaim: groups, groupEntityType: Group}}}
    roleHierarchy: [admin, manager, employee]
routes:
  - {route: "GET /", authorizer: none}
  - {route: "GET /pets", authorizer: cognito, scopes: [petstore/api]}
  - {route: "POST /pets", authorizer: avp}
  - {route: "GET /appointment/{id}", authorizer: avp, resource: 'Appointment::"{id}"'}
  - {route: "GET /reports", authorizer: roles, groups: [manager]}
  - {route: "ANY /petstore/{api+}", authorizer: groups, upstream: "https://backend.example/v1"}
  - {route: "ANY /admin/{proxy+}", authorizer: avp, mock: {status: 200, body: '{"Message": "User authorized for $context.path"}'}}
gatewayResponses:
  ACCESS_DENIED: {status: 403, body: '{"message":"no"}'}
  UNAUTHORIZED: {body: '{"message":$context.error.messageString}'}
identityHeaders: {claims: [email, "custom:costCenter"]}
`

func TestParseExample(t *testing.T) {
	d, err := apidef.Parse([]byte(petStore))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if d.Name != "PetStore" || d.EffectiveBasePath() != "/demo" || d.StageName() != "demo" || len(d.Routes) != 7 {
		t.Fatalf("parsed %+v", d)
	}
	if got := d.Authorizers["cognito"].CacheTTL.Duration; got != 300*time.Second {
		t.Fatalf("cacheTtl %v", got)
	}
	if got := d.Authorizers["avp"].CacheTTL.Duration; got != 120*time.Second {
		t.Fatalf("numeric cacheTtl %v", got)
	}
	if apidef.ClaimHeader("custom:costCenter") != "X-Gatehouse-Claim-Custom-Costcenter" {
		t.Fatal(apidef.ClaimHeader("custom:costCenter"))
	}
	// JSON is accepted too, and the stored form parses back.
	if _, err := apidef.Parse([]byte(`{"name":"J","basePath":"/","upstream":"http://127.0.0.1:1","routes":[{"route":"GET /","authorizer":"none"}]}`)); err != nil {
		t.Fatal(err)
	}
}

func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *policystore.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error naming %q, got %v", field, err)
	}
	for _, f := range ve.Fields {
		if f.Path == field {
			return
		}
	}
	t.Fatalf("error %q does not name %q (%+v)", ve.Message, field, ve.Fields)
}

func TestParseStrict(t *testing.T) {
	cases := []struct{ name, doc, field string }{
		{"unknown top-level key", "name: x\nroutez: []\n", "routez"},
		{"unknown route key", "name: x\nroutes:\n  - {route: GET /, authorizer: none, scope: [a]}\n", "routes[0].scope"},
		{"case variant of a key", "Name: x\nroutes: []\n", "Name"},
		{"unknown authorizer key", "name: x\nauthorizers: {a: {type: jwt, policyStore: x}}\n", "authorizers.a.policyStore"},
		{"unknown nested identity key", "name: x\nauthorizers: {a: {type: jwt, identitySources: [{configuration: {cognitoUserPoolConfiguration: {userPoolArn: x, clientId: y}}}]}}\n", "authorizers.a.identitySources[0].configuration.cognitoUserPoolConfiguration.clientId"},
		{"wrong type", "name: [x]\n", "name"},
		{"wrong list type", "name: x\nroutes: {route: GET /}\n", "routes"},
		{"bad duration", "name: x\nauthorizers: {a: {type: jwt, cacheTtl: soon}}\n", "authorizers.a.cacheTtl"},
		{"float status", "name: x\ngatewayResponses: {UNAUTHORIZED: {status: 401.5}}\n", "gatewayResponses.UNAUTHORIZED.status"},
		{"null name", "name: null\n", "name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := apidef.Parse([]byte(c.doc))
			wantField(t, err, c.field)
		})
	}
	if _, err := apidef.Parse([]byte("name: a\nname: b\n")); err == nil {
		t.Fatal("duplicate key accepted")
	}
	if _, err := apidef.Parse([]byte("")); err == nil {
		t.Fatal("empty document accepted")
	}
	if _, err := apidef.Parse([]byte(strings.Repeat("#", apidef.MaxDefinitionBytes+1))); err == nil {
		t.Fatal("oversized document accepted")
	}
}

func TestValidate(t *testing.T) {
	base := func() apidef.Definition {
		d, err := apidef.Parse([]byte(petStore))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name  string
		edit  func(d *apidef.Definition)
		field string
	}{
		{"bad name", func(d *apidef.Definition) { d.Name = "pet store" }, "name"},
		{"bad stage", func(d *apidef.Definition) { d.Stage = "de/mo" }, "stage"},
		{"bad base path", func(d *apidef.Definition) { d.BasePath = "/a/../b" }, "basePath"},
		{"base path trailing slash", func(d *apidef.Definition) { d.BasePath = "/a/" }, "basePath"},
		{"bad region", func(d *apidef.Definition) { d.Region = "mars" }, "region"},
		{"bad upstream", func(d *apidef.Definition) { d.Upstream = "ftp://x" }, "upstream"},
		{"upstream with query", func(d *apidef.Definition) { d.Upstream = "http://x/?a=b" }, "upstream"},
		{"greedy not last", func(d *apidef.Definition) { d.Routes[3].Route = "GET /appointment/{proxy+}/x" }, "routes[3].route"},
		{"bad method", func(d *apidef.Definition) { d.Routes[0].Route = "FETCH /" }, "routes[0].route"},
		{"no space", func(d *apidef.Definition) { d.Routes[0].Route = "GET/" }, "routes[0].route"},
		{"route conflict", func(d *apidef.Definition) { d.Routes[3].Route = "GET /pets" }, "routes[3].route"},
		{"param conflict", func(d *apidef.Definition) {
			d.Routes = append(d.Routes, apidef.Route{Route: "GET /appointment/{other}", Authorizer: "none"})
		}, "routes[7].route"},
		{"unknown authorizer", func(d *apidef.Definition) { d.Routes[1].Authorizer = "cognitoo" }, "routes[1].authorizer"},
		{"missing authorizer", func(d *apidef.Definition) { d.Routes[1].Authorizer = "" }, "routes[1].authorizer"},
		{"scopes on cedar", func(d *apidef.Definition) { d.Routes[2].Scopes = []string{"x"} }, "routes[2].scopes"},
		{"groups on none", func(d *apidef.Definition) { d.Routes[0].Groups = []string{"x"} }, "routes[0].groups"},
		{"resource on jwt", func(d *apidef.Definition) { d.Routes[1].Resource = `A::"x"` }, "routes[1].resource"},
		{"resource unknown param", func(d *apidef.Definition) { d.Routes[3].Resource = `Appointment::"{nope}"` }, "routes[3].resource"},
		{"resource syntax", func(d *apidef.Definition) { d.Routes[3].Resource = `Appointment:{id}` }, "routes[3].resource"},
		{"mock and upstream", func(d *apidef.Definition) { d.Routes[6].Upstream = "http://x" }, "routes[6].mock"},
		{"mock status", func(d *apidef.Definition) { d.Routes[6].Mock.Status = 99 }, "routes[6].mock.status"},
		{"route upstream", func(d *apidef.Definition) { d.Routes[5].Upstream = "http//x" }, "routes[5].upstream"},
		{"no upstream at all", func(d *apidef.Definition) { d.Upstream = "" }, "routes[0].upstream"},
		{"websocket on POST", func(d *apidef.Definition) { d.Routes[2].WebSocket = true }, "routes[2].websocket"},
		{"websocket on mock", func(d *apidef.Definition) { d.Routes[6].WebSocket = true }, "routes[6].websocket"},
		{"negative body limit", func(d *apidef.Definition) { n := int64(-1); d.Routes[0].MaxBodyBytes = &n }, "routes[0].maxBodyBytes"},
		{"cedar without store", func(d *apidef.Definition) { a := d.Authorizers["avp"]; a.PolicyStoreID = ""; d.Authorizers["avp"] = a }, "authorizers.avp.policyStoreId"},
		{"unknown type", func(d *apidef.Definition) { a := d.Authorizers["avp"]; a.Type = "lambda"; d.Authorizers["avp"] = a }, "authorizers.avp.type"},
		{"jwt without sources", func(d *apidef.Definition) {
			a := d.Authorizers["cognito"]
			a.IdentitySources = nil
			d.Authorizers["cognito"] = a
		}, "authorizers.cognito.identitySources"},
		{"bad pool arn", func(d *apidef.Definition) {
			a := d.Authorizers["cognito"]
			a.IdentitySources[0].Configuration.CognitoUserPoolConfiguration.UserPoolARN = "arn:nope"
			d.Authorizers["cognito"] = a
		}, "authorizers.cognito.identitySources[0].configuration.cognitoUserPoolConfiguration.userPoolArn"},
		{"ttl too long", func(d *apidef.Definition) {
			a := d.Authorizers["cognito"]
			a.CacheTTL = &apidef.Duration{Duration: 2 * time.Hour}
			d.Authorizers["cognito"] = a
		}, "authorizers.cognito.cacheTtl"},
		{"bad token type", func(d *apidef.Definition) {
			a := d.Authorizers["avp"]
			a.TokenType = "idToken"
			d.Authorizers["avp"] = a
		}, "authorizers.avp.tokenType"},
		{"hierarchy on iam", func(d *apidef.Definition) {
			a := d.Authorizers["groups"]
			a.RoleHierarchy = []string{"a"}
			d.Authorizers["groups"] = a
		}, "authorizers.groups.roleHierarchy"},
		{"authorizer named none", func(d *apidef.Definition) { d.Authorizers["none"] = d.Authorizers["avp"] }, "authorizers.none"},
		{"unknown response type", func(d *apidef.Definition) { d.GatewayResponses["NOPE"] = apidef.GatewayResponse{} }, "gatewayResponses.NOPE"},
		{"response status", func(d *apidef.Definition) { d.GatewayResponses["UNAUTHORIZED"] = apidef.GatewayResponse{Status: 700} }, "gatewayResponses.UNAUTHORIZED.status"},
		{"response gatehouse header", func(d *apidef.Definition) {
			d.GatewayResponses["UNAUTHORIZED"] = apidef.GatewayResponse{Headers: map[string]string{"X_Gatehouse_Principal": "x"}}
		}, "gatewayResponses.UNAUTHORIZED.headers.X_Gatehouse_Principal"},
		{"claim header clash", func(d *apidef.Definition) { d.IdentityHeaders.Claims = []string{"a:b", "a_b"} }, "identityHeaders.claims[1]"},
		{"no routes", func(d *apidef.Definition) { d.Routes = nil }, "routes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := base()
			c.edit(&d)
			wantField(t, d.Validate(), c.field)
		})
	}
}

func minimal(name, basePath string) apidef.Definition {
	return apidef.Definition{Name: name, BasePath: basePath, Upstream: "http://127.0.0.1:9",
		Routes: []apidef.Route{{Route: "GET /", Authorizer: apidef.AuthorizerNone}}}
}

func TestService(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		svc := apidef.NewService(s)
		rev0, _ := s.Revision(ctx, apidef.Scope)
		a, err := svc.Put(ctx, minimal("A", "/a"))
		if err != nil {
			t.Fatal(err)
		}
		if len(a.ID) != 10 || strings.ToLower(a.ID) != a.ID {
			t.Fatalf("id %q", a.ID)
		}
		if rev, _ := s.Revision(ctx, apidef.Scope); rev <= rev0 {
			t.Fatal("put did not bump rev(gateway)")
		}
		// Replace by name keeps the id.
		d := minimal("A", "/a2")
		a2, err := svc.Put(ctx, d)
		if err != nil || a2.ID != a.ID || a2.BasePath != "/a2" {
			t.Fatalf("replace: %+v %v", a2, err)
		}
		// Base paths are unique; "/<stage>" counts.
		b := minimal("B", "")
		b.Stage = "a2"
		if _, err := svc.Put(ctx, b); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("base path clash: %v", err)
		}
		b.Stage = "b"
		if _, err := svc.Put(ctx, b); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"A", a.ID} {
			if got, err := svc.Get(ctx, key); err != nil || got.ID != a.ID {
				t.Fatalf("get %s: %+v %v", key, got, err)
			}
		}
		if _, err := svc.Get(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get missing: %v", err)
		}
		list, err := svc.List(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("list %v %v", list, err)
		}
		// Cedar authorizers must name an existing policy store.
		c := minimal("C", "/c")
		c.Authorizers = map[string]apidef.Authorizer{"avp": {Type: apidef.TypeCedar, PolicyStoreID: "PSmissing"}}
		c.Routes[0].Authorizer = "avp"
		_, err = svc.Put(ctx, c)
		var ve *policystore.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Path != "authorizers.avp.policyStoreId" {
			t.Fatalf("missing policy store: %v", err)
		}
		ps, err := policystore.New(s).CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: policystore.ModeOff})
		if err != nil {
			t.Fatal(err)
		}
		c.Authorizers["avp"] = apidef.Authorizer{Type: apidef.TypeCedar, PolicyStoreID: ps.ID}
		if _, err := svc.Put(ctx, c); err != nil {
			t.Fatal(err)
		}

		// Group policies.
		doc := []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/*"}]}`)
		gp, err := svc.PutGroupPolicy(ctx, "A", "readers", doc)
		if err != nil || gp.APIID != a.ID || gp.Group != "readers" {
			t.Fatalf("put group policy: %+v %v", gp, err)
		}
		if _, err := svc.PutGroupPolicy(ctx, "A", "writers", []byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}`)); err == nil {
			t.Fatal("invalid policy accepted")
		} else {
			var ve *policystore.ValidationError
			if !errors.As(err, &ve) || !strings.HasPrefix(ve.Fields[0].Path, "document") {
				t.Fatalf("invalid policy error: %v", err)
			}
		}
		if _, err := svc.PutGroupPolicy(ctx, "A", "has space", doc); err == nil {
			t.Fatal("bad group name accepted")
		}
		if _, err := svc.PutGroupPolicy(ctx, "nope", "readers", doc); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("policy for a missing API: %v", err)
		}
		if _, err := svc.PutGroupPolicy(ctx, "B", "readers", doc); err != nil {
			t.Fatal(err)
		}
		pols, err := svc.ListGroupPolicies(ctx, "A")
		if err != nil || len(pols) != 1 {
			t.Fatalf("list group policies %v %v", pols, err)
		}
		st, err := apidef.Load(ctx, s)
		if err != nil || len(st.APIs) != 3 || len(st.GroupPolicies[a.ID]) != 1 || len(st.GroupPolicies) != 2 {
			t.Fatalf("load %+v %v", st, err)
		}
		if err := svc.DeleteGroupPolicy(ctx, "A", "readers"); err != nil {
			t.Fatal(err)
		}
		if err := svc.DeleteGroupPolicy(ctx, "A", "readers"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete missing group policy: %v", err)
		}
		// Deleting an API deletes its group policies.
		if err := svc.Delete(ctx, "B"); err != nil {
			t.Fatal(err)
		}
		st, err = apidef.Load(ctx, s)
		if err != nil || len(st.APIs) != 2 || len(st.GroupPolicies) != 0 {
			t.Fatalf("after delete %+v %v", st, err)
		}
		if err := svc.Delete(ctx, "B"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete missing: %v", err)
		}
	})
}
