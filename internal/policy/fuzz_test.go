package policy_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// addFileSeeds adds every file matching pattern under testdata as a seed.
func addFileSeeds(f *testing.F, pattern string, add func(string)) {
	files, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		add(string(b))
	}
}

func FuzzParseStatic(f *testing.F) {
	for _, s := range []string{
		`permit(principal, action, resource);`,
		`forbid(principal is A::B in A::C::"x", action in [Action::"a", Action::"b"], resource == R::"r\"\\\n") when { context.a.b like "*\*" } unless { 1 + 2 < 3 };`,
		`permit(principal == ?principal, action, resource);`,
		`permit(principal, action, resource); permit(principal, action, resource);`,
		"/* c */ @a(\"b\") permit(principal, action, resource) // x\n;",
		`permit(principal, action, resource) when { "\u{1F600}" == "\x41" };`,
	} {
		f.Add(s)
	}
	addFileSeeds(f, "*.cedar", func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, statement string) {
		s, err := policy.ParseStatic(statement)
		if err != nil {
			return
		}
		if s.Effect != policy.EffectPermit && s.Effect != policy.EffectForbid {
			t.Fatalf("Effect = %q", s.Effect)
		}
		// Whatever cedar-go accepts, the slot lexer must tokenize too, or
		// template substitution could misread string and comment bounds.
		if _, err := policy.ParseTemplate(statement); err != nil && !strings.Contains(err.Error(), "no slot") {
			t.Fatalf("ParseStatic accepted %q but the template lexer says: %v", statement, err)
		}
		again, err := policy.ParseStatic(string(s.Policy.MarshalCedar()))
		if err != nil {
			t.Fatalf("re-parse of marshaled policy %q: %v", s.Policy.MarshalCedar(), err)
		}
		if again.Effect != s.Effect || !equalUIDPtr(again.Principal, s.Principal) || !equalUIDPtr(again.Resource, s.Resource) {
			t.Fatalf("derived fields changed on round trip: %+v vs %+v", s, again)
		}
	})
}

func FuzzLink(f *testing.F) {
	templates := []string{
		`permit(principal == ?principal, action, resource);`,
		`permit(principal in ?principal, action, resource in ?resource);`,
		`forbid(principal is A in ?principal, action, resource is B in ?resource,) when { "?principal" == "" };`,
		"permit(principal, action, resource == ?resource) // ?principal\n;",
		`permit(principal, action, resource) when { ?principal };`,
		`permit(principal == ?principalX, action, resource);`,
		`permit(principal in?principal, action, resource is R in?resource);`,
	}
	addFileSeeds(f, "templates/*.cedar", func(s string) { templates = append(templates, s) })
	ids := []string{"", `a"b`, `\`, "x\ny", "*", "é😀", "\x00", "\xff", `"); permit(principal, action, resource); //`}
	typesSeeds := []string{"User", "PetStore::UserGroup", "a::b::c", `User::"x"`, "if", "", "A::", "é"}
	for i, tpl := range templates {
		f.Add(tpl, typesSeeds[i%len(typesSeeds)], ids[i%len(ids)], typesSeeds[(i+3)%len(typesSeeds)], ids[(i+5)%len(ids)])
	}
	f.Fuzz(func(t *testing.T, template, pType, pID, rType, rID string) {
		tpl, err := policy.ParseTemplate(template)
		if err != nil {
			return
		}
		if !tpl.HasPrincipal() && !tpl.HasResource() {
			t.Fatal("template without slots accepted")
		}
		var p, r *types.EntityUID
		valid := true
		if tpl.HasPrincipal() {
			p = &types.EntityUID{Type: types.EntityType(pType), ID: types.String(pID)}
			valid = validUID(*p)
		}
		if tpl.HasResource() {
			r = &types.EntityUID{Type: types.EntityType(rType), ID: types.String(rID)}
			valid = valid && validUID(*r)
		}
		s, err := tpl.Link(p, r)
		if err != nil {
			if valid {
				t.Fatalf("Link(%v, %v) of %q failed for valid entities: %v", p, r, template, err)
			}
			return
		}
		if !valid {
			t.Fatalf("Link(%#v, %#v) succeeded for an invalid entity", p, r)
		}
		if p != nil && (s.Principal == nil || *s.Principal != *p) {
			t.Fatalf("linked principal %#v, want %#v", s.Principal, *p)
		}
		if r != nil && (s.Resource == nil || *s.Resource != *r) {
			t.Fatalf("linked resource %#v, want %#v", s.Resource, *r)
		}
		// No slot survives: the linked text is a valid static policy.
		if _, err := policy.ParseStatic(string(s.Policy.MarshalCedar())); err != nil {
			t.Fatalf("linked policy does not re-parse as static: %v\n%s", err, s.Policy.MarshalCedar())
		}
	})
}

func validUID(u types.EntityUID) bool {
	_, err := types.NewEntityType(string(u.Type))
	return err == nil && utf8.ValidString(string(u.ID))
}

func FuzzParseSchema(f *testing.F) {
	addFileSeeds(f, "*schema*", func(s string) { f.Add(s) })
	f.Add(`{"": {"entityTypes": {}, "actions": {}}}`)
	f.Add("type T = Set<Long>; entity E { t: T, e?: E } tags String; action a in [b]; action b appliesTo { principal: E, resource: E, context: { x: __cedar::ipaddr } };")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := policy.ParseSchema([]byte(text))
		if err != nil {
			return
		}
		js, err := s.JSON()
		if err != nil {
			t.Fatalf("JSON: %v", err)
		}
		again, err := policy.ParseSchema(js)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", js, err)
		}
		js2, err := again.JSON()
		if err != nil || !bytes.Equal(js, js2) {
			t.Fatalf("JSON not stable:\n%s\n%s (%v)", js, js2, err)
		}
		_ = s.Actions()
		_ = s.Namespaces()
	})
}

