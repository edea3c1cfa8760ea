package router_test

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

func Example() {
	tbl, err := router.New([]router.Route{
		{Method: "GET", Path: "/pets/{petId}", Value: "get pet"},
		{Method: "ANY", Path: "/admin/{proxy+}", Value: "admin"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, raw := range []string{"/pets/%7eFido", "/admin/users/42", "/pets/../admin/x", "/pets"} {
		path, err := router.Canonicalize(raw) // the string that is authorized and forwarded
		if err != nil {
			fmt.Println(raw, "->", err)
			continue
		}
		m, ok := tbl.Match("HEAD", path)
		if !ok {
			fmt.Println(path, "-> no route (403 Missing Authentication Token)")
			continue
		}
		fmt.Println(path, "->", m.Route.Value, m.Template, m.Method, m.Params)
	}
	// Output:
	// /pets/~Fido -> get pet /pets/{petId} GET map[petId:~Fido]
	// /admin/users/42 -> admin /admin/{proxy+} GET map[proxy:users/42]
	// /pets/../admin/x -> bad request path: dot segment at byte 6
	// /pets -> no route (403 Missing Authentication Token)
}
