package lambdaauth_test

import (
	"errors"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
)

func readEvent(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseEvent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file     string
		kind     lambdaauth.Kind
		arn      string
		method   string
		path     string
		query    string
		header   map[string][]string // must be present, canonical keys
		client   string
		length   int64
		noHeader []string
	}{
		{file: "rest-request.json", kind: lambdaauth.KindRequest, arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/demo/GET/pets/7",
			method: "GET", path: "/demo/pets/7", query: "tag=a&tag=b",
			header: map[string][]string{"Authorization": {"Bearer abc"}, "X-Multi": {"one", "two"}}, client: "198.51.100.4", length: 12},
		{file: "rest-token.json", kind: lambdaauth.KindToken, arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/demo/POST/pets",
			method: "POST", path: "/demo/pets", header: map[string][]string{"Authorization": {"Bearer abc"}}, length: -1},
		{file: "http-v2.json", kind: lambdaauth.KindV2, arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/demo/GET/pets/7",
			method: "GET", path: "/demo/pets/7", query: "tag=a&tag=b",
			header: map[string][]string{"Authorization": {"Bearer abc"}, "Cookie": {"a=1; b=2"}}, client: "198.51.100.4", length: -1},
		{file: "http-v1.json", kind: lambdaauth.KindRequest, arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/demo/GET/pets",
			method: "GET", path: "/demo/pets", header: map[string][]string{"Authorization": {"Bearer abc"}}, client: "198.51.100.4", length: -1},
		{file: "rest-request-default-stage.json", kind: lambdaauth.KindRequest, arn: "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default/GET/a%20b",
			method: "GET", path: "/a%20b", length: -1, noHeader: []string{"Authorization"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			ev, err := lambdaauth.ParseEvent(readEvent(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			in := ev.Input
			if ev.Kind != tc.kind || ev.ARN != tc.arn || in.Method != tc.method || in.RawPath != tc.path || in.RawQuery != tc.query {
				t.Fatalf("got kind %s arn %s %s %s ?%s", ev.Kind, ev.ARN, in.Method, in.RawPath, in.RawQuery)
			}
			if in.Source != gateway.SourceLambda || !in.TLS || in.ContentLength != tc.length {
				t.Fatalf("source %q tls %v length %d", in.Source, in.TLS, in.ContentLength)
			}
			for k, vs := range tc.header {
				if !slices.Equal(in.Header[k], vs) {
					t.Errorf("header %s = %q, want %q", k, in.Header[k], vs)
				}
			}
			for _, k := range tc.noHeader {
				if _, ok := in.Header[k]; ok {
					t.Errorf("unexpected header %s", k)
				}
			}
			want := netip.Addr{}
			if tc.client != "" {
				want = netip.MustParseAddr(tc.client)
			}
			if in.Client != want {
				t.Errorf("client %v, want %v", in.Client, want)
			}
		})
	}
}

func TestParseEventErrorsNameTheField(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, event, field string }{
		{"not json", `{"type":`, "event"},
		{"array", `[]`, "event"},
		{"no type", `{"methodArn":"x"}`, "type"},
		{"unknown type", `{"type":"COOKIE"}`, "type"},
		{"token without arn", `{"type":"TOKEN","authorizationToken":"t"}`, "methodArn"},
		{"token with bad arn", `{"type":"TOKEN","methodArn":"arn:aws:s3:::bucket"}`, "methodArn"},
		{"arn without method", `{"type":"TOKEN","methodArn":"arn:aws:execute-api:us-east-1:1:api/stage"}`, "methodArn"},
		{"request without method", `{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:1:api/s/GET/x","path":"/x"}`, "httpMethod"},
		{"request without path", `{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:1:api/s/GET/x","httpMethod":"GET"}`, "path"},
		{"relative path", `{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:1:api/s/GET/x","httpMethod":"GET","path":"x"}`, "path"},
		{"headers of the wrong type", `{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:1:api/s/GET/x","httpMethod":"GET","path":"/x","headers":5}`, "event"},
		{"v2 without route arn", `{"version":"2.0","type":"REQUEST","rawPath":"/x"}`, "routeArn"},
		{"v2 without method", `{"version":"2.0","routeArn":"arn:aws:execute-api:r:1:api/s/GET/x","rawPath":"/x"}`, "requestContext.http.method"},
		{"v2 without path", `{"version":"2.0","routeArn":"arn:aws:execute-api:r:1:api/s/GET/x","requestContext":{"http":{"method":"GET"}}}`, "rawPath"},
		{"too large", `{"type":"TOKEN","authorizationToken":"` + strings.Repeat("a", lambdaauth.MaxEventBytes) + `"}`, "event"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := lambdaauth.ParseEvent([]byte(tc.event))
			var fe *lambdaauth.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want a FieldError on %q", err, tc.field)
			}
		})
	}
	// A type mismatch names the member inside the event.
	_, err := lambdaauth.ParseEvent([]byte(`{"type":"REQUEST","methodArn":"arn:aws:execute-api:r:1:api/s/GET/x","httpMethod":"GET","path":"/x","headers":5}`))
	if err == nil || !strings.Contains(err.Error(), "headers") {
		t.Fatalf("type mismatch error %v does not name headers", err)
	}
}

