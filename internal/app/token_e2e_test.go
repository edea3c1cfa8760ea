package app_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"
	"github.com/golang-jwt/jwt/v5"
)

// oidcIssuer is a real OIDC provider on loopback: discovery, JWKS, and RS256 tokens signed
// with a real key.
type oidcIssuer struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

func newOIDCIssuer(t *testing.T) *oidcIssuer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	o := &oidcIssuer{key: key, kid: "k1"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": o.srv.URL, "jwks_uri": o.srv.URL + "/jwks.json",
			"id_token_signing_alg_values_supported": []string{"RS256"}})
	})
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, _ *http.Request) {
		n := base64.RawURLEncoding.EncodeToString(key.N.Bytes())
		e := base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes())
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": o.kid, "alg": "RS256", "use": "sig", "n": n, "e": e}}})
	})
	o.srv = httptest.NewServer(mux)
	t.Cleanup(o.srv.Close)
	return o
}

func (o *oidcIssuer) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	now := time.Now()
	base := jwt.MapClaims{"iss": o.srv.URL, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": now.String()}
	for k, v := range claims {
		base[k] = v
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, base)
	tok.Header["kid"] = o.kid
	s, err := tok.SignedString(o.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Article 002: an application asks directly with the user's ID token; the decision depends on
// the token's audience and a cost-center claim added at sign-in.
func TestIsAuthorizedWithTokenOIDC(t *testing.T) {
	node := startNode(t, "sqlite")
	c := avpClient(t, node, testKeyID, testSecret)
	ctx := context.Background()
	idp := newOIDCIssuer(t)

	ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
	if err != nil {
		t.Fatal(err)
	}
	id := ps.PolicyStoreId
	_, err = c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: id, PrincipalEntityType: aws.String("ExampleCorp::User"),
		Configuration: &types.ConfigurationMemberOpenIdConnectConfiguration{Value: types.OpenIdConnectConfiguration{
			Issuer:             aws.String(idp.srv.URL),
			GroupConfiguration: &types.OpenIdConnectGroupConfiguration{GroupClaim: aws.String("groups"), GroupEntityType: aws.String("ExampleCorp::Group")},
			TokenSelection:     &types.OpenIdConnectTokenSelectionMemberIdentityTokenOnly{Value: types.OpenIdConnectIdentityTokenConfiguration{ClientIds: []string{"finance-app"}}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	// The same issuer cannot be claimed twice by one store.
	_, err = c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: id,
		Configuration: &types.ConfigurationMemberOpenIdConnectConfiguration{Value: types.OpenIdConnectConfiguration{
			Issuer:         aws.String(idp.srv.URL),
			TokenSelection: &types.OpenIdConnectTokenSelectionMemberAccessTokenOnly{Value: types.OpenIdConnectAccessTokenConfiguration{Audiences: []string{"x"}}},
		}}})
	asAPIError[*types.ConflictException](t, err)

	_, err = c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: id, Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{
		Statement: aws.String(`permit(principal in ExampleCorp::Group::"` + strings.TrimPrefix(idp.srv.URL, "http://") + `|finance",
  action in [ExampleCorp::Action::"readFile", ExampleCorp::Action::"writeFile"],
  resource == ExampleCorp::File::"ledger.xlsx")
when { principal.aud == "finance-app" && principal["custom:costCenter"] like "Finance*" };`)}}})
	if err != nil {
		t.Fatal(err)
	}
	read := &types.ActionIdentifier{ActionType: aws.String("ExampleCorp::Action"), ActionId: aws.String("readFile")}
	ledger := ent("ExampleCorp::File", "ledger.xlsx")
	ask := func(tok string) (*vp.IsAuthorizedWithTokenOutput, error) {
		return c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: id, IdentityToken: aws.String(tok), Action: read, Resource: ledger})
	}

	out, err := ask(idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "finance-app", "groups": "finance staff", "custom:costCenter": "Finance-EMEA"}))
	if err != nil || out.Decision != types.DecisionAllow {
		t.Fatalf("finance user: %v %+v", err, out)
	}
	wantPrincipal := strings.TrimPrefix(idp.srv.URL, "http://") + "|alice"
	if aws.ToString(out.Principal.EntityType) != "ExampleCorp::User" || aws.ToString(out.Principal.EntityId) != wantPrincipal {
		t.Fatalf("principal %s::%s, want %s", aws.ToString(out.Principal.EntityType), aws.ToString(out.Principal.EntityId), wantPrincipal)
	}
	out, err = ask(idp.token(t, jwt.MapClaims{"sub": "bob", "aud": "finance-app", "groups": []string{"finance"}, "custom:costCenter": "Sales"}))
	if err != nil || out.Decision != types.DecisionDeny {
		t.Fatalf("sales user: %v %+v", err, out)
	}

	// Rejections: another audience, an expired token, a forged signature, the principal's
	// type in entities.
	for name, tok := range map[string]string{
		"wrong audience": idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "other-app"}),
		"expired":        idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "finance-app", "exp": time.Now().Add(-time.Hour).Unix()}),
		"forged":         idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "finance-app"})[:20] + "x" + idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "finance-app"})[21:],
		"garbage":        "aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJl",
	} {
		if _, err := ask(tok); err == nil {
			t.Errorf("%s token accepted", name)
		} else {
			asAPIError[*types.ValidationException](t, err)
		}
	}
	_, err = c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: id,
		IdentityToken: aws.String(idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "finance-app"})), Action: read, Resource: ledger,
		Entities: &types.EntitiesDefinitionMemberEntityList{Value: []types.EntityItem{{Identifier: ent("ExampleCorp::User", wantPrincipal)}}}})
	asAPIError[*types.ValidationException](t, err)

	// Batch with a token: one principal, several requests, principal echoed.
	batch, err := c.BatchIsAuthorizedWithToken(ctx, &vp.BatchIsAuthorizedWithTokenInput{PolicyStoreId: id,
		IdentityToken: aws.String(idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "finance-app", "groups": []string{"finance"}, "custom:costCenter": "Finance"})),
		Requests:      []types.BatchIsAuthorizedWithTokenInputItem{{Action: read, Resource: ledger}, {Action: read, Resource: ent("ExampleCorp::File", "other")}}})
	if err != nil || len(batch.Results) != 2 || batch.Results[0].Decision != types.DecisionAllow || batch.Results[1].Decision != types.DecisionDeny ||
		aws.ToString(batch.Principal.EntityId) != wantPrincipal {
		t.Fatalf("batch with token: %v %+v", err, batch)
	}
}

