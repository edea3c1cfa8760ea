package authz_test

import (
	"context"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

type fixture struct {
	decider *authz.Decider
	storeID string
	token   string
	idToken string
}

// newFixture builds a small store (the AVP wizard's shape) trusting a real OIDC issuer on
// loopback, and a token of a user in the employees group.
func newFixture(tb testing.TB) fixture {
	tb.Helper()
	ctx := context.Background()
	iss := identitytest.New(tb)
	issuer := iss.Issuer("corp")
	sign := func(claims jwt.MapClaims) string { return iss.Sign(tb, claims) }
	st := storetest.Open(tb, "sqlite")
	svc := policystore.New(st)
	ps, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, g := range []string{"employees", "owners", "admins", "vets", "clerks"} {
		_, err := svc.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{
			Statement: `permit(principal in PetStore::UserGroup::"corp|` + g + `", action in [PetStore::Action::"post /pets"], resource);`}})
		if err != nil {
			tb.Fatal(err)
		}
	}
	_, err = svc.CreateIdentitySource(ctx, ps.ID, policystore.IdentitySourceInput{PrincipalEntityType: "PetStore::User",
		Configuration: identity.Configuration{OpenIDConnectConfiguration: &identity.OpenIDConnectConfiguration{Issuer: issuer, EntityIDPrefix: "corp",
			GroupConfiguration: &identity.OpenIDConnectGroupConfiguration{GroupClaim: "groups", GroupEntityType: "PetStore::UserGroup"},
			TokenSelection:     identity.OpenIDConnectTokenSelection{AccessTokenOnly: &identity.OpenIDConnectAccessTokenConfiguration{Audiences: []string{"api"}}}}}})
	if err != nil {
		tb.Fatal(err)
	}
	reg := identity.New()
	tb.Cleanup(reg.Close)
	exp := time.Now().Add(time.Hour).Unix()
	return fixture{
		decider: authz.New(policystore.NewSnapshots(st, nil), reg),
		storeID: ps.ID,
		token:   sign(jwt.MapClaims{"iss": issuer, "sub": "erin", "aud": "api", "exp": exp, "groups": []string{"employees"}, "scope": "a b"}),
		idToken: sign(jwt.MapClaims{"iss": issuer, "sub": "erin", "aud": "api", "exp": exp}),
	}
}

func (f fixture) request() authz.TokenRequest {
	return authz.TokenRequest{AccessToken: f.token, Action: types.NewEntityUID("PetStore::Action", "post /pets"),
		Resource: types.NewEntityUID("PetStore::Application", "PetStore"), Context: types.NewRecord(nil)}
}

func TestIsAuthorizedWithToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.decider.IsAuthorizedWithToken(ctx, f.storeID, f.request())
	if err != nil || res.Decision != cedar.Allow || res.Principal != types.NewEntityUID("PetStore::User", "corp|erin") {
		t.Fatalf("allow: %v %+v", err, res)
	}
	req := f.request()
	req.Entities = types.EntityMap{types.NewEntityUID("PetStore::UserGroup", "corp|x"): {}}
	if _, err := f.decider.IsAuthorizedWithToken(ctx, f.storeID, req); !authz.IsInputError(err) {
		t.Fatalf("group entity in the request: %v", err)
	}
	req = f.request()
	req.Context = types.NewRecord(types.RecordMap{"token": types.String("forged")})
	if _, err := f.decider.IsAuthorizedWithToken(ctx, f.storeID, req); !authz.IsInputError(err) {
		t.Fatalf("context.token supplied by the caller: %v", err)
	}
	req = f.request()
	req.AccessToken, req.IdentityToken = "", f.idToken // this source takes access tokens only
	if _, err := f.decider.IsAuthorizedWithToken(ctx, f.storeID, req); !authz.IsInputError(err) {
		t.Fatalf("ID token on an access-token source: %v", err)
	}
}

// BenchmarkIsAuthorizedWithToken is the in-process cost of a token decision on a small store
// with the token already verified once (the verified-token cache hit path), against the bare
// decision with the same principal given directly.
//
//	go test -run x -bench IsAuthorized -benchmem ./internal/authz/
func BenchmarkIsAuthorizedWithToken(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	req := f.request()
	if _, err := f.decider.IsAuthorizedWithToken(ctx, f.storeID, req); err != nil {
		b.Fatal(err)
	}
	b.Run("token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if res, err := f.decider.IsAuthorizedWithToken(ctx, f.storeID, req); err != nil || res.Decision != cedar.Allow {
				b.Fatal(err)
			}
		}
	})
	b.Run("baseline-principal", func(b *testing.B) {
		user := types.NewEntityUID("PetStore::User", "corp|erin")
		plain := authz.Request{Principal: user, Action: req.Action, Resource: req.Resource, Context: types.NewRecord(nil),
			Entities: types.EntityMap{user: {UID: user, Parents: types.NewEntityUIDSet(types.NewEntityUID("PetStore::UserGroup", "corp|employees"))}}}
		b.ReportAllocs()
		for b.Loop() {
			if res, err := f.decider.IsAuthorized(ctx, f.storeID, plain); err != nil || res.Decision != cedar.Allow {
				b.Fatal(err)
			}
		}
	})
}
