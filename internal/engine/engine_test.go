package engine

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

func mustPolicies(t testing.TB, texts map[string]string) []Policy {
	t.Helper()
	var out []Policy
	for id, text := range texts {
		var p cedar.Policy
		if err := p.UnmarshalCedar([]byte(text)); err != nil {
			t.Fatalf("parse %s: %v", id, err)
		}
		out = append(out, Policy{ID: id, Policy: &p})
	}
	return out
}

func ent(u types.EntityUID, attrs types.RecordMap, parents ...types.EntityUID) types.Entity {
	return types.Entity{UID: u, Parents: types.NewEntityUIDSet(parents...), Attributes: types.NewRecord(attrs)}
}

func tableStore() types.EntityMap {
	em := types.EntityMap{}
	for _, e := range []types.Entity{
		ent(uid("User", "alice"), types.RecordMap{"level": types.Long(5)}, uid("Group", "eng")),
		ent(uid("User", "bob"), nil),
		ent(uid("Group", "eng"), nil, uid("Group", "all")),
		ent(uid("Group", "all"), nil),
		ent(uid("Doc", "d1"), types.RecordMap{"owner": uid("User", "alice")}, uid("Folder", "f1")),
		ent(uid("Folder", "f1"), nil),
		ent(uid("Action", "read"), nil, uid("Action", "readers")),
		ent(uid("Action", "readers"), nil),
		ent(uid("Action", "write"), nil),
		// A cycle: walking it must terminate.
		ent(uid("Group", "x"), nil, uid("Group", "y")),
		ent(uid("Group", "y"), nil, uid("Group", "x")),
		ent(uid("User", "cyc"), nil, uid("Group", "x")),
	} {
		em[e.UID] = e
	}
	return em
}

