package policystore_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
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
