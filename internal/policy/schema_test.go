package policy_test

import (
	"bytes"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

func TestParseSchemaFormatsAgree(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		json, text string
	}{
		{"petstore", readTestdata(t, "petstore.schema.json"), readTestdata(t, "petstore.cedarschema")},
		{"photos", "", readTestdata(t, "photos.cedarschema")},
		{"empty namespace and builtins", `{"": {"entityTypes": {"U": {"shape": {"type": "Record", "attributes": {
			"a": {"type": "Long"}, "b": {"type": "Boolean"}, "c": {"type": "Extension", "name": "decimal"},
			"d": {"type": "Set", "element": {"type": "Entity", "name": "U"}}}}}}, "actions": {"x": {}}}}`,
			"entity U { a: __cedar::Long, b: Bool, c: decimal, d: Set<U> };\naction x;\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fromText := mustSchema(t, tt.text)
			textJSON, err := fromText.JSON()
			if err != nil {
				t.Fatal(err)
			}
			// JSON output parses back to the same JSON.
			again, err := mustSchema(t, string(textJSON)).JSON()
			if err != nil || !bytes.Equal(again, textJSON) {
				t.Errorf("JSON round trip changed:\n%s\n%s (%v)", textJSON, again, err)
			}
			// The human form parses back to the same JSON.
			human, err := fromText.Cedar()
			if err != nil {
				t.Fatal(err)
			}
			if viaHuman, _ := mustSchema(t, string(human)).JSON(); !bytes.Equal(viaHuman, textJSON) {
				t.Errorf("Cedar round trip changed:\n%s\n%s", textJSON, viaHuman)
			}
			if tt.json != "" {
				jsonJSON, err := mustSchema(t, "\n  "+tt.json).JSON()
				if err != nil || !bytes.Equal(jsonJSON, textJSON) {
					t.Errorf("formats disagree:\njson: %s\ntext: %s (%v)", jsonJSON, textJSON, err)
				}
			}
		})
	}
}

func TestSchemaAccessors(t *testing.T) {
	t.Parallel()
	pet := mustSchema(t, readTestdata(t, "petstore.schema.json"))
	if got := pet.Namespaces(); !slices.Equal(got, []string{"PetStore"}) {
		t.Errorf("Namespaces = %v", got)
	}
	acts := pet.Actions()
	if len(acts) != 9 || acts[0].UID != *uid("PetStore::Action", "delete /admin/{proxy+}") {
		t.Errorf("Actions = %v", acts)
	}

	photos := mustSchema(t, readTestdata(t, "photos.cedarschema"))
	read := *uid("Photos::Action", "read")
	wantParents := map[string][]types.EntityUID{"delete": nil, "list": {read}, "rate": nil, "read": nil, "view": {read}}
	got := photos.Actions()
	if len(got) != len(wantParents) {
		t.Fatalf("Actions = %v", got)
	}
	for _, a := range got {
		want, ok := wantParents[string(a.UID.ID)]
		if !ok || a.UID.Type != "Photos::Action" {
			t.Errorf("unexpected action %v", a.UID)
			continue
		}
		if ps := slices.Collect(a.Parents.All()); !slices.Equal(ps, want) {
			t.Errorf("%v parents = %v, want %v", a.UID, ps, want)
		}
	}

	tests := []struct {
		typ   types.EntityType
		attrs []string
		ok    bool
	}{
		{"Photos::User", []string{"age", "cognito:username", "name"}, true},
		{"Photos::Photo", []string{"owner", "private", "tags", "title"}, true},
		{"Photos::Group", []string{}, true},
		{"Photos::Level", []string{}, true},
		{"Photos::Nope", nil, false},
		{"User", nil, false},
	}
	for _, tt := range tests {
		attrs, ok := photos.EntityAttributes(tt.typ)
		if ok != tt.ok || !slices.Equal(slices.Sorted(maps.Keys(attrs)), tt.attrs) && tt.ok {
			t.Errorf("EntityAttributes(%s) = %v, %v; want %v, %v", tt.typ, attrs, ok, tt.attrs, tt.ok)
		}
	}
	if ctx, ok := photos.ContextAttributes(*uid("Photos::Action", "view")); !ok || !ctx["mfa"] || !ctx["ip"] || len(ctx) != 2 {
		t.Errorf("ContextAttributes(view) = %v, %v", ctx, ok)
	}
	if ctx, ok := photos.ContextAttributes(*uid("Photos::Action", "delete")); !ok || len(ctx) != 0 {
		t.Errorf("ContextAttributes(delete) = %v, %v", ctx, ok)
	}
	if _, ok := photos.ContextAttributes(read); ok {
		t.Error("ContextAttributes(read) ok for an action without appliesTo")
	}
}

func TestParseSchemaErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		text      string
		line, col int
		msg       string
	}{
		{"json syntax", "{\n \"A\": {\"entityTypes\": {}, \"actions\": {}, }\n}", 2, 42, "invalid character"},
		{"json truncated", "{\"A\": {", 1, 7, "unexpected end"},
		{"cedar syntax", "namespace A {\n  entity X\n}", 3, 1, "expected ';'"},
		{"cedar bad token", "namespace A {\n  entity X in [Y] { a: };\n}", 2, 24, `got "}"`},
		{"json missing actions", `{"A": {"entityTypes": {}}}`, 0, 0, `"actions" is missing`},
		{"json unknown member", `{"A": {"entityTypes": {}, "actions": {}, "x": 1}}`, 0, 0, `"x"`},
		{"undefined type", "namespace A {\n entity X in [Y];\n}", 0, 0, `undefined entity type "Y"`},
		{"undefined attribute type", `entity X { a: Nope };`, 0, 0, `undefined type "Nope"`},
		{"undefined action parent", `action a in [b];`, 0, 0, "undefined parent action"},
		// Cedar refuses a common type with a reserved name in both formats.
		{"cedar common type Long", `type Long = String; entity U { n: Long };`, 1, 6, `"Long" is a reserved type name`},
		{"json common type Long", `{"": {"commonTypes": {"Long": {"type": "String"}}, "entityTypes": {}, "actions": {}}}`, 0, 0, "Long is reserved"},
		{"json appliesTo without resourceTypes", `{"": {"entityTypes": {"U": {}}, "actions": {"a": {"appliesTo": {"principalTypes": ["U"]}}}}}`, 0, 0, `action "a" in namespace "": appliesTo is missing "resourceTypes"`},
		{"json empty appliesTo", `{"": {"entityTypes": {}, "actions": {"a": {"appliesTo": {}}}}}`, 0, 0, `appliesTo is missing "principalTypes"`},
		{"json common type Set in a namespace", `{"A": {"commonTypes": {"Set": {"type": "String"}}, "entityTypes": {}, "actions": {}}}`, 0, 0, "common type Set in namespace A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := policy.ParseSchema([]byte(tt.text))
			if err == nil {
				t.Fatal("ParseSchema succeeded")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			var se *policy.SyntaxError
			if tt.line > 0 {
				if !errors.As(err, &se) || se.Line != tt.line || se.Column != tt.col {
					t.Errorf("error %v: want a SyntaxError at %d:%d", err, tt.line, tt.col)
				}
			}
		})
	}
}
