package policystore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

const petStoreSchema = `namespace PetStore {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  action "get /pets", "post /pets", "get /admin/{proxy+}" appliesTo {
    principal: [User], resource: [Application], context: {}
  };
}`

func employeesPolicy(pool string) string {
	return fmt.Sprintf(`permit (principal in PetStore::UserGroup::"%s|employees", action in [PetStore::Action::"post /pets"], resource);`, pool)
}

type fixture struct {
	svc   *policystore.Service
	snaps *policystore.Snapshots
	st    store.Store
	id    string
}

func newFixture(t *testing.T, s *sqldb.DB, mode string) fixture {
	t.Helper()
	svc := policystore.New(s)
	snaps := policystore.NewSnapshots(s, nil)
	ps, err := svc.CreatePolicyStore(context.Background(), policystore.CreateStoreInput{ValidationMode: mode, Description: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{svc: svc, snaps: snaps, st: s, id: ps.ID}
}

func (f fixture) decide(t *testing.T, principal types.EntityUID, parents []types.EntityUID, action string) (cedar.Decision, []string) {
	t.Helper()
	snap, err := f.snaps.Get(context.Background(), f.id)
	if err != nil {
		t.Fatal(err)
	}
	overlay := types.EntityMap{principal: {UID: principal, Parents: types.NewEntityUIDSet(parents...)}}
	res := snap.Engine.Authorize(cedar.Request{
		Principal: principal,
		Action:    types.NewEntityUID("PetStore::Action", types.String(action)),
		Resource:  types.NewEntityUID("PetStore::Application", "PetStore"),
		Context:   types.NewRecord(nil),
	}, overlay)
	return res.Decision, res.DeterminingPolicies
}

func wantValidation(t *testing.T, err error, field string) {
	t.Helper()
	var ve *policystore.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a validation error on %s, got %v", field, err)
	}
	for _, f := range ve.Fields {
		if strings.HasPrefix(f.Path, field) {
			return
		}
	}
	t.Fatalf("validation error %q does not name %s: %+v", ve.Message, field, ve.Fields)
}

func TestPolicyStoreLifecycle(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeStrict)

		// STRICT without a schema rejects policies, as AVP does.
		_, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: employeesPolicy("us-east-1_X")}})
		wantValidation(t, err, "policyStoreId")

		if _, err := f.svc.PutSchema(ctx, f.id, "namespace {"); err == nil {
			t.Fatal("accepted a broken schema")
		}
		sch, err := f.svc.PutSchema(ctx, f.id, petStoreSchema)
		if err != nil {
			t.Fatal(err)
		}
		if len(sch.Namespaces) != 1 || sch.Namespaces[0] != "PetStore" || !strings.HasPrefix(sch.JSON, "{") {
			t.Fatalf("schema %+v", sch)
		}

		p, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Name: "name/employees",
			Static: &policystore.StaticDefinition{Statement: employeesPolicy("us-east-1_X"), Description: "employees add pets"}})
		if err != nil {
			t.Fatal(err)
		}
		if p.Effect != "Permit" || p.Principal == nil || p.Principal.ID != "us-east-1_X|employees" || len(p.Actions) != 1 || p.Actions[0].ID != "post /pets" || p.Resource != nil {
			t.Fatalf("derived fields %+v", p)
		}
		if got, err := f.svc.GetPolicy(ctx, f.id, "name/employees"); err != nil || got.ID != p.ID {
			t.Fatalf("get by name: %v %+v", err, got)
		}

		rev, _ := s.Revision(ctx, f.id)
		failures := []struct {
			name  string
			in    policystore.CreatePolicyInput
			field string
		}{
			{"unknown action", policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: `permit(principal, action == PetStore::Action::"fly", resource);`}}, "definition.static.statement"},
			{"syntax", policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: "permit(principal, action,\n resource) when { ;"}}, "definition.static.statement"},
			{"two policies", policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: employeesPolicy("a") + employeesPolicy("b")}}, "definition.static.statement"},
			{"bad name", policystore.CreatePolicyInput{Name: "employees", Static: &policystore.StaticDefinition{Statement: employeesPolicy("a")}}, "name"},
			{"no definition", policystore.CreatePolicyInput{}, "definition"},
		}
		for _, tc := range failures {
			_, err := f.svc.CreatePolicy(ctx, f.id, tc.in)
			wantValidation(t, err, tc.field)
		}
		if _, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Name: "name/employees",
			Static: &policystore.StaticDefinition{Statement: employeesPolicy("us-east-1_Y")}}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		if after, _ := s.Revision(ctx, f.id); after != rev {
			t.Fatalf("failed calls changed the store: revision %d -> %d", rev, after)
		}

		// UpdatePolicy may change actions and conditions but not the head entities.
		_, err = f.svc.UpdatePolicy(ctx, f.id, p.ID, policystore.UpdatePolicyInput{Statement: employeesPolicy("us-east-1_Z")})
		wantValidation(t, err, "definition.static.statement")
		upd, err := f.svc.UpdatePolicy(ctx, f.id, p.ID, policystore.UpdatePolicyInput{Statement: strings.Replace(employeesPolicy("us-east-1_X"), `"post /pets"]`, `"post /pets", PetStore::Action::"get /pets"]`, 1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(upd.Actions) != 2 || !upd.Created.Equal(p.Created) {
			t.Fatalf("after update %+v", upd)
		}

		if _, err := f.svc.GetPolicy(ctx, f.id, "SPnope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown policy: %v", err)
		}
		if _, err := f.svc.GetPolicy(ctx, "PSnope", p.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("unknown store: %v", err)
		}

		// Deletion protection.
		on := policystore.ProtectionEnabled
		if _, err := f.svc.UpdatePolicyStore(ctx, f.id, policystore.UpdateStoreInput{ValidationMode: policystore.ModeStrict, DeletionProtection: &on}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeletePolicyStore(ctx, f.id); !errors.Is(err, policystore.ErrInvalidState) {
			t.Fatalf("protected delete: %v", err)
		}
		off := policystore.ProtectionDisabled
		if _, err := f.svc.UpdatePolicyStore(ctx, f.id, policystore.UpdateStoreInput{ValidationMode: policystore.ModeStrict, DeletionProtection: &off}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeletePolicyStore(ctx, f.id); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.GetPolicyStore(ctx, f.id); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleted store still there: %v", err)
		}
		if left, _, _ := s.List(ctx, store.Query{Scope: f.id, Kind: policystore.KindPolicy}); len(left) != 0 {
			t.Fatalf("%d policies survived their store", len(left))
		}
		if err := f.svc.DeletePolicyStore(ctx, f.id); err != nil {
			t.Fatalf("deleting a missing store is idempotent in AVP: %v", err)
		}
	})
}

