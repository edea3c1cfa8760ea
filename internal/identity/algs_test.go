package identity_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"

	"github.com/MicahParks/jwkset"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

func jwkOf(t *testing.T, kid string, alg jwkset.ALG, pub any) map[string]any {
	t.Helper()
	j, err := jwkset.NewJWKFromKey(pub, jwkset.JWKOptions{Metadata: jwkset.JWKMetadataOptions{KID: kid, ALG: alg, USE: jwkset.UseSig}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(j.Marshal())
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// TestConfiguredAlgorithms: non-default asymmetric algorithms work when a source allows them, and
// only then.
func TestConfiguredAlgorithms(t *testing.T) {
	keys(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	clk := newClock()
	p := newIdP(t, jwksJSON(
		jwkOf(t, "ps", "PS256", &rsaA.PublicKey),
		jwkOf(t, "es384", "ES384", &p384.PublicKey),
		jwkOf(t, "ed", "EdDSA", edPub),
	))
	all := &identity.Source{Kind: identity.KindCognito, Issuer: p.cognitoIssuer(), PrincipalEntityType: "App::User",
		Algorithms: []string{"PS256", "ES384", "EdDSA"}}
	def := p.cognitoSource(t)
	r := newRegistry(t, clk)
	claims := cognitoAccess(p.cognitoIssuer(), clk.Now())
	for _, tc := range []struct {
		kid, alg string
		key      any
	}{{"ps", "PS256", rsaA}, {"es384", "ES384", p384}, {"ed", "EdDSA", edPriv}} {
		t.Run(tc.alg, func(t *testing.T) {
			raw := mint(t, tc.kid, tc.alg, tc.key, claims)
			if _, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{all}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{def}); !errors.Is(err, identity.ErrSignature) {
				t.Fatalf("default source accepted %s: %v", tc.alg, err)
			}
		})
	}
}