func TestAuthorizeHeadForms(t *testing.T) {
	alice, bob, cyc := uid("User", "alice"), uid("User", "bob"), uid("User", "cyc")
	read, write := uid("Action", "read"), uid("Action", "write")
	d1, other := uid("Doc", "d1"), uid("Doc", "other")
	req := func(p, a, r types.EntityUID) cedar.Request {
		return cedar.Request{Principal: p, Action: a, Resource: r, Context: types.Record{}}
	}
	tests := []struct {
		name      string
		policy    string
		req       cedar.Request
		overlay   types.EntityMap
		allow     bool
		errs      bool
		forbidden bool
	}{
		{"unscoped", `permit(principal, action, resource);`, req(bob, write, other), nil, true, false, false},
		{"principal ==", `permit(principal == User::"alice", action, resource);`, req(alice, read, d1), nil, true, false, false},
		{"principal == other", `permit(principal == User::"alice", action, resource);`, req(bob, read, d1), nil, false, false, false},
		{"principal in self", `permit(principal in User::"alice", action, resource);`, req(alice, read, d1), nil, true, false, false},
		{"principal in transitive group", `permit(principal in Group::"all", action, resource);`, req(alice, read, d1), nil, true, false, false},
		{"principal in group, not member", `permit(principal in Group::"all", action, resource);`, req(bob, read, d1), nil, false, false, false},
		{"principal in through cycle", `permit(principal in Group::"y", action, resource);`, req(cyc, read, d1), nil, true, false, false},
		{"principal in, unreachable from cycle", `permit(principal in Group::"all", action, resource);`, req(cyc, read, d1), nil, false, false, false},
		{"principal is", `permit(principal is User, action, resource);`, req(bob, read, d1), nil, true, false, false},
		{"principal is wrong type", `permit(principal is Group, action, resource);`, req(bob, read, d1), nil, false, false, false},
		{"principal is in", `permit(principal is User in Group::"eng", action, resource);`, req(alice, read, d1), nil, true, false, false},
		{"principal is in, wrong type", `permit(principal is Group in Group::"all", action, resource);`, req(alice, read, d1), nil, false, false, false},
		{"principal absent from store", `permit(principal is User, action, resource);`, req(uid("User", "ghost"), read, d1), nil, true, false, false},
		{"action ==", `permit(principal, action == Action::"read", resource);`, req(bob, read, d1), nil, true, false, false},
		{"action == other", `permit(principal, action == Action::"read", resource);`, req(bob, write, d1), nil, false, false, false},
		{"action in group", `permit(principal, action in Action::"readers", resource);`, req(bob, read, d1), nil, true, false, false},
		{"action in set", `permit(principal, action in [Action::"write", Action::"readers"], resource);`, req(bob, read, d1), nil, true, false, false},
		{"action in set, duplicate entries", `permit(principal, action in [Action::"read", Action::"readers", Action::"read"], resource);`, req(bob, read, d1), nil, true, false, false},
		{"action in long set with duplicates", `permit(principal, action in [` + strings.Repeat(`Action::"write", `, 20) + `Action::"readers"], resource);`, req(bob, read, d1), nil, true, false, false},
		{"action in set, no match", `permit(principal, action in [Action::"readers"], resource);`, req(bob, write, d1), nil, false, false, false},
		{"resource in folder", `permit(principal, action, resource in Folder::"f1");`, req(bob, read, d1), nil, true, false, false},
		{"resource is in", `permit(principal, action, resource is Doc in Folder::"f1");`, req(bob, read, d1), nil, true, false, false},
		{"resource ==", `permit(principal, action, resource == Doc::"d1");`, req(bob, read, other), nil, false, false, false},
		{"condition holds", `permit(principal, action, resource) when { principal.level > 3 };`, req(alice, read, d1), nil, true, false, false},
		{"condition errors on missing attribute", `permit(principal, action, resource) when { principal.level > 3 };`, req(bob, read, d1), nil, false, true, false},
		{"scope false short-circuits the error", `permit(principal == User::"alice", action, resource) when { principal.level > 3 };`, req(bob, read, d1), nil, false, false, false},
		{"unless", `permit(principal, action, resource) unless { resource.owner == principal };`, req(alice, read, d1), nil, false, false, false},
		{"forbid", `forbid(principal in Group::"eng", action, resource);`, req(alice, read, d1), nil, false, false, true},
		{"overlay adds membership",
			`permit(principal in Group::"all", action, resource);`, req(bob, read, d1),
			types.EntityMap{bob: ent(bob, nil, uid("Group", "eng"))}, true, false, false},
		{"overlay replaces stored membership",
			`permit(principal in Group::"all", action, resource);`, req(alice, read, d1),
			types.EntityMap{alice: ent(alice, nil)}, false, false, false},
		{"overlay replaces stored attributes",
			`permit(principal, action, resource) when { principal.level > 3 };`, req(alice, read, d1),
			types.EntityMap{alice: ent(alice, types.RecordMap{"level": types.Long(1)})}, false, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ps := mustPolicies(t, map[string]string{"p": tc.policy})
			stored := tableStore()
			s, err := Build(Input{Revision: 1, Policies: ps, Entities: stored})
			if err != nil {
				t.Fatal(err)
			}
			var ov types.EntityGetter
			if tc.overlay != nil {
				ov = tc.overlay
			}
			got := s.Authorize(tc.req, ov)
			wantDet := []string(nil)
			if tc.allow || tc.forbidden {
				wantDet = []string{"p"}
			}
			if got.Decision != cedar.Decision(tc.allow) || !slices.Equal(got.DeterminingPolicies, wantDet) || (len(got.Errors) > 0) != tc.errs {
				t.Fatalf("got %+v, want allow=%v determining=%v errors=%v", got, tc.allow, wantDet, tc.errs)
			}
			if tc.errs && (got.Errors[0].PolicyID != "p" || !strings.Contains(got.Errors[0].Message, "level")) {
				t.Fatalf("error = %+v, want one naming policy p and attribute level", got.Errors)
			}
			// Cross-check against cedar over the same set.
			dec, diag := cedar.Authorize(cedar.PolicyMap{"p": ps[0].Policy}, Merge(ov, stored), tc.req)
			if want := avpResult(dec, diag); got.Decision != want.Decision || !slices.Equal(got.Errors, want.Errors) {
				t.Fatalf("cedar says %+v, engine %+v", want, got)
			}
		})
	}
}

