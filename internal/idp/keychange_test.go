package idp_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestKeyChangesReachEveryInstance: a rotation or a key removal on one IdP instance is handed
// (issuer, JWKS) to WithKeysChanged of every instance on the store before the call returns
// (they share one store object here, so each hears the commit synchronously); RemoveKey
// refuses the current key and an unknown one, and a removed key leaves the JWKS.
func TestKeyChangesReachEveryInstance(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		type push struct {
			issuer string
			kids   []string
		}
		var mu sync.Mutex
		last := map[int]push{}
		observer := func(i int) idp.Option {
			return idp.WithKeysChanged(func(issuer string, jwks []byte) {
				var doc struct{ Keys []struct{ Kid string } }
				if err := json.Unmarshal(jwks, &doc); err != nil {
					t.Errorf("pushed JWKS: %v", err)
				}
				var kids []string
				for _, k := range doc.Keys {
					kids = append(kids, k.Kid)
				}
				slices.Sort(kids)
				mu.Lock()
				last[i] = push{issuer, kids}
				mu.Unlock()
			})
		}
		nodes := []*idp.IdP{newEnv(t, st, observer(0)).idp, newEnv(t, st, observer(1)).idp}
		pool, err := nodes[0].CreatePool(ctx, idp.PoolInput{Name: "p"})
		if err != nil {
			t.Fatal(err)
		}
		first := pool.CurrentKid
		second, err := nodes[1].RotateKeys(ctx, pool.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := push{pool.Issuer, slices.Sorted(slices.Values([]string{first, second}))}
		check := func(what string, want push) {
			t.Helper()
			mu.Lock()
			defer mu.Unlock()
			for i := range nodes {
				if got := last[i]; got.issuer != want.issuer || !slices.Equal(got.kids, want.kids) {
					t.Fatalf("%s: instance %d was handed %+v, want %+v", what, i, got, want)
				}
			}
		}
		check("after RotateKeys", want)

		var ie *idp.Error
		if err := nodes[0].RemoveKey(ctx, pool.ID, second); !errors.As(err, &ie) || ie.Code != idp.CodeInvalidParameter {
			t.Fatalf("removing the current key: %v", err)
		}
		if err := nodes[0].RemoveKey(ctx, pool.ID, "no-such-kid"); !errors.As(err, &ie) || ie.Code != idp.CodeResourceNotFound {
			t.Fatalf("removing an unknown key: %v", err)
		}
		if err := nodes[0].RemoveKey(ctx, pool.ID, first); err != nil {
			t.Fatal(err)
		}
		check("after RemoveKey", push{pool.Issuer, []string{second}})
		jwks, err := nodes[1].JWKS(ctx, pool.ID)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Keys []struct{ Kid string } }
		if err := json.Unmarshal(jwks, &doc); err != nil || len(doc.Keys) != 1 || doc.Keys[0].Kid != second {
			t.Fatalf("JWKS after RemoveKey: %s (%v)", jwks, err)
		}
	})
}
