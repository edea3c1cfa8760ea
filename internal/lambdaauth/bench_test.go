package lambdaauth_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

// petstore is examples/petstore loaded the Lambda way, with tokens from a node's built-in IdP
// standing in for Cognito.
type petstore struct {
	core   *app.Core
	h      *lambdaauth.Handler
	tokens map[string]string // user → "Bearer …" access token
}

func newPetstore(tb testing.TB) *petstore {
	tb.Helper()
	node := apptest.Start(tb, apptest.WithIdP(tb, apptest.Config(tb, "sqlite")))
	pool, client, _ := apptest.Pool(tb, node, "PetStorePool", map[string][]string{
		"carol": {"customers"}, "erin": {"employees"}, "oscar": {"owners"}}, "petstore/api")
	up := httptest.NewServer(sampleapi.PetStore())
	tb.Cleanup(up.Close)
	vars := map[string]string{"POOL_ID": pool, "UPSTREAM": up.URL}
	logger := slog.New(slog.DiscardHandler)
	core, err := app.NewReadOnly(context.Background(), config.Defaults(), logger, filepath.Join("..", "..", "examples", "petstore"),
		func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		app.CoreOptions{CognitoEndpoint: func(context.Context, string) string { return node.Config.IdPIssuerBase }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(core.Identity.Close)
	p := &petstore{core: core, h: lambdaauth.New(core.Gateway, lambdaauth.Options{Logger: logger}), tokens: map[string]string{}}
	for _, u := range []string{"carol", "erin", "oscar"} {
		p.tokens[u] = apptest.Bearer(tb, node, pool, client, u, false)
	}
	return p
}

const benchARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/demo/GET/admin/curltest1"

func benchEvents(auth string) map[string][]byte {
	return map[string][]byte{
		"request": []byte(`{"type":"REQUEST","methodArn":"` + benchARN + `","resource":"/admin/{proxy+}","path":"/admin/curltest1","httpMethod":"GET",` +
			`"headers":{"Authorization":"` + auth + `"},"requestContext":{"stage":"demo","identity":{"sourceIp":"198.51.100.4"},"httpMethod":"GET"}}`),
		"token": []byte(`{"type":"TOKEN","authorizationToken":"` + auth + `","methodArn":"` + benchARN + `"}`),
		"v2": []byte(`{"version":"2.0","type":"REQUEST","routeArn":"` + benchARN + `","rawPath":"/demo/admin/curltest1","rawQueryString":"",` +
			`"headers":{"authorization":"` + auth + `"},"requestContext":{"stage":"demo","http":{"method":"GET","path":"/demo/admin/curltest1","sourceIp":"198.51.100.4"}}}`),
	}
}

// The warm decision of a Lambda invocation (event JSON in, answer JSON out) and the same
// request through gateway.Check and through the reverse proxy's handler (no network on either
// side): the pet-store scenario's owner on the cedar-authorized mock route GET /demo/admin/curltest1.
//
//	go test -run x -bench Decision -benchmem ./internal/lambdaauth/
func BenchmarkDecision(b *testing.B) {
	p := newPetstore(b)
	ctx := context.Background()
	auth := p.tokens["oscar"]
	for _, kind := range []string{"request", "token", "v2"} {
		payload := benchEvents(auth)[kind]
		b.Run("lambda-"+kind, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				out, err := p.h.Invoke(ctx, payload)
				if err != nil || !strings.Contains(string(out), `"Allow"`) {
					b.Fatalf("%s %v", out, err)
				}
			}
		})
	}
	ev, err := lambdaauth.ParseEvent(benchEvents(auth)["request"])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if v := p.core.Gateway.Check(ctx, ev.Input); !v.Allow {
				b.Fatalf("%+v", v)
			}
		}
	})
	proxy := p.core.Gateway.Handler()
	b.Run("proxy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodGet, "/demo/admin/curltest1", nil)
			req.Header.Set("Authorization", auth)
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
		}
	})
}

// The decisions of the benchmark are the pet-store scenario's: the handler over the read-only core answers
// each row of §2.1 as the gateway does.
func TestPetStoreInProcess(t *testing.T) {
	t.Parallel()
	p := newPetstore(t)
	ctx := context.Background()
	for _, tc := range []struct {
		user, method, path string
		allow              bool
	}{
		{"carol", "GET", "/pets", true},
		{"carol", "POST", "/pets", false},
		{"erin", "POST", "/pets", true},
		{"erin", "GET", "/admin/curltest1", false},
		{"oscar", "GET", "/admin/curltest1", true},
	} {
		arn := "arn:aws:execute-api:us-east-1:123456789012:abcdef123/demo/" + tc.method + tc.path
		out, err := p.h.Invoke(ctx, []byte(`{"type":"TOKEN","authorizationToken":"`+p.tokens[tc.user]+`","methodArn":"`+arn+`"}`))
		if err != nil {
			t.Fatalf("%s %s %s: %v", tc.user, tc.method, tc.path, err)
		}
		if got := strings.Contains(string(out), `"Effect":"Allow"`); got != tc.allow {
			t.Errorf("%s %s %s: %s", tc.user, tc.method, tc.path, out)
		}
	}
	if _, err := p.h.Invoke(ctx, []byte(`{"type":"TOKEN","authorizationToken":"","methodArn":"arn:aws:execute-api:r:1:a/demo/GET/pets"}`)); err == nil || err.Error() != "Unauthorized" {
		t.Fatalf("no token: %v", err)
	}
}
