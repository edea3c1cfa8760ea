package policy_test

import (
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

func TestTemplateLinkHeadForms(t *testing.T) {
	t.Parallel()
	user := uid("PetStore::User", "us-east-1_EXAMPLE|alice")
	grp := uid("PetStore::UserGroup", "us-east-1_EXAMPLE|owners")
	app := uid("PetStore::Application", "PetStore")
	tests := []struct {
		name         string
		template     string
		hasP, hasR   bool
		principal    *types.EntityUID
		resource     *types.EntityUID
		wantLinkedIn string // a substring of the linked policy's Cedar text
	}{
		{"principal ==", `permit(principal == ?principal, action, resource);`, true, false, user, nil, `principal == PetStore::User::"us-east-1_EXAMPLE|alice"`},
		{"principal in", `permit(principal in ?principal, action == PetStore::Action::"post /pets", resource);`, true, false, grp, nil, `principal in PetStore::UserGroup::`},
		{"principal is in", `permit(principal is PetStore::User in ?principal, action, resource);`, true, false, grp, nil, `principal is PetStore::User in PetStore::UserGroup::`},
		{"resource ==", `forbid(principal, action, resource == ?resource);`, false, true, nil, app, `resource == PetStore::Application::"PetStore"`},
		{"resource in", `permit(principal, action, resource in ?resource);`, false, true, nil, app, `resource in PetStore::Application::"PetStore"`},
		{"resource is in", `permit(principal, action, resource is PetStore::Application in ?resource);`, false, true, nil, app, `resource is PetStore::Application in PetStore::Application::"PetStore"`},
		{"both slots, trailing comma", `permit(principal in ?principal, action, resource == ?resource,);`, true, true, grp, app, `resource == PetStore::Application::"PetStore"`},
		{"resource slot first in text order is irrelevant", "permit(\n principal == ?principal,\n action,\n resource in ?resource\n) when { context.x == \"?resource\" };", true, true, user, app, `context.x == "?resource"`},
		{"slot text in string literal", `permit(principal == ?principal, action, resource) when { principal.name == "?principal" };`, true, false, user, nil, `"?principal"`},
		{"slot text in line comment", "permit(principal == ?principal, action, resource) // ?principal ?resource\n;", true, false, user, nil, `principal ==`},
		{"slot text in block comment", "/* ?resource */ permit(principal == ?principal, action, resource) /* \"?principal */;", true, false, user, nil, `principal ==`},
		{"escaped quote before slot text", `permit(principal == ?principal, action, resource) when { context.s == "\"?principal\\" };`, true, false, user, nil, `principal ==`},
		{"slots glued to keywords", "permit(principal in?principal, action, resource is R in?resource);", true, true, grp, app, `resource is R in PetStore::Application::"PetStore"`},
		{"annotations", `@id("t1") @advice("?principal") permit(principal == ?principal, action, resource);`, true, false, user, nil, `@advice("?principal")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := policy.ParseTemplate(tt.template)
			if err != nil {
				t.Fatalf("ParseTemplate: %v", err)
			}
			if tpl.Statement() != tt.template {
				t.Errorf("Statement() = %q", tpl.Statement())
			}
			if tpl.HasPrincipal() != tt.hasP || tpl.HasResource() != tt.hasR {
				t.Fatalf("slots = %v/%v, want %v/%v", tpl.HasPrincipal(), tpl.HasResource(), tt.hasP, tt.hasR)
			}
			s, err := tpl.Link(tt.principal, tt.resource)
			if err != nil {
				t.Fatalf("Link: %v", err)
			}
			if !equalUIDPtr(s.Principal, tt.principal) && tt.hasP {
				t.Errorf("Principal = %v, want %v", s.Principal, tt.principal)
			}
			if !equalUIDPtr(s.Resource, tt.resource) && tt.hasR {
				t.Errorf("Resource = %v, want %v", s.Resource, tt.resource)
			}
			if got := string(s.Policy.MarshalCedar()); !strings.Contains(got, tt.wantLinkedIn) {
				t.Errorf("linked policy\n%s\ndoes not contain %q", got, tt.wantLinkedIn)
			}
		})
	}
}

func TestParseTemplateErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		template  string
		line, col int
		msg       string
	}{
		{"no slots", `permit(principal, action, resource);`, 0, 0, "template has no slot"},
		{"slots only in string and comment", `permit(principal, action, resource) when { "?principal" == "" }; // ?resource`, 0, 0, "no slot"},
		{"unknown slot", `permit(principal == ?foo, action, resource);`, 1, 21, "unknown template slot ?foo"},
		{"slot name with suffix", `permit(principal == ?principalFoo, action, resource);`, 1, 21, "unknown template slot ?principalFoo"},
		{"slot in condition", "permit(principal, action, resource)\nwhen { principal == ?principal };", 2, 21, "only appear in the policy scope"},
		{"slot in condition and scope", `permit(principal == ?principal, action, resource) when { resource == ?resource };`, 1, 70, "?resource may only appear"},
		{"principal slot in resource position", `permit(principal, action, resource == ?principal);`, 1, 39, "?principal may only appear"},
		{"slot in action", `permit(principal, action == ?resource, resource);`, 1, 29, "may only appear"},
		{"slot as is type", `permit(principal is ?principal, action, resource);`, 1, 21, "may only appear"},
		{"slot followed by path", `permit(principal == ?principal::"x", action, resource);`, 1, 21, "may only appear"},
		{"duplicate slot", `permit(principal == ?principal, action, resource) when { ?principal };`, 1, 58, "more than once"},
		{"syntax error after slot keeps column", `permit(principal == ?principal, action, resource) when { 1 + };`, 1, 63, `at ";": invalid primary`},
		{"syntax error on next line", "permit(principal == ?principal, action,\n  resource == ?resource) when { ! };", 2, 36, `at ";"`},
		{"unterminated string", "permit(principal == ?principal, action, resource) when { \"abc };", 1, 58, "not terminated"},
		{"unterminated block comment", "permit(principal == ?principal, action, resource); /* ", 1, 52, "comment not terminated"},
		{"two policies", "permit(principal == ?principal, action, resource);\npermit(principal, action, resource);", 2, 1, "exactly one"},
		{"lone question mark", `permit(principal == ?, action, resource);`, 1, 21, "unknown template slot ?;"},
		{"missing semicolon", `permit(principal in ?principal, action, resource)`, 1, 50, `expected ";"`},
		{"glued slot keeps columns", `permit(principal in?principal, action, resource) when { 1 + };`, 1, 62, `at ";"`},
		{"NUL byte", "permit(principal in ?principal, action,\n resource) when { \"a\x00\" };", 2, 21, "NUL"},
		{"invalid UTF-8", "permit(principal in ?principal, action, resource) // \xff", 1, 54, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := policy.ParseTemplate(tt.template)
			wantSyntaxError(t, err, tt.line, tt.col, tt.msg)
		})
	}
}

func TestLinkArguments(t *testing.T) {
	t.Parallel()
	pOnly, err := policy.ParseTemplate(`permit(principal in ?principal, action, resource);`)
	if err != nil {
		t.Fatal(err)
	}
	both, err := policy.ParseTemplate(`permit(principal in ?principal, action, resource in ?resource);`)
	if err != nil {
		t.Fatal(err)
	}
	g := uid("G", "g")
	tests := []struct {
		name string
		tpl  *policy.Template
		p, r *types.EntityUID
		msg  string
	}{
		{"missing principal", pOnly, nil, nil, "slot ?principal needs an entity"},
		{"resource for template without ?resource", pOnly, g, g, "template has no ?resource slot"},
		{"missing resource", both, g, nil, "slot ?resource needs an entity"},
		{"empty type", pOnly, uid("", "x"), nil, "invalid entity type"},
		{"type with quote injection", pOnly, uid(`G::"x", action, resource); permit(principal, action, resource); //`, "x"), nil, "invalid entity type"},
		{"type with trailing ::", pOnly, uid("G::", "x"), nil, "invalid entity type"},
		{"type with space", pOnly, uid("G ::H", "x"), nil, "invalid entity type"},
		{"reserved word type", pOnly, uid("if", "x"), nil, "invalid entity type"},
		{"reserved word in path", pOnly, uid("A::in::B", "x"), nil, "invalid entity type"},
		{"digit first", pOnly, uid("1A", "x"), nil, "invalid entity type"},
		{"non-ASCII type", pOnly, uid("Usér", "x"), nil, "invalid entity type"},
		{"invalid UTF-8 id", pOnly, uid("G", "a\xffb"), nil, "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.tpl.Link(tt.p, tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Link error = %v, want it to contain %q", err, tt.msg)
			}
		})
	}
}

