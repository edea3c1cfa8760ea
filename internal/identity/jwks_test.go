package identity_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// forgedKID returns a token for iss with the given kid and a random (invalid) signature: key lookup
// happens before signature verification, so it exercises the unknown-kid path cheaply.
func forgedKID(iss, kid string, now time.Time) string {
	sig := make([]byte, 256)
	rand.Read(sig)
	return unsigned(mustJSON(map[string]any{"alg": "RS256", "kid": kid}), mustJSON(cognitoAccess(iss, now)), b64(sig))
}

func validate(r *identity.Registry, raw string, src *identity.Source) error {
	_, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{src})
	return err
}

func issuerStats(t *testing.T, r *identity.Registry) identity.IssuerStats {
	t.Helper()
	st := r.Stats()
	if len(st.Issuers) != 1 {
		t.Fatalf("stats for %d issuers", len(st.Issuers))
	}
	return st.Issuers[0]
}

func TestJWKSIdPDownAfterFirstFetch(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	src := p.cognitoSource(t)
	r := newRegistry(t, clk, identity.WithTokenCacheBytes(0))
	good := mint(t, "k1", "RS256", rsaA, with(cognitoAccess(p.cognitoIssuer(), clk.Now()), "exp", clk.Now().Add(48*time.Hour).Unix()))
	if err := validate(r, good, src); err != nil {
		t.Fatal(err)
	}
	p.set(func(p *idp) { p.status = http.StatusInternalServerError })

	clk.Advance(11 * time.Minute) // past the refresh interval: a background refresh starts and fails
	if err := validate(r, good, src); err != nil {
		t.Fatalf("cached keys must keep working while the IdP is down: %v", err)
	}
	r.WaitIdle()
	if st := issuerStats(t, r); st.FetchFailures != 1 || st.Keys != 1 || st.LastError == "" {
		t.Fatalf("stats after failed refresh: %+v", st)
	}
	clk.Advance(time.Minute)
	if err := validate(r, forgedKID(p.cognitoIssuer(), "k2", clk.Now()), src); !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatalf("unknown kid while IdP down: %v", err)
	}
	if err := validate(r, good, src); err != nil {
		t.Fatalf("after failed forced refresh: %v", err)
	}
	clk.Advance(24 * time.Hour) // beyond max staleness: fail closed
	if err := validate(r, good, src); !errors.Is(err, identity.ErrKeysUnavailable) {
		t.Fatalf("beyond max staleness: %v", err)
	}
	p.set(func(p *idp) { p.status = http.StatusOK })
	clk.Advance(time.Minute)
	if err := validate(r, good, src); err != nil {
		t.Fatalf("after the IdP recovered: %v", err)
	}
}

func TestJWKSSlowFetchIsBounded(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	block := make(chan struct{})
	p.set(func(p *idp) { p.block = block })
	src := p.cognitoSource(t)
	r := newRegistry(t, clk, identity.WithFetchTimeout(100*time.Millisecond))
	good := mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now()))
	if err := validate(r, good, src); !errors.Is(err, identity.ErrKeysUnavailable) {
		t.Fatalf("slow IdP: %v", err)
	}
	if st := issuerStats(t, r); !strings.Contains(st.LastError, "deadline") {
		t.Fatalf("last error %q, want a deadline", st.LastError)
	}
	p.set(func(p *idp) { p.block = nil })
	close(block)
	clk.Advance(31 * time.Second)
	if err := validate(r, good, src); err != nil {
		t.Fatal(err)
	}
}

