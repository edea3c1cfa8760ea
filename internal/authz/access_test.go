package authz_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// accessWorld is a random store: its policies (as Cedar text, for the reference decisions of
// cedar-go itself), its entities and the universe of principals, actions and resources.
type accessWorld struct {
	policies   []string
	entities   types.EntityMap
	principals []types.EntityUID
	actions    []types.EntityUID // includes Action::"share", named by nothing
	resources  []types.EntityUID
}

func uidOf(typ, id string) types.EntityUID {
	return types.NewEntityUID(types.EntityType(typ), types.String(id))
}

func newAccessWorld(r *rand.Rand) accessWorld {
	w := accessWorld{entities: types.EntityMap{}}
	add := func(u types.EntityUID, attrs types.RecordMap, parents ...types.EntityUID) {
		w.entities[u] = types.Entity{UID: u, Attributes: types.NewRecord(attrs), Parents: types.NewEntityUIDSet(parents...)}
	}
	groups := []types.EntityUID{uidOf("Group", "g0"), uidOf("Group", "g1")}
	for _, g := range groups {
		add(g, nil)
	}
	for i := range 4 {
		u := uidOf("User", fmt.Sprint("u", i))
		var parents []types.EntityUID
		for _, g := range groups {
			if r.IntN(2) == 0 {
				parents = append(parents, g)
			}
		}
		add(u, types.RecordMap{"tenant": types.String(fmt.Sprint("t", r.IntN(2))), "level": types.Long(r.IntN(5))}, parents...)
		w.principals = append(w.principals, u)
	}
	albums := []types.EntityUID{uidOf("Album", "a0"), uidOf("Album", "a1")}
	for _, a := range albums {
		add(a, types.RecordMap{"tenant": types.String(fmt.Sprint("t", r.IntN(2)))})
		w.resources = append(w.resources, a)
	}
	for i := range 6 {
		p := uidOf("Photo", fmt.Sprint("p", i))
		add(p, photoAttrs(r, w.principals), albums[r.IntN(2)])
		w.resources = append(w.resources, p)
	}
	read := uidOf("Action", "read")
	add(read, nil)
	add(uidOf("Action", "view"), nil, read)
	w.actions = []types.EntityUID{read, uidOf("Action", "view"), uidOf("Action", "edit"), uidOf("Action", "delete"), uidOf("Action", "share")}

	principalScopes := []string{"principal", `principal == User::"u%d"`, `principal in Group::"g%d"`, "principal is User"}
	actionScopes := []string{"action", `action == Action::"view"`, `action == Action::"edit"`, `action in [Action::"edit", Action::"delete"]`, `action in Action::"read"`}
	resourceScopes := []string{"resource", `resource == Photo::"p%d"`, `resource in Album::"a%d"`, "resource is Photo", "resource is Album", `resource is Photo in Album::"a%d"`}
	conds := []string{"resource.owner == principal", "resource.public", "principal.tenant == resource.tenant",
		"principal.level > 2", "context.mfa == true", `resource.tenant == "t1"`, "resource.size > 3 || principal in Group::\"g0\""}
	n := 3 + r.IntN(8)
	for range n {
		effect := "permit"
		if r.IntN(4) == 0 {
			effect = "forbid"
		}
		scope := func(forms []string) string {
			f := forms[r.IntN(len(forms))]
			if strings.Contains(f, "%d") {
				f = fmt.Sprintf(f, r.IntN(4)%2)
			}
			return f
		}
		text := fmt.Sprintf("%s(%s, %s, %s)", effect, scope(principalScopes), scope(actionScopes), scope(resourceScopes))
		for range r.IntN(3) {
			kw := "when"
			if r.IntN(5) == 0 {
				kw = "unless"
			}
			text += fmt.Sprintf(" %s { %s }", kw, conds[r.IntN(len(conds))])
		}
		w.policies = append(w.policies, text+";")
	}
	return w
}

func photoAttrs(r *rand.Rand, owners []types.EntityUID) types.RecordMap {
	m := types.RecordMap{"owner": owners[r.IntN(len(owners))], "public": types.Boolean(r.IntN(2) == 0), "tenant": types.String(fmt.Sprint("t", r.IntN(2)))}
	if r.IntN(2) == 0 {
		m["size"] = types.Long(r.IntN(6))
	}
	return m
}

