package policy_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

func TestParseStaticDerivedFields(t *testing.T) {
	t.Parallel()
	grp := uid("PetStore::UserGroup", "us-east-1_EXAMPLE|employees")
	app := uid("PetStore::Application", "PetStore")
	act := func(id string) types.EntityUID { return *uid("PetStore::Action", id) }
	tests := []struct {
		name      string
		statement string
		effect    string
		principal *types.EntityUID
		resource  *types.EntityUID
		actions   []types.EntityUID
	}{
		{"unconstrained", `permit(principal, action, resource);`, policy.EffectPermit, nil, nil, nil},
		{"forbid", `forbid(principal, action, resource);`, policy.EffectForbid, nil, nil, nil},
		{"principal ==", `permit(principal == PetStore::User::"u1", action, resource);`,
			policy.EffectPermit, uid("PetStore::User", "u1"), nil, nil},
		{"principal in", `permit(principal in PetStore::UserGroup::"us-east-1_EXAMPLE|employees", action, resource);`,
			policy.EffectPermit, grp, nil, nil},
		{"principal is", `permit(principal is PetStore::User, action, resource);`,
			policy.EffectPermit, nil, nil, nil},
		{"principal is in", `permit(principal is PetStore::User in PetStore::UserGroup::"us-east-1_EXAMPLE|employees", action, resource);`,
			policy.EffectPermit, grp, nil, nil},
		{"resource ==", `forbid(principal, action, resource == PetStore::Application::"PetStore");`,
			policy.EffectForbid, nil, app, nil},
		{"resource in", `permit(principal, action, resource in PetStore::Application::"PetStore");`,
			policy.EffectPermit, nil, app, nil},
		{"resource is", `permit(principal, action, resource is PetStore::Application);`,
			policy.EffectPermit, nil, nil, nil},
		{"resource is in", `permit(principal, action, resource is PetStore::Application in PetStore::Application::"PetStore");`,
			policy.EffectPermit, nil, app, nil},
		{"action ==", `permit(principal, action == PetStore::Action::"get /pets", resource);`,
			policy.EffectPermit, nil, nil, []types.EntityUID{act("get /pets")}},
		{"action in entity", `permit(principal, action in PetStore::Action::"read", resource);`,
			policy.EffectPermit, nil, nil, []types.EntityUID{act("read")}},
		{"action in set", `permit(principal, action in [PetStore::Action::"get /", PetStore::Action::"post /pets"], resource);`,
			policy.EffectPermit, nil, nil, []types.EntityUID{act("get /"), act("post /pets")}},
		{"annotations, comments and conditions", `@id("x") // comment
			permit(principal == PetStore::User::"u1", action, resource) when { context.a == 1 } unless { false };`,
			policy.EffectPermit, uid("PetStore::User", "u1"), nil, nil},
		{"trailing comma in scope", `permit(principal, action, resource,);`, policy.EffectPermit, nil, nil, nil},
		{"wizard", readTestdata(t, "petstore-wizard.cedar"), policy.EffectPermit,
			uid("PetStore::UserGroup", "us-east-1_EXAMPLE|testgroup"), nil,
			[]types.EntityUID{act("get /"), act("post /pets"), act("get /pets"), act("get /pets/{petId}")}},
		{"employees", readTestdata(t, "petstore-employees.cedar"), policy.EffectPermit, grp, nil,
			[]types.EntityUID{act("post /pets")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := policy.ParseStatic(tt.statement)
			if err != nil {
				t.Fatalf("ParseStatic: %v", err)
			}
			if s.Policy == nil {
				t.Fatal("Policy is nil")
			}
			if s.Effect != tt.effect {
				t.Errorf("Effect = %q, want %q", s.Effect, tt.effect)
			}
			if !equalUIDPtr(s.Principal, tt.principal) {
				t.Errorf("Principal = %v, want %v", s.Principal, tt.principal)
			}
			if !equalUIDPtr(s.Resource, tt.resource) {
				t.Errorf("Resource = %v, want %v", s.Resource, tt.resource)
			}
			if !slices.Equal(s.Actions, tt.actions) {
				t.Errorf("Actions = %v, want %v", s.Actions, tt.actions)
			}
		})
	}
}

