package idp

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// serialStore is the store as the IdP sees it: every Update is serialized with every other
// writer before fn reads anything (serialize). Nearly every IdP write is a read-modify-write of
// a shared record (a pool's settings, its key list, a user, a group, a client, a code budget);
// on PostgreSQL, which runs READ COMMITTED, two such transactions could both read one state and
// the later commit would silently drop the earlier one's change (a hook set on one node lost to
// an MFA change on another). Wrapping the store in New, rather than asking each write to
// remember a first line, means a write added later cannot forget it.
//
// The cost is small: a transaction that writes takes the same lock at its first write anyway
// (the global revision row); this only moves the lock before its reads. Callers only call
// Update when they mean to write (sweep lists outside it first), so no read-only transaction
// is turned into a revision bump.
type serialStore struct{ store.Store }

func (s serialStore) Update(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Update(ctx, func(tx store.Tx) error {
		if err := serialize(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}
