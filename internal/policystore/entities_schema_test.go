package policystore_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Stored entities are read with the store's schema as Cedar reads them: the implicit
// {"type","id"} form is an entity reference and a string is a decimal where the schema says so;
// an ill-typed entity is refused naming the attribute and nothing is written.
func TestPutEntitiesReadsWithSchema(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeOff)
		if _, err := f.svc.PutSchema(ctx, f.id, `entity User; entity Account { owner: User, limit: decimal };
			action read appliesTo { principal: User, resource: Account };`); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{
			Statement: `permit(principal, action, resource) when { principal == resource.owner && resource.limit.lessThan(decimal("1.0")) };`}}); err != nil {
			t.Fatal(err)
		}
		entity := func(doc string) types.Entity {
			var e types.Entity
			if err := json.Unmarshal([]byte(doc), &e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		bad := entity(`{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"alice"},"limit":"+0.6"},"parents":[]}`)
		if err := f.svc.PutEntities(ctx, f.id, []types.Entity{bad}); err == nil {
			t.Fatal("an ill-typed decimal was stored")
		} else {
			wantValidation(t, err, "entities[0]")
		}
		if ents, _, err := f.svc.ListEntities(ctx, f.id, "", 0); err != nil || len(ents) != 0 {
			t.Fatalf("refused entity was written: %v %v", ents, err)
		}
		good := entity(`{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"alice"},"limit":"0.6"},"parents":[]}`)
		if err := f.svc.PutEntities(ctx, f.id, []types.Entity{good}); err != nil {
			t.Fatal(err)
		}
		snap, err := f.snaps.Get(ctx, f.id)
		if err != nil {
			t.Fatal(err)
		}
		res := snap.Engine.Authorize(cedar.Request{Principal: types.NewEntityUID("User", "alice"), Action: types.NewEntityUID("Action", "read"),
			Resource: good.UID, Context: types.NewRecord(nil)}, nil)
		if res.Decision != cedar.Allow {
			t.Fatalf("decision %v %v, want allow as Cedar decides with the schema", res.Decision, res.Errors)
		}
	})
}

// Every way an entity or a schema reaches a store keeps stored entities in the schema's typed
// form (the class of TestPutEntitiesReadsWithSchema): ApplyBundle's entities are read with the
// bundle's schema; a new schema (PutSchema or a bundle) re-reads the entities already stored,
// and is refused, naming the entity, when one does not conform. Before, ApplyBundle stored
// {"type","id"} as a record and PutSchema left stored entities as they were, so decisions on
// them differed from Cedar's.
func TestEveryWritePathConformsEntities(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		svc := policystore.New(s)
		snaps := policystore.NewSnapshots(s, nil)
		entity := func(doc string) types.Entity {
			var e types.Entity
			if err := json.Unmarshal([]byte(doc), &e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		const schema = `entity User; entity Account { owner: User };
			action read appliesTo { principal: User, resource: Account };`
		const policy = `permit(principal, action, resource) when { principal == resource.owner };`
		account := entity(`{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"alice"}},"parents":[]}`)
		allowed := func(storeID string) bool {
			t.Helper()
			snap, err := snaps.Get(ctx, storeID)
			if err != nil {
				t.Fatal(err)
			}
			res := snap.Engine.Authorize(cedar.Request{Principal: types.NewEntityUID("User", "alice"), Action: types.NewEntityUID("Action", "read"),
				Resource: account.UID, Context: types.NewRecord(nil)}, nil)
			return res.Decision == cedar.Allow
		}

		// ApplyBundle with its schema.
		b := policystore.Bundle{PolicyStoreID: "bundled", ValidationMode: policystore.ModeOff, Schema: schema,
			Policies: []policystore.BundlePolicy{{Name: "owner", Statement: policy}}, Entities: []types.Entity{account}}
		apply := func(b policystore.Bundle) ([]policystore.Change, error) {
			var ch []policystore.Change
			err := s.Update(ctx, func(tx store.Tx) error {
				var err error
				ch, err = svc.ApplyBundle(ctx, tx, b, false)
				return err
			})
			return ch, err
		}
		if _, err := apply(b); err != nil {
			t.Fatal(err)
		}
		if !allowed("bundled") {
			t.Fatal("ApplyBundle stored the owner as a record: Cedar reads it as an entity reference and allows")
		}
		bad := b
		bad.Entities = []types.Entity{entity(`{"uid":{"type":"Account","id":"a"},"attrs":{"owner":"alice"},"parents":[]}`)}
		if _, err := apply(bad); err == nil {
			t.Fatal("ApplyBundle stored an ill-typed entity")
		} else {
			wantValidation(t, err, "entities[0]")
		}

		// PutSchema after the entities: they are re-read with it.
		f := newFixture(t, s, policystore.ModeOff)
		if _, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: policy}}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.PutEntities(ctx, f.id, []types.Entity{account}); err != nil {
			t.Fatal(err)
		}
		if allowed(f.id) {
			t.Fatal("without a schema the owner is a record; Cedar denies")
		}
		if _, err := f.svc.PutSchema(ctx, f.id, schema); err != nil {
			t.Fatal(err)
		}
		if !allowed(f.id) {
			t.Fatal("PutSchema left the stored entity as a record")
		}
		// A schema a stored entity does not conform to is refused whole.
		if _, err := f.svc.PutSchema(ctx, f.id, `entity User; entity Account { owner: Long };
			action read appliesTo { principal: User, resource: Account };`); err == nil {
			t.Fatal("a schema the stored entities violate was accepted")
		} else {
			wantValidation(t, err, "definition.cedarJson")
			if !strings.Contains(err.Error(), `Account::"a"`) {
				t.Fatalf("error does not name the entity: %v", err)
			}
		}
		if got, err := f.svc.GetSchema(ctx, f.id); err != nil || !strings.Contains(got.JSON, `"User"`) || strings.Contains(got.JSON, "Long") {
			t.Fatalf("schema after the refused change: %v %v", got.JSON, err)
		}

		// A bundle that changes the schema re-reads the entities it does not name.
		g := newFixture(t, s, policystore.ModeOff)
		if err := g.svc.PutEntities(ctx, g.id, []types.Entity{account}); err != nil {
			t.Fatal(err)
		}
		ch, err := apply(policystore.Bundle{PolicyStoreID: g.id, ValidationMode: policystore.ModeOff, Schema: schema,
			Policies: []policystore.BundlePolicy{{Name: "owner", Statement: policy}}})
		if err != nil {
			t.Fatal(err)
		}
		if !allowed(g.id) {
			t.Fatalf("a bundle's new schema left the stored entity as a record; changes %+v", ch)
		}
		found := false
		for _, c := range ch {
			found = found || (c.Kind == "entity" && c.Action == policystore.ChangeUpdate)
		}
		if !found {
			t.Fatalf("the rewrite of the stored entity is not in the plan: %+v", ch)
		}
	})
}
