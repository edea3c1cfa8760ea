package identity_test

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// BenchmarkValidate compares full validation (parse + signature) with a verified-token cache hit,
// for a Cognito-like access token. Keys are fetched before the timer starts.
func BenchmarkValidate(b *testing.B) {
	keys(b)
	clk := newClock()
	p := newIdP(b, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey), ecJWK("k-ec", &ecA.PublicKey)))
	src := p.cognitoSource(b, "client-1")
	sources := []*identity.Source{src}
	toks := map[string]string{
		"RS256": mint(b, "k-rsa", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now())),
		"ES256": mint(b, "k-ec", "ES256", ecA, cognitoAccess(p.cognitoIssuer(), clk.Now())),
	}
	for _, alg := range []string{"RS256", "ES256"} {
		for _, mode := range []struct {
			name string
			opts []identity.Option
		}{
			{"uncached", []identity.Option{identity.WithTokenCacheBytes(0)}},
			{"cached", nil},
		} {
			b.Run(alg+"/"+mode.name, func(b *testing.B) {
				r := newRegistry(b, clk, mode.opts...)
				ctx := context.Background()
				raw := toks[alg]
				if _, _, err := r.Validate(ctx, raw, identity.UseAccess, sources); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := r.Validate(ctx, raw, identity.UseAccess, sources); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