func TestClientTokenIdempotency(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		svc := policystore.New(s)
		a, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ClientToken: "tok-1", ValidationMode: "OFF"})
		if err != nil {
			t.Fatal(err)
		}
		b, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ClientToken: "tok-1", ValidationMode: "OFF"})
		if err != nil || b.ID != a.ID {
			t.Fatalf("retry created %q (first %q): %v", b.ID, a.ID, err)
		}
		if _, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ClientToken: "tok-1", ValidationMode: "STRICT"}); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("reuse with other parameters: %v", err)
		}
		list, _, err := svc.ListPolicyStores(ctx, "", 0)
		if err != nil || len(list) != 1 {
			t.Fatalf("%d stores, %v", len(list), err)
		}
	})
}

func TestTemplatesLinkRelinkAndCascade(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeOff)
		tpl, err := f.svc.CreatePolicyTemplate(ctx, f.id, policystore.CreateTemplateInput{Name: "name/posters",
			Statement: `permit(principal in ?principal, action in [PetStore::Action::"post /pets"], resource);`})
		if err != nil {
			t.Fatal(err)
		}
		group := &policystore.EntityID{Type: "PetStore::UserGroup", ID: `pool|weird "id" \ here`}
		linked, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Linked: &policystore.LinkedDefinition{TemplateID: tpl.ID, Principal: group}})
		if err != nil {
			t.Fatal(err)
		}
		if linked.Type != policystore.TypeTemplateLinked || linked.Principal == nil || *linked.Principal != *group {
			t.Fatalf("linked %+v", linked)
		}
		if _, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Linked: &policystore.LinkedDefinition{TemplateID: tpl.ID}}); err == nil {
			t.Fatal("link without the principal slot accepted")
		}
		alice := types.NewEntityUID("PetStore::User", "alice")
		if d, det := f.decide(t, alice, []types.EntityUID{group.UID()}, "post /pets"); d != cedar.Allow || len(det) != 1 || det[0] != linked.ID {
			t.Fatalf("linked policy decision %v %v", d, det)
		}
		if d, _ := f.decide(t, alice, []types.EntityUID{group.UID()}, "get /pets"); d != cedar.Deny {
			t.Fatal("get /pets allowed before the template changed")
		}
		// Changing the template re-links: the very next decision uses the new text.
		if _, err := f.svc.UpdatePolicyTemplate(ctx, f.id, tpl.ID, policystore.UpdateTemplateInput{
			Statement: `permit(principal in ?principal, action in [PetStore::Action::"get /pets"], resource);`}); err != nil {
			t.Fatal(err)
		}
		if d, _ := f.decide(t, alice, []types.EntityUID{group.UID()}, "get /pets"); d != cedar.Allow {
			t.Fatal("template change not enforced on the next decision")
		}
		if d, _ := f.decide(t, alice, []types.EntityUID{group.UID()}, "post /pets"); d != cedar.Deny {
			t.Fatal("old template text still enforced")
		}
		got, _ := f.svc.GetPolicy(ctx, f.id, linked.ID)
		if len(got.Actions) != 1 || got.Actions[0].ID != "get /pets" {
			t.Fatalf("linked policy derived actions not updated: %+v", got.Actions)
		}
		// A template update that drops a slot its links fill is rejected whole.
		_, err = f.svc.UpdatePolicyTemplate(ctx, f.id, tpl.ID, policystore.UpdateTemplateInput{
			Statement: `permit(principal, action, resource in ?resource);`})
		if err == nil {
			t.Fatal("template update breaking links accepted")
		}
		if err := f.svc.DeletePolicyTemplate(ctx, f.id, "name/posters"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.GetPolicy(ctx, f.id, linked.ID); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("linked policy survived its template: %v", err)
		}
		if d, _ := f.decide(t, alice, []types.EntityUID{group.UID()}, "get /pets"); d != cedar.Deny {
			t.Fatal("deleted template still allows")
		}
	})
}

