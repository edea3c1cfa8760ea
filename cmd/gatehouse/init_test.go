package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

const wizardTestdata = "../../internal/wizard/testdata"

// petStoreInitArgs are article 000's wizard answers as flags.
func petStoreInitArgs(dir string) []string {
	return []string{"init", "--openapi", filepath.Join(wizardTestdata, "petstore.yaml"), "--dir", dir,
		"--pool", "us-west-2_iwWG5nyux", "--stage", "demo", "--upstream", "http://petstore.example.com/petstore",
		"--public", "GET /", "--authenticated", "GET /pets,GET /pets/{petId}", "--scope", "petstore/api",
		"--allow", "employees=POST /pets", "--allow", "owners=POST /pets,ANY /admin/{proxy+}",
		"--db", filepath.Join(filepath.Dir(dir), "none.db")}
}

// tree reads every file under dir.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestInitPetStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "petstore")
	out, code := run(t, petStoreInitArgs(dir)...)
	if code != 0 {
		t.Fatalf("init: %d %s", code, out)
	}
	if !strings.Contains(out, "created") || !strings.Contains(out, "gatehouse apply "+dir) {
		t.Errorf("init output:\n%s", out)
	}
	got := tree(t, dir)
	want := tree(t, filepath.Join(wizardTestdata, "golden", "petstore"))
	for p, w := range want {
		if got[p] != w {
			t.Errorf("%s:\n%s\nwant (golden):\n%s", p, got[p], w)
		}
	}
	if _, ok := got[wizard.StateFile]; !ok || len(got) != len(want)+1 {
		t.Errorf("files %v", slices.Sorted(func(yield func(string) bool) {
			for k := range got {
				if !yield(k) {
					return
				}
			}
		}))
	}

	// Access matrix in its three forms.
	out, code = run(t, "access-matrix", dir)
	if code != 0 {
		t.Fatalf("access-matrix: %d %s", code, out)
	}
	rows := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		rows[f[0]+" "+f[1]] = f[2:]
	}
	if !slices.Equal(rows["ROUTE AUTHORIZER"], []string{"employees", "owners"}) ||
		!slices.Equal(rows["POST /pets"], []string{"avp", "allow", "allow"}) ||
		!slices.Equal(rows["GET /admin/{proxy+}"], []string{"avp", "deny", "allow"}) {
		t.Errorf("text matrix:\n%s", out)
	}
	out, code = run(t, "access-matrix", dir, "-o", "csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if code != 0 || err != nil || !slices.ContainsFunc(recs, func(r []string) bool {
		return slices.Equal(r, []string{"GET /admin/{proxy+}", "avp", "deny", "allow"})
	}) || !slices.ContainsFunc(recs, func(r []string) bool { return slices.Equal(r, []string{"POST /pets", "avp", "allow", "allow"}) }) {
		t.Errorf("csv matrix: %d %v\n%s", code, err, out)
	}
	out, code = run(t, "access-matrix", dir, "-o", "json", "--group", "employees", "--group", "customers")
	var m wizard.Matrix
	if code != 0 || json.Unmarshal([]byte(out), &m) != nil {
		t.Fatalf("json matrix: %d %s", code, out)
	}
	for _, r := range m.Rows {
		if r.Route == "POST /pets" && (r.Access["employees"] != "allow" || r.Access["customers"] != "deny") {
			t.Errorf("json row %+v", r)
		}
	}
	if out, code := run(t, "access-matrix", dir, "-o", "xml"); code != 1 || !strings.Contains(out, "want text, csv or json") {
		t.Errorf("bad -o: %d %s", code, out)
	}
	if out, code := run(t, "access-matrix", dir, "--api", "Nope"); code != 1 || !strings.Contains(out, `no API named "Nope"`) {
		t.Errorf("bad --api: %d %s", code, out)
	}

	// Re-run on the changed document with the remembered answers only.
	hand := "permit (principal in PetStore::UserGroup::\"us-west-2_iwWG5nyux|vets\", action == PetStore::Action::\"get /pets/{petId}\", resource);\n"
	write(t, filepath.Join(dir, "policies"), "vets.cedar", hand)
	out, code = run(t, "init", "--openapi", filepath.Join(wizardTestdata, "petstore-v2.yaml"), "--dir", dir, "--db", filepath.Join(t.TempDir(), "none.db"))
	if code != 0 {
		t.Fatalf("re-run: %d %s", code, out)
	}
	for _, w := range []string{"updated    " + filepath.Join(dir, "schema.cedarschema"), "updated    " + filepath.Join(dir, "apis", "PetStore.yaml"),
		`note: authenticated route "GET /pets/{petId}" dropped`,
		`stale: ` + filepath.Join(dir, "policies", "vets.cedar") + `: policy "vets" (hand-written) refers to PetStore::Action::"get /pets/{petId}"`} {
		if !strings.Contains(out, w) {
			t.Errorf("re-run output lacks %q:\n%s", w, out)
		}
	}
	after := tree(t, dir)
	if after["policies/vets.cedar"] != hand || after["policies/employees.cedar"] != got["policies/employees.cedar"] ||
		!strings.Contains(after["schema.cedarschema"], `"delete /pets/{petId}"`) {
		t.Errorf("after re-run: %v", after)
	}
}

