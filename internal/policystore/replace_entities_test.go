package policystore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestReplaceEntities: a bundle with replaceEntities makes its entities the complete set —
// changed and dropped ones in one commit — and touches nothing else the bundle does not
// name (the policy stays, unpruned); without it, a dropped entity is only reported as kept.
func TestReplaceEntities(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		svc := policystore.New(s)
		group := types.NewEntityUID("PetStore::UserGroup", "staff")
		alice := types.Entity{UID: types.NewEntityUID("PetStore::User", "alice"), Parents: types.NewEntityUIDSet(group)}
		bob := types.Entity{UID: types.NewEntityUID("PetStore::User", "bob"), Parents: types.NewEntityUIDSet(group)}
		base := policystore.Bundle{PolicyStoreID: "shop", ValidationMode: policystore.ModeStrict, Schema: petStoreSchema,
			Policies: []policystore.BundlePolicy{{Name: "employees", Statement: employeesPolicy("p")}},
			Entities: []types.Entity{{UID: group}, alice, bob}}
		if _, err := applyBundle(ctx, svc, base, false); err != nil {
			t.Fatal(err)
		}
		aliceAlone := types.Entity{UID: alice.UID}
		only := policystore.Bundle{PolicyStoreID: "shop", ValidationMode: policystore.ModeStrict, Entities: []types.Entity{{UID: group}, aliceAlone}}

		ch, err := applyBundle(ctx, svc, only, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := actions(ch), `entity PetStore::User::"alice" update; policy employees keep; entity PetStore::User::"bob" keep`; !sameActions(got, want) {
			t.Fatalf("without replaceEntities: %s", got)
		}
		only.Entities = []types.Entity{{UID: group}, alice}
		if _, err := applyBundle(ctx, svc, only, false); err != nil {
			t.Fatal(err)
		}

		rev, err := s.Revision(ctx, "shop")
		if err != nil {
			t.Fatal(err)
		}
		only.Entities, only.ReplaceEntities = []types.Entity{{UID: group}, aliceAlone}, true
		ch, err = applyBundle(ctx, svc, only, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := actions(ch), `entity PetStore::User::"alice" update; entity PetStore::User::"bob" delete; policy employees keep`; !sameActions(got, want) {
			t.Fatalf("with replaceEntities: %s", got)
		}
		if after, _ := s.Revision(ctx, "shop"); after != rev+1 {
			t.Fatalf("revision %d → %d, want one commit", rev, after)
		}
		ents, _, err := svc.ListEntities(ctx, "shop", "", 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(ents) != 2 {
			t.Fatalf("entities after replace: %v", ents)
		}
		pols, _, err := svc.ListPolicies(ctx, "shop", policystore.PolicyFilter{}, "", 50)
		if err != nil || len(pols) != 1 {
			t.Fatalf("policies after replace: %v %v", pols, err)
		}
	})
}

// sameActions compares "; "-joined change lists regardless of order.
func sameActions(got, want string) bool {
	count := map[string]int{}
	for _, s := range splitActions(got) {
		count[s]++
	}
	for _, s := range splitActions(want) {
		count[s]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

func splitActions(s string) []string { return strings.Split(s, "; ") }