func TestJWKSFailureAtStartIsRateLimited(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	p.set(func(p *idp) { p.status = http.StatusInternalServerError })
	src := p.cognitoSource(t)
	r := newRegistry(t, clk)
	good := mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now()))
	for range 20 {
		if err := validate(r, good, src); !errors.Is(err, identity.ErrKeysUnavailable) {
			t.Fatalf("IdP down at start: %v", err)
		}
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("%d fetches while failing within one interval, want 1", n)
	}
	p.set(func(p *idp) { p.status = http.StatusOK })
	clk.Advance(31 * time.Second)
	if err := validate(r, good, src); err != nil {
		t.Fatal(err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
}

// TestJWKSBadFetchKeepsKeys: a refresh that returns garbage, too much, or nothing usable never
// replaces the good keys.
func TestJWKSBadFetchKeepsKeys(t *testing.T) {
	keys(t)
	tooMany := make([]map[string]any, 101)
	for i := range tooMany {
		tooMany[i] = rsaJWK(fmt.Sprint("k", i), "RS256", &rsaA.PublicKey)
	}
	tests := []struct {
		name   string
		status int
		body   []byte
	}{
		{"500", http.StatusInternalServerError, nil},
		{"404", http.StatusNotFound, nil},
		{"garbage JSON", 200, []byte(`{"keys":[{"kty":`)},
		{"HTML", 200, []byte(`<html>maintenance</html>`)},
		{"10 MB body", 200, append([]byte(`{"keys":[],"pad":"`), bytes.Repeat([]byte("x"), 10<<20)...)},
		{"empty set", 200, []byte(`{"keys":[]}`)},
		{"no keys member", 200, []byte(`{}`)},
		{"only oct keys", 200, jwksJSON(map[string]any{"kty": "oct", "kid": "k9", "k": "c2VjcmV0"})},
		{"only weak keys", 200, jwksJSON(rsaJWK("k9", "RS256", &rsaWeak.PublicKey))},
		{"101 keys", 200, jwksJSON(tooMany...)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
			src := p.cognitoSource(t)
			r := newRegistry(t, clk, identity.WithTokenCacheBytes(0))
			good := mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now()))
			if err := validate(r, good, src); err != nil {
				t.Fatal(err)
			}
			p.set(func(p *idp) { p.status, p.body = tc.status, tc.body })
			clk.Advance(31 * time.Second)
			if err := validate(r, forgedKID(p.cognitoIssuer(), "k9", clk.Now()), src); !errors.Is(err, identity.ErrUnknownKey) {
				t.Fatalf("unknown kid: %v", err)
			}
			if err := validate(r, good, src); err != nil {
				t.Fatalf("good keys lost: %v", err)
			}
			st := issuerStats(t, r)
			if st.Fetches != 2 || st.FetchFailures != 1 || st.KeysVersion != 1 || st.Keys != 1 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestJWKSRotation(t *testing.T) {
	keys(t)
	clk := newClock()
	now := clk.Now()
	iss := ""
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	iss = p.cognitoIssuer()
	src := p.cognitoSource(t)
	r := newRegistry(t, clk)
	old := mint(t, "k1", "RS256", rsaA, cognitoAccess(iss, now))
	if err := validate(r, old, src); err != nil {
		t.Fatal(err)
	}
	// The IdP publishes a second key and starts signing with it.
	p.set(func(p *idp) {
		p.jwks = jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey), rsaJWK("k2", "RS256", &rsaB.PublicKey))
	})
	clk.Advance(31 * time.Second)
	fresh := mint(t, "k2", "RS256", rsaB, cognitoAccess(iss, clk.Now()))
	if err := validate(r, fresh, src); err != nil {
		t.Fatalf("new kid after rotation: %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2 (one refresh for the new kid)", n)
	}
	if err := validate(r, old, src); err != nil {
		t.Fatalf("old token while its key is still published: %v", err)
	}
	// The IdP retires k1: after the next refresh, k1 tokens fail even though they were cached.
	p.set(func(p *idp) { p.jwks = jwksJSON(rsaJWK("k2", "RS256", &rsaB.PublicKey)) })
	clk.Advance(31 * time.Second)
	if err := validate(r, forgedKID(iss, "k3", clk.Now()), src); !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatal(err)
	}
	if err := validate(r, old, src); !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatalf("token signed by a retired key: %v", err)
	}
	if err := validate(r, fresh, src); err != nil {
		t.Fatal(err)
	}
	if st := issuerStats(t, r); st.KeysVersion != 3 {
		t.Fatalf("keys version %d, want 3", st.KeysVersion)
	}
}

