package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
)

// Two nodes share PostgreSQL. A token signed by a built-in pool's key passes both gateways
// (their registries hold the pool's JWKS, whose max-age is 300 s). The pool rotates and
// removes that key on node A: node A refuses the token as soon as RemoveKey returns, and node
// B — which has the token's verification and decision cached — as soon as it hears of the
// commit, far inside the 300 s a JWKS poll would take. Tokens of the new key keep passing.
func TestRemovedIdPKeyRefusedOnEveryNode(t *testing.T) {
	n := newTwoIdPNodes(t)
	ctx := context.Background()
	a, b := n.a, n.b
	oldKid := n.pool.CurrentKid
	// Node A serves the API too once it has read the definition.
	waitStatus := func(node *app.Node, token string, want int, within time.Duration, what string) time.Duration {
		start := time.Now()
		for {
			got := n.status(t, node, token)
			if got == want {
				return time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("%s: HTTP %d after %s, want %d", what, got, within, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	old := n.signIn(t)
	waitStatus(b, old, http.StatusOK, 30*time.Second, "node B before rotation")
	waitStatus(a, old, http.StatusOK, 30*time.Second, "node A before rotation")
	for range 2 { // the next answers come from the nodes' caches
		if n.status(t, a, old) != http.StatusOK || n.status(t, b, old) != http.StatusOK {
			t.Fatal("cached answer before rotation is not 200")
		}
	}
	if _, err := a.IdP.RotateKeys(ctx, n.pool.ID); err != nil {
		t.Fatal(err)
	}
	// A rotation keeps the old key published until its tokens expire.
	if n.status(t, a, old) != http.StatusOK {
		t.Fatal("node A refused a token of the retired (still published) key")
	}
	if err := a.IdP.RemoveKey(ctx, n.pool.ID, oldKid); err != nil {
		t.Fatal(err)
	}
	if got := n.status(t, a, old); got != http.StatusUnauthorized {
		t.Fatalf("node A, right after RemoveKey returned: HTTP %d, want 401", got)
	}
	// "Well under the 300 s max-age": the change reaches node B by notification (or its poll).
	took := waitStatus(b, old, http.StatusUnauthorized, 60*time.Second, "node B after the key's removal on node A")
	t.Logf("node B refused the removed key's token %s after RemoveKey on node A", took.Round(time.Millisecond))
	fresh := n.signIn(t)
	waitStatus(b, fresh, http.StatusOK, 10*time.Second, "node B, token of the new key")
	if got := n.status(t, a, fresh); got != http.StatusOK {
		t.Fatalf("node A, token of the new key: HTTP %d", got)
	}
}