func TestDeterminingPoliciesAVPRule(t *testing.T) {
	ps := mustPolicies(t, map[string]string{
		"permit-b": `permit(principal in Group::"eng", action, resource);`,
		"permit-a": `permit(principal, action, resource);`,
		"forbid-z": `forbid(principal, action, resource) when { principal has level && principal.level > 3 };`,
		"forbid-y": `forbid(principal, action == Action::"write", resource);`,
		"broken":   `permit(principal, action, resource) when { principal.nope };`,
		"broken2":  `forbid(principal, action, resource) when { resource.nope == 1 };`,
	})
	s, err := Build(Input{Policies: ps, Entities: tableStore()})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		principal types.EntityUID
		action    types.EntityUID
		decision  cedar.Decision
		det       []string
	}{
		{"permits only", uid("User", "bob"), uid("Action", "read"), cedar.Allow, []string{"permit-a"}},
		{"permits sorted", uid("Group", "eng"), uid("Action", "read"), cedar.Allow, []string{"permit-a", "permit-b"}},
		{"forbids win and are the only ones listed", uid("User", "alice"), uid("Action", "write"), cedar.Deny, []string{"forbid-y", "forbid-z"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Authorize(cedar.Request{Principal: tc.principal, Action: tc.action, Resource: uid("Doc", "d1")}, nil)
			if r.Decision != tc.decision || !slices.Equal(r.DeterminingPolicies, tc.det) {
				t.Fatalf("got %v %v, want %v %v", r.Decision, r.DeterminingPolicies, tc.decision, tc.det)
			}
			var ids []string
			for _, e := range r.Errors {
				ids = append(ids, e.PolicyID)
			}
			if want := []string{"broken", "broken2"}; !slices.Equal(ids, want) {
				t.Fatalf("error policies = %v, want %v (sorted)", ids, want)
			}
		})
	}
	for _, p := range ps {
		if got, ok := s.Policy(p.ID); !ok || got != p.Policy {
			t.Fatalf("Policy(%q) = %p, %v; want %p", p.ID, got, ok, p.Policy)
		}
	}
	if got, ok := s.Policy("nope"); ok || got != nil {
		t.Fatalf("Policy(nope) = %p, %v", got, ok)
	}
	r := s.Authorize(cedar.Request{Principal: uid("User", "alice"), Action: uid("Action", "read"), Resource: uid("Doc", "d1")}, nil)
	if want := []string{"forbid-z"}; !slices.Equal(r.DeterminingPolicies, want) {
		t.Fatalf("alice read: determining %v, want %v", r.DeterminingPolicies, want)
	}
}

func TestBuildErrors(t *testing.T) {
	ps := mustPolicies(t, map[string]string{"a": `permit(principal, action, resource);`})
	p := ps[0].Policy
	tests := []struct {
		name     string
		policies []Policy
		want     string
	}{
		{"duplicate id", []Policy{{ID: "a", Policy: p}, {ID: "b", Policy: p}, {ID: "a", Policy: p}}, `duplicate policy id "a"`},
		{"empty id", []Policy{{ID: "a", Policy: p}, {ID: "", Policy: p}}, "policy 1: empty id"},
		{"nil policy", []Policy{{ID: "x"}}, `policy "x": nil policy`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Build(Input{Policies: tc.policies})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Build = %v, %v; want error containing %q", s, err, tc.want)
			}
		})
	}
}

func TestSnapshotBasics(t *testing.T) {
	s, err := Build(Input{Revision: 7})
	if err != nil {
		t.Fatal(err)
	}
	if s.Revision() != 7 || s.Len() != 0 {
		t.Fatalf("Revision, Len = %d, %d; want 7, 0", s.Revision(), s.Len())
	}
	// No policies, no entities: fail closed.
	r := s.Authorize(cedar.Request{Principal: uid("User", "a"), Action: uid("Action", "a"), Resource: uid("Doc", "a")}, nil)
	if r.Decision != cedar.Deny || r.DeterminingPolicies != nil || r.Errors != nil {
		t.Fatalf("empty snapshot: %+v", r)
	}
}

