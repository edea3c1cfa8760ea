package identity_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

func TestValidateAccepts(t *testing.T) {
	keys(t)
	clk := newClock()
	now := clk.Now()
	p := newIdP(t, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey), ecJWK("k-ec", &ecA.PublicKey)))
	cog := p.cognitoSource(t, "client-1")
	oidcAcc := p.oidcSource(t, identity.AccessTokenOnly, []string{"https://api.example.com"}, "groups")
	oidcID := p.oidcSource(t, identity.IdentityTokenOnly, []string{"web-client"}, "")
	ciss, oiss := p.cognitoIssuer(), p.oidcIssuer()
	r := newRegistry(t, clk)

	tests := []struct {
		name    string
		tok     string
		use     identity.TokenUse
		sources []*identity.Source
		want    *identity.Source
	}{
		{"cognito access RS256", mint(t, "k-rsa", "RS256", rsaA, cognitoAccess(ciss, now)), identity.UseAccess, []*identity.Source{cog}, cog},
		{"cognito access ES256", mint(t, "k-ec", "ES256", ecA, cognitoAccess(ciss, now)), identity.UseAccess, []*identity.Source{cog}, cog},
		{"cognito no kid, one RSA key", mint(t, "", "RS256", rsaA, cognitoAccess(ciss, now)), identity.UseAccess, []*identity.Source{cog}, cog},
		{"cognito id", mint(t, "k-rsa", "RS256", rsaA, cognitoID(ciss, now)), identity.UseID, []*identity.Source{cog}, cog},
		{"cognito exp within leeway", mint(t, "k-rsa", "RS256", rsaA, with(cognitoAccess(ciss, now), "exp", now.Add(-10*time.Second).Unix())), identity.UseAccess, []*identity.Source{cog}, cog},
		{"cognito float exp", mint(t, "k-rsa", "RS256", rsaA, with(cognitoAccess(ciss, now), "exp", float64(now.Unix())+3600.5)), identity.UseAccess, []*identity.Source{cog}, cog},
		{"oidc access aud array", mint(t, "k-rsa", "RS256", rsaA, map[string]any{"iss": oiss, "sub": "carlos", "aud": []string{"x", "https://api.example.com"}, "exp": now.Add(time.Hour).Unix(), "groups": "a b"}), identity.UseAccess, []*identity.Source{oidcAcc}, oidcAcc},
		{"oidc access cid fallback", mint(t, "k-rsa", "RS256", rsaA, map[string]any{"iss": oiss, "sub": "carlos", "cid": "https://api.example.com", "exp": now.Add(time.Hour).Unix()}), identity.UseAccess, []*identity.Source{oidcAcc}, oidcAcc},
		{"oidc id", mint(t, "k-ec", "ES256", ecA, map[string]any{"iss": oiss, "sub": "carlos", "aud": "web-client", "exp": now.Add(time.Hour).Unix()}), identity.UseID, []*identity.Source{oidcID}, oidcID},
		{"second source wins", mint(t, "k-rsa", "RS256", rsaA, map[string]any{"iss": oiss, "sub": "carlos", "aud": "web-client", "exp": now.Add(time.Hour).Unix()}), identity.UseID, []*identity.Source{oidcAcc, oidcID}, oidcID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, src, err := r.Validate(context.Background(), tc.tok, tc.use, tc.sources)
			if err != nil {
				t.Fatal(err)
			}
			if src != tc.want {
				t.Fatalf("source %s, want %s", src.ID, tc.want.ID)
			}
			if tok.Use != tc.use || tok.Subject == "" || tok.Expiry.IsZero() {
				t.Fatalf("token %+v", tok)
			}
		})
	}
	if d := p.discoHits.Load(); d != 1 {
		t.Errorf("discovery fetched %d times, want 1", d)
	}
}

