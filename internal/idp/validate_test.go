package idp_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestAdminValidation: bad input is refused with a Cognito error naming the problem, and
// nothing is stored.
func TestAdminValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	p := idp.New(storetest.Open(t, "sqlite"), idp.WithArgon2(cheapArgon))
	pool, err := p.CreatePool(ctx, idp.PoolInput{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		code string
		call func() error
	}{
		{"http callback off localhost", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "c", AllowedOAuthFlows: []string{"code"}, CallbackURLs: []string{"http://example.com/cb"}})
			return err
		}},
		{"callback with fragment", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "c", AllowedOAuthFlows: []string{"code"}, CallbackURLs: []string{"https://a.example/cb#x"}})
			return err
		}},
		{"implicit flow", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "c", AllowedOAuthFlows: []string{"implicit"}, CallbackURLs: []string{"https://a.example/cb"}})
			return err
		}},
		{"client_credentials without secret", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "c", AllowedOAuthFlows: []string{"client_credentials"}})
			return err
		}},
		{"unknown scope", "ScopeDoesNotExistException", func() error {
			_, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "c", AllowedOAuthScopes: []string{"petstore/api"}})
			return err
		}},
		{"access token validity too long", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "c", AccessTokenValidity: 48 * time.Hour})
			return err
		}},
		{"unknown auth flow", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "c", ExplicitAuthFlows: []string{"ALLOW_EVERYTHING"}})
			return err
		}},
		{"weak password", idp.CodeInvalidPassword, func() error {
			_, err := p.CreateUser(ctx, pool.ID, "u1", "password", nil)
			return err
		}},
		{"username with space", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateUser(ctx, pool.ID, "a b", "Corr3ct-Horse!", nil)
			return err
		}},
		{"sub attribute", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateUser(ctx, pool.ID, "u2", "Corr3ct-Horse!", map[string]string{"sub": "x"})
			return err
		}},
		{"unknown attribute", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateUser(ctx, pool.ID, "u3", "Corr3ct-Horse!", map[string]string{"shoe_size": "9"})
			return err
		}},
		{"missing group", idp.CodeResourceNotFound, func() error {
			if _, err := p.CreateUser(ctx, pool.ID, "u4", "Corr3ct-Horse!", nil); err != nil {
				return err
			}
			return p.AddUserToGroup(ctx, pool.ID, "u4", "nope")
		}},
		{"missing pool", idp.CodeResourceNotFound, func() error {
			_, err := p.CreateGroup(ctx, "us-east-1_nothere00", idp.GroupInput{Name: "g"})
			return err
		}},
		{"hook with credentials", idp.CodeInvalidParameter, func() error {
			return p.SetPreTokenHook(ctx, pool.ID, &idp.Hook{URL: "https://user:pw@hooks.example/x"})
		}},
		{"resource server scope with slash", idp.CodeInvalidParameter, func() error {
			_, err := p.CreateResourceServer(ctx, pool.ID, "api", "API", []idp.ScopeInfo{{Name: "a/b"}})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ie *idp.Error
			if err := tc.call(); !errors.As(err, &ie) || ie.Code != tc.code {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
		})
	}
	if cs, err := p.ListClients(ctx, pool.ID); err != nil || len(cs) != 0 {
		t.Fatalf("clients stored despite errors: %d %v", len(cs), err)
	}
}