// TestUnknownKIDStorm: 1,000 concurrent forged tokens with random kids cause at most one fetch per
// interval.
func TestUnknownKIDStorm(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	src := p.cognitoSource(t)
	r := newRegistry(t, clk)
	if err := validate(r, mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now())), src); err != nil {
		t.Fatal(err)
	}
	storm := func() {
		t.Helper()
		toks := make([]string, 1000)
		for i := range toks {
			toks[i] = forgedKID(p.cognitoIssuer(), fmt.Sprintf("forged-%d-%d", clk.Now().Unix(), i), clk.Now())
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var bad []error
		for _, tok := range toks {
			wg.Go(func() {
				if err := validate(r, tok, src); !errors.Is(err, identity.ErrUnknownKey) {
					mu.Lock()
					bad = append(bad, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(bad) > 0 {
			t.Fatalf("%d tokens not refused as unknown kid, first: %v", len(bad), bad[0])
		}
	}
	for interval := range 3 {
		clk.Advance(31 * time.Second)
		storm()
		if n := p.jwksHits.Load(); n > int64(2+interval) {
			t.Fatalf("after %d intervals: %d fetches, want at most %d", interval+1, n, 2+interval)
		}
	}
	storm() // same interval again: no fetch at all
	if n := p.jwksHits.Load(); n > 4 {
		t.Fatalf("%d fetches, want at most 4", n)
	}
}

func TestDiscoveryIssuerMismatch(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	p.set(func(p *idp) { p.discoIss = "https://evil.example.com" })
	src := p.oidcSource(t, identity.AccessTokenOnly, nil, "")
	r := newRegistry(t, clk)
	tok := mint(t, "k1", "RS256", rsaA, map[string]any{"iss": p.oidcIssuer(), "sub": "x", "exp": clk.Now().Add(time.Hour).Unix()})
	if err := validate(r, tok, src); !errors.Is(err, identity.ErrKeysUnavailable) {
		t.Fatalf("got %v", err)
	}
	if p.jwksHits.Load() != 0 {
		t.Fatal("fetched a jwks_uri from a discovery document for another issuer")
	}
}

func TestPeriodicRefresh(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	src := p.cognitoSource(t)
	r := newRegistry(t, clk, identity.WithRefreshInterval(time.Second), identity.WithUnknownKIDInterval(time.Second),
		identity.WithMaxStaleness(time.Minute))
	if err := validate(r, mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now())), src); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Second)
	// The background loop ticks on real time; wait for it (bounded) rather than assert timing.
	for deadline := time.Now().Add(10 * time.Second); p.jwksHits.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("no background refresh")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Unused for longer than the staleness bound: the key set is dropped, not polled forever.
	clk.Advance(2 * time.Minute)
	for deadline := time.Now().Add(10 * time.Second); len(r.Stats().Issuers) != 0; {
		if time.Now().After(deadline) {
			t.Fatal("idle key set not dropped")
		}
		time.Sleep(20 * time.Millisecond)
	}
	hits := p.jwksHits.Load()
	if err := validate(r, mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now())), src); err != nil {
		t.Fatal(err)
	}
	if p.jwksHits.Load() != hits+1 {
		t.Fatal("a dropped key set must be fetched again on next use")
	}
}

func TestCloseStopsGoroutines(t *testing.T) {
	keys(t)
	before := runtime.NumGoroutine()
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	client := &http.Client{Transport: &http.Transport{}}
	r := identity.New(identity.WithClock(clk.Now), identity.WithHTTPClient(client))
	if err := validate(r, mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now())), p.cognitoSource(t)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(11 * time.Minute)
	if err := validate(r, mint(t, "k1", "RS256", rsaA, cognitoAccess(p.cognitoIssuer(), clk.Now())), p.cognitoSource(t)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r.Close() // idempotent
	client.CloseIdleConnections()
	p.srv.Close()
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}
