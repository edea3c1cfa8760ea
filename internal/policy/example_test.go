package policy_test

import (
	"fmt"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

func Example() {
	schema, err := policy.ParseSchema([]byte(`namespace PetStore {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  action "post /pets" appliesTo { principal: [User], resource: [Application], context: {} };
}`))
	if err != nil {
		fmt.Println(err)
		return
	}

	tpl, err := policy.ParseTemplate(`permit(principal in ?principal, action in [PetStore::Action::"post /pets"], resource);`)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := schema.ValidateTemplate("group-template", tpl); err != nil {
		fmt.Println(err)
		return
	}

	group := types.NewEntityUID("PetStore::UserGroup", `us-east-1_EXAMPLE|"owners"`)
	linked, err := tpl.Link(&group, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(linked.Effect, *linked.Principal, linked.Actions)
	fmt.Println(schema.Validate("linked", linked.Policy))

	_, err = policy.ParseStatic(`permit(principal, action == PetStore::Action::"get /cats", resource)`)
	fmt.Println(err)
	// Output:
	// Permit PetStore::UserGroup::"us-east-1_EXAMPLE|\"owners\"" [PetStore::Action::"post /pets"]
	// <nil>
	// line 1, column 69: at end of input: expected ";"
}
