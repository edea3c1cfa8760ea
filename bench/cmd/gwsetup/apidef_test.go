package main

import (
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

// TestBenchAPIDefinitionValid keeps bench/testdata/gateway/store/apis/bench.yaml in step with the apidef
// format: with its placeholders filled as run.sh fills them, it must parse and validate.
func TestBenchAPIDefinitionValid(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/gateway/store/apis/bench.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer(
		"${UPSTREAM}", "http://127.0.0.1:9301",
		"${POOL_ARN}", "arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_Abcdefghi",
		"${CLIENT_ID}", "abcdefghijklmnopqrstuvwxyz",
	).Replace(string(raw))
	if strings.Contains(text, "${") {
		t.Fatalf("unfilled placeholder left in:\n%s", text)
	}
	d, err := apidef.Parse([]byte(text))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	if err := d.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	want := map[string]string{"GET /none/pets": "none", "GET /jwt/pets": "jwt", "GET /cedar/pets": "cedar",
		"GET /cedar-nocache/pets": "cedar", "GET /iam/pets": "iam"}
	for _, r := range d.Routes {
		typ := apidef.AuthorizerNone
		if r.Authorizer != apidef.AuthorizerNone {
			typ = d.Authorizers[r.Authorizer].Type
		}
		if want[r.Route] != typ {
			t.Errorf("route %s: authorizer type %s, want %s", r.Route, typ, want[r.Route])
		}
		delete(want, r.Route)
	}
	if len(want) != 0 {
		t.Errorf("missing routes %v", want)
	}
	if ttl := d.Authorizers["avpnocache"].CacheTTL; ttl == nil || ttl.Duration != 0 {
		t.Errorf("avpnocache cacheTtl = %v, want 0", ttl)
	}
}