func TestListPoliciesFiltersAndPages(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeOff)
		for i := range 7 {
			stmt := employeesPolicy(fmt.Sprintf("pool%d", i%2))
			if i == 6 {
				stmt = `forbid(principal, action, resource);`
			}
			if _, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: stmt}}); err != nil {
				t.Fatal(err)
			}
		}
		var all []policystore.Policy
		token := ""
		for {
			page, next, err := f.svc.ListPolicies(ctx, f.id, policystore.PolicyFilter{}, token, 3)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			token = next
		}
		if len(all) != 7 {
			t.Fatalf("paged %d policies", len(all))
		}
		pool0 := &policystore.EntityRef{Identifier: &policystore.EntityID{Type: "PetStore::UserGroup", ID: "pool0|employees"}}
		got, _, err := f.svc.ListPolicies(ctx, f.id, policystore.PolicyFilter{Principal: pool0}, "", 50)
		if err != nil || len(got) != 3 {
			t.Fatalf("principal filter: %d %v", len(got), err)
		}
		got, _, err = f.svc.ListPolicies(ctx, f.id, policystore.PolicyFilter{Principal: &policystore.EntityRef{Unspecified: true}}, "", 50)
		if err != nil || len(got) != 1 || got[0].Effect != "Forbid" {
			t.Fatalf("unspecified filter: %+v %v", got, err)
		}
		if _, _, err := f.svc.ListPolicies(ctx, f.id, policystore.PolicyFilter{}, "", 51); err == nil {
			t.Fatal("maxResults 51 accepted")
		}
		if _, _, err := f.svc.ListPolicies(ctx, f.id, policystore.PolicyFilter{}, "garbage!", 5); err == nil {
			t.Fatal("garbage token accepted")
		}
	})
}