func equalUIDPtr(a, b *types.EntityUID) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func TestParseStaticErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		statement string
		line, col int
		msg       string
	}{
		{"empty", ``, 0, 0, "no policy"},
		{"only a comment", "// nothing\n", 0, 0, "no policy"},
		{"two policies", "permit(principal, action, resource);\nforbid(principal, action, resource);", 2, 1, "exactly one"},
		{"missing paren", `permit(principal, action, resource`, 1, 35, `expected ")"`},
		{"missing semicolon", `permit(principal, action, resource)`, 1, 36, `expected ";"`},
		{"bad token on line 3", "permit(\n  principal,\n  action ==,\n  resource);", 4, 3, "expected ident"},
		{"unterminated string", "permit(principal, action,\n resource) when { \"abc };", 2, 19, "not terminated"},
		{"principal slot", `permit(principal == ?principal, action, resource);`, 1, 21, "?principal is not allowed in a static policy"},
		{"resource slot", "permit(principal, action,\n  resource in ?resource);", 2, 15, "?resource"},
		{"unknown variable", `permit(user, action, resource);`, 1, 8, `at "user": expected "principal"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := policy.ParseStatic(tt.statement)
			wantSyntaxError(t, err, tt.line, tt.col, tt.msg)
		})
	}
}

func TestParseStaticJSON(t *testing.T) {
	t.Parallel()
	text, err := policy.ParseStatic(readTestdata(t, "petstore-owners.cedar"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := text.Policy.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := policy.ParseStaticJSON(js)
	if err != nil {
		t.Fatalf("ParseStaticJSON(%s): %v", js, err)
	}
	if fromJSON.Effect != text.Effect || !equalUIDPtr(fromJSON.Principal, text.Principal) ||
		!equalUIDPtr(fromJSON.Resource, text.Resource) || !slices.Equal(fromJSON.Actions, text.Actions) {
		t.Errorf("JSON form derived %+v, text form %+v", fromJSON, text)
	}
	if len(fromJSON.Actions) != 6 {
		t.Errorf("Actions = %v, want the 6 owner actions", fromJSON.Actions)
	}

	t.Run("syntax error position", func(t *testing.T) {
		t.Parallel()
		_, err := policy.ParseStaticJSON([]byte("{\n  \"effect\": \"permit\",\n  \"principal\": }"))
		wantSyntaxError(t, err, 3, 16, "invalid character")
	})
	t.Run("not a policy", func(t *testing.T) {
		t.Parallel()
		_, err := policy.ParseStaticJSON([]byte(`{"effect": "maybe"}`))
		wantSyntaxError(t, err, 0, 0, "invalid JSON policy")
	})
}

func TestCheckUpdate(t *testing.T) {
	t.Parallel()
	base := `permit(principal in G::"a", action == A::"x", resource is R) when { true };`
	tests := []struct {
		name    string
		updated string
		ok      bool
	}{
		{"same", base, true},
		{"action and condition", `permit(principal in G::"a", action in [A::"x", A::"y"], resource is R) unless { false };`, true},
		{"effect", `forbid(principal in G::"a", action == A::"x", resource is R);`, false},
		{"principal entity", `permit(principal in G::"b", action == A::"x", resource is R);`, false},
		{"principal operator", `permit(principal == G::"a", action == A::"x", resource is R);`, false},
		{"resource", `permit(principal in G::"a", action == A::"x", resource);`, false},
	}
	old, err := policy.ParseStatic(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			upd, err := policy.ParseStatic(tt.updated)
			if err != nil {
				t.Fatal(err)
			}
			err = policy.CheckUpdate(old, upd)
			if tt.ok != (err == nil) {
				t.Fatalf("CheckUpdate = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, policy.ErrScopeChange) {
				t.Errorf("error %v does not wrap ErrScopeChange", err)
			}
		})
	}
}
