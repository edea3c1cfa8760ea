package engine

import (
	"maps"
	"slices"
	"testing"

	"github.com/cedar-policy/cedar-go"
)

// TestAllYieldsCurrentPolicies: after deletes and replacements applied as deltas, All yields
// exactly the snapshot's policies, each once, with the current text.
func TestAllYieldsCurrentPolicies(t *testing.T) {
	t.Parallel()
	texts := map[string]string{
		"p1": `permit(principal, action, resource);`,
		"p2": `forbid(principal == User::"bob", action, resource);`,
		"p3": `permit(principal, action == Action::"read", resource);`,
	}
	s, err := Build(Input{Revision: 1, Policies: mustPolicies(t, texts)})
	if err != nil {
		t.Fatal(err)
	}
	s, err = s.Apply(Change{Revision: 2, Delete: []string{"p2"},
		Put: mustPolicies(t, map[string]string{"p3": `permit(principal, action == Action::"write", resource);`, "p4": `permit(principal == User::"x", action, resource);`})})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for id, p := range s.All() {
		if _, dup := got[string(id)]; dup {
			t.Fatalf("policy %s yielded twice", id)
		}
		got[string(id)] = string(p.MarshalCedar())
	}
	want := map[string]string{}
	for _, id := range []string{"p1", "p3", "p4"} {
		p, ok := s.Policy(id)
		if !ok {
			t.Fatalf("Policy(%s) missing", id)
		}
		want[id] = string(p.MarshalCedar())
	}
	if !maps.Equal(got, want) {
		t.Fatalf("All() = %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	if n := len(got); n != s.Len() {
		t.Fatalf("All() yielded %d policies, Len() = %d", n, s.Len())
	}
	// Stopping early is honoured.
	n := 0
	for range s.All() {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("break after one yielded %d", n)
	}
	var _ cedar.PolicyIterator = s
}