func TestEntitiesFeedDecisionsAndFreshness(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeOff)
		_, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{
			Statement: `permit(principal, action, resource is PetStore::Appointment) when { resource.owner == principal };`}})
		if err != nil {
			t.Fatal(err)
		}
		dave := types.NewEntityUID("PetStore::User", "dave")
		joy := types.NewEntityUID("PetStore::User", "joy")
		appt := types.NewEntityUID("PetStore::Appointment", "PI-T123")
		put := func(owner types.EntityUID) {
			t.Helper()
			err := f.svc.PutEntities(ctx, f.id, []types.Entity{{UID: appt, Attributes: types.NewRecord(types.RecordMap{"owner": owner})}})
			if err != nil {
				t.Fatal(err)
			}
		}
		decide := func(p types.EntityUID) cedar.Decision {
			snap, err := f.snaps.Get(ctx, f.id)
			if err != nil {
				t.Fatal(err)
			}
			return snap.Engine.Authorize(cedar.Request{Principal: p, Action: types.NewEntityUID("PetStore::Action", "get"), Resource: appt, Context: types.NewRecord(nil)}, nil).Decision
		}
		put(dave)
		if decide(dave) != cedar.Allow || decide(joy) != cedar.Deny {
			t.Fatal("entity attributes not used")
		}
		put(joy) // the very next decision must see the change
		if decide(dave) != cedar.Deny || decide(joy) != cedar.Allow {
			t.Fatal("stale entity served after a change")
		}
		ents, _, err := f.svc.ListEntities(ctx, f.id, "", 0)
		if err != nil || len(ents) != 1 || ents[0].UID != appt {
			t.Fatalf("list entities %v %v", ents, err)
		}
		if err := f.svc.DeleteEntities(ctx, f.id, []types.EntityUID{appt}); err != nil {
			t.Fatal(err)
		}
		if decide(joy) != cedar.Deny {
			t.Fatal("deleted entity still used")
		}
		if err := f.svc.DeleteEntities(ctx, f.id, []types.EntityUID{appt}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("deleting a missing entity: %v", err)
		}
	})
}

// A second node sharing the database learns of a change through Refresh (its poller) even
// without a notification.
func TestSnapshotsOfAnotherWriter(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, backend)
			a, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			svcA := policystore.New(a)
			ps, err := svcA.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
			if err != nil {
				t.Fatal(err)
			}
			snapsB := policystore.NewSnapshots(b, nil)
			s1, err := snapsB.Get(ctx, ps.ID)
			if err != nil || s1.Engine.Len() != 0 {
				t.Fatalf("first load: %v", err)
			}
			if _, err := svcA.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: `permit(principal, action, resource);`}}); err != nil {
				t.Fatal(err)
			}
			if err := snapsB.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			s2, err := snapsB.Get(ctx, ps.ID)
			if err != nil || s2.Engine.Len() != 1 || s2.Revision <= s1.Revision {
				t.Fatalf("after refresh: len %d rev %d (was %d) %v", s2.Engine.Len(), s2.Revision, s1.Revision, err)
			}
		})
	}
}
