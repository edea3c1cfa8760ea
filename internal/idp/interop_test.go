package idp_test

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestIdentityRegistryAcceptsTokens: the gateway's token validator, configured as a Cognito
// source for the pool, accepts the IdP's access and ID tokens and rejects a wrong client.
func TestIdentityRegistryAcceptsTokens(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	pool := must[*idpPool](t)(createPool(ctx, e))
	tok := must[*idpTokens](t)(issue(ctx, e, pool))

	reg := identity.New(identity.WithClock(e.clock.Now))
	defer reg.Close()
	src := &identity.Source{ID: "builtin", Kind: identity.KindCognito, Issuer: e.idp.Issuer(pool.id),
		ClientIDs: []string{pool.clientID}, EntityIDPrefix: pool.id, PrincipalEntityType: "PetStore::User"}
	for _, tc := range []struct {
		name string
		raw  string
		use  identity.TokenUse
	}{
		{"access", tok.access, identity.UseAccess},
		{"id", tok.id, identity.UseID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := reg.Validate(ctx, tc.raw, tc.use, []*identity.Source{src})
			if err != nil {
				t.Fatal(err)
			}
			if got.Claims["cognito:groups"] == nil {
				t.Fatalf("claims %v", got.Claims)
			}
		})
	}
	other := &identity.Source{ID: "other", Kind: identity.KindCognito, Issuer: e.idp.Issuer(pool.id),
		ClientIDs: []string{"someoneelse"}, EntityIDPrefix: pool.id, PrincipalEntityType: "PetStore::User"}
	if _, _, err := reg.Validate(ctx, tok.access, identity.UseAccess, []*identity.Source{other}); err == nil {
		t.Fatal("token accepted for another client")
	}
}

type idpTokens struct{ access, id string }

func issue(ctx context.Context, e *env, pool *idpPool) (*idpTokens, error) {
	t, err := e.idp.IssueTokens(ctx, pool.id, pool.clientID, "alice")
	if err != nil {
		return nil, err
	}
	return &idpTokens{access: t.AccessToken, id: t.IDToken}, nil
}