// reference decides with cedar-go alone, the whole policy set, no index.
func (w accessWorld) reference(t *testing.T, ps *cedar.PolicySet, ents types.EntityMap, p, a, res types.EntityUID, ctx types.Record) (cedar.Decision, []string) {
	t.Helper()
	d, diag := cedar.Authorize(ps, ents, cedar.Request{Principal: p, Action: a, Resource: res, Context: ctx})
	var det []string // the satisfied permits on allow, the satisfied forbids on deny, as AVP
	for _, r := range diag.Reasons {
		det = append(det, string(r.PolicyID))
	}
	slices.Sort(det)
	return d, det
}

// TestAccessQueriesAreExact: on random stores, ListActions and ListResources answer exactly
// what deciding every (principal, action, resource) combination one by one with cedar-go
// answers, and the residual policies decide resources that are not stored as deciding the
// request with the resource supplied does.
func TestAccessQueriesAreExact(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, "sqlite")
	svc := policystore.New(st)
	dec := authz.New(policystore.NewSnapshots(st, nil), nil)
	seed := rand.Uint64()
	r := rand.New(rand.NewPCG(seed, 1))
	defer func() {
		if t.Failed() {
			t.Logf("seed %d", seed)
		}
	}()
	checkedUnstored, allowedUnstored := 0, 0
	for round := range 12 {
		w := newAccessWorld(r)
		ps, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
		if err != nil {
			t.Fatal(err)
		}
		ref := cedar.NewPolicySet()
		for _, text := range w.policies {
			pol, err := svc.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: text}})
			if err != nil {
				t.Fatalf("round %d: create %s: %v", round, text, err)
			}
			var cp cedar.Policy
			if err := cp.UnmarshalCedar([]byte(text)); err != nil {
				t.Fatal(err)
			}
			ref.Add(cedar.PolicyID(pol.ID), &cp)
		}
		if err := svc.PutEntities(ctx, ps.ID, slices.Collect(func(yield func(types.Entity) bool) {
			for _, e := range w.entities {
				if !yield(e) {
					return
				}
			}
		})); err != nil {
			t.Fatal(err)
		}
		for _, mfa := range []bool{false, true} {
			c := types.NewRecord(types.RecordMap{"mfa": types.Boolean(mfa)})
			for _, p := range w.principals {
				// Actions on every resource.
				for _, res := range w.resources {
					ans, err := dec.ListActions(ctx, ps.ID, authz.ActionsQuery{Principal: p, Resource: res, Context: c})
					if err != nil {
						t.Fatal(err)
					}
					got := map[types.EntityUID]authz.Result{}
					for _, a := range ans.Actions {
						got[a.Action] = a.Result
					}
					for _, a := range w.actions {
						want, wantDet := w.reference(t, ref, w.entities, p, a, res, c)
						g, listed := got[a]
						switch {
						case listed && (g.Decision != want || !slices.Equal(g.DeterminingPolicies, wantDet)):
							t.Fatalf("round %d: %s %s %s: listed %v %v, cedar %v %v\n%s", round, p, a, res, g.Decision, g.DeterminingPolicies, want, wantDet, strings.Join(w.policies, "\n"))
						case !listed && want == cedar.Allow && len(ans.AnyAction) == 0:
							t.Fatalf("round %d: %s may %s %s (cedar) but the action is not listed and AnyAction is empty", round, p, a, res)
						}
					}
				}
				// Resources of each type for every action.
				for _, a := range w.actions {
					for _, typ := range []types.EntityType{"Photo", "Album"} {
						ans, err := dec.ListResources(ctx, ps.ID, authz.ResourcesQuery{Principal: p, Action: a, ResourceType: typ, Context: c})
						if err != nil {
							t.Fatal(err)
						}
						var got, want []types.EntityUID
						for _, ra := range ans.Resources {
							got = append(got, ra.Resource)
						}
						for _, res := range w.resources {
							if res.Type != typ {
								continue
							}
							if d, _ := w.reference(t, ref, w.entities, p, a, res, c); d == cedar.Allow {
								want = append(want, res)
							}
						}
						if !slices.Equal(got, want) {
							t.Fatalf("round %d: %s %s %s: listed %v, cedar allows %v\n%s", round, p, a, typ, got, want, strings.Join(w.policies, "\n"))
						}
						// Unstored resources of the type: the residuals must decide as Cedar does.
						for i := range 4 {
							fresh := types.Entity{UID: uidOf(string(typ), fmt.Sprint("new", i)),
								Attributes: types.NewRecord(photoAttrs(r, w.principals)),
								Parents:    types.NewEntityUIDSet(uidOf("Album", fmt.Sprint("a", r.IntN(3))))}
							ents := types.EntityMap{fresh.UID: fresh}
							for k, v := range w.entities {
								ents[k] = v
							}
							d, _ := w.reference(t, ref, ents, p, a, fresh.UID, c)
							checkedUnstored++
							if d == cedar.Allow {
								allowedUnstored++
							}
							if ans.AllowsUnstored(fresh) != (d == cedar.Allow) {
								var res []string
								for _, rr := range ans.Residuals {
									res = append(res, rr.Policy)
								}
								t.Fatalf("round %d: %s %s unstored %v: residuals say %v, cedar %v\nresiduals:\n%s\npolicies:\n%s", round, p, a, fresh,
									!(d == cedar.Allow), d, strings.Join(res, "\n"), strings.Join(w.policies, "\n"))
							}
						}
					}
				}
			}
		}
	}
	if allowedUnstored == 0 || allowedUnstored == checkedUnstored {
		t.Fatalf("unstored resources: %d of %d allowed; the generator does not exercise both answers", allowedUnstored, checkedUnstored)
	}
	t.Logf("seed %d: %d unstored resources checked against residuals, %d allowed", seed, checkedUnstored, allowedUnstored)
}

