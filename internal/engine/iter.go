package engine

import (
	"iter"
	"slices"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
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
			if !yield(e.id, e.policy.get()) {
				return
			}
		}
		if s.delta == nil {
			return
		}
		for i := range s.delta.policies {
			e := &s.delta.policies[i]
			if !yield(e.id, e.policy.get()) {
				return
			}
		}
	}
}

var _ cedar.PolicyIterator = (*Snapshot)(nil)

// NamedActions returns every action entity named in a policy's action scope (==, in, in
// [..]), in no particular order, from the index rather than by walking the policies. A name
// whose only policies were deleted since the last compaction may still be listed.
func (s *Snapshot) NamedActions() []types.EntityUID {
	var out []types.EntityUID
	for _, l := range []*layer{s.base, s.delta} {
		if l == nil {
			continue
		}
		for uid := range l.action.byEntity.slot {
			out = append(out, uid)
		}
	}
	return out
}

// AnyResource yields, in ID order per layer, the policies whose principal and action scopes
// hold for principal and action, whatever the resource: the policies a question about every
// resource must consider. ents resolves the ancestors of both (stored entities, possibly
// overlaid by a request's). It visits the more selective of the two dimensions' buckets, as
// Authorize does, so it costs in proportion to those policies, not to the store.
func (s *Snapshot) AnyResource(principal, action types.EntityUID, ents types.EntityGetter) iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		var pAnc, aAnc uidSet
		ancestors(ents, principal, &pAnc)
		ancestors(ents, action, &aAnc)
		for _, l := range []*layer{s.base, s.delta} {
			if l == nil {
				continue
			}
			var hidden bitset
			if l == s.base {
				hidden = s.hidden
			}
			d, uid, anc := &l.principal, principal, &pAnc
			if l.action.count(action, &aAnc) < d.count(principal, &pAnc) {
				d, uid, anc = &l.action, action, &aAnc
			}
			var idx []int32
			visit := func(bucket []int32) {
				for _, i := range bucket {
					e := &l.policies[i]
					if !hidden.has(int(i)) && scopeHolds(e.head.Principal, principal, &pAnc) && scopeHolds(e.head.Action, action, &aAnc) {
						idx = append(idx, i)
					}
				}
			}
			visit(d.any)
			visit(d.byType.get(uid.Type))
			for _, a := range anc.list {
				visit(d.byEntity.get(a))
			}
			slices.Sort(idx)
			for _, i := range slices.Compact(idx) {
				e := &l.policies[i]
				if !yield(e.id, e.policy.get()) {
					return
				}
			}
		}
	}
}

// OpenAction yields the policies whose action scope is unconstrained, from the index.
func (s *Snapshot) OpenAction() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, l := range []*layer{s.base, s.delta} {
			if l == nil {
				continue
			}
			for _, i := range l.action.any {
				if l == s.base && s.hidden.has(int(i)) {
					continue
				}
				e := &l.policies[i]
				if !yield(e.id, e.policy.get()) {
					return
				}
			}
		}
	}
}
