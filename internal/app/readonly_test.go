package app_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/memstore"
)

func writeBundle(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func noVars(string) (string, bool) { return "", false }

const roBundleAPI = `name: Orders
stage: prod
upstream: http://127.0.0.1:1
authorizers:
  avp: {type: cedar, policyStoreId: orders}
routes:
  - {route: "GET /orders", authorizer: avp}
`

// The Lambda mode's state: the directory, applied in memory, then nothing can change it.
func TestNewReadOnlyIsFrozen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := writeBundle(t, map[string]string{
		"gatehouse.yaml":            "policyStoreId: orders\nvalidationMode: \"OFF\"\n",
		"policies/readers.cedar":    `permit (principal in Orders::UserGroup::"p|readers", action, resource);`,
		"apis/orders.yaml":          roBundleAPI,
		"identity-sources.yaml":     "- configuration:\n    openIdConnectConfiguration:\n      issuer: https://issuer.example.com\n      tokenSelection: {accessTokenOnly: {audiences: [api]}}\n",
		"iam/Orders/readers.json":   `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}]}`,
		"templates/owner.cedar":     "permit (principal == ?principal, action, resource);",
		"links.yaml":                "- {name: alice, template: owner, principal: {entityType: Orders::User, entityId: alice}}\n",
		"entities.json":             `[{"uid":{"type":"Orders::User","id":"alice"},"attrs":{},"parents":[]}]`,
		"policies/unused-too.cedar": `forbid (principal, action, resource) when { false };`,
	})
	c, err := app.NewReadOnly(ctx, config.Defaults(), slog.New(slog.DiscardHandler), dir, noVars, app.CoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Identity.Close()
	if d, err := c.APIs.Get(ctx, "Orders"); err != nil || d.Stage != "prod" {
		t.Fatalf("api: %+v %v", d, err)
	}
	if _, err := c.Snapshots.Get(ctx, "orders"); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	rev, _ := c.Store.Revision(ctx, "")
	err = c.Store.Update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, store.Object{Scope: "orders", Kind: "policy", ID: "x", Data: []byte(`{}`)})
	})
	if !errors.Is(err, memstore.ErrReadOnly) {
		t.Fatalf("write to the read-only store: %v", err)
	}
	// The management operations that write fail too, whatever they are.
	ops := avpapi.New(c.Policies, c.Decider).GatehouseOps()
	if _, err := ops["PutPolicyStore"](ctx, []byte(`{"policyStoreId":"other","validationMode":"OFF"}`)); err == nil {
		t.Fatal("PutPolicyStore succeeded on the read-only store")
	}
	if after, _ := c.Store.Revision(ctx, ""); after != rev {
		t.Fatalf("revision moved %d -> %d", rev, after)
	}
}

func TestNewReadOnlyRefusesTheBuiltInIdP(t *testing.T) {
	t.Parallel()
	cfg := config.Defaults()
	cfg.IdPIssuerBase = "http://127.0.0.1:9229"
	for name, files := range map[string]map[string]string{
		"identity source": {
			"gatehouse.yaml":        "policyStoreId: orders\nvalidationMode: \"OFF\"\n",
			"identity-sources.yaml": "- configuration:\n    openIdConnectConfiguration:\n      issuer: http://127.0.0.1:9229/us-east-1_abc\n      tokenSelection: {identityTokenOnly: {clientIds: [c]}}\n",
		},
		"api authorizer": {
			"apis/orders.yaml": "name: Orders\nstage: prod\nupstream: http://127.0.0.1:1\nauthorizers:\n  j:\n    type: jwt\n    identitySources:\n" +
				"      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: 'arn:aws:cognito-idp:us-east-1:000000000000:userpool/us-east-1_abc'}}\n" +
				"routes:\n  - {route: \"GET /orders\", authorizer: j}\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// A Cognito pool resolves to the built-in IdP only through CognitoEndpoint (the
			// server maps its own pools so); here it is told to, as a misconfiguration would.
			opts := app.CoreOptions{CognitoEndpoint: func(context.Context, string) string { return cfg.IdPIssuerBase }}
			_, err := app.NewReadOnly(context.Background(), cfg, slog.New(slog.DiscardHandler), writeBundle(t, files), noVars, opts)
			if err == nil || !strings.Contains(err.Error(), "built-in IdP") {
				t.Fatalf("error %v, want a refusal naming the built-in IdP", err)
			}
		})
	}
}

func TestNewReadOnlyBadDirectory(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for name, dir := range map[string]string{
		"missing": filepath.Join(t.TempDir(), "nope"),
		"invalid policy": writeBundle(t, map[string]string{
			"gatehouse.yaml":     "policyStoreId: orders\nvalidationMode: \"OFF\"\n",
			"policies/bad.cedar": "permit (principal, action, resource",
		}),
		"unknown placeholder": writeBundle(t, map[string]string{"apis/orders.yaml": strings.Replace(roBundleAPI, "http://127.0.0.1:1", "${UPSTREAM}", 1)}),
	} {
		if _, err := app.NewReadOnly(ctx, config.Defaults(), slog.New(slog.DiscardHandler), dir, noVars, app.CoreOptions{}); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// A directory of APIs alone (static role mapping, examples/role-map) needs no policy store.
func TestNewReadOnlyAPIsOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	vars := map[string]string{"UPSTREAM": "http://127.0.0.1:1", "POOL_ID": "us-east-1_AbCdEf123", "CLIENT_ID": "client"}
	c, err := app.NewReadOnly(ctx, config.Defaults(), slog.New(slog.DiscardHandler), filepath.Join("..", "..", "examples", "role-map"),
		func(k string) (string, bool) { v, ok := vars[k]; return v, ok }, app.CoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Identity.Close()
	if d, err := c.APIs.Get(ctx, "Orders"); err != nil || len(d.Routes) == 0 {
		t.Fatalf("api: %+v %v", d, err)
	}
}
