package authz_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
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
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": srv.URL, "jwks_uri": srv.URL + "/jwks"})
		case "/jwks":
			json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": "k", "alg": "RS256", "use": "sig",
				"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())}}})
		}
	}))
	tb.Cleanup(srv.Close)
	sign := func(claims jwt.MapClaims) string {
		t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		t.Header["kid"] = "k"
		s, err := t.SignedString(key)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
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
		Configuration: identity.Configuration{OpenIDConnectConfiguration: &identity.OpenIDConnectConfiguration{Issuer: srv.URL, EntityIDPrefix: "corp",
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
		token:   sign(jwt.MapClaims{"iss": srv.URL, "sub": "erin", "aud": "api", "exp": exp, "groups": []string{"employees"}, "scope": "a b"}),
		idToken: sign(jwt.MapClaims{"iss": srv.URL, "sub": "erin", "aud": "api", "exp": exp}),
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
