package wizard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// schemaRing is a document whose n component schemas refer to one another in a ring (as the
// expandable objects of large public APIs do), one operation per schema, and a path
// parameter the document forgets to declare.
func schemaRing(n int) []byte {
	schemas, paths := map[string]any{}, map[string]any{}
	for i := range n {
		props := map[string]any{"next": map[string]any{"$ref": fmt.Sprintf("#/components/schemas/S%d", (i+1)%n)}}
		for j := range 8 {
			props[fmt.Sprintf("f%d", j)] = map[string]any{"type": "string", "pattern": `^(\w)\1*$`}
		}
		schemas[fmt.Sprintf("S%d", i)] = map[string]any{"type": "object", "properties": props}
		paths[fmt.Sprintf("/r%d", i)] = map[string]any{"get": map[string]any{"operationId": fmt.Sprintf("get%d", i), "responses": map[string]any{
			"200": map[string]any{"description": "ok", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": fmt.Sprintf("#/components/schemas/S%d", i)}}}}}}}
	}
	paths["/undeclared/{id}"] = map[string]any{"get": map[string]any{"responses": map[string]any{"200": map[string]any{"description": "ok"}}}}
	b, err := json.Marshal(map[string]any{"openapi": "3.0.3", "info": map[string]any{"title": "Ring", "version": "1"}, "paths": paths,
		"components": map[string]any{"schemas": schemas}})
	if err != nil {
		panic(err)
	}
	return b
}

// TestManySchemas: a document with hundreds of schemas that refer to one another is read in
// time linear in its size: the schemas, which do not decide authorization, are not validated
// (kin-openapi validates each with all it refers to: 400 schemas in a ring took 14 s, 1,000
// would take minutes), while paths and parameters still are.
func TestManySchemas(t *testing.T) {
	t.Parallel()
	doc := schemaRing(999)
	start := time.Now()
	d, err := wizard.Parse(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Parse of %d bytes (999 schemas in a ring) took %v", len(doc), took)
	}
	for _, w := range []string{"openapi validation: the document's 999 schemas are not checked", "operation GET /undeclared/{id} must define exactly all path parameters"} {
		if !slices.ContainsFunc(d.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning contains %q: %q", w, d.Warnings)
		}
	}
	r, err := wizard.Generate(d, wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"get0", "GET /undeclared/{id}"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Routes) != 1000 {
		t.Errorf("%d routes", len(r.Routes))
	}
	// One route more than an API has is an error about the document.
	if _, err := wizard.Generate(must(wizard.Parse(context.Background(), schemaRing(1000))), wizard.Options{Upstream: "http://127.0.0.1:9",
		Identity: wizard.IdentitySource{PoolID: articlePool}}); err == nil || !strings.Contains(err.Error(), "the document has 1001 routes") {
		t.Errorf("1,001 routes: %v", err)
	}
	// Below the bound every schema is still checked.
	d, err = wizard.Parse(context.Background(), schemaRing(20))
	if err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(d.Warnings, func(s string) bool { return strings.Contains(s, "schemas are not checked") }) {
		t.Errorf("20 schemas not checked: %q", d.Warnings)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