// TestLinkRoundTrip checks that entity ids that need escaping come back
// from cedar-go byte for byte, and that the linked policy evaluates against
// exactly that entity.
func TestLinkRoundTrip(t *testing.T) {
	t.Parallel()
	tpl, err := policy.ParseTemplate(`permit(principal == ?principal, action, resource in ?resource);`)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{
		"", "plain", `quote"inside`, `back\slash`, `\"`, `\`, `"`, "new\nline", "cr\rtab\t",
		"nul\x00byte", "bell\x07 del\x7f", "star*", `\*`, "*", "é", "日本語", "😀 emoji",
		"\u2028line sep", "\ufeffbom", "\ufffd", `\u{41}`, `\x41`, `"; permit(principal, action, resource); //`,
		"us-east-1_EXAMPLE|a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", "{petId}", "/admin/{proxy+}",
	}
	types_ := []string{"User", "PetStore::User", "A::B::C", "_x", "principal", "Action"}
	for i, id := range ids {
		p := uid(types_[i%len(types_)], id)
		r := uid("Album", id+id)
		s, err := tpl.Link(p, r)
		if err != nil {
			t.Errorf("Link(%q): %v", id, err)
			continue
		}
		if *s.Principal != *p || *s.Resource != *r {
			t.Errorf("Link(%q): principal %#v resource %#v", id, *s.Principal, *s.Resource)
		}
		// The linked policy must match the exact entity and nothing else.
		entities := types.EntityMap{*p: {UID: *p}, *r: {UID: *r}}
		req := cedar.Request{Principal: *p, Action: *uid("Action", "a"), Resource: *r}
		ps := cedar.NewPolicySet()
		ps.Add("linked", s.Policy)
		if ok, _ := cedar.Authorize(ps, entities, req); ok != cedar.Allow {
			t.Errorf("Link(%q): exact entity denied", id)
		}
		other := types.NewEntityUID(p.Type, p.ID+"x")
		req.Principal = other
		if ok, _ := cedar.Authorize(ps, entities, req); ok != cedar.Deny {
			t.Errorf("Link(%q): other entity allowed", id)
		}
	}
}

func TestEntityLiteral(t *testing.T) {
	t.Parallel()
	tests := []struct {
		uid  types.EntityUID
		want string
	}{
		{*uid("User", "alice"), `User::"alice"`},
		{*uid("A::B", "q\"b\\n\nt\tz\x00c\x01"), `A::B::"q\"b\\n\nt\tz\0c\u{1}"`},
		{*uid("U", "é😀"), `U::"\u{e9}\u{1f600}"`},
	}
	for _, tt := range tests {
		got, err := policy.EntityLiteral(tt.uid)
		if err != nil || got != tt.want {
			t.Errorf("EntityLiteral(%#v) = %q, %v; want %q", tt.uid, got, err, tt.want)
		}
	}
}