func FuzzParseStaticJSON(f *testing.F) {
	f.Add(`{"effect":"permit","principal":{"op":"All"},"action":{"op":"All"},"resource":{"op":"All"}}`)
	f.Add(`{"effect":"forbid","principal":{"op":"in","entity":{"type":"G","id":"a\"b"}},"action":{"op":"in","entities":[{"type":"Action","id":"x"}]},"resource":{"op":"is","entity_type":"R","in":{"entity":{"type":"R","id":""}}},"conditions":[{"kind":"when","body":{"==":{"left":{"Var":"principal"},"right":{"Value":1}}}}]}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, statement string) {
		s, err := policy.ParseStaticJSON([]byte(statement))
		if err != nil {
			return
		}
		if _, err := policy.ParseStatic(string(s.Policy.MarshalCedar())); err != nil {
			t.Fatalf("JSON policy does not marshal to parseable Cedar: %v\n%s", err, s.Policy.MarshalCedar())
		}
	})
}

func FuzzValidate(f *testing.F) {
	for _, s := range []string{
		`permit(principal is Photos::User, action == Photos::Action::"view", resource) when { principal.age >= 18 && resource.owner == principal };`,
		`permit(principal, action in Photos::Action::"read", resource) when { context.mfa && context has ip && context.ip.isInRange(ip("10.0.0.0/8")) };`,
		`forbid(principal in Photos::Group::"g", action, resource is Photos::Photo in Photos::Album::"a") unless { resource.tags.contains("x") || resource.private };`,
		`permit(principal, action, resource) when { principal has "cognito:username" && principal["cognito:username"] like "a*" };`,
		`permit(principal, action, resource) when { [1, "a", {x: true}].isEmpty() && decimal("1.0") < decimal("2.0") && datetime("2024-01-01").offset(duration("1h")) > datetime("2024-01-01") };`,
		`permit(principal, action, resource) when { decimal("+1.0").lessThan(decimal(context.s)) && context.d.toDate() < 3 && context.d.toTime() >= duration("1h") } when { false } when { context.x };`,
	} {
		f.Add(s)
	}
	schema := mustSchema(f, readTestdata(f, "photos.cedarschema"))
	f.Fuzz(func(t *testing.T, statement string) {
		s, err := policy.ParseStatic(statement)
		if err != nil {
			return
		}
		_ = schema.Validate("fuzz", s.Policy)
	})
}
