package console

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/memstore"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// A determining policy is linked only when the stored policy of that name is the one the
// matrix evaluated: a policy edited (or a name taken by another policy) between the export and
// the lookup is not named for a cell it did not decide.
func TestMatrixLinkOnlyWhenStoredPolicyAgrees(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := memstore.New()
	ps := policystore.New(st)
	s, err := ps.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: policystore.ModeOff})
	if err != nil {
		t.Fatal(err)
	}
	const permit = `permit (principal in G::"a", action, resource);`
	mk := func(name, text string) string {
		p, err := ps.CreatePolicy(ctx, s.ID, policystore.CreatePolicyInput{Name: name, Static: &policystore.StaticDefinition{Statement: text}})
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	same := mk("name/same", permit)
	mk("name/edited", `permit (principal in G::"b", action, resource);`)
	unnamed := mk("", permit)
	c := &Console{d: Deps{Policies: ps, Store: st, Logger: slog.Default()}, index: newPolicyIndex(st)}
	d := &apply.Dir{Manifest: apply.Manifest{PolicyStoreID: s.ID}, Policies: []apply.NamedText{
		{Name: "same", Text: permit}, {Name: "edited", Text: permit}, {Name: unnamed, Text: permit}}}
	m := &wizard.Matrix{Groups: []string{"a", "b", "c", "d"}, Rows: []wizard.MatrixRow{{Route: "GET /", Determining: map[string][]string{
		"a": {"same"}, "b": {"edited"}, "c": {unnamed}, "d": {"same", "edited"}}}}}
	got := c.matrixCellLinks(ctx, d, m, s.ID)["GET /"]
	if len(got["a"]) != 1 || got["a"][0] != same || len(got["c"]) != 1 || got["c"][0] != unnamed {
		t.Errorf("agreeing policies not linked: %v", got)
	}
	if _, ok := got["b"]; ok {
		t.Errorf("an edited policy is linked: %v", got["b"])
	}
	if _, ok := got["d"]; ok {
		t.Errorf("a cell with one unknown determining policy is linked: %v", got["d"])
	}
	if links := c.matrixCellLinks(ctx, d, m, "other"); len(links) != 0 {
		t.Errorf("links into a store the matrix did not evaluate: %v", links)
	}
}
