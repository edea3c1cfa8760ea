package wizard_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const articlePool = "us-west-2_iwWG5nyux"

// The policies of article 000, as the AWS console generated them.
const (
	articleEmployees = `permit (
    principal in PetStore::UserGroup::"us-west-2_iwWG5nyux|employees",
    action in [PetStore::Action::"post /pets"],
    resource
);
`
	articleOwners = `permit (
    principal in PetStore::UserGroup::"us-west-2_iwWG5nyux|owners",
    action in
        [PetStore::Action::"delete /admin/{proxy+}",
         PetStore::Action::"post /admin/{proxy+}",
         PetStore::Action::"get /admin/{proxy+}",
         PetStore::Action::"patch /admin/{proxy+}",
         PetStore::Action::"put /admin/{proxy+}",
         PetStore::Action::"post /pets"],
    resource
);
`
)

// petStoreOptions are article 000's wizard answers.
func petStoreOptions() wizard.Options {
	return wizard.Options{
		Stage:    "demo",
		Upstream: "http://petstore.example.com/petstore",
		Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{
			{Group: "employees", Operations: []string{"POST /pets"}},
			{Group: "owners", Operations: []string{"POST /pets", "ANY /admin/{proxy+}"}},
		},
		Public:        []string{"GET /"},
		Authenticated: []string{"GET /pets", "GET /pets/{petId}"},
		Scopes:        []string{"petstore/api"},
	}
}

