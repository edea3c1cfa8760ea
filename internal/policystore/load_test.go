package policystore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestLoadPagedParallel loads a store larger than one load page (so several reads and
// parallel compile shares): a broken stored policy fails the load naming the first broken one
// in store order, a repaired store loads every policy, decides, and a reload re-uses every
// parsed statement of the previous snapshot.
func TestLoadPagedParallel(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := storetest.Open(t, backend)
			svc := policystore.New(s)
			ps, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
			if err != nil {
				t.Fatal(err)
			}
			const n = 9000
			statement := func(i int) string {
				return fmt.Sprintf(`permit(principal in PetStore::UserGroup::"pool|group%d", action, resource) when { context.tenant == "t%d" };`, i, i)
			}
			write := func(i int, text string) store.Object {
				p := policystore.Policy{ID: fmt.Sprintf("SP%08d", i), Type: policystore.TypeStatic, Effect: "Permit", Statement: text}
				data, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				return store.Object{Scope: ps.ID, Kind: policystore.KindPolicy, ID: p.ID, Data: data}
			}
			broken := map[int]bool{8500: true, 5000: true}
			err = s.Update(ctx, func(tx store.Tx) error {
				for i := range n {
					text := statement(i)
					if broken[i] {
						text = "permit(principal, action, resource) when {"
					}
					if err := tx.Create(ctx, write(i, text)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := policystore.Load(ctx, s, ps.ID, nil); err == nil || !strings.Contains(err.Error(), "SP00005000") {
				t.Fatalf("Load of a store with broken policies: %v, want the error of SP00005000", err)
			}

			err = s.Update(ctx, func(tx store.Tx) error {
				for i := range broken {
					if err := tx.Put(ctx, write(i, statement(i))); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			first, err := policystore.Load(ctx, s, ps.ID, nil)
			if err != nil {
				t.Fatal(err)
			}
			if first.Engine.Len() != n {
				t.Fatalf("loaded %d policies, want %d", first.Engine.Len(), n)
			}
			for _, i := range []int{0, 5000, 8191, 8192, 8500, n - 1} {
				user := types.NewEntityUID("PetStore::User", "alice")
				req := cedar.Request{Principal: user, Action: types.NewEntityUID("PetStore::Action", "get"),
					Resource: types.NewEntityUID("PetStore::Pet", "p"),
					Context:  types.NewRecord(types.RecordMap{"tenant": types.String(fmt.Sprint("t", i))})}
				overlay := types.EntityMap{user: {UID: user, Parents: types.NewEntityUIDSet(
					types.NewEntityUID("PetStore::UserGroup", types.String(fmt.Sprint("pool|group", i))))}}
				res := first.Engine.Authorize(req, overlay)
				if want := fmt.Sprintf("SP%08d", i); res.Decision != cedar.Allow || len(res.DeterminingPolicies) != 1 || res.DeterminingPolicies[0] != want {
					t.Fatalf("policy %d: %+v, want allowed by %s alone", i, res, want)
				}
			}
			second, err := policystore.Load(ctx, s, ps.ID, first)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				id := fmt.Sprintf("SP%08d", i)
				a, _ := first.Engine.Policy(id)
				b, ok := second.Engine.Policy(id)
				if !ok || a != b {
					t.Fatalf("policy %s was parsed again on reload", id)
				}
			}
		})
	}
}
