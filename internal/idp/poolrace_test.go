package idp_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestConcurrentPoolUpdatesKeepEveryChange: two IdP instances (two nodes) on one store change
// different settings of one pool at the same time — the pre-token hook, the MFA configuration,
// the signing key and the sign-up settings — and every change survives. On PostgreSQL (READ
// COMMITTED) each of these read the pool, changed one field and wrote it back, so the last
// writer restored the fields the others had just changed (a removed hook coming back, a
// rotated-to key no longer current).
func TestConcurrentPoolUpdatesKeepEveryChange(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		nodes := []*idp.IdP{newEnv(t, st).idp, newEnv(t, st).idp}
		pool, err := nodes[0].CreatePool(ctx, idp.PoolInput{Name: "p"})
		if err != nil {
			t.Fatal(err)
		}
		for round := range 8 {
			even := round%2 == 0
			hook := fmt.Sprintf("https://hooks.example/%d", round)
			var kid string
			var wg sync.WaitGroup
			do := func(f func() error) {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := f(); err != nil {
						t.Error(err)
					}
				}()
			}
			do(func() error { return nodes[0].SetPreTokenHook(ctx, pool.ID, &idp.Hook{URL: hook}) })
			do(func() error { _, err := nodes[1].SetPoolMFA(ctx, pool.ID, "", &even); return err })
			do(func() (err error) { kid, err = nodes[round%2].RotateKeys(ctx, pool.ID); return err })
			do(func() error {
				return nodes[1].SetSignUpSettings(ctx, pool.ID, idp.PoolSignUpSettings{AllowAdminCreateUserOnly: !even})
			})
			wg.Wait()
			if t.Failed() {
				t.FailNow()
			}
			got, err := nodes[round%2].GetPool(ctx, pool.ID)
			if err != nil {
				t.Fatal(err)
			}
			var lost []string
			if got.PreTokenHook == nil || got.PreTokenHook.URL != hook {
				lost = append(lost, fmt.Sprintf("hook %+v, want %s", got.PreTokenHook, hook))
			}
			if got.SoftwareTokenMFA != even {
				lost = append(lost, fmt.Sprintf("software token MFA %t, want %t", got.SoftwareTokenMFA, even))
			}
			if got.CurrentKid != kid {
				lost = append(lost, fmt.Sprintf("current kid %s, want the rotated-to %s", got.CurrentKid, kid))
			}
			if got.AllowAdminCreateUserOnly != !even {
				lost = append(lost, fmt.Sprintf("AllowAdminCreateUserOnly %t, want %t", got.AllowAdminCreateUserOnly, !even))
			}
			if len(lost) > 0 {
				t.Fatalf("round %d lost changes: %v", round, lost)
			}
		}
	})
}