// TestListActionsWithSchema: with a schema, the schema's actions are the candidates, and an
// action whose context does not conform is reported, not decided.
func TestListActionsWithSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, "sqlite")
	svc := policystore.New(st)
	dec := authz.New(policystore.NewSnapshots(st, nil), nil)
	ps, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "STRICT"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PutSchema(ctx, ps.ID, `namespace App {
  entity User;
  entity Doc;
  action view appliesTo { principal: User, resource: Doc };
  action edit appliesTo { principal: User, resource: Doc, context: { mfa: Bool } };
  action share appliesTo { principal: User, resource: Doc };
}`); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		`permit(principal, action == App::Action::"view", resource);`,
		`permit(principal, action == App::Action::"edit", resource) when { context.mfa };`,
	} {
		if _, err := svc.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: text}}); err != nil {
			t.Fatal(err)
		}
	}
	alice, doc := uidOf("App::User", "alice"), uidOf("App::Doc", "d")
	ans, err := dec.ListActions(ctx, ps.ID, authz.ActionsQuery{Principal: alice, Resource: doc, Context: types.NewRecord(types.RecordMap{"mfa": types.True})})
	if err != nil {
		t.Fatal(err)
	}
	summary := map[string]string{}
	for _, a := range ans.Actions {
		s := a.Result.Decision.String()
		if a.InputError != "" {
			s = "input error"
		}
		summary[string(a.Action.ID)] = s
	}
	want := map[string]string{"view": "input error", "edit": "allow", "share": "input error"}
	// view and share declare no context: mfa is an attribute their context does not have.
	for k, v := range want {
		if summary[k] != v {
			t.Fatalf("actions = %v, want %v", summary, want)
		}
	}
	ans, err = dec.ListActions(ctx, ps.ID, authz.ActionsQuery{Principal: alice, Resource: doc})
	if err != nil {
		t.Fatal(err)
	}
	summary = map[string]string{}
	for _, a := range ans.Actions {
		s := a.Result.Decision.String()
		if a.InputError != "" {
			s = "input error"
		}
		summary[string(a.Action.ID)] = s
	}
	if summary["view"] != "allow" || summary["share"] != "deny" || summary["edit"] != "input error" {
		t.Fatalf("actions without context = %v", summary)
	}
	if len(ans.AnyAction) != 0 {
		t.Fatalf("AnyAction = %v with a schema", ans.AnyAction)
	}
}