// Access tokens map to context.token with scope as a set.
func TestIsAuthorizedWithAccessTokenScopes(t *testing.T) {
	node := startNode(t, "sqlite")
	c := avpClient(t, node, testKeyID, testSecret)
	ctx := context.Background()
	idp := newOIDCIssuer(t)
	ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
	if err != nil {
		t.Fatal(err)
	}
	id := ps.PolicyStoreId
	_, err = c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: id, PrincipalEntityType: aws.String("App::User"),
		Configuration: &types.ConfigurationMemberOpenIdConnectConfiguration{Value: types.OpenIdConnectConfiguration{
			Issuer: aws.String(idp.srv.URL), EntityIdPrefix: aws.String("corp"),
			TokenSelection: &types.OpenIdConnectTokenSelectionMemberAccessTokenOnly{Value: types.OpenIdConnectAccessTokenConfiguration{Audiences: []string{"files-api"}}},
		}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: id, Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{
		Statement: aws.String(`permit(principal, action == App::Action::"read", resource) when { context.token.scope.contains("files/read") };`)}}})
	if err != nil {
		t.Fatal(err)
	}
	ask := func(scope string) types.Decision {
		out, err := c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: id,
			AccessToken: aws.String(idp.token(t, jwt.MapClaims{"sub": "svc", "aud": "files-api", "scope": scope})),
			Action:      &types.ActionIdentifier{ActionType: aws.String("App::Action"), ActionId: aws.String("read")}, Resource: ent("App::File", "f")})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(out.Principal.EntityId) != "corp|svc" {
			t.Fatalf("principal %s", aws.ToString(out.Principal.EntityId))
		}
		return out.Decision
	}
	if d := ask("openid files/read"); d != types.DecisionAllow {
		t.Fatalf("with scope: %s", d)
	}
	if d := ask("openid files/write"); d != types.DecisionDeny {
		t.Fatalf("without scope: %s", d)
	}
	// An ID token where the source takes access tokens only.
	_, err = c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: id,
		IdentityToken: aws.String(idp.token(t, jwt.MapClaims{"sub": "svc", "aud": "files-api"})),
		Action:        &types.ActionIdentifier{ActionType: aws.String("App::Action"), ActionId: aws.String("read")}, Resource: ent("App::File", "f")})
	asAPIError[*types.ValidationException](t, err)
}
