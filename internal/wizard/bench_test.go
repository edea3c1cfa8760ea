package wizard_test

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// BenchmarkParse is the baseline: kin-openapi loading and validating the PetStore document.
func BenchmarkParse(b *testing.B) {
	data := readDoc(b, "petstore.yaml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wizard.Parse(context.Background(), data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerate is everything init computes after parsing: schema, policies (validated
// against the schema) and the API definition (validated).
func BenchmarkGenerate(b *testing.B) {
	doc, err := wizard.Parse(context.Background(), readDoc(b, "petstore.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	opts := petStoreOptions()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wizard.Generate(doc, opts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAccessMatrix computes the PetStore matrix (9 rows × 2 groups) from a loaded
// directory.
func BenchmarkAccessMatrix(b *testing.B) {
	dir := b.TempDir()
	if _, err := generate(b, "petstore.yaml", petStoreOptions()).WriteDir(dir); err != nil {
		b.Fatal(err)
	}
	d, err := apply.Load(dir, func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := wizard.AccessMatrix(d, wizard.MatrixOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLargeDocument is Parse and Generate of testdata/corpus/large.json (1000
// operations); compare with BenchmarkParse + BenchmarkGenerate (PetStore, 9 operations).
func BenchmarkLargeDocument(b *testing.B) {
	data := readDoc(b, "corpus/large.json")
	opts := wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"list_resource0000", "GET /resource0249/{id}"}}}}
	b.ReportAllocs()
	for b.Loop() {
		doc, err := wizard.Parse(context.Background(), data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := wizard.Generate(doc, opts); err != nil {
			b.Fatal(err)
		}
	}
}