// TestConcurrentAuthorize runs readers against a snapshot under the race
// detector's eye (go test -race) while the published snapshot is swapped, as
// policystore.Snapshots publishes them.
func TestConcurrentAuthorize(t *testing.T) {
	var texts = map[string]string{}
	for i := range 50 {
		texts[fmt.Sprint("g", i)] = fmt.Sprintf(`permit(principal in Group::"g%d", action, resource);`, i)
	}
	texts["eng"] = `permit(principal in Group::"eng", action == Action::"read", resource);`
	ps := mustPolicies(t, texts)
	var h atomic.Pointer[Snapshot]
	build := func(rev int64) *Snapshot {
		s, err := Build(Input{Revision: rev, Policies: ps, Entities: tableStore()})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	h.Store(build(1))
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := range 500 {
				ov := types.EntityMap{uid("User", "bob"): ent(uid("User", "bob"), nil, uid("Group", fmt.Sprint("g", (i+w)%50)))}
				r := h.Load().Authorize(cedar.Request{Principal: uid("User", "bob"), Action: uid("Action", "read"), Resource: uid("Doc", "d1")}, ov)
				if want := fmt.Sprint("g", (i+w)%50); r.Decision != cedar.Allow || !slices.Equal(r.DeterminingPolicies, []string{want}) {
					errs <- fmt.Sprintf("worker %d iter %d: %+v, want allow by %s", w, i, r, want)
					return
				}
			}
		})
	}
	for rev := range int64(20) {
		h.Store(build(rev + 2))
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

// A delta past the hard limit is folded into the base by Apply itself, so
// neither the next Apply's delta rebuild nor the two-layer lookup grow
// without bound when the owner never compacts.
func TestApplyCompactsPastHardLimit(t *testing.T) {
	t.Parallel()
	s, err := Build(Input{Revision: 1, Policies: groupPoliciesN(10)})
	if err != nil {
		t.Fatal(err)
	}
	next, err := s.Apply(Change{Revision: 2, Delete: []string{"policy000003"}, Put: groupPoliciesN(10 + hardDeltaLimit(10) + 1)[10:]})
	if err != nil {
		t.Fatal(err)
	}
	if next.delta != nil || next.nHidden != 0 {
		t.Fatalf("delta of %d policies, %d hidden: want one compacted layer", next.deltaLen(), next.nHidden)
	}
	if want := 10 - 1 + hardDeltaLimit(10) + 1; next.Len() != want {
		t.Fatalf("Len %d, want %d", next.Len(), want)
	}
	if _, ok := next.Policy("policy000003"); ok {
		t.Fatal("deleted policy survived compaction")
	}
	if s.Len() != 10 {
		t.Fatalf("Apply modified its receiver: Len %d", s.Len())
	}
	small, err := s.Apply(Change{Revision: 2, Put: groupPoliciesN(11)[10:]})
	if err != nil {
		t.Fatal(err)
	}
	if small.deltaLen() != 1 || small.NeedsCompaction() {
		t.Fatalf("one added policy: delta %d, needs compaction %v", small.deltaLen(), small.NeedsCompaction())
	}
}

func TestApplyRejectsBadChanges(t *testing.T) {
	t.Parallel()
	s, err := Build(Input{Revision: 1, Policies: groupPoliciesN(3)})
	if err != nil {
		t.Fatal(err)
	}
	p := groupPoliciesN(1)[0]
	for name, c := range map[string]Change{
		"duplicate put": {Put: []Policy{p, p}},
		"empty id":      {Put: []Policy{{Policy: p.Policy}}},
		"nil policy":    {Put: []Policy{{ID: "x"}}},
	} {
		if _, err := s.Apply(c); err == nil {
			t.Errorf("%s: Apply succeeded", name)
		}
	}
}
