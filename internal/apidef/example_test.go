package apidef_test

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

func ExampleParse() {
	d, err := apidef.Parse([]byte(`
name: PetStore
stage: demo
upstream: http://127.0.0.1:9000
routes:
  - {route: "GET /", authorizer: none}
  - {route: "GET /pets/{petId}", authorizer: none, maxBodyBytes: 0}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(d.Name, d.EffectiveBasePath(), len(d.Routes), d.Validate())

	_, err = apidef.Parse([]byte("name: PetStore\nroutes:\n  - {route: GET /, authorizer: none, scope: [a]}\n"))
	fmt.Println(err)

	d.Routes = append(d.Routes, apidef.Route{Route: "GET /pets/{proxy+}/photos", Authorizer: "none"})
	fmt.Println(d.Validate())
	// Output:
	// PetStore /demo 2 <nil>
	// routes[0].scope: unknown key
	// routes[2].route: greedy parameter "{proxy+}" must be the last segment
}
