package idp_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestConcurrentUserUpdatesKeepEveryChange: concurrent changes to one user, from two IdP
// instances (two nodes) on one store, all survive. On PostgreSQL (READ COMMITTED) a
// read-modify-write of the user record could otherwise write over another that committed
// after its read: 12 concurrent group additions left one group, and a lost removal would
// leave a privilege in place.
func TestConcurrentUserUpdatesKeepEveryChange(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		nodes := []*idp.IdP{newEnv(t, st).idp, newEnv(t, st).idp}
		pool, err := nodes[0].CreatePool(ctx, idp.PoolInput{Name: "p"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := nodes[0].CreateUser(ctx, pool.ID, "u", password, nil); err != nil {
			t.Fatal(err)
		}
		const n = 12
		var want []string
		for i := range n {
			g := fmt.Sprintf("g%02d", i)
			want = append(want, g)
			if _, err := nodes[0].CreateGroup(ctx, pool.ID, idp.GroupInput{Name: g}); err != nil {
				t.Fatal(err)
			}
		}
		run := func(f func(p *idp.IdP, g string) error) {
			var wg sync.WaitGroup
			for i, g := range want {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := f(nodes[i%2], g); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
		}
		run(func(p *idp.IdP, g string) error { return p.AddUserToGroup(ctx, pool.ID, "u", g) })
		u, err := nodes[0].GetUser(ctx, pool.ID, "u")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(u.Groups, want) {
			t.Fatalf("after %d concurrent additions: %v", n, u.Groups)
		}
		run(func(p *idp.IdP, g string) error { return p.RemoveUserFromGroup(ctx, pool.ID, "u", g) })
		if u, err = nodes[0].GetUser(ctx, pool.ID, "u"); err != nil || len(u.Groups) != 0 {
			t.Fatalf("after %d concurrent removals: %v %v", n, u.Groups, err)
		}
	})
}
