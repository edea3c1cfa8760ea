package policystore

import (
	"context"
	"fmt"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Stored entities are kept in the form the store's schema gives them, whichever way they or
// the schema arrive (PutEntities, ApplyBundle, PutSchema): with a schema, Cedar reads
// `{"type": "User", "id": "alice"}` as an entity reference and "0.6" for a decimal attribute as
// a decimal, and so must every decision on stored entities. Every write path goes through
// the two functions below, so no path can store an entity the schema would read otherwise.

// conformEntity reads e with sch (nil: as written); path names e in a validation error.
func conformEntity(sch *policy.Schema, e types.Entity, path string) (types.Entity, []byte, error) {
	if sch != nil {
		c, err := sch.ConformEntity(e)
		if err != nil {
			return e, nil, invalid(path, "entity %s does not conform to the schema: %v", e.UID, err)
		}
		e = c
	}
	data, err := e.MarshalJSON()
	if err != nil {
		return e, nil, invalid(path, "%v", err)
	}
	return e, data, nil
}

// reconformStored re-reads every stored entity of a store with a schema that is about to
// become the store's (inside the transaction that writes it): an entity that does not conform
// fails the whole change with a validation error at path naming the entity; one whose typed
// form changes is rewritten. It returns the keys of the rewritten entities in key order.
func reconformStored(ctx context.Context, tx store.Tx, storeID string, sch *policy.Schema, path string) ([]string, error) {
	if sch == nil {
		return nil, nil
	}
	var rewrite []store.Object
	err := listPaged(ctx, tx, store.Query{Scope: storeID, Kind: KindEntity}, func(page []store.Object) error {
		for _, o := range page {
			var e types.Entity
			if err := e.UnmarshalJSON(o.Data); err != nil {
				return fmt.Errorf("stored entity %s of %s: %w", o.ID, storeID, err)
			}
			c, err := sch.ConformEntity(e)
			if err != nil {
				return invalid(path, "the stored entity %s does not conform to this schema: %v", e.UID, err)
			}
			data, err := c.MarshalJSON()
			if err != nil {
				return fmt.Errorf("stored entity %s of %s: %w", o.ID, storeID, err)
			}
			if !sameEntityData(o.Data, data) {
				rewrite = append(rewrite, store.Object{Scope: storeID, Kind: KindEntity, ID: o.ID, Data: data})
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(rewrite))
	for _, o := range rewrite {
		if err := tx.Put(ctx, o); err != nil {
			return nil, err
		}
		keys = append(keys, o.ID)
	}
	return keys, nil
}
