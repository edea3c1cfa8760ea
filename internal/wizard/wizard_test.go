package wizard_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const articlePool = "us-west-2_iwWG5nyux"

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

func TestScratch(t *testing.T) {
	r := generate(t, "petstore.yaml", petStoreOptions())
	for k, v := range r.Files {
		t.Logf("=== %s\n%s", k, v)
	}
}
