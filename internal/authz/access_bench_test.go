package authz_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// oneSnapshot serves one prebuilt snapshot: the benchmark measures the queries, not a store.
type oneSnapshot struct{ s *policystore.Snapshot }

func (o oneSnapshot) Get(context.Context, string) (*policystore.Snapshot, error) { return o.s, nil }

// BenchmarkAccess100k measures the access queries on a multi-tenant store of 100,000 policies
// (1,000 tenants × 100 per-group policies, half with a condition on the resource) and 10,000
// stored photos, against one IsAuthorized decision on the same snapshot as the baseline.
// Run: go test -run x -bench Access100k -benchtime 20x ./internal/authz/
func BenchmarkAccess100k(b *testing.B) {
	const tenants, perTenant, photos = 1000, 100, 10000
	var pols []engine.Policy
	for t := range tenants {
		for g := range perTenant {
			text := fmt.Sprintf(`permit(principal in Group::"t%d-g%d", action == Action::"view", resource in Tenant::"t%d");`, t, g, t)
			if g%2 == 1 {
				text = fmt.Sprintf(`permit(principal in Group::"t%d-g%d", action == Action::"edit", resource in Tenant::"t%d") when { resource.owner == principal };`, t, g, t)
			}
			var p cedar.Policy
			if err := p.UnmarshalCedar([]byte(text)); err != nil {
				b.Fatal(err)
			}
			pols = append(pols, engine.Policy{ID: fmt.Sprintf("p%d-%d", t, g), Policy: &p})
		}
	}
	ents := types.EntityMap{}
	alice := types.NewEntityUID("User", "alice")
	ents[alice] = types.Entity{UID: alice, Parents: types.NewEntityUIDSet(types.NewEntityUID("Group", "t7-g1"), types.NewEntityUID("Group", "t7-g2"))}
	for i := range photos {
		uid := types.NewEntityUID("Photo", types.String(fmt.Sprint("ph", i)))
		owner := types.NewEntityUID("User", "bob")
		if i%3 == 0 {
			owner = alice
		}
		ents[uid] = types.Entity{UID: uid, Parents: types.NewEntityUIDSet(types.NewEntityUID("Tenant", types.String(fmt.Sprint("t", i%tenants)))),
			Attributes: types.NewRecord(types.RecordMap{"owner": owner})}
	}
	for _, a := range []string{"view", "edit"} {
		u := types.NewEntityUID("Action", types.String(a))
		ents[u] = types.Entity{UID: u}
	}
	es, err := engine.Build(engine.Input{Revision: 1, Policies: pols, Entities: ents})
	if err != nil {
		b.Fatal(err)
	}
	dec := authz.New(oneSnapshot{&policystore.Snapshot{StoreID: "s", Revision: 1, Engine: es}}, nil)
	ctx := context.Background()
	view, edit := types.NewEntityUID("Action", "view"), types.NewEntityUID("Action", "edit")
	photo7 := types.NewEntityUID("Photo", "ph7")

	b.Run("IsAuthorized", func(b *testing.B) {
		for b.Loop() {
			r, err := dec.IsAuthorized(ctx, "s", authz.Request{Principal: alice, Action: view, Resource: photo7})
			if err != nil || r.Decision != cedar.Allow {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("ListActions", func(b *testing.B) {
		for b.Loop() {
			ans, err := dec.ListActions(ctx, "s", authz.ActionsQuery{Principal: alice, Resource: photo7})
			if err != nil || len(ans.Actions) != 2 {
				b.Fatal(ans, err)
			}
		}
	})
	b.Run("ListResources", func(b *testing.B) {
		for b.Loop() {
			ans, err := dec.ListResources(ctx, "s", authz.ResourcesQuery{Principal: alice, Action: edit, ResourceType: "Photo"})
			if err != nil || len(ans.Resources) == 0 || len(ans.Residuals) != 1 || ans.Checked != photos {
				b.Fatal(len(ans.Resources), len(ans.Residuals), ans.Checked, err)
			}
		}
	})
}
