package lambdaauth_test

import (
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
)

// A TOKEN event carries only the token and the method ARN: the request the gateway decides is
// read from the ARN, under the stage as the bundle API's base path.
func ExampleParseEvent() {
	ev, err := lambdaauth.ParseEvent([]byte(`{"type":"TOKEN","authorizationToken":"Bearer eyJ…",
		"methodArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef123/demo/POST/pets"}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(ev.Kind, ev.Input.Method, ev.Input.RawPath, ev.Input.Header.Get("Authorization"))
	// Output: TOKEN POST /demo/pets Bearer eyJ…
}