func TestVerifiedTokenCache(t *testing.T) {
	keys(t)
	clk := newClock()
	now := clk.Now()
	p := newIdP(t, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey)))
	cog := p.cognitoSource(t, "client-1")
	r := newRegistry(t, clk)
	raw := mint(t, "k-rsa", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), now))
	ctx := context.Background()

	if _, _, err := r.Validate(ctx, raw, identity.UseAccess, []*identity.Source{cog}); err != nil {
		t.Fatal(err)
	}
	tok, _, err := r.Validate(ctx, raw, identity.UseAccess, []*identity.Source{cog})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); st.CacheHits != 1 {
		t.Fatalf("cache hits %d, want 1", st.CacheHits)
	}
	if tok.RawHash == ([32]byte{}) || tok.Claims["username"] != "alice" {
		t.Fatalf("cached token %+v", tok)
	}

	// A hit re-applies the caller's policy.
	other := &identity.Source{Kind: identity.KindCognito, Issuer: p.cognitoIssuer(), ClientIDs: []string{"client-2"}, PrincipalEntityType: "App::User"}
	esOnly := &identity.Source{Kind: identity.KindCognito, Issuer: p.cognitoIssuer(), Algorithms: []string{"ES256"}, PrincipalEntityType: "App::User"}
	checks := []struct {
		name    string
		use     identity.TokenUse
		sources []*identity.Source
		want    error
	}{
		{"no sources", identity.UseAccess, nil, identity.ErrUnknownIssuer},
		{"wrong use", identity.UseID, []*identity.Source{cog}, identity.ErrTokenUse},
		{"other client", identity.UseAccess, []*identity.Source{other}, identity.ErrAudience},
		{"alg not allowed", identity.UseAccess, []*identity.Source{esOnly}, identity.ErrSignature},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := r.Validate(ctx, raw, c.use, c.sources); !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	if st := r.Stats(); st.CacheHits < 4 {
		t.Fatalf("policy checks did not come from the cache: %+v", st)
	}

	clk.Advance(time.Hour + time.Minute)
	if _, _, err := r.Validate(ctx, raw, identity.UseAccess, []*identity.Source{cog}); !errors.Is(err, identity.ErrExpired) {
		t.Fatalf("after exp: %v", err)
	}
}

func TestCacheDisabled(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey)))
	cog := p.cognitoSource(t)
	r := newRegistry(t, clk, identity.WithTokenCacheBytes(0))
	raw := mint(t, "k-rsa", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now()))
	for range 3 {
		if _, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{cog}); err != nil {
			t.Fatal(err)
		}
	}
	if st := r.Stats(); st.CacheHits != 0 {
		t.Fatalf("cache hits %d with the cache off", st.CacheHits)
	}
}

func TestUnknownIssuerNoFetch(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey)))
	other := newIdP(t, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey)))
	var logs bytes.Buffer
	r := newRegistry(t, clk, identity.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	raw := mint(t, "k-rsa", "RS256", rsaA, cognitoAccess(other.cognitoIssuer(), clk.Now()))
	_, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{p.cognitoSource(t)})
	if !errors.Is(err, identity.ErrUnknownIssuer) {
		t.Fatalf("got %v", err)
	}
	// The operator learns which issuer the refused token carried.
	if !strings.Contains(logs.String(), "iss="+other.cognitoIssuer()) {
		t.Fatalf("unknown issuer not logged: %q", logs.String())
	}
	if p.jwksHits.Load()+other.jwksHits.Load() != 0 {
		t.Fatal("an unknown issuer caused a fetch")
	}
}

// TestSharedKeySet checks that two sources (two policy stores) naming one issuer share one key
// set: one fetch serves both.
func TestSharedKeySet(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey)))
	s1, s2 := p.cognitoSource(t, "client-1"), p.cognitoSource(t, "client-1")
	r := newRegistry(t, clk, identity.WithTokenCacheBytes(0))
	ctx := context.Background()
	for i, s := range []*identity.Source{s1, s2} {
		raw := mint(t, "k-rsa", "RS256", rsaA, with(cognitoAccess(p.cognitoIssuer(), clk.Now()), "jti", fmt.Sprint(i)))
		if _, _, err := r.Validate(ctx, raw, identity.UseAccess, []*identity.Source{s}); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestLazyFirstFetchSingleflight(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k-rsa", "RS256", &rsaA.PublicKey)))
	src := p.cognitoSource(t)
	r := newRegistry(t, clk, identity.WithTokenCacheBytes(0))
	raw := mint(t, "k-rsa", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now()))
	if p.jwksHits.Load() != 0 {
		t.Fatal("fetched before first use")
	}
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for range 50 {
		wg.Go(func() {
			_, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{src})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestNoKIDWithSeveralKeys(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey), rsaJWK("k2", "", &rsaB.PublicKey)))
	src := p.cognitoSource(t)
	r := newRegistry(t, clk)
	raw := mint(t, "", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now()))
	if _, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{src}); !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatalf("a kid-less token must not be tried against several keys: %v", err)
	}
}
