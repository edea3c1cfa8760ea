package iam_test

import (
	"fmt"
	"net/netip"

	"github.com/gatehouse-dev/gatehouse/internal/iam"
)

func Example() {
	policy, err := iam.Parse([]byte(`{
		"Version": "2012-10-17",
		"Statement": [{
			"Sid": "PetStore-API",
			"Effect": "Allow",
			"Action": "execute-api:Invoke",
			"Resource": [
				"arn:aws:execute-api:*:*:*/*/*/petstore/v1/*",
				"arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status"
			],
			"Condition": {"IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "198.51.100.0/24"]}}
		}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, m := range []struct{ verb, path string }{
		{"GET", "/petstore/v1/pets"},
		{"GET", "/petstore/v2/pets"},
		{"GET", "/petstore/v2/status"},
		{"POST", "/petstore/v2/status"},
	} {
		req := iam.Request{
			Action:   iam.InvokeAction,
			Resource: iam.MethodARN("us-east-1", "123456789012", "a1b2c3", "dev", m.verb, m.path),
			SourceIP: netip.MustParseAddr("192.0.2.7"),
		}
		fmt.Println(m.verb, m.path, iam.Evaluate(req, policy))
	}
	// Output:
	// GET /petstore/v1/pets Allow
	// GET /petstore/v2/pets ImplicitDeny
	// GET /petstore/v2/status Allow
	// POST /petstore/v2/status ImplicitDeny
}
