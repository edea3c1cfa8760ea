package policystore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// applyBundle runs ApplyBundle in its own transaction, as the management API does.
func applyBundle(ctx context.Context, svc *policystore.Service, b policystore.Bundle, prune bool) ([]policystore.Change, error) {
	var out []policystore.Change
	err := svc.Store().Update(ctx, func(tx store.Tx) error {
		var err error
		out, err = svc.ApplyBundle(ctx, tx, b, prune)
		return err
	})
	return out, err
}

func actions(ch []policystore.Change) string {
	var s []string
	for _, c := range ch {
		s = append(s, c.Kind+" "+c.Name+" "+c.Action)
	}
	return strings.Join(s, "; ")
}

func TestApplyBundle(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		svc := policystore.New(s, policystore.WithMaxSchemaBytes(4096))
		base := policystore.Bundle{PolicyStoreID: "shop", ValidationMode: policystore.ModeStrict, Schema: petStoreSchema,
			Policies:  []policystore.BundlePolicy{{Name: "employees", Statement: employeesPolicy("p")}},
			Templates: []policystore.BundlePolicy{{Name: "readers", Statement: `permit (principal == ?principal, action in [PetStore::Action::"get /pets"], resource);`}},
			Links:     []policystore.BundleLink{{Name: "carl-reads", Template: "readers", Principal: &policystore.EntityID{Type: "PetStore::User", ID: "carl"}}},
		}

		t.Run("an oversized schema creates nothing", func(t *testing.T) {
			big := base
			big.PolicyStoreID = "big"
			big.Schema = petStoreSchema + strings.Repeat(" ", 5000)
			if _, err := applyBundle(ctx, svc, big, false); err == nil || !strings.Contains(err.Error(), "schema") {
				t.Fatalf("oversized schema: %v", err)
			}
			if _, err := svc.GetPolicyStore(ctx, "big"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("store created without its schema: %v", err)
			}
		})

		ch, err := applyBundle(ctx, svc, base, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := actions(ch); got != "policy-store shop create; schema schema create; template readers create; policy employees create; link carl-reads create" {
			t.Fatalf("first apply: %s", got)
		}
		rev, _ := s.Revision(ctx, "shop")
		if ch, err := applyBundle(ctx, svc, base, false); err != nil || len(ch) != 0 {
			t.Fatalf("second apply: %s %v", actions(ch), err)
		}

		t.Run("a link invalid under STRICT rolls back everything", func(t *testing.T) {
			bad := base
			bad.Policies = []policystore.BundlePolicy{{Name: "employees", Statement: employeesPolicy("q")}}
			// An undeclared type: Cedar rejects it (an Application, for which no
			// action applies, is only a warning in Cedar and accepted).
			bad.Links = []policystore.BundleLink{{Name: "carl-reads", Template: "readers", Principal: &policystore.EntityID{Type: "PetStore::Nope", ID: "x"}}}
			if _, err := applyBundle(ctx, svc, bad, true); err == nil || !strings.Contains(err.Error(), "carl-reads") {
				t.Fatalf("invalid link: %v", err)
			}
			if now, _ := s.Revision(ctx, "shop"); now != rev {
				t.Fatalf("revision %d → %d after a refused bundle", rev, now)
			}
			p, err := svc.GetPolicy(ctx, "shop", "name/employees")
			if err != nil || !strings.Contains(p.Statement, `"p|employees"`) {
				t.Fatalf("employees changed: %+v %v", p, err)
			}
		})

		t.Run("policies created through the API without a name are kept, then pruned", func(t *testing.T) {
			p, err := svc.CreatePolicy(ctx, "shop", policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: employeesPolicy("p")}})
			if err != nil {
				t.Fatal(err)
			}
			if ch, err := applyBundle(ctx, svc, base, false); err != nil || actions(ch) != "policy "+p.ID+" keep" {
				t.Fatalf("without prune: %s %v", actions(ch), err)
			}
			if got, err := svc.GetPolicy(ctx, "shop", p.ID); err != nil || got.Name != "" {
				t.Fatalf("kept policy: %+v %v", got, err)
			}
			if ch, err := applyBundle(ctx, svc, base, true); err != nil || actions(ch) != "policy "+p.ID+" delete" {
				t.Fatalf("prune: %s %v", actions(ch), err)
			}
			rev, _ = s.Revision(ctx, "shop")
		})

		t.Run("edits, head changes, template re-links and prune", func(t *testing.T) {
			old, _ := svc.GetPolicy(ctx, "shop", "name/employees")
			next := base
			next.Policies = []policystore.BundlePolicy{{Name: "employees", Statement: `forbid (principal in PetStore::UserGroup::"p|employees", action in [PetStore::Action::"post /pets"], resource);`}}
			next.Templates = []policystore.BundlePolicy{{Name: "readers", Statement: `permit (principal == ?principal, action in [PetStore::Action::"get /pets", PetStore::Action::"post /pets"], resource);`}}
			next.Links = nil
			ch, err := applyBundle(ctx, svc, next, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := actions(ch); got != "template readers update; policy employees replace; link carl-reads keep" {
				t.Fatalf("edit: %s", got)
			}
			p, err := svc.GetPolicy(ctx, "shop", "name/employees")
			if err != nil || !strings.EqualFold(p.Effect, "forbid") || p.ID == old.ID {
				t.Fatalf("replaced policy: %+v %v", p, err)
			}
			link, err := svc.GetPolicy(ctx, "shop", "name/carl-reads")
			if err != nil || len(link.Actions) != 2 {
				t.Fatalf("kept link not re-linked to the new template text: %+v %v", link, err)
			}
			ch, err = applyBundle(ctx, svc, next, true)
			if err != nil || actions(ch) != "link carl-reads delete" {
				t.Fatalf("prune: %s %v", actions(ch), err)
			}
			if _, err := svc.GetPolicy(ctx, "shop", "name/carl-reads"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("pruned link still there: %v", err)
			}
		})
	})
}