func readDoc(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func generate(t testing.TB, docName string, opts wizard.Options) *wizard.Result {
	t.Helper()
	doc, err := wizard.Parse(context.Background(), readDoc(t, docName))
	if err != nil {
		t.Fatal(err)
	}
	r, err := wizard.Generate(doc, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares files with testdata/golden/<name>/, rewriting them with -update.
func golden(t *testing.T, name string, files map[string][]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		for p, b := range files {
			f := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	var want []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			want = append(want, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	var got []string
	for p := range files {
		got = append(got, p)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("files %v, golden %v", got, want)
	}
	for _, p := range got {
		w, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if !bytes.Equal(files[p], w) {
			t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", p, files[p], w)
		}
	}
}

func TestPetStoreMatchesArticle(t *testing.T) {
	r := generate(t, "petstore.yaml", petStoreOptions())
	golden(t, "petstore", r.Files)

	if got := string(r.Files["policies/employees.cedar"]); got != articleEmployees {
		t.Errorf("employees policy:\n%s\nwant article 000's:\n%s", got, articleEmployees)
	}
	if got := string(r.Files["policies/owners.cedar"]); got != articleOwners {
		t.Errorf("owners policy:\n%s\nwant article 000's:\n%s", got, articleOwners)
	}
	if r.Namespace != "PetStore" {
		t.Errorf("namespace %q", r.Namespace)
	}
	doc, err := wizard.Parse(context.Background(), readDoc(t, "petstore.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := wizard.ListOperations(doc)
	if want := []string{"GET / (getRoot)", "ANY /admin/{proxy+} (admin)", "GET /pets (listPets)", "POST /pets (createPet)", "GET /pets/{petId} (getPet)"}; err != nil || !slices.Equal(ops, want) {
		t.Errorf("operations %q, %v", ops, err)
	}

	schema, err := policy.ParseSchema(r.Files["schema.cedarschema"])
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range schema.Actions() {
		if a.UID.Type != "PetStore::Action" {
			t.Fatalf("action %v outside the namespace", a.UID)
		}
		actions = append(actions, string(a.UID.ID))
	}
	wantActions := []string{"delete /admin/{proxy+}", "get /", "get /admin/{proxy+}", "get /pets", "get /pets/{petId}",
		"patch /admin/{proxy+}", "post /admin/{proxy+}", "post /pets", "put /admin/{proxy+}"}
	if !slices.Equal(actions, wantActions) {
		t.Errorf("actions %q\nwant %q", actions, wantActions)
	}
	for _, typ := range []string{"PetStore::User", "PetStore::UserGroup", "PetStore::Application"} {
		if attrs, ok := schema.EntityAttributes(types.EntityType(typ)); !ok || len(attrs) != 0 {
			t.Errorf("entity %s: declared %v, attributes %v", typ, ok, attrs)
		}
	}
	ctxAttrs, _ := schema.ContextAttributes(types.NewEntityUID("PetStore::Action", "get /pets/{petId}"))
	if !ctxAttrs["pathParameters"] || !ctxAttrs["queryStringParameters"] {
		t.Errorf("context of get /pets/{petId}: %v", ctxAttrs)
	}

	// The route table of article 000 (examples/petstore/apis/petstore.yaml).
	def, err := apidef.Parse(r.Files["apis/PetStore.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	if def.Name != "PetStore" || def.Stage != "demo" {
		t.Errorf("api %s stage %s", def.Name, def.Stage)
	}
	want := map[string]string{"GET /": "none", "GET /pets": "jwt", "GET /pets/{petId}": "jwt", "POST /pets": "cedar", "ANY /admin/{proxy+}": "cedar",
		"OPTIONS /pets": "none"}
	if len(def.Routes) != len(want) {
		t.Fatalf("routes %+v", def.Routes)
	}
	for _, rt := range def.Routes {
		typ := rt.Authorizer
		if a, ok := def.Authorizers[rt.Authorizer]; ok {
			typ = a.Type
		}
		if want[rt.Route] != typ {
			t.Errorf("route %s: authorizer %s (%s), want %s", rt.Route, rt.Authorizer, typ, want[rt.Route])
		}
		if typ == "jwt" && !slices.Equal(rt.Scopes, []string{"petstore/api"}) {
			t.Errorf("route %s scopes %v", rt.Route, rt.Scopes)
		}
	}
	avp := def.Authorizers[wizard.CedarAuthorizer]
	if avp.PolicyStoreID != "PetStore" || avp.Namespace != "PetStore" || avp.TokenType != "accessToken" {
		t.Errorf("cedar authorizer %+v", avp)
	}
	cog := def.Authorizers["cognito"].IdentitySources[0].Configuration.CognitoUserPoolConfiguration
	if cog == nil || cog.UserPoolARN != "arn:aws:cognito-idp:us-west-2:000000000000:userpool/"+articlePool {
		t.Errorf("jwt authorizer identity source %+v", cog)
	}
	admin := def.Routes[slices.IndexFunc(def.Routes, func(r apidef.Route) bool { return r.Route == "ANY /admin/{proxy+}" })]
	if admin.Mock == nil || admin.Mock.Body != `{"Message": "User authorized for $context.path"}` {
		t.Errorf("admin route mock %+v", admin.Mock)
	}

	// The directory is one apply accepts.
	dir := t.TempDir()
	if _, err := r.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	d, err := apply.Load(dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if d.Manifest.PolicyStoreID != "PetStore" || d.Manifest.ValidationMode != "STRICT" || len(d.Policies) != 2 || len(d.APIs) != 1 {
		t.Fatalf("apply sees %+v", d)
	}
	if d.Policies[0].Name != "employees" || d.Policies[1].Name != "owners" {
		t.Errorf("policy names %s, %s", d.Policies[0].Name, d.Policies[1].Name)
	}
	is := d.IdentitySources
	if len(is) != 1 || is[0].PrincipalEntityType != "PetStore::User" || is[0].Configuration.CognitoUserPoolConfiguration == nil ||
		is[0].Configuration.CognitoUserPoolConfiguration.GroupConfiguration.GroupEntityType != "PetStore::UserGroup" {
		t.Errorf("identity sources %+v", is)
	}
}

func TestSwagger2(t *testing.T) {
	r := generate(t, "swagger2.yaml", wizard.Options{
		Upstream:      "https://clinic.example.com/v1",
		Identity:      wizard.IdentitySource{Issuer: "https://auth.example.com", ClientIDs: []string{"clinic-app"}},
		Allow:         []wizard.Assignment{{Group: "vets", Operations: []string{"getAppointment", "cancelAppointment", "ANY /ops/{proxy+}"}}},
		Authenticated: []string{"listAppointments", "bookAppointment"},
	})
	if r.Namespace != "VetClinicv2" || r.APIName != "Vet-Clinic-v2" {
		t.Errorf("namespace %q, api %q", r.Namespace, r.APIName)
	}
	golden(t, "swagger2", r.Files)
	schema, err := policy.ParseSchema(r.Files["schema.cedarschema"])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(schema.Actions()); n != 4+5 {
		t.Errorf("%d actions", n)
	}
	pol := string(r.Files["policies/vets.cedar"])
	if !strings.Contains(pol, `VetClinicv2::UserGroup::"auth.example.com|vets"`) || strings.Count(pol, "Action::") != 7 {
		t.Errorf("vets policy:\n%s", pol)
	}
	ctx, _ := schema.ContextAttributes(types.NewEntityUID("VetClinicv2::Action", "get /appointments/{appointmentId}"))
	if !ctx["pathParameters"] {
		t.Errorf("context %v", ctx)
	}
}

// TestSecondDocument: path and query parameters (path-level, operation-level, $ref), nested
// paths, an operation on "/", OPTIONS skipped, HEAD kept.
func TestSecondDocument(t *testing.T) {
	r := generate(t, "stores.json", wizard.Options{
		Upstream: "http://127.0.0.1:8081",
		Identity: wizard.IdentitySource{UserPoolARN: "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_Stores1"},
		Public:   []string{"home", "HEAD /"},
		Allow: []wizard.Assignment{
			{Group: "clerks", Operations: []string{"listStores", "getStore", "ANY /stores/{storeId}/orders"}},
			{Group: "managers", Operations: []string{"ANY /stores/{storeId}", "PATCH /stores/{storeId}/orders/{orderId}", "cancelOrder"}},
		},
	})
	if r.Namespace != "Api2ndStoreFrontAPI" {
		t.Errorf("namespace %q", r.Namespace)
	}
	golden(t, "stores", r.Files)
	schema, err := policy.ParseSchema(r.Files["schema.cedarschema"])
	if err != nil {
		t.Fatal(err)
	}
	def, err := apidef.Parse(r.Files["apis/2nd-Store-Front-API.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	// One action per route method, and nothing else; OPTIONS is a public preflight route.
	var fromRoutes, fromSchema []string
	for _, rt := range def.Routes {
		m, p, _ := apidef.SplitRoute(rt.Route)
		if m == "OPTIONS" {
			if rt.Authorizer != apidef.AuthorizerNone {
				t.Errorf("preflight %s has authorizer %s", rt.Route, rt.Authorizer)
			}
			continue
		}
		fromRoutes = append(fromRoutes, strings.ToLower(m)+" "+p)
	}
	for _, a := range schema.Actions() {
		fromSchema = append(fromSchema, string(a.UID.ID))
	}
	slices.Sort(fromRoutes)
	if !slices.Equal(fromRoutes, fromSchema) {
		t.Fatalf("routes %q\nschema %q", fromRoutes, fromSchema)
	}
	if slices.Contains(fromSchema, "options /stores/{storeId}") || !slices.Contains(fromSchema, "head /") || !slices.Contains(fromSchema, "get /") {
		t.Errorf("actions %q", fromSchema)
	}
	text := string(r.Files["schema.cedarschema"])
	for _, want := range []string{
		"action \"get /stores/{storeId}/orders/{orderId}\" appliesTo {\n    principal: [User],\n    resource: [Application],\n    context: {\n      pathParameters: {\n        orderId: String,\n        storeId: String\n      },\n      queryStringParameters: {\n        expand?: String\n      }",
		"queryStringParameters: {\n        \"page-size\"?: String,\n        region?: String\n      }",
	} {
		if !strings.Contains(text, strings.ReplaceAll(want, "orderId: String,\n        storeId", "storeId: String,\n        orderId")) && !strings.Contains(text, want) {
			t.Errorf("schema lacks %q", want)
		}
	}
	if strings.Contains(text, "X-Trace") {
		t.Error("header parameter in the context")
	}
	// The generated policies validate against the schema (Generate checks it; apply will too).
	for _, g := range []string{"clerks", "managers"} {
		if _, ok := r.PolicyFiles[g]; !ok {
			t.Errorf("no policy for %s", g)
		}
	}
	clerks := string(r.Files["policies/clerks.cedar"])
	for _, a := range []string{"get /stores", "get /stores/{storeId}", "get /stores/{storeId}/orders", "post /stores/{storeId}/orders"} {
		if !strings.Contains(clerks, `Api2ndStoreFrontAPI::Action::"`+a+`"`) {
			t.Errorf("clerks lack %s:\n%s", a, clerks)
		}
	}
}

func TestErrors(t *testing.T) {
	pet := readDoc(t, "petstore.yaml")
	cases := []struct {
		name string
		doc  []byte
		opts func(*wizard.Options)
		want string
	}{
		{"unresolvable ref", []byte("openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a:\n    get:\n      parameters: [{$ref: '#/components/parameters/nope'}]\n      responses: {'200': {description: ok}}\n"), nil, "nope"},
		{"not openapi", []byte("hello: world\n"), nil, "neither"},
		{"swagger 1.2", []byte(`{"swagger": "1.2"}`), nil, "not supported"},
		{"not yaml", []byte("{{"), nil, "openapi document"},
		{"no paths", []byte("openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n"), nil, "no operations"},
		{"unknown operation", pet, func(o *wizard.Options) { o.Allow[0].Operations = []string{"DELETE /pets"} }, `operation "DELETE /pets": the document has no DELETE operation on /pets`},
		{"unknown path", pet, func(o *wizard.Options) { o.Allow[0].Operations = []string{"GET /cats"} }, "no path /cats"},
		{"unknown operationId", pet, func(o *wizard.Options) { o.Allow[1].Operations = []string{"adoptPet"} }, `"adoptPet": no such operationId`},
		{"unknown group", pet, func(o *wizard.Options) { o.KnownGroups = []string{"customers", "owners"} }, `group "employees" does not exist in the identity source (it has customers, owners)`},
		{"public and allowed", pet, func(o *wizard.Options) { o.Allow[0].Operations = []string{"GET /"} }, "GET / is public"},
		{"public and authenticated", pet, func(o *wizard.Options) { o.Public = append(o.Public, "GET /pets") }, "both public and authenticated"},
		{"no identity", pet, func(o *wizard.Options) { o.Identity = wizard.IdentitySource{} }, "exactly one of"},
		{"two identities", pet, func(o *wizard.Options) { o.Identity.Issuer = "https://x.example.com" }, "exactly one of"},
		{"bad pool id", pet, func(o *wizard.Options) { o.Identity.PoolID = "pool" }, "pool id"},
		{"bad token type", pet, func(o *wizard.Options) { o.TokenType = "refreshToken" }, "token type"},
		{"no upstream", pet, func(o *wizard.Options) { o.Upstream = "" }, "--upstream"},
		{"bad upstream", pet, func(o *wizard.Options) { o.Upstream = "ftp://x" }, "upstream"},
		{"scopes without routes", pet, func(o *wizard.Options) { o.Authenticated = nil }, "scopes"},
		{"empty group", pet, func(o *wizard.Options) { o.Allow[0].Group = "" }, "group"},
		{"dollar brace", []byte("openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a${B}:\n    get:\n      parameters: [{name: B, in: path, required: true, schema: {type: string}}]\n      responses: {'200': {description: ok}}\n"), nil, `paths./a${B}.get: skipped: the path contains "${"`},
		{"dot segment", []byte("openapi: 3.0.0\ninfo: {title: x, version: '1'}\npaths:\n  /a/../b:\n    get:\n      responses: {'200': {description: ok}}\n"), nil, "dot segment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := wizard.Parse(context.Background(), c.doc)
			if err == nil {
				opts := petStoreOptions()
				if !bytes.Equal(c.doc, pet) {
					opts = wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool}}
				}
				if c.opts != nil {
					c.opts(&opts)
				}
				_, err = wizard.Generate(doc, opts)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestRememberedGroupGone: a remembered assignment to a group the pool no longer has is
// dropped with a note (a group named now is an error, see TestErrors).
func TestRememberedGroupGone(t *testing.T) {
	opts := petStoreOptions()
	opts.KnownGroups = []string{"owners"}
	opts.DropMissing.Allow = true
	r := generate(t, "petstore.yaml", opts)
	if _, ok := r.PolicyFiles["employees"]; ok || r.PolicyFiles["owners"] == "" {
		t.Errorf("policies %v", r.PolicyFiles)
	}
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], `group "employees" does not exist`) {
		t.Errorf("notes %q", r.Notes)
	}
}

func TestNamespace(t *testing.T) {
	for in, want := range map[string]string{
		"PetStore": "PetStore", "Pet Store API": "PetStoreAPI", "": "ImportedApi", "!!!": "ImportedApi",
		"2fast": "Api2fast", "_private": "Api_private", "my_api-v2": "my_apiv2", "Café": "Caf", "if": "Apiif",
	} {
		if got := wizard.Namespace(in); got != want {
			t.Errorf("Namespace(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRerun: the document loses GET /pets/{petId} and gains DELETE /pets/{petId} and
// GET /pets/{petId}/photos. Re-running with the remembered answers updates the schema, the API
// and the untouched generated policy, keeps the hand-written and the hand-edited policy, and
// reports their references to the removed action.
func TestRerun(t *testing.T) {
	dir := t.TempDir()
	first := generate(t, "petstore.yaml", petStoreOptions())
	rep, err := first.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Stale) != 0 || len(rep.Files) != 6 {
		t.Fatalf("first run: %+v", rep)
	}
	handWritten := `@id("vets-read-pets")
permit (principal in PetStore::UserGroup::"us-west-2_iwWG5nyux|vets", action == PetStore::Action::"get /pets/{petId}", resource);
`
	writeFile(t, filepath.Join(dir, "policies", "vets.cedar"), handWritten)
	edited := strings.Replace(articleEmployees, `[PetStore::Action::"post /pets"]`, `[PetStore::Action::"post /pets", PetStore::Action::"get /pets/{petId}"]`, 1)
	writeFile(t, filepath.Join(dir, "policies", "employees.cedar"), edited)

	prev, err := wizard.PreviousOptions(dir)
	if err != nil || prev == nil {
		t.Fatalf("previous options %v %v", prev, err)
	}
	opts := *prev
	opts.DropMissing = wizard.Lenience{Allow: true, Public: true, Authenticated: true}
	opts.Allow = append(opts.Allow, wizard.Assignment{Group: "owners", Operations: []string{"DELETE /pets/{petId}"}})
	opts.Authenticated = append(opts.Authenticated, "listPhotos")
	second := generate(t, "petstore-v2.yaml", opts)
	rep, err = second.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	rep.Print(&buf)
	t.Logf("re-run report:\n%s", buf.String())

	outcome := map[string]string{}
	for _, f := range rep.Files {
		outcome[f.Path] = f.Outcome
	}
	wantOutcome := map[string]string{
		"schema.cedarschema": wizard.Updated, "apis/PetStore.yaml": wizard.Updated, "policies/owners.cedar": wizard.Updated,
		"policies/employees.cedar": wizard.KeptEdited, "gatehouse.yaml": wizard.Unchanged, "identity-sources.yaml": wizard.Unchanged,
	}
	for p, w := range wantOutcome {
		if outcome[p] != w {
			t.Errorf("%s: %q, want %q", p, outcome[p], w)
		}
	}
	if got := readFile(t, filepath.Join(dir, "policies", "vets.cedar")); got != handWritten {
		t.Errorf("hand-written policy changed:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, "policies", "employees.cedar")); got != edited {
		t.Errorf("edited policy changed:\n%s", got)
	}
	if got := readFile(t, filepath.Join(dir, "schema.cedarschema")); got != string(second.Files["schema.cedarschema"]) ||
		strings.Contains(got, `"get /pets/{petId}"`) || !strings.Contains(got, `"delete /pets/{petId}"`) || !strings.Contains(got, `"get /pets/{petId}/photos"`) {
		t.Errorf("schema not updated:\n%s", got)
	}
	api := readFile(t, filepath.Join(dir, "apis", "PetStore.yaml"))
	if strings.Contains(api, "route: GET /pets/{petId}\n") || !strings.Contains(api, "route: DELETE /pets/{petId}") || !strings.Contains(api, "route: GET /pets/{petId}/photos") {
		t.Errorf("api not updated:\n%s", api)
	}
	if owners := readFile(t, filepath.Join(dir, "policies", "owners.cedar")); !strings.Contains(owners, `"delete /pets/{petId}"`) {
		t.Errorf("owners policy not updated:\n%s", owners)
	}
	wantStale := []wizard.StaleReference{
		{File: filepath.Join(dir, "policies", "employees.cedar"), PolicyID: "employees", Action: `PetStore::Action::"get /pets/{petId}"`},
		{File: filepath.Join(dir, "policies", "vets.cedar"), PolicyID: "vets-read-pets", Action: `PetStore::Action::"get /pets/{petId}"`},
	}
	if !slices.Equal(rep.Stale, wantStale) {
		t.Errorf("stale %+v\nwant %+v", rep.Stale, wantStale)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, `"GET /pets/{petId}" dropped`) }) {
		t.Errorf("notes %q", rep.Notes)
	}
	if !strings.Contains(buf.String(), `stale: `+filepath.Join(dir, "policies", "vets.cedar")+`: policy "vets-read-pets" (hand-written) refers to PetStore::Action::"get /pets/{petId}"`) {
		t.Errorf("printed report:\n%s", buf.String())
	}

	// Third run without owners: its unedited policy goes; the edited one stays the user's.
	opts.Allow = []wizard.Assignment{{Group: "employees", Operations: []string{"POST /pets"}}}
	rep, err = generate(t, "petstore-v2.yaml", opts).WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "policies", "owners.cedar")); !os.IsNotExist(err) {
		t.Errorf("owners.cedar not removed: %v", err)
	}
	if !slices.Contains(rep.Files, wizard.FileChange{Path: "policies/owners.cedar", Outcome: wizard.Removed}) ||
		!slices.Contains(rep.Files, wizard.FileChange{Path: "policies/employees.cedar", Outcome: wizard.KeptEdited}) {
		t.Errorf("third run %+v", rep.Files)
	}
}

func TestMatrix(t *testing.T) {
	dir := t.TempDir()
	if _, err := generate(t, "petstore.yaml", petStoreOptions()).WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	d, err := apply.Load(dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m, err := wizard.AccessMatrix(d, wizard.MatrixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Groups, []string{"employees", "owners"}) || m.API != "PetStore" || m.Namespace != "PetStore" {
		t.Fatalf("matrix %+v", m)
	}
	cell := func(route, group string) string {
		for _, r := range m.Rows {
			if r.Route == route {
				return r.Access[group]
			}
		}
		t.Fatalf("no row %s", route)
		return ""
	}
	for _, c := range []struct{ route, group, want string }{
		{"POST /pets", "employees", "allow"}, {"POST /pets", "owners", "allow"},
		{"GET /admin/{proxy+}", "employees", "deny"}, {"GET /admin/{proxy+}", "owners", "allow"},
		{"DELETE /admin/{proxy+}", "owners", "allow"}, {"PUT /admin/{proxy+}", "employees", "deny"},
		{"GET /", "employees", "public"}, {"GET /pets", "owners", "scope:petstore/api"},
	} {
		if got := cell(c.route, c.group); got != c.want {
			t.Errorf("%s × %s = %q, want %q", c.route, c.group, got, c.want)
		}
	}

	// An explicit group no policy names is denied everywhere a policy decides.
	m2, err := wizard.AccessMatrix(d, wizard.MatrixOptions{Groups: []string{"customers"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range m2.Rows {
		if r.Type == "cedar" && r.Access["customers"] != "deny" {
			t.Errorf("customers on %s: %s", r.Route, r.Access["customers"])
		}
	}

	var text, csvOut, js bytes.Buffer
	if err := m.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(text.String()), "\n")
	if len(lines) != 1+len(m.Rows) || !strings.HasPrefix(lines[0], "ROUTE") {
		t.Fatalf("text:\n%s", text.String())
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "POST /pets ") && strings.Join(strings.Fields(l), " ") != "POST /pets avp allow allow" {
			t.Errorf("text row %q", l)
		}
	}
	if err := m.WriteCSV(&csvOut); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], []string{"route", "authorizer", "employees", "owners"}) ||
		!slices.ContainsFunc(recs, func(r []string) bool { return slices.Equal(r, []string{"GET /admin/{proxy+}", "avp", "deny", "allow"}) }) {
		t.Errorf("csv %q", recs)
	}
	if err := m.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back wizard.Matrix
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != len(m.Rows) || back.Rows[0].Access == nil {
		t.Errorf("json %s", js.String())
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
