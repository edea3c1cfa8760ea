package wizard_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

func ExampleGenerate() {
	doc, err := wizard.Parse(context.Background(), []byte(`
openapi: 3.0.0
info: {title: Pet Store, version: "1"}
paths:
  /pets:
    get: {operationId: listPets, responses: {"200": {description: pets}}}
    post: {operationId: createPet, responses: {"200": {description: added}}}
`))
	if err != nil {
		log.Fatal(err)
	}
	r, err := wizard.Generate(doc, wizard.Options{
		Upstream: "http://127.0.0.1:8000",
		Identity: wizard.IdentitySource{PoolID: "us-east-1_Example"},
		Allow:    []wizard.Assignment{{Group: "employees", Operations: []string{"createPet", "GET /pets"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Namespace, r.Actions)
	fmt.Print(string(r.Files["policies/employees.cedar"]))
	// Output:
	// PetStore [get /pets post /pets]
	// permit (
	//     principal in PetStore::UserGroup::"us-east-1_Example|employees",
	//     action in
	//         [PetStore::Action::"post /pets",
	//          PetStore::Action::"get /pets"],
	//     resource
	// );
}
