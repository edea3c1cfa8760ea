package wizard_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// FuzzGenerate feeds arbitrary documents through Parse and Generate: no panics, and whatever
// Generate accepts yields a schema the policy package parses.
func FuzzGenerate(f *testing.F) {
	for _, name := range []string{"petstore.yaml", "petstore-v2.yaml", "swagger2.yaml", "stores.json", "corpus/calls.yaml", "corpus/files.yaml",
		"corpus/aws-petstore.yaml", "corpus/workspaces.yaml", "corpus/sites.yaml", "corpus/incidents.yaml", "corpus/messaging.yaml", "corpus/reports.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "ANY /admin/{proxy+}")
	}
	f.Add([]byte(`{"openapi":"3.0.0","info":{"title":"if","version":"1"},"paths":{"/a/{b}":{"parameters":[{"name":"b","in":"path","required":true,"schema":{"type":"string"}}],"get":{"responses":{"200":{"description":"x"}}}}}}`), "GET /a/{b}")
	f.Add([]byte("swagger: \"2.0\"\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n    x-amazon-apigateway-any-method: {parameters: [{$ref: '#/parameters/nope'}]}\n"), "ANY /x")
	// A null path item crashed kin-openapi's Swagger 2 converter.
	f.Add([]byte("swagger: \"2.0\"\ninfo: {title: t, version: '1'}\npaths:\n  /x:\n"), "GET /x")
	f.Fuzz(func(t *testing.T, doc []byte, op string) {
		d, err := wizard.Parse(context.Background(), doc)
		if err != nil {
			return
		}
		r, err := wizard.Generate(d, wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: "us-east-1_Fuzz"},
			Allow: []wizard.Assignment{{Group: "g", Operations: []string{op}}}})
		if err != nil {
			return
		}
		if _, err := policy.ParseSchema(r.Files["schema.cedarschema"]); err != nil {
			t.Fatalf("generated schema does not parse: %v\n%s", err, r.Files["schema.cedarschema"])
		}
	})
}

// FuzzNamespace: every name sanitizes to a Cedar identifier.
func FuzzNamespace(f *testing.F) {
	for _, s := range []string{"PetStore", "", "2x", "_", "if", "Café au lait", "a-b c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ns := wizard.Namespace(s)
		if _, err := policy.ParseSchema([]byte("namespace " + ns + " { entity A; }")); err != nil {
			t.Fatalf("Namespace(%q) = %q: %v", s, ns, err)
		}
	})
}
