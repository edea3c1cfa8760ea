package docs_test

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

// jsonKeys collects the JSON key of every field reachable from t (through structs, pointers,
// slices and map values), as `parent.key` paths.
func jsonKeys(t reflect.Type, prefix string, seen map[reflect.Type]bool, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] || t.PkgPath() == "time" {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" && f.Anonymous {
			jsonKeys(f.Type, prefix, seen, out)
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[prefix+name] = true
		jsonKeys(f.Type, prefix+name+".", seen, out)
	}
}

// TestAPIDefinitionKeys fails when a key an apis/*.yaml file may hold (every JSON key of
// apidef.Definition and the types it contains, identity-source configuration included) is not
// named, in backquotes, in docs/api-definitions.md.
func TestAPIDefinitionKeys(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("api-definitions.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	keys := map[string]bool{}
	jsonKeys(reflect.TypeFor[apidef.Definition](), "", map[reflect.Type]bool{}, keys)
	if len(keys) < 20 {
		t.Fatalf("found only %d keys: the walker is broken", len(keys))
	}
	for path := range keys {
		leaf := path[strings.LastIndex(path, ".")+1:]
		if !strings.Contains(doc, "`"+leaf+"`") && !strings.Contains(doc, "`"+leaf+":") {
			t.Errorf("docs/api-definitions.md does not document %s (`%s`)", path, leaf)
		}
	}
}
