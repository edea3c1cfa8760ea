package engine

import (
	"fmt"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// BenchmarkExplain100k is the cost of one explanation page on a 100,000-policy store (one
// policy per group, all for the same action; the principal's groups match one), for each
// filter, against Authorize on the same snapshot:
//
//	go test -run x -bench Explain100k -benchmem ./internal/engine/
func BenchmarkExplain100k(b *testing.B) {
	const n = 100_000
	s, err := Build(Input{Policies: groupPolicies(n), Entities: types.EntityMap{petAction("post /pets"): {UID: petAction("post /pets")}}})
	if err != nil {
		b.Fatal(err)
	}
	principal, overlay := tokenUser(fmt.Sprint("g", n/2), "nomatch")
	req := benchRequest(principal, "post /pets")
	b.Run("authorize", func(b *testing.B) {
		for b.Loop() {
			if r := s.Authorize(req, overlay); r.Decision != cedar.Allow {
				b.Fatal(r)
			}
		}
	})
	for _, tc := range []struct {
		name string
		opt  ExplainOptions
		want int
	}{
		{"candidates", ExplainOptions{}, 1},
		{"action-first-page", ExplainOptions{Filter: ExplainAction}, defaultExplainLimit},
		{"all-first-page", ExplainOptions{Filter: ExplainAll}, defaultExplainLimit},
		{"all-last-page", ExplainOptions{Filter: ExplainAll, After: fmt.Sprintf("policy%06d", n-11)}, 10},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ex, err := s.Explain(req, overlay, tc.opt)
				if err != nil || len(ex.Policies) != tc.want || ex.Decision != cedar.Allow || !ex.Agrees {
					b.Fatalf("%v %d %+v", err, len(ex.Policies), ex.Decision)
				}
			}
		})
	}
}
