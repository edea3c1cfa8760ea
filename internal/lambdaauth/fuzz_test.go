package lambdaauth_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
)

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzParseEvent: any payload is read into an event for the lambda front door or refused with
// a FieldError, never a panic; a read event names its ARN and a rooted path, and a deny verdict
// on it never answers Allow (go test -fuzz FuzzParseEvent ./internal/lambdaauth; seeds in
// testdata/fuzz/FuzzParseEvent and the sample events).
func FuzzParseEvent(f *testing.F) {
	for _, name := range []string{"rest-request.json", "rest-token.json", "http-v2.json", "http-v1.json", "rest-request-default-stage.json"} {
		f.Add(readEvent(f, name))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		ev, err := lambdaauth.ParseEvent(payload)
		if err != nil {
			var fe *lambdaauth.FieldError
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("error %T %v is not a FieldError naming a field", err, err)
			}
			return
		}
		in := ev.Input
		if ev.ARN == "" || in.Source != gateway.SourceLambda || in.Method == "" || !strings.HasPrefix(in.RawPath, "/") || in.Header == nil {
			t.Fatalf("event %+v", ev)
		}
		for _, simple := range []bool{false, true} {
			resp, err := lambdaauth.Respond(ev, gateway.Verdict{Status: 403, Reason: gateway.ReasonPolicyDeny}, simple)
			if err != nil {
				t.Fatal(err)
			}
			if b := mustJSON(t, resp); strings.Contains(b, `"Allow"`) || strings.Contains(b, `"isAuthorized":true`) {
				t.Fatalf("deny answered %s", b)
			}
		}
	})
}
