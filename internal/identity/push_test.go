package identity_test

import (
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// TestReplaceKeysDropsARemovedKeyAtOnce: keys pushed for an issuer (the built-in IdP, when one
// of its pools' keys changes) replace the registry's key set without waiting for a refresh: a
// token of the removed key is refused and its KeyStamp stops being current. A fetch that was
// in flight when the keys were pushed (and read the issuer before the change) is discarded,
// so it cannot bring the removed key back.
func TestReplaceKeysDropsARemovedKeyAtOnce(t *testing.T) {
	keys(t)
	clk := newClock()
	both := jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey), rsaJWK("k2", "RS256", &rsaB.PublicKey))
	onlyK2 := jwksJSON(rsaJWK("k2", "RS256", &rsaB.PublicKey))
	p := newIdP(t, both)
	iss := p.cognitoIssuer()
	src := p.cognitoSource(t)
	r := newRegistry(t, clk)
	old := mint(t, "k1", "RS256", rsaA, cognitoAccess(iss, clk.Now()))
	tok, _, err := r.Validate(t.Context(), old, identity.UseAccess, []*identity.Source{src})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := r.ReplaceKeys("https://other.example/pool", onlyK2); err != nil || n != 0 {
		t.Fatalf("another issuer's push replaced %d key sets (%v)", n, err)
	}
	if _, err := r.ReplaceKeys(iss, []byte(`{"keys":[]}`)); err == nil {
		t.Fatal("a push without usable keys was accepted")
	}
	if err := validate(r, old, src); err != nil {
		t.Fatalf("after refused pushes: %v", err)
	}

	// The issuer's endpoint still answers with both keys (its answer predates the change) and
	// hangs until released; an unknown kid starts that fetch.
	block := make(chan struct{})
	p.set(func(p *idp) { p.block = block })
	clk.Advance(6 * time.Second) // past the unknown-kid interval
	hits := p.jwksHits.Load()
	done := make(chan error, 1)
	go func() { done <- validate(r, forgedKID(iss, "k3", clk.Now()), src) }()
	deadline := time.Now().Add(30 * time.Second)
	for p.jwksHits.Load() == hits {
		if time.Now().After(deadline) {
			t.Fatal("the unknown kid caused no fetch")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if n, err := r.ReplaceKeys(iss, onlyK2); err != nil || n != 1 {
		t.Fatalf("push: %d key sets, %v", n, err)
	}
	if tok.Keys().Current() {
		t.Fatal("the removed key's token is still current after the push")
	}
	// (Validating now would join the blocked fetch: release it first.)
	p.set(func(p *idp) { p.block = nil })
	close(block)
	if err := <-done; !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatalf("unknown kid: %v", err)
	}
	if err := validate(r, old, src); !errors.Is(err, identity.ErrUnknownKey) {
		t.Fatalf("after the older fetch finished: %v, want ErrUnknownKey (the removed key came back)", err)
	}
	if err := validate(r, mint(t, "k2", "RS256", rsaB, cognitoAccess(iss, clk.Now())), src); err != nil {
		t.Fatalf("token of the remaining key: %v", err)
	}
}
