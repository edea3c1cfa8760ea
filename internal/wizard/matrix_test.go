package wizard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// TestMatrixHandWritten covers what init does not generate: an OIDC identity source, template
// links, group hierarchies in entities.json, jwt routes limited to groups (with a role
// hierarchy), iam routes, a route-level action override and several APIs.
func TestMatrixHandWritten(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"gatehouse.yaml": "policyStoreId: clinic\n",
		"schema.cedarschema": `namespace Clinic {
  entity Role;
  entity Staff in [Role];
  entity Person in [Staff, Role];
  entity Application;
  action "get /records", "read", "post /records" appliesTo { principal: [Person], resource: [Application], context: {} };
}`,
		"identity-sources.yaml": `- principalEntityType: Clinic::Person
  configuration:
    openIdConnectConfiguration:
      issuer: https://id.clinic.example
      groupConfiguration: {groupClaim: roles, groupEntityType: Clinic::Staff}
      tokenSelection: {identityTokenOnly: {principalIdClaim: sub}}
`,
		"entities.json":          `[{"uid": {"type": "Clinic::Staff", "id": "id.clinic.example|vets"}, "attrs": {}, "parents": [{"type": "Clinic::Role", "id": "medical"}]}]`,
		"policies/medical.cedar": `permit (principal in Clinic::Role::"medical", action == Clinic::Action::"read", resource);`,
		"templates/staff.cedar":  `permit (principal in ?principal, action == Clinic::Action::"post /records", resource);`,
		"links.yaml":             "- {name: nurses-post, template: staff, principal: {entityType: Clinic::Staff, entityId: 'id.clinic.example|nurses'}}\n",
		"apis/records.yaml": `name: records
stage: v1
upstream: http://127.0.0.1:9
authorizers:
  avp: {type: cedar, policyStoreId: clinic}
  roles:
    type: jwt
    roleHierarchy: [admins, vets, nurses]
    identitySources: [{configuration: {openIdConnectConfiguration: {issuer: https://id.clinic.example, tokenSelection: {identityTokenOnly: {}}}}}]
  groups:
    type: iam
    identitySources: [{configuration: {openIdConnectConfiguration: {issuer: https://id.clinic.example, tokenSelection: {identityTokenOnly: {}}}}}]
routes:
  - {route: "GET /records", authorizer: avp, action: read}
  - {route: "POST /records", authorizer: avp}
  - {route: "GET /wards", authorizer: roles, groups: [vets]}
  - {route: "GET /me", authorizer: roles, scopes: [openid]}
  - {route: "GET /billing", authorizer: groups}
`,
		"apis/other.yaml": "name: other\nupstream: http://127.0.0.1:9\nroutes:\n  - {route: \"GET /\", authorizer: none}\n",
	}
	for p, s := range files {
		f := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, f, s)
	}
	d, err := apply.Load(dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wizard.AccessMatrix(d, wizard.MatrixOptions{}); err == nil || !strings.Contains(err.Error(), "several APIs") {
		t.Fatalf("no --api with two APIs: %v", err)
	}
	m, err := wizard.AccessMatrix(d, wizard.MatrixOptions{API: "records", Groups: []string{"vets", "nurses", "admins", "id.clinic.example|clerks"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		// vets are medical through entities.json; the route's action override is "read".
		"GET /records":  {"vets": "allow", "nurses": "deny", "admins": "deny", "id.clinic.example|clerks": "deny"},
		"POST /records": {"vets": "deny", "nurses": "allow", "admins": "deny", "id.clinic.example|clerks": "deny"},
		// admins rank above vets in the role hierarchy; nurses below.
		"GET /wards":   {"vets": "allow", "nurses": "deny", "admins": "allow", "id.clinic.example|clerks": "deny"},
		"GET /me":      {"vets": "scope:openid", "nurses": "scope:openid"},
		"GET /billing": {"vets": "iam"},
	}
	for _, r := range m.Rows {
		for g, w := range want[r.Route] {
			if r.Access[g] != w {
				t.Errorf("%s × %s = %q, want %q", r.Route, g, r.Access[g], w)
			}
		}
	}
	if len(m.Rows) != 5 {
		t.Errorf("rows %+v", m.Rows)
	}
	// Without --group, the groups are those the policies (and links) name, and those the
	// routes and role hierarchies name.
	m, err = wizard.AccessMatrix(d, wizard.MatrixOptions{API: "records"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(m.Groups, ",") != "admins,nurses,vets" {
		t.Errorf("groups %v", m.Groups)
	}
}

func TestCheckIssuer(t *testing.T) {
	var srv *httptest.Server
	issuer := func(w http.ResponseWriter, r *http.Request) string { return srv.URL }
	mux := http.NewServeMux()
	mux.HandleFunc("/good/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": issuer(w, r) + "/good", "jwks_uri": srv.URL + "/jwks"})
	})
	mux.HandleFunc("/liar/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": "https://elsewhere.example", "jwks_uri": srv.URL + "/jwks"})
	})
	srv = httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range []struct{ path, want string }{
		{"/good", ""},
		{"/liar", "names issuer"},
		{"/missing", "404"},
	} {
		err := wizard.CheckIssuer(context.Background(), srv.Client(), srv.URL+c.path)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.path, err, c.want)
		}
	}
	srv.Close()
	if err := wizard.CheckIssuer(context.Background(), nil, srv.URL+"/good"); err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("closed server: %v", err)
	}
}

// TestAnyWithExplicitMethod: an explicit method on a path with an ANY operation owns its
// action (as it wins in the gateway), so no action is declared twice.
func TestAnyWithExplicitMethod(t *testing.T) {
	doc := `openapi: 3.0.0
info: {title: Mixed, version: "1"}
paths:
  /x:
    get: {operationId: getX, responses: {"200": {description: ok}}}
    x-amazon-apigateway-any-method: {operationId: anyX, responses: {"200": {description: ok}}}
`
	d, err := wizard.Parse(context.Background(), []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ops  []string
		want []string
	}{
		{[]string{"ANY /x"}, []string{"delete /x", "post /x", "get /x", "patch /x", "put /x"}},
		{[]string{"anyX"}, []string{"delete /x", "post /x", "patch /x", "put /x"}},
		{[]string{"POST /x", "getX"}, []string{"post /x", "get /x"}},
	} {
		r, err := wizard.Generate(d, wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: "us-east-1_Mixed"},
			Allow: []wizard.Assignment{{Group: "g", Operations: c.ops}}})
		if err != nil {
			t.Fatalf("%v: %v", c.ops, err)
		}
		if len(r.Actions) != 5 || strings.Join(r.Routes, ",") != "ANY /x,GET /x" {
			t.Fatalf("actions %v routes %v", r.Actions, r.Routes)
		}
		pol := string(r.Files["policies/g.cedar"])
		var got []string
		for _, l := range strings.Split(pol, "Mixed::Action::")[1:] {
			got = append(got, strings.Trim(l[:strings.IndexByte(l[1:], '"')+2], `"`))
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%v: policy actions %q, want %q", c.ops, got, c.want)
		}
	}
}
