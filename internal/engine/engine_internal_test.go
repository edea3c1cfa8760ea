package engine

import (
	"slices"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
)

// candidates returns the policy IDs Authorize would hand to cedar.
func (s *Snapshot) candidates(req cedar.Request, overlay types.EntityGetter) []string {
	sc := new(scratch)
	s.selectCandidates(sc, req, Merge(overlay, s.entities))
	ids := make([]string, 0, len(sc.cands)+len(sc.dcands))
	for _, c := range sc.cands {
		ids = append(ids, string(s.base.policies[c].id))
	}
	for _, c := range sc.dcands {
		ids = append(ids, string(s.delta.policies[c].id))
	}
	slices.Sort(ids)
	return ids
}
