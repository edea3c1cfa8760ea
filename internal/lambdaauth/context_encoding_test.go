package lambdaauth_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
)

// TestContextIdentityEncoding is issue 10 item 5 at the Lambda front door: the authorizer
// context, which API Gateway integrations map into request headers, encodes the principal,
// each group and each claim as the identity headers do, so groups ["x,owners", "y"] arrive as
// x%2Cowners,y and never as three groups. principalId stays the principal as it is.
func TestContextIdentityEncoding(t *testing.T) {
	t.Parallel()
	iss := identitytest.New(t)
	const pool = "us-east-1_Encoded1"
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "apis"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "apis", "encoded.yaml"), []byte(`name: Encoded
stage: prod
upstream: http://127.0.0.1:9
authorizers:
  idp:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "`+identitytest.PoolARN(pool)+`", clientIds: [app]}}
routes:
  - {route: "GET /me", authorizer: idp}
identityHeaders: {claims: [nick]}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	core, err := app.NewReadOnly(context.Background(), config.Defaults(), slog.New(slog.DiscardHandler), dir,
		func(string) (string, bool) { return "", false },
		app.CoreOptions{CognitoEndpoint: func(context.Context, string) string { return iss.URL() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Identity.Close)
	h := lambdaauth.New(core.Gateway, lambdaauth.Options{Logger: slog.New(slog.DiscardHandler)})

	tok := iss.ID(t, identitytest.User{Pool: pool, Client: "app", Sub: "s,1 %", Username: "u",
		Groups: []string{"x,owners", "y"}, Extra: map[string]any{"nick": "Doe, John"}})
	out, err := h.Invoke(context.Background(), []byte(`{"type":"TOKEN","authorizationToken":"Bearer `+tok+
		`","methodArn":"arn:aws:execute-api:us-east-1:123456789012:abcdef123/prod/GET/me"}`))
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		PrincipalID string            `json:"principalId"`
		Context     map[string]string `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if resp.PrincipalID != pool+"|s,1 %" {
		t.Errorf("principalId %q", resp.PrincipalID)
	}
	for k, want := range map[string]string{
		"principal": pool + "|s%2C1%20%25",
		"groups":    "x%2Cowners,y",
		"claims":    `{"nick":"Doe%2C%20John"}`,
	} {
		if got := resp.Context[k]; got != want {
			t.Errorf("context %s = %q, want %q", k, got, want)
		}
	}
}