func TestInitErrorsWriteNothing(t *testing.T) {
	tmp := t.TempDir()
	db := filepath.Join(tmp, "g.db")
	out, code := run(t, "idp", "create-pool", "--name", "pets", "--db", db)
	var pool struct{ PoolID string }
	if code != 0 || json.Unmarshal([]byte(out), &pool) != nil {
		t.Fatalf("create-pool: %d %s", code, out)
	}
	for _, g := range []string{"customers", "employees"} {
		if out, code := run(t, "idp", "create-group", "--pool", pool.PoolID, "--name", g, "--db", db); code != 0 {
			t.Fatalf("create-group: %d %s", code, out)
		}
	}
	bad := write(t, tmp, "bad.yaml", "openapi: 3.0.0\ninfo: {title: Bad, version: '1'}\npaths:\n  /pets/{id}:\n    get:\n      parameters: [{$ref: '#/components/parameters/missing'}]\n      responses: {'200': {description: ok}}\n")

	existing := filepath.Join(tmp, "existing")
	if out, code := run(t, petStoreInitArgs(existing)...); code != 0 {
		t.Fatalf("init: %d %s", code, out)
	}
	before := tree(t, existing)

	withDB := func(args []string) []string { return append(args[:len(args)-2:len(args)-2], "--db", db) }
	for _, c := range []struct {
		name string
		args func(dir string) []string
		want string
	}{
		{"invalid openapi", func(dir string) []string {
			a := petStoreInitArgs(dir)
			a[2] = bad
			return a
		}, "bad.yaml: openapi document: "},
		{"unknown operation", func(dir string) []string {
			return append(petStoreInitArgs(dir), "--allow", "owners=DELETE /pets")
		}, `group "owners": operation "DELETE /pets": the document has no DELETE operation on /pets`},
		{"unknown group in a local pool", func(dir string) []string {
			a := withDB(petStoreInitArgs(dir))
			a[slices.Index(a, "--pool")+1] = pool.PoolID
			return a
		}, `group "owners" does not exist in the identity source (it has customers, employees)`},
		{"unreachable issuer", func(dir string) []string {
			a := petStoreInitArgs(dir)
			i := slices.Index(a, "--pool")
			a[i], a[i+1] = "--issuer", "http://127.0.0.1:1"
			return a
		}, "issuer http://127.0.0.1:1 is unreachable"},
		{"bad allow flag", func(dir string) []string {
			return append(petStoreInitArgs(dir), "--allow", "owners")
		}, `want GROUP="METHOD /path,..."`},
	} {
		t.Run(c.name, func(t *testing.T) {
			fresh := filepath.Join(t.TempDir(), "out")
			out, code := run(t, c.args(fresh)...)
			if code != 1 || !strings.Contains(out, c.want) {
				t.Fatalf("%d %s\nwant an error containing %q", code, out, c.want)
			}
			if _, err := os.Stat(fresh); !os.IsNotExist(err) {
				t.Fatalf("%s was created", fresh)
			}
			out, code = run(t, c.args(existing)...)
			if code != 1 || !strings.Contains(out, c.want) {
				t.Fatalf("on the existing directory: %d %s", code, out)
			}
			if after := tree(t, existing); !sameFiles(after, before) {
				t.Fatalf("the existing directory changed")
			}
		})
	}

	// With the pool's real groups it works, and the groups are checked against the store.
	a := withDB(petStoreInitArgs(filepath.Join(tmp, "ok")))
	a[slices.Index(a, "--pool")+1] = pool.PoolID
	for i := slices.Index(a, "--allow"); i >= 0; i = slices.Index(a, "--allow") {
		a = slices.Delete(a, i, i+2)
	}
	a = append(a, "--allow", "employees=POST /pets,ANY /admin/{proxy+}")
	if out, code := run(t, a...); code != 0 || strings.Contains(out, "not checked") {
		t.Fatalf("init on a local pool: %d %s", code, out)
	}
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestInitPrompts(t *testing.T) {
	answers := strings.Join([]string{
		"petstore.yaml", "us-east-1_Example", "http://127.0.0.1:8000", "GET /", "GET /pets, GET /pets/{petId}", "petstore/api",
		"employees", "POST /pets", "owners", "POST /pets,ANY /admin/{proxy+}", "", "",
	}, "\n") + "\n"
	var out strings.Builder
	a := &initAnswers{changed: func(string) bool { return false }}
	a.opts.Scopes = []string{} // as the flag parser leaves it
	if err := promptMissing(bufio.NewReader(strings.NewReader(answers)), &out, a); err != nil {
		t.Fatal(err)
	}
	o := a.opts
	if a.openapi != "petstore.yaml" || o.Identity.PoolID != "us-east-1_Example" || o.Upstream != "http://127.0.0.1:8000" ||
		!slices.Equal(o.Public, []string{"GET /"}) || !slices.Equal(o.Authenticated, []string{"GET /pets", "GET /pets/{petId}"}) ||
		!slices.Equal(o.Scopes, []string{"petstore/api"}) || len(o.Allow) != 2 || o.Allow[1].Group != "owners" ||
		!slices.Equal(o.Allow[1].Operations, []string{"POST /pets", "ANY /admin/{proxy+}"}) || a.dir != "petstore" {
		t.Fatalf("answers %+v dir %q\n%s", o, a.dir, out.String())
	}
	if !strings.Contains(out.String(), "Identity source") {
		t.Errorf("prompts:\n%s", out.String())
	}
	// An issuer answer is recognized as one.
	a = &initAnswers{openapi: "x", dir: "d", changed: func(string) bool { return false }}
	a.opts.Upstream = "http://u"
	if err := promptMissing(bufio.NewReader(strings.NewReader("https://issuer.example.com\n\n\n\n")), &out, a); err != nil {
		t.Fatal(err)
	}
	if a.opts.Identity.Issuer != "https://issuer.example.com" {
		t.Errorf("identity %+v", a.opts.Identity)
	}
}

// TestAccessMatrixExamples: the examples use ${VARIABLES}; unset ones get stand-ins, so the
// matrix of a checked-in directory can be reviewed without its deployment values.
func TestAccessMatrixExamples(t *testing.T) {
	out, code := run(t, "access-matrix", "../../examples/role-map", "-o", "csv")
	recs, err := csv.NewReader(strings.NewReader(out[strings.Index(out, "route,"):])).ReadAll()
	if code != 0 || err != nil {
		t.Fatalf("%d %v %s", code, err, out)
	}
	if !strings.Contains(out, "note: unset variables replaced by stand-ins: UPSTREAM, POOL_ID, CLIENT_ID") {
		t.Errorf("no note about stand-ins:\n%s", out)
	}
	want := [][]string{
		{"route", "authorizer", "Admin", "Billing", "Manager", "ReadOnly", "Support"},
		{"GET /orders", "roles", "allow", "deny", "allow", "allow", "deny"},
		{"POST /orders", "roles", "allow", "deny", "allow", "deny", "deny"},
		{"DELETE /orders/{id}", "roles", "allow", "deny", "deny", "deny", "deny"},
	}
	for i, w := range want {
		if !slices.Equal(recs[i], w) {
			t.Errorf("row %d: %q, want %q", i, recs[i], w)
		}
	}
	out, code = run(t, "access-matrix", "../../examples/petstore")
	if code != 0 || !strings.Contains(out, "employees") || !regexpMatch(`GET /admin/\{proxy\+\}\s+avp\s+deny\s+allow`, out) {
		t.Errorf("petstore example: %d\n%s", code, out)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestInitIssuerFromDocument: without an identity source, the document's openIdConnect
// scheme names the issuer.
func TestInitIssuerFromDocument(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ws")
	out, code := run(t, "init", "--openapi", filepath.Join(wizardTestdata, "corpus", "workspaces.yaml"), "--dir", dir,
		"--upstream", "http://127.0.0.1:9", "--skip-issuer-check", "--allow", "readers=getTask", "--db", filepath.Join(t.TempDir(), "none.db"))
	if code != 0 || !strings.Contains(out, "OIDC issuer https://app.workspaces.example") {
		t.Fatalf("init: %d %s", code, out)
	}
	if src := tree(t, dir)["identity-sources.yaml"]; !strings.Contains(src, "issuer: https://app.workspaces.example") {
		t.Errorf("identity-sources.yaml:\n%s", src)
	}
}
