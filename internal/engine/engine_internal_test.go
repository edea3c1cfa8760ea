package engine

import (
	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// candidates returns the policy IDs Authorize would hand to cedar.
func (s *Snapshot) candidates(req cedar.Request, overlay types.EntityGetter) []string {
	sc := new(scratch)
	s.selectCandidates(sc, req, Merge(overlay, s.entities))
	ids := make([]string, len(sc.cands))
	for i, c := range sc.cands {
		ids[i] = string(s.policies[c].id)
	}
	return ids
}