func TestParseMethodARN(t *testing.T) {
	t.Parallel()
	m, err := lambdaauth.ParseMethodARN("methodArn", "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/DELETE/pets/7/toys")
	if err != nil {
		t.Fatal(err)
	}
	want := lambdaauth.MethodARN{Region: "eu-west-1", Account: "123456789012", APIID: "abc123", Stage: "prod", Method: "DELETE", Path: "/pets/7/toys"}
	if m != want {
		t.Fatalf("got %+v", m)
	}
	if m, err := lambdaauth.ParseMethodARN("methodArn", "arn:aws:execute-api:eu-west-1:1:abc123/prod/GET/"); err != nil || m.Path != "/" {
		t.Fatalf("root: %+v %v", m, err)
	}
}

func TestRespond(t *testing.T) {
	t.Parallel()
	rest := lambdaauth.Event{Kind: lambdaauth.KindRequest, ARN: "arn:aws:execute-api:r:1:api/s/GET/x"}
	v2 := lambdaauth.Event{Kind: lambdaauth.KindV2, ARN: rest.ARN}
	allowV := gateway.Verdict{Allow: true, Status: 200, Principal: "pool|sub", Groups: []string{"a", "b"}, DecisionID: "d1",
		APIName: "Pets", RouteKey: "GET /x", Claims: map[string]string{"email": "e%40x"}}
	for _, tc := range []struct {
		name    string
		ev      lambdaauth.Event
		v       gateway.Verdict
		simple  bool
		wantErr string
		check   func(t *testing.T, resp any)
	}{
		{name: "401 is Unauthorized", ev: rest, v: gateway.Verdict{Status: http.StatusUnauthorized}, wantErr: "Unauthorized"},
		{name: "401 is Unauthorized in simple mode", ev: v2, simple: true, v: gateway.Verdict{Status: http.StatusUnauthorized}, wantErr: "Unauthorized"},
		{name: "500 is an error", ev: rest, v: gateway.Verdict{Status: 500, Reason: gateway.ReasonGatewayUnavailable}, wantErr: "authorizer failed"},
		{name: "allow", ev: rest, v: allowV, check: func(t *testing.T, resp any) {
			b := mustJSON(t, resp)
			for _, s := range []string{`"principalId":"pool|sub"`, `"Effect":"Allow"`, `"Resource":["arn:aws:execute-api:r:1:api/s/GET/x"]`,
				`"groups":"a,b"`, `"decisionId":"d1"`, `"api":"Pets"`, `"route":"GET /x"`, `"claims":"{\"email\":\"e%40x\"}"`} {
				if !strings.Contains(b, s) {
					t.Errorf("%s lacks %s", b, s)
				}
			}
		}},
		{name: "deny names the ARN and the reason", ev: rest, v: gateway.Verdict{Status: 403, Reason: gateway.ReasonPolicyDeny, DecisionID: "d2"}, check: func(t *testing.T, resp any) {
			b := mustJSON(t, resp)
			for _, s := range []string{`"principalId":"anonymous"`, `"Effect":"Deny"`, `"reason":"policy_deny"`} {
				if !strings.Contains(b, s) {
					t.Errorf("%s lacks %s", b, s)
				}
			}
		}},
		{name: "missing route is a deny", ev: rest, v: gateway.Verdict{Status: 403, Reason: gateway.ReasonNoRoute}, check: func(t *testing.T, resp any) {
			if b := mustJSON(t, resp); !strings.Contains(b, `"Effect":"Deny"`) {
				t.Errorf("%s", b)
			}
		}},
		{name: "v2 policy form", ev: v2, v: allowV, check: func(t *testing.T, resp any) {
			if b := mustJSON(t, resp); !strings.Contains(b, `"Effect":"Allow"`) || !strings.Contains(b, `"principalId":"pool|sub"`) {
				t.Errorf("%s", b)
			}
		}},
		{name: "v2 simple allow", ev: v2, simple: true, v: allowV, check: func(t *testing.T, resp any) {
			if b := mustJSON(t, resp); !strings.Contains(b, `"isAuthorized":true`) || strings.Contains(b, "policyDocument") {
				t.Errorf("%s", b)
			}
		}},
		{name: "v2 simple deny", ev: v2, simple: true, v: gateway.Verdict{Status: 403}, check: func(t *testing.T, resp any) {
			if b := mustJSON(t, resp); !strings.Contains(b, `"isAuthorized":false`) {
				t.Errorf("%s", b)
			}
		}},
		{name: "simple mode does not change REST answers", ev: rest, simple: true, v: allowV, check: func(t *testing.T, resp any) {
			if b := mustJSON(t, resp); !strings.Contains(b, `"Effect":"Allow"`) {
				t.Errorf("%s", b)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, err := lambdaauth.Respond(tc.ev, tc.v, tc.simple)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				if tc.wantErr == "Unauthorized" && err.Error() != "Unauthorized" {
					t.Fatalf("API Gateway needs exactly Unauthorized, got %q", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, resp)
		})
	}
}
