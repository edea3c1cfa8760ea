package identity_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// TestUnpublishedKeyAcceptedWithinInterval is issue 12 item 7: an issuer rotates to a key it did
// not pre-publish just after our last fetch. Its tokens are refused until the unknown-kid
// interval (5 s) since that fetch has passed, then accepted; meanwhile a storm of unknown kids
// causes no fetch, and afterwards at most one per interval.
func TestUnpublishedKeyAcceptedWithinInterval(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	iss := p.cognitoIssuer()
	src := p.cognitoSource(t)
	r := newRegistry(t, clk)
	if err := validate(r, mint(t, "k1", "RS256", rsaA, cognitoAccess(iss, clk.Now())), src); err != nil {
		t.Fatal(err)
	}
	p.set(func(p *idp) { p.jwks = jwksJSON(rsaJWK("k2", "RS256", &rsaB.PublicKey)) })
	clk.Advance(time.Second)
	fresh := mint(t, "k2", "RS256", rsaB, cognitoAccess(iss, clk.Now()))
	if err := validate(r, fresh, src); !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatalf("k2 one second after the last fetch: %v, want refused (rate limited)", err)
	}
	storm := func(n int) {
		t.Helper()
		for i := range n {
			tok := forgedKID(iss, fmt.Sprintf("storm-%d-%d", clk.Now().UnixNano(), i), clk.Now())
			if err := validate(r, tok, src); !errors.Is(err, identity.ErrUnknownKey) {
				t.Fatalf("forged kid: %v", err)
			}
		}
	}
	clk.Advance(2 * time.Second)
	storm(200)
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("%d fetches during the interval, want 1", n)
	}
	clk.Advance(2 * time.Second) // 5 s after the last fetch
	if err := validate(r, fresh, src); err != nil {
		t.Fatalf("k2 five seconds after the last fetch: %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	for i := range 6 { // 30 s of storms, one per second: at most one fetch per 5 s
		clk.Advance(time.Second)
		storm(50)
		if n, most := p.jwksHits.Load(), int64(2+(i+1)/5); n > most {
			t.Fatalf("after %d s of storm: %d fetches, want at most %d", i+1, n, most)
		}
	}
}

// TestCacheControlMaxAge: a JWKS max-age shorter than the refresh interval (but above the 1 min
// floor) makes a removed key go sooner; a max-age below the floor does not cause more fetches.
func TestCacheControlMaxAge(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey), rsaJWK("k2", "RS256", &rsaB.PublicKey)))
	p.set(func(p *idp) { p.cacheCtl = "public, max-age=90" })
	iss := p.cognitoIssuer()
	src := p.cognitoSource(t)
	r := newRegistry(t, clk) // refresh interval 10 min
	old := mint(t, "k1", "RS256", rsaA, cognitoAccess(iss, clk.Now()))
	if err := validate(r, old, src); err != nil {
		t.Fatal(err)
	}
	p.set(func(p *idp) { p.jwks = jwksJSON(rsaJWK("k2", "RS256", &rsaB.PublicKey)) })
	clk.Advance(60 * time.Second)
	if err := validate(r, old, src); err != nil {
		t.Fatalf("before max-age: %v", err)
	}
	r.WaitIdle()
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("%d fetches before max-age, want 1", n)
	}
	clk.Advance(31 * time.Second)
	_ = validate(r, old, src) // due: starts the background refresh, answers from current keys
	r.WaitIdle()
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("%d fetches after max-age, want 2", n)
	}
	if err := validate(r, old, src); !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatalf("k1 token after the refresh that removed k1: %v", err)
	}

	// max-age=1 is raised to the 1 min floor.
	p.set(func(p *idp) { p.cacheCtl = "max-age=1" })
	clk.Advance(10 * time.Minute)
	fresh := mint(t, "k2", "RS256", rsaB, cognitoAccess(iss, clk.Now()))
	_ = validate(r, fresh, src)
	r.WaitIdle()
	hits := p.jwksHits.Load()
	for range 5 {
		clk.Advance(10 * time.Second)
		if err := validate(r, fresh, src); err != nil {
			t.Fatal(err)
		}
		r.WaitIdle()
	}
	if n := p.jwksHits.Load(); n != hits {
		t.Fatalf("%d fetches within a minute of a max-age=1 response, want none", n-hits)
	}
}

// TestInvalidUTF8 is issue 10 item 6: JSON that is not UTF-8 is refused (RFC 8259 §8.1) in token
// headers and payloads, so distinct byte strings never collapse into one U+FFFD principal, and
// in JWKS documents.
func TestInvalidUTF8(t *testing.T) {
	keys(t)
	clk := newClock()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	iss := p.cognitoIssuer()
	src := p.cognitoSource(t)
	r := newRegistry(t, clk)
	payload := func(sub string) string {
		return strings.Replace(mustJSON(with(cognitoAccess(iss, clk.Now()), "sub", "SUB")), `"SUB"`, `"`+sub+`"`, 1)
	}
	for name, tok := range map[string]string{
		"payload sub \\xff": mintRaw(t, `{"alg":"RS256","kid":"k1"}`, payload("user\xff"), "RS256", rsaA),
		"payload sub \\xfe": mintRaw(t, `{"alg":"RS256","kid":"k1"}`, payload("user\xfe"), "RS256", rsaA),
		"overlong slash":    mintRaw(t, `{"alg":"RS256","kid":"k1"}`, payload("user\xc0\xaf"), "RS256", rsaA),
		"surrogate":         mintRaw(t, `{"alg":"RS256","kid":"k1"}`, payload("user\xed\xa0\x80"), "RS256", rsaA),
		"header typ":        mintRaw(t, "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\xff\"}", payload("user"), "RS256", rsaA),
	} {
		if err := validate(r, tok, src); !errors.Is(err, identity.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if err := validate(r, mintRaw(t, `{"alg":"RS256","kid":"k1"}`, payload("us\u00e9r"), "RS256", rsaA), src); err != nil {
		t.Fatalf("valid UTF-8: %v", err)
	}

	q := newIdP(t, []byte(strings.Replace(string(jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey))),
		`"use":"sig"`, "\"use\":\"sig\",\"x-note\":\"\xff\"", 1)))
	tok := mint(t, "k1", "RS256", rsaA, cognitoAccess(q.cognitoIssuer(), clk.Now()))
	if err := validate(r, tok, q.cognitoSource(t)); !errors.Is(err, identity.ErrKeysUnavailable) {
		t.Fatalf("JWKS with invalid UTF-8: %v, want ErrKeysUnavailable", err)
	}
}
