package policy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

func TestValidatePetStore(t *testing.T) {
	t.Parallel()
	for _, form := range []string{"petstore.schema.json", "petstore.cedarschema"} {
		s := mustSchema(t, readTestdata(t, form))
		for _, file := range []string{"petstore-wizard.cedar", "petstore-employees.cedar", "petstore-owners.cedar"} {
			st, err := policy.ParseStatic(readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(file, st.Policy); err != nil {
				t.Errorf("%s against %s: %v", file, form, err)
			}
		}
	}
}

func TestValidateRejects(t *testing.T) {
	t.Parallel()
	pet := mustSchema(t, readTestdata(t, "petstore.cedarschema"))
	photos := mustSchema(t, readTestdata(t, "photos.cedarschema"))
	tests := []struct {
		name      string
		schema    *policy.Schema
		statement string
		want      string // empty: valid
	}{
		{"petstore unknown action", pet, `permit(principal, action == PetStore::Action::"get /cats", resource);`, "unrecognized action"},
		{"petstore unknown group type", pet, `permit(principal in PetStore::Group::"x", action, resource);`, "unrecognized entity type `PetStore::Group`"},
		{"petstore attribute not declared", pet, `permit(principal, action, resource) when { principal.department == "x" };`, "attribute `department`"},
		{"petstore unnamespaced action", pet, `permit(principal, action == Action::"post /pets", resource);`, "unrecognized action"},
		// Cedar only warns about an impossible scope ("policy is impossible"); AVP accepts it.
		{"petstore wrong resource type", pet, `permit(principal, action == PetStore::Action::"post /pets", resource is PetStore::User);`, ""},
		{"petstore always false clause", pet, `permit(principal, action == PetStore::Action::"post /pets", resource) when { false } when { context.nope };`, ""},
		// cedar-go's validator accepts these; Cedar's rejects them (checked with cedar-wasm 4.13).
		{"datetime < duration", pet, `permit(principal, action == PetStore::Action::"post /pets", resource) when { datetime("2024-01-01") < duration("1d") };`, "datetime and duration are not compatible"},
		{"Long >= datetime", pet, `permit(principal, action == PetStore::Action::"post /pets", resource) when { true && 3 >= datetime("2024-01-01") };`, "Long and datetime are not compatible"},
		{"duration <= Long", pet, `permit(principal, action == PetStore::Action::"post /pets", resource) when { duration("1h") <= 5 };`, "Long and duration are not compatible"},
		{"datetime > datetime", pet, `permit(principal, action == PetStore::Action::"post /pets", resource) when { datetime("2024-01-01").toDate() > datetime("2023-01-01") };`, ""},
		{"decimal with +", pet, `permit(principal, action == PetStore::Action::"post /pets", resource) when { decimal("+1.0").lessThan(decimal("2.0")) };`, "failed to parse as a decimal value"},
		{"photos valid attribute", photos, `permit(principal is Photos::User, action == Photos::Action::"view", resource) when { principal.age >= 18 && resource.owner == principal };`, ""},
		{"photos valid action group", photos, `permit(principal, action in Photos::Action::"read", resource) when { resource has owner || true };`, ""},
		{"photos valid context", photos, `permit(principal, action == Photos::Action::"view", resource) when { context.mfa && context has ip && context.ip.isInRange(ip("10.0.0.0/8")) };`, ""},
		{"photos valid optional attribute guard", photos, `permit(principal is Photos::User, action, resource) when { principal has "cognito:username" && principal["cognito:username"] == "a" };`, ""},
		{"photos unknown attribute", photos, `permit(principal, action == Photos::Action::"view", resource) when { resource.nope };`, "attribute `nope`"},
		{"photos attribute on one of two principal types", photos, `permit(principal, action == Photos::Action::"view", resource) when { principal.age > 3 };`, "Photos::Service"},
		{"photos wrong type", photos, `permit(principal is Photos::User, action, resource) when { principal.age == "eighteen" };`, "Long and String"},
		{"photos wrong operand type", photos, `permit(principal is Photos::User, action, resource) when { principal.name > 3 };`, "saw String"},
		{"photos optional attribute unguarded", photos, `permit(principal is Photos::User, action, resource) when { principal["cognito:username"] == "a" };`, "cognito:username"},
		{"photos context attribute of another action", photos, `permit(principal, action == Photos::Action::"list", resource) when { context.mfa };`, "mfa"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := policy.ParseStatic(tt.statement)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.schema.Validate("policy-7", st.Policy)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *policy.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Validate = %v, want a *policy.ValidationError", err)
			}
			if ve.PolicyID != "policy-7" || !strings.Contains(err.Error(), `policy "policy-7"`) || ve.Line != 1 || ve.Column != 1 {
				t.Errorf("error %v does not identify the policy and its position", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateTemplate(t *testing.T) {
	t.Parallel()
	pet := mustSchema(t, readTestdata(t, "petstore.schema.json"))
	photos := mustSchema(t, readTestdata(t, "photos.cedarschema"))
	tests := []struct {
		name     string
		schema   *policy.Schema
		template string
		want     string // empty: valid
	}{
		{"petstore group template", pet, `permit(principal in ?principal, action in [PetStore::Action::"post /pets"], resource);`, ""},
		{"petstore user and app", pet, `permit(principal == ?principal, action, resource == ?resource);`, ""},
		{"petstore unknown action", pet, `permit(principal in ?principal, action == PetStore::Action::"get /cats", resource);`, "unrecognized action"},
		{"petstore unknown attribute", pet, `permit(principal == ?principal, action, resource) when { principal.department == "x" };`, "attribute `department`"},
		{"petstore is-in", pet, `permit(principal is PetStore::User in ?principal, action, resource);`, ""},
		{"petstore is-in wrong type (Cedar warns only)", pet, `permit(principal is PetStore::Application in ?principal, action, resource);`, ""},
		{"photos valid for both principal types", photos, `permit(principal == ?principal, action == Photos::Action::"view", resource in ?resource) when { context.mfa };`, ""},
		{"photos attribute missing on one slot type", photos, `permit(principal == ?principal, action == Photos::Action::"view", resource) when { principal.age > 3 };`, "?principal as Photos::Service"},
		{"photos guarded attribute", photos, `permit(principal == ?principal, action == Photos::Action::"view", resource) when { principal is Photos::User && principal.age > 3 };`, ""},
		{"photos action group", photos, `permit(principal in ?principal, action in Photos::Action::"read", resource == ?resource);`, ""},
		{"photos enum slot", photos, `permit(principal, action == Photos::Action::"rate", resource == ?resource);`, ""},
		{"photos resource attribute", photos, `permit(principal, action == Photos::Action::"delete", resource == ?resource) when { resource.private };`, "?resource as Photos::Album"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := policy.ParseTemplate(tt.template)
			if err != nil {
				t.Fatal(err)
			}
			err = tt.schema.ValidateTemplate("template-1", tpl)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ValidateTemplate: %v", err)
				}
				return
			}
			var ve *policy.ValidationError
			if !errors.As(err, &ve) || ve.PolicyID != "template-1" {
				t.Fatalf("ValidateTemplate = %v, want a *policy.ValidationError for template-1", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateRequestAndEntities(t *testing.T) {
	t.Parallel()
	pet := mustSchema(t, readTestdata(t, "petstore.cedarschema"))
	user := *uid("PetStore::User", "pool|alice")
	grp := *uid("PetStore::UserGroup", "pool|owners")
	app := *uid("PetStore::Application", "PetStore")
	req := types.Request{Principal: user, Action: *uid("PetStore::Action", "post /pets"), Resource: app, Context: types.Record{}}
	if err := pet.ValidateRequest(req); err != nil {
		t.Errorf("ValidateRequest: %v", err)
	}
	req.Action = *uid("PetStore::Action", "get /cats")
	if err := pet.ValidateRequest(req); err == nil {
		t.Error("ValidateRequest accepted an undeclared action")
	}
	ents := types.EntityMap{
		user: {UID: user, Parents: types.NewEntityUIDSet(grp)},
		grp:  {UID: grp},
	}
	if err := pet.ValidateEntities(ents); err != nil {
		t.Errorf("ValidateEntities: %v", err)
	}
	ents[grp] = types.Entity{UID: grp, Parents: types.NewEntityUIDSet(user)}
	if err := pet.ValidateEntities(ents); err == nil {
		t.Error("ValidateEntities accepted a group that is a member of a user")
	}
}
