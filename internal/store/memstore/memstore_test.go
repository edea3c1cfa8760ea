package memstore_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/memstore"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, memstore.New())
}

func TestFreezeRefusesWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New()
	put := func(id string) error {
		return s.Update(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, store.Object{Scope: "ps", Kind: "policy", ID: id, Data: []byte(`{}`)})
		})
	}
	if err := put("a"); err != nil {
		t.Fatal(err)
	}
	s.Freeze()
	if !s.ReadOnly() {
		t.Fatal("not read-only after Freeze")
	}
	if err := put("b"); !errors.Is(err, memstore.ErrReadOnly) {
		t.Fatalf("write after Freeze: %v, want ErrReadOnly", err)
	}
	if _, err := s.Get(ctx, "ps", "policy", "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("refused write is visible: %v", err)
	}
	if rev, _ := s.Revision(ctx, "ps"); rev != 1 {
		t.Fatalf("revision moved to %d", rev)
	}
	if o, err := s.Get(ctx, "ps", "policy", "a"); err != nil || string(o.Data) != `{}` {
		t.Fatalf("read after Freeze: %+v %v", o, err)
	}
}

// Data handed in or out is copied: a caller mutating its slice does not change the store.
func TestDataIsCopied(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New()
	data := []byte(`{"a":1}`)
	if err := s.Update(ctx, func(tx store.Tx) error {
		return tx.Create(ctx, store.Object{Scope: "ps", Kind: "policy", ID: "p", Data: data})
	}); err != nil {
		t.Fatal(err)
	}
	data[6] = '2'
	o, _ := s.Get(ctx, "ps", "policy", "p")
	o.Data[6] = '3'
	if o, _ := s.Get(ctx, "ps", "policy", "p"); string(o.Data) != `{"a":1}` {
		t.Fatalf("stored data changed through a caller's slice: %s", o.Data)
	}
}

// A name moved from one object to another in one transaction resolves to its new owner.
func TestNameMovesWithinTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memstore.New()
	obj := func(id, name string) store.Object {
		return store.Object{Scope: "ps", Kind: "policy", ID: id, Name: name, Data: []byte(`{}`)}
	}
	if err := s.Update(ctx, func(tx store.Tx) error { return tx.Create(ctx, obj("a", "n")) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx store.Tx) error {
		if err := tx.Put(ctx, obj("a", "")); err != nil {
			return err
		}
		if err := tx.Create(ctx, obj("b", "n")); err != nil {
			return err
		}
		if o, err := tx.GetByName(ctx, "ps", "policy", "n"); err != nil || o.ID != "b" {
			t.Errorf("inside the transaction: %+v %v", o, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if o, err := s.GetByName(ctx, "ps", "policy", "n"); err != nil || o.ID != "b" {
		t.Fatalf("after commit: %+v %v", o, err)
	}
}
