package engine

import (
	"iter"

	"github.com/cedar-policy/cedar-go"
)

// All yields every policy of the snapshot, base layer first, then the policies added or
// replaced since it was built; each ID once. It reads the snapshot in place, without copying
// (a 100,000-policy store is not duplicated for a query), and makes the snapshot a
// cedar.PolicyIterator, so cedar-go's x/exp packages (partial evaluation, batch) run on it.
func (s *Snapshot) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for i := range s.base.policies {
			if s.hidden.has(i) {
				continue
			}
			e := &s.base.policies[i]
			if !yield(e.id, e.policy) {
				return
			}
		}
		if s.delta == nil {
			return
		}
		for i := range s.delta.policies {
			e := &s.delta.policies[i]
			if !yield(e.id, e.policy) {
				return
			}
		}
	}
}

var _ cedar.PolicyIterator = (*Snapshot)(nil)
