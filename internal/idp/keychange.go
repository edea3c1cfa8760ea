package idp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A pool's signing keys change (RotateKeys, RemoveKey) in a transaction that also writes a
// marker for the pool in keyScope. Every node hears rev(keyScope) move through the store's
// change notifications (before a local write returns; on notification or poll from other
// nodes), reads which pools' markers changed, and hands each such pool's current JWKS to the
// WithKeysChanged callback: the gateway's identity registry then drops a removed key at once
// instead of at its next JWKS poll (up to the 300 s max-age later). A dedicated scope keeps
// this off the hot path: the pool scope itself moves with every sign-in.
const (
	keyScope                 = "_idp_keys"
	kindKeyChange store.Kind = "idp_key_change"
)

type keyChange struct {
	Pool string    `json:"pool"`
	At   time.Time `json:"at"`
}

// keyWatch is the node's position in keyScope.
type keyWatch struct {
	mu  sync.Mutex
	rev int64
	fn  func(issuer string, jwks []byte)
}

// WithKeysChanged sets fn, called on every node with a pool's issuer and its current JWKS
// (the document its jwks.json serves) as soon as the node hears that the pool's signing keys
// changed; on the node that made the change it runs before the change returns. fn must be
// quick (it runs in the store's change notification).
func WithKeysChanged(fn func(issuer string, jwks []byte)) Option {
	return func(p *IdP) { p.keys.fn = fn }
}

// keysChangedTx records, in tx, that poolID's keys changed.
func keysChangedTx(ctx context.Context, tx store.Tx, poolID string, now time.Time) error {
	return putJSON(ctx, tx, false, keyScope, kindKeyChange, poolID, "", "", keyChange{Pool: poolID, At: now.UTC()})
}

// observeKeys is a store.ChangeFunc: it reports the pools whose keys changed since the last
// revision of keyScope this node saw.
func (p *IdP) observeKeys(revs map[string]int64) {
	rev, ok := revs[keyScope]
	if !ok || p.keys.fn == nil {
		return
	}
	p.keys.mu.Lock()
	defer p.keys.mu.Unlock()
	if rev <= p.keys.rev {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	changes, err := p.st.Changes(ctx, keyScope, p.keys.rev)
	if err != nil {
		p.log.Error("read signing key changes", "err", err)
		return // the next change or poll retries from the same revision
	}
	for _, c := range changes {
		if c.Kind != kindKeyChange || c.Deleted {
			continue
		}
		pool, err := p.getPool(ctx, p.st, c.ID)
		if errors.Is(err, store.ErrNotFound) {
			continue // deleted: its tokens are revoked with it (DeletePool)
		}
		if err != nil {
			p.log.Error("read pool after a signing key change", "pool", c.ID, "err", err)
			return
		}
		jwks, err := p.JWKS(ctx, c.ID)
		if err != nil {
			p.log.Error("read JWKS after a signing key change", "pool", c.ID, "err", err)
			return
		}
		p.keys.fn(p.poolIssuer(pool), jwks)
	}
	p.keys.rev = rev
}

// RemoveKey withdraws a retired signing key of a pool at once (a key believed compromised):
// it leaves the pool's JWKS, and every node's gateway refuses the tokens it signed as soon as
// it hears of the change, although they have not expired. The current key cannot be removed:
// rotate first (RotateKeys).
func (p *IdP) RemoveKey(ctx context.Context, poolID, kid string) (err error) {
	defer p.audited(ctx, &err, func() Change { return Change{Operation: "RemoveKey", PoolID: poolID, Target: kid} })
	if kid == "" {
		return errf(CodeInvalidParameter, "Kid is required.")
	}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		if kid == pool.CurrentKid {
			return errf(CodeInvalidParameter, "Key %s is the pool's current signing key; rotate keys before removing it.", kid)
		}
		if err := tx.Delete(ctx, poolID, kindKey, kid); errors.Is(err, store.ErrNotFound) {
			return errf(CodeResourceNotFound, "Key %s not found in pool %s.", kid, poolID)
		} else if err != nil {
			return err
		}
		return keysChangedTx(ctx, tx, poolID, p.now())
	})
	if err != nil {
		return fmt.Errorf("remove key %s of %s: %w", kid, poolID, err)
	}
	p.keyCache.Delete(poolID + "/" + kid)
	return nil
}
