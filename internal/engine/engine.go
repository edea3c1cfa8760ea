// Package engine is Gatehouse's decision engine: immutable, indexed snapshots
// of a policy store evaluated with cedar-go.
//
// cedar-go's Authorize evaluates every policy it is given. A Snapshot indexes
// the scope (head) of each policy by principal, action and resource, and the
// first conjunct of its conditions when that compares an attribute path with
// a literal (cond.go), so a request is evaluated only against the policies
// whose scope can match it and whose first conjunct is not certain to be
// false without error. The decision, determining policies and errors are
// identical to running cedar.Authorize over the whole set;
// engine_prop_test.go checks that on random stores, including conditions
// that error.
//
// A snapshot moves to the next revision of its store with Apply, which
// shares the previous snapshot's index and indexes only the changed
// policies; engine_prop_test.go checks that such a snapshot decides exactly
// as one built from scratch, through random add, update and delete
// sequences.
package engine

import (
	"cmp"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// Policy is one parsed (and, for templates, already linked) policy of a store: either
// compiled (Policy), or only its head (Head, a policy without conditions), which the snapshot
// indexes at once and cedar-go compiles on the policy's first evaluation. Most policies of a
// large store are never evaluated on a given node, and cedar-go's compiled form is half of
// the memory a 100,000-policy snapshot would hold (see docs/performance.md).
type Policy struct {
	ID     string
	Policy *cedar.Policy
	Head   *xast.Policy
}

// Input is everything a Snapshot is built from.
type Input struct {
	Revision int64
	Policies []Policy
	// Entities are the stored entities plus the schema's action entities
	// (action groups are resolved through their parents). The snapshot
	// owns the map afterwards: the caller must not modify it.
	Entities types.EntityMap
}

// PolicyError is a policy that failed to evaluate for a request. Cedar skips
// such a policy: it neither permits nor forbids.
type PolicyError struct {
	PolicyID string
	Message  string
}

// Result is the outcome of one authorization request.
type Result struct {
	Decision cedar.Decision
	// DeterminingPolicies follows Amazon Verified Permissions: the
	// satisfied forbid policies if there are any, otherwise the satisfied
	// permit policies, otherwise none. Sorted.
	DeterminingPolicies []string
	// Errors is sorted by policy ID, then message.
	Errors []PolicyError
}

// Snapshot is an immutable, indexed policy store. It is safe for concurrent
// use.
//
// A snapshot made by Build holds its policies in one indexed layer. One made
// by Apply shares that layer with its predecessor (base), hides the base
// policies the change deleted or replaced, and indexes only the policies
// added or replaced since base in a small second layer (delta), so a change
// costs in proportion to the delta, not to the store. Compact folds both into
// one layer; Apply does so itself once the delta outgrows hardDeltaLimit.
type Snapshot struct {
	revision int64
	entities types.EntityMap
	base     *layer
	// delta is nil when no change was applied since base was built.
	delta *layer
	// hidden marks base positions that a later change deleted or replaced;
	// nHidden counts them.
	hidden  bitset
	nHidden int
	// scratch pools per-request working memory. It lives on the snapshot
	// rather than in a package variable and is dropped with it.
	scratch sync.Pool
}

// layer is a set of policies sorted by ID, indexed by scope. It is never
// modified after buildLayer, so snapshots share it.
type layer struct {
	policies  []entry
	principal dimIndex
	action    dimIndex
	resource  dimIndex
	cond      condIndex
}

// entry is one policy. Its scope is read from the AST when a candidate is
// checked rather than copied here: at 100,000 policies a copy costs ~25 MB.
type entry struct {
	id     cedar.PolicyID
	policy *lazyPolicy // shared by the snapshots that share the entry: compiled once
	head   *xast.Policy
	guard  *guard // nil: the conditions do not start with an indexable conjunct
}

// lazyPolicy is a cedar-go policy compiled on first use from its head.
type lazyPolicy struct {
	once sync.Once
	head *xast.Policy
	p    *cedar.Policy
}

func (l *lazyPolicy) get() *cedar.Policy {
	l.once.Do(func() {
		if l.p == nil {
			l.p = cedar.NewPolicyFromAST((*ast.Policy)(l.head))
		}
	})
	return l.p
}

type scopeKind uint8

const (
	scopeAll scopeKind = iota
	scopeEq
	scopeIn
	scopeIs
	scopeIsIn
	scopeInSet
)

// scope is the head constraint of one dimension (principal, action or
// resource) of a policy, as the index builder sees it.
type scope struct {
	kind     scopeKind
	typ      types.EntityType  // is, is-in
	entity   types.EntityUID   // ==, in, is-in
	entities []types.EntityUID // in [..] (actions only)
}

// dimIndex buckets policy indexes by the scope of one dimension. Every
// bucket is sorted.
type dimIndex struct {
	byEntity buckets[types.EntityUID]  // ==, in, is-in, each entity of in [..]
	byType   buckets[types.EntityType] // is
	any      []int32                   // unconstrained
}

// buckets maps keys to lists of policy indexes kept in one backing array,
// so a store of 100,000 single-group policies costs a few allocations, not
// one per group.
type buckets[K comparable] struct {
	slot  map[K]int32
	start []int32 // the bucket in slot b is flat[start[b]:start[b+1]]
	flat  []int32
}

func (b *buckets[K]) get(k K) []int32 {
	i, ok := b.slot[k]
	if !ok {
		return nil
	}
	return b.flat[b.start[i]:b.start[i+1]]
}

type bucketBuilder[K comparable] struct {
	slot  map[K]int32
	pairs [][2]int32 // slot, policy index; appended in policy order
}

func (bb *bucketBuilder[K]) add(k K, policy int32) {
	if bb.slot == nil {
		bb.slot = make(map[K]int32)
	}
	s, ok := bb.slot[k]
	if !ok {
		s = int32(len(bb.slot))
		bb.slot[k] = s
	}
	bb.pairs = append(bb.pairs, [2]int32{s, policy})
}

// finish lays the buckets out contiguously (a counting sort by slot, which
// keeps each bucket in policy order).
func (bb *bucketBuilder[K]) finish() buckets[K] {
	n := len(bb.slot)
	start := make([]int32, n+1)
	for _, p := range bb.pairs {
		start[p[0]+1]++
	}
	for i := range n {
		start[i+1] += start[i]
	}
	next := slices.Clone(start[:n])
	flat := make([]int32, len(bb.pairs))
	for _, p := range bb.pairs {
		flat[next[p[0]]] = p[1]
		next[p[0]]++
	}
	return buckets[K]{slot: bb.slot, start: start, flat: flat}
}

type dimBuilder struct {
	byEntity bucketBuilder[types.EntityUID]
	byType   bucketBuilder[types.EntityType]
	any      []int32
}

func (d *dimBuilder) add(i int32, n xast.IsScopeNode) error {
	sc, err := toScope(n)
	if err != nil {
		return err
	}
	switch sc.kind {
	case scopeAll:
		d.any = append(d.any, i)
	case scopeIs:
		d.byType.add(sc.typ, i)
	case scopeEq, scopeIn, scopeIsIn:
		d.byEntity.add(sc.entity, i)
	case scopeInSet:
		for _, u := range sc.entities { // deduplicated by toScope
			d.byEntity.add(u, i)
		}
	}
	return nil
}

func (d *dimBuilder) finish() dimIndex {
	return dimIndex{byEntity: d.byEntity.finish(), byType: d.byType.finish(), any: d.any}
}

// Build indexes the policies of in. It fails on an empty or duplicate ID, a
// nil policy, or a scope form it does not know (so a future cedar-go scope
// form cannot silently be left out of the index).
func Build(in Input) (*Snapshot, error) {
	if len(in.Policies) > 1<<31-1 {
		return nil, errors.New("build snapshot: too many policies")
	}
	policies := make([]entry, 0, len(in.Policies))
	for i, p := range in.Policies {
		e, err := newEntry(i, p)
		if err != nil {
			return nil, fmt.Errorf("build snapshot: %w", err)
		}
		policies = append(policies, e)
	}
	// Evaluating in ID order makes cedar's reasons and errors come out
	// sorted, and the result independent of the input order.
	slices.SortFunc(policies, compareEntries)
	for i := 1; i < len(policies); i++ {
		if policies[i].id == policies[i-1].id {
			return nil, fmt.Errorf("build snapshot: duplicate policy id %q", policies[i].id)
		}
	}
	base, err := buildLayer(policies)
	if err != nil {
		return nil, err
	}
	return &Snapshot{revision: in.Revision, entities: in.Entities, base: base}, nil
}

// newEntry checks the i-th policy of an input.
func newEntry(i int, p Policy) (entry, error) {
	if p.ID == "" {
		return entry{}, fmt.Errorf("policy %d: empty id", i)
	}
	lp := &lazyPolicy{p: p.Policy, head: p.Head}
	switch {
	case p.Policy != nil:
		lp.head = (*xast.Policy)(p.Policy.AST())
	case p.Head == nil:
		return entry{}, fmt.Errorf("policy %q: nil policy", p.ID)
	case len(p.Head.Conditions) > 0:
		// A head is a policy whose conditions the index does not need to see compiled; one
		// with conditions is compiled up front, where its errors belong.
		return entry{}, fmt.Errorf("policy %q: a head with conditions", p.ID)
	}
	return entry{id: cedar.PolicyID(p.ID), policy: lp, head: lp.head, guard: extractGuard(lp.head)}, nil
}

func compareEntries(a, b entry) int { return cmp.Compare(a.id, b.id) }

// buildLayer indexes policies, which must be sorted by ID without duplicates.
func buildLayer(policies []entry) (*layer, error) {
	l := &layer{policies: policies}
	var pb, ab, rb dimBuilder
	for i := range l.policies {
		e := &l.policies[i]
		if err := pb.add(int32(i), e.head.Principal); err != nil {
			return nil, fmt.Errorf("build snapshot: policy %q: principal scope: %w", e.id, err)
		}
		if err := ab.add(int32(i), e.head.Action); err != nil {
			return nil, fmt.Errorf("build snapshot: policy %q: action scope: %w", e.id, err)
		}
		if err := rb.add(int32(i), e.head.Resource); err != nil {
			return nil, fmt.Errorf("build snapshot: policy %q: resource scope: %w", e.id, err)
		}
	}
	l.principal, l.action, l.resource = pb.finish(), ab.finish(), rb.finish()
	l.cond = buildCondIndex(l.policies)
	return l, nil
}

// find returns the position of the policy with the given ID.
func (l *layer) find(id cedar.PolicyID) (int, bool) {
	if l == nil {
		return 0, false
	}
	return slices.BinarySearchFunc(l.policies, id, func(e entry, id cedar.PolicyID) int {
		return cmp.Compare(e.id, id)
	})
}

// Change is what moves a snapshot to a newer revision of its store.
type Change struct {
	Revision int64
	// Delete removes policies by ID; an ID the snapshot does not hold is
	// ignored. Deletions apply before Put.
	Delete []string
	// Put adds policies or replaces those with the same ID.
	Put []Policy
	// Entities, when not nil, replaces the snapshot's entities (with the
	// same ownership rule as Input.Entities); nil keeps them.
	Entities types.EntityMap
}

// Delta limits, in policies. A delta past softDeltaLimit should be compacted
// off the request path (NeedsCompaction); one past hardDeltaLimit is
// compacted by Apply itself, which bounds the cost of the next Apply's delta
// rebuild and of the two-layer lookup.
func softDeltaLimit(base int) int { return max(128, base/128) }
func hardDeltaLimit(base int) int { return max(2048, base/16) }

// Apply returns the snapshot of the next revision: s with c applied. s is
// not modified, and the result shares s's base layer; the work is in
// proportion to the changed policies plus the delta accumulated since the
// last compaction. It fails as Build does, leaving s usable.
func (s *Snapshot) Apply(c Change) (*Snapshot, error) {
	next := &Snapshot{revision: c.Revision, entities: s.entities, base: s.base, nHidden: s.nHidden}
	if c.Entities != nil {
		next.entities = c.Entities
	}
	delta := make(map[cedar.PolicyID]entry, s.deltaLen()+len(c.Put))
	if s.delta != nil {
		for _, e := range s.delta.policies {
			delta[e.id] = e
		}
	}
	next.hidden = slices.Clone(s.hidden)
	hide := func(id cedar.PolicyID) {
		if i, ok := s.base.find(id); ok && !next.hidden.has(i) {
			next.hidden.set(i, len(s.base.policies))
			next.nHidden++
		}
	}
	for _, id := range c.Delete {
		delete(delta, cedar.PolicyID(id))
		hide(cedar.PolicyID(id))
	}
	put := make(map[cedar.PolicyID]bool, len(c.Put))
	for i, p := range c.Put {
		e, err := newEntry(i, p)
		if err != nil {
			return nil, fmt.Errorf("apply change: %w", err)
		}
		if put[e.id] {
			return nil, fmt.Errorf("apply change: duplicate policy id %q", e.id)
		}
		put[e.id] = true
		delta[e.id] = e
		hide(e.id)
	}
	entries := make([]entry, 0, len(delta))
	for _, e := range delta {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, compareEntries)
	if len(entries) > hardDeltaLimit(len(s.base.policies)) {
		next.delta = &layer{policies: entries}
		return next.Compact()
	}
	if len(entries) > 0 {
		var err error
		if next.delta, err = buildLayer(entries); err != nil {
			return nil, fmt.Errorf("apply change: %w", err)
		}
	}
	return next, nil
}

func (s *Snapshot) deltaLen() int {
	if s.delta == nil {
		return 0
	}
	return len(s.delta.policies)
}

// NeedsCompaction reports whether the delta has grown enough that the owner
// should replace s with s.Compact() when it can afford an O(store) build.
func (s *Snapshot) NeedsCompaction() bool {
	return s.deltaLen() > softDeltaLimit(len(s.base.policies))
}

// Compact returns a snapshot that decides exactly as s but keeps every
// policy in one freshly indexed layer.
func (s *Snapshot) Compact() (*Snapshot, error) {
	if s.delta == nil && s.nHidden == 0 {
		return s, nil
	}
	all := make([]entry, 0, s.Len())
	var d []entry
	if s.delta != nil {
		d = s.delta.policies
	}
	// Both lists are sorted and share no visible ID: merge them.
	j := 0
	for i := range s.base.policies {
		if s.hidden.has(i) {
			continue
		}
		for j < len(d) && d[j].id < s.base.policies[i].id {
			all = append(all, d[j])
			j++
		}
		all = append(all, s.base.policies[i])
	}
	all = append(all, d[j:]...)
	base, err := buildLayer(all)
	if err != nil {
		return nil, fmt.Errorf("compact snapshot: %w", err)
	}
	return &Snapshot{revision: s.revision, entities: s.entities, base: base}, nil
}

// bitset is a set of small non-negative integers.
type bitset []uint64

func (b bitset) has(i int) bool {
	w := i / 64
	return w < len(b) && b[w]&(1<<(uint(i)%64)) != 0
}

// set adds i; n bounds the members, so the set is sized once.
func (b *bitset) set(i, n int) {
	if len(*b) == 0 {
		*b = make(bitset, (n+63)/64)
	}
	(*b)[i/64] |= 1 << (uint(i) % 64)
}

func toScope(n xast.IsScopeNode) (scope, error) {
	switch t := n.(type) {
	case nil, xast.ScopeTypeAll:
		return scope{kind: scopeAll}, nil
	case xast.ScopeTypeEq:
		return scope{kind: scopeEq, entity: t.Entity}, nil
	case xast.ScopeTypeIn:
		return scope{kind: scopeIn, entity: t.Entity}, nil
	case xast.ScopeTypeIs:
		return scope{kind: scopeIs, typ: t.Type}, nil
	case xast.ScopeTypeIsIn:
		return scope{kind: scopeIsIn, typ: t.Type, entity: t.Entity}, nil
	case xast.ScopeTypeInSet:
		return scope{kind: scopeInSet, entities: dedupe(t.Entities)}, nil
	default:
		return scope{}, fmt.Errorf("unsupported scope form %T", n)
	}
}

// dedupe returns the distinct UIDs of us, so `in [A, A]` lists the policy
// once in A's bucket. The AST is immutable (cedar-go's contract), so a list without
// duplicates, the usual case, is shared rather than copied.
func dedupe(us []types.EntityUID) []types.EntityUID {
	if len(us) <= linearMax {
		for i := 1; i < len(us); i++ {
			if slices.Contains(us[:i], us[i]) {
				return distinct(us)
			}
		}
		return us
	}
	seen := make(map[types.EntityUID]struct{}, len(us))
	for _, u := range us {
		seen[u] = struct{}{}
	}
	if len(seen) == len(us) {
		return us
	}
	return distinct(us)
}

func distinct(us []types.EntityUID) []types.EntityUID {
	out := make([]types.EntityUID, 0, len(us))
	seen := make(map[types.EntityUID]struct{}, len(us))
	for _, u := range us {
		if _, ok := seen[u]; !ok {
			seen[u] = struct{}{}
			out = append(out, u)
		}
	}
	return out
}

// count is the number of candidates the dimension yields for a request
// entity with ancestor set anc (which includes the entity itself).
func (d *dimIndex) count(uid types.EntityUID, anc *uidSet) int {
	n := len(d.any) + len(d.byType.get(uid.Type))
	for _, a := range anc.list {
		n += len(d.byEntity.get(a))
	}
	return n
}

// Revision is the store revision the snapshot was built from.
func (s *Snapshot) Revision() int64 { return s.revision }

// Len is the number of policies.
func (s *Snapshot) Len() int { return len(s.base.policies) - s.nHidden + s.deltaLen() }

// Policy returns the policy with the given ID, for example to read the
// annotations of a determining policy.
func (s *Snapshot) Policy(id string) (*cedar.Policy, bool) {
	if i, ok := s.delta.find(cedar.PolicyID(id)); ok {
		return s.delta.policies[i].policy.get(), true
	}
	if i, ok := s.base.find(cedar.PolicyID(id)); ok && !s.hidden.has(i) {
		return s.base.policies[i].policy.get(), true
	}
	return nil, false
}

// Entities returns the stored entities the snapshot evaluates against. The
// snapshot owns the map: callers must not modify it (clone it to derive the
// entities of a Change).
func (s *Snapshot) Entities() types.EntityMap { return s.entities }

// Authorize decides req. overlay holds request-supplied entities (it may be
// nil); an overlay entity replaces a stored entity with the same UID.
//
// Only candidate policies are evaluated: a policy is skipped when one of its
// three scope constraints cannot hold for the request. That is exact, not a
// heuristic. cedar-go compiles a policy to
//
//	principalScope && actionScope && resourceScope && when... && !unless...
//
// (internal/eval.PolicyToNode; an unconstrained scope is left out), and
// andEval returns false without evaluating its right side once its left side
// is false. The scope terms themselves cannot fail: the variables are always
// entity UIDs and the operands are entity literals (==, in, is, is in, in
// [..]), so evaluating them returns a boolean and never an error. A policy
// whose scope does not hold is therefore neither satisfied nor erroneous, and
// leaving it out changes neither the decision, the reasons nor the errors.
// Our scope check uses the same reachability as cedar's entityInOne (the
// entity itself plus everything reachable through Parents, looked up in the
// same merged entity set), and cedar re-checks the scope anyway.
func (s *Snapshot) Authorize(req cedar.Request, overlay types.EntityGetter) Result {
	sc, _ := s.scratch.Get().(*scratch)
	if sc == nil {
		sc = new(scratch)
	}
	defer s.release(sc)

	var ents types.EntityGetter = s.entities
	if overlay != nil {
		sc.merged = merged{overlay: overlay, stored: s.entities}
		ents = &sc.merged
	}

	s.selectCandidates(sc, req, ents)
	if len(sc.cands)+len(sc.dcands) == 0 {
		// What cedar.Authorize returns for an empty set, without its
		// per-call allocations.
		return Result{Decision: cedar.Deny}
	}
	sc.iter.s, sc.iter.idx, sc.iter.didx = s, sc.cands, sc.dcands
	if sc.iter.seq == nil {
		// Bound once per scratch, so All does not allocate per request.
		sc.iter.seq = sc.iter.each
	}

	decision, diag := cedar.Authorize(&sc.iter, ents, req)
	return toResult(decision, diag)
}

// selectCandidates fills sc.cands (base positions) and sc.dcands (delta
// positions), each in ID order, with the policies whose scope holds for req.
func (s *Snapshot) selectCandidates(sc *scratch, req cedar.Request, ents types.EntityGetter) {
	ancestors(ents, req.Principal, &sc.pAnc)
	ancestors(ents, req.Action, &sc.aAnc)
	ancestors(ents, req.Resource, &sc.rAnc)
	sc.ents, sc.req = ents, req
	sc.cands = s.base.selectCandidates(sc.cands[:0], sc, req, s.hidden)
	sc.dcands = sc.dcands[:0]
	if s.delta != nil {
		sc.dcands = s.delta.selectCandidates(sc.dcands, sc, req, nil)
	}
}

// selectCandidates appends to cands the positions, in ID order, of the
// policies of l not in hidden whose scope holds for req; sc holds the
// request's ancestor sets.
func (l *layer) selectCandidates(cands []int32, sc *scratch, req cedar.Request, hidden bitset) []int32 {
	// Iterate the most selective dimension; check all three scopes per
	// candidate. Completeness: a policy whose scope holds on a dimension
	// sits in a visited bucket of it (== E and in E and is T in E need E
	// among the ancestors, which include the entity itself; is T needs the
	// entity's type; in [..] needs one listed entity among the ancestors).
	d, uid, anc := &l.principal, req.Principal, &sc.pAnc
	best := d.count(uid, anc)
	if n := l.action.count(req.Action, &sc.aAnc); n < best {
		d, uid, anc, best = &l.action, req.Action, &sc.aAnc, n
	}
	if n := l.resource.count(req.Resource, &sc.rAnc); n < best {
		d, uid, anc, best = &l.resource, req.Resource, &sc.rAnc, n
	}
	if best == 0 {
		return cands
	}
	// The condition dimension is worth resolving every path of the layer
	// only when there are fewer paths than scope candidates; otherwise
	// collect resolves just the paths of the candidates' guards.
	l.cond.begin(sc)
	if l.cond.guardPath != nil && len(l.cond.paths) < best && l.cond.resolve(sc) < best {
		for _, b := range sc.condBuckets {
			cands = l.collect(cands, b, req, sc, hidden)
		}
	} else {
		cands = l.collect(cands, d.any, req, sc, hidden)
		cands = l.collect(cands, d.byType.get(uid.Type), req, sc, hidden)
		for _, a := range anc.list {
			cands = l.collect(cands, d.byEntity.get(a), req, sc, hidden)
		}
	}
	// Buckets of one dimension are disjoint except for action
	// `in [..]` policies listed under several ancestors and condition
	// `in [..]` guards listed under several entities; sorting then
	// compacting removes those duplicates without a per-request map
	// and restores ID order.
	slices.Sort(cands)
	return slices.Compact(cands)
}

func (l *layer) collect(dst, bucket []int32, req cedar.Request, sc *scratch, hidden bitset) []int32 {
	for _, i := range bucket {
		e := &l.policies[i]
		if scopeHolds(e.head.Principal, req.Principal, &sc.pAnc) &&
			scopeHolds(e.head.Action, req.Action, &sc.aAnc) &&
			scopeHolds(e.head.Resource, req.Resource, &sc.rAnc) &&
			!hidden.has(int(i)) &&
			l.cond.mayHold(i, e.guard, sc) {
			dst = append(dst, i)
		}
	}
	return dst
}

// scopeHolds reports whether the scope holds for uid, whose ancestors
// (including uid itself) are anc. It mirrors cedar's scope semantics.
func scopeHolds(n xast.IsScopeNode, uid types.EntityUID, anc *uidSet) bool {
	switch t := n.(type) {
	case xast.ScopeTypeEq:
		return uid == t.Entity
	case xast.ScopeTypeIn:
		return anc.has(t.Entity)
	case xast.ScopeTypeIs:
		return uid.Type == t.Type
	case xast.ScopeTypeIsIn:
		return uid.Type == t.Type && anc.has(t.Entity)
	case xast.ScopeTypeInSet:
		for _, e := range t.Entities {
			if anc.has(e) {
				return true
			}
		}
		return false
	}
	// ScopeTypeAll; Build rejects forms it does not know, and cedar
	// judges the candidate anyway.
	return true
}

func toResult(decision cedar.Decision, diag cedar.Diagnostic) Result {
	r := Result{Decision: decision}
	// Authorize reports forbids when any forbid is satisfied, else
	// permits: exactly AVP's determining policies.
	if len(diag.Reasons) > 0 {
		r.DeterminingPolicies = make([]string, len(diag.Reasons))
		for i, x := range diag.Reasons {
			r.DeterminingPolicies[i] = string(x.PolicyID)
		}
		slices.Sort(r.DeterminingPolicies)
	}
	if len(diag.Errors) > 0 {
		r.Errors = make([]PolicyError, len(diag.Errors))
		for i, x := range diag.Errors {
			r.Errors[i] = PolicyError{PolicyID: string(x.PolicyID), Message: x.Message}
		}
		slices.SortFunc(r.Errors, comparePolicyErrors)
	}
	return r
}

func comparePolicyErrors(a, b PolicyError) int {
	if c := cmp.Compare(a.PolicyID, b.PolicyID); c != 0 {
		return c
	}
	return cmp.Compare(a.Message, b.Message)
}

// candIter feeds the candidates to cedar.Authorize in ID order, merging the
// base and delta candidates (which never share an ID: a base policy the
// delta replaces is hidden).
type candIter struct {
	s    *Snapshot
	idx  []int32 // base positions
	didx []int32 // delta positions
	seq  iter.Seq2[cedar.PolicyID, *cedar.Policy]
}

func (c *candIter) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] { return c.seq }

func (c *candIter) each(yield func(cedar.PolicyID, *cedar.Policy) bool) {
	i, j := 0, 0
	for i < len(c.idx) || j < len(c.didx) {
		var e *entry
		if j == len(c.didx) || (i < len(c.idx) && c.s.base.policies[c.idx[i]].id < c.s.delta.policies[c.didx[j]].id) {
			e = &c.s.base.policies[c.idx[i]]
			i++
		} else {
			e = &c.s.delta.policies[c.didx[j]]
			j++
		}
		if !yield(e.id, e.policy.get()) {
			return
		}
	}
}

// merged looks entities up in the request overlay first, then in the store.
type merged struct {
	overlay types.EntityGetter
	stored  types.EntityMap
}

func (m *merged) Get(uid types.EntityUID) (types.Entity, bool) {
	if e, ok := m.overlay.Get(uid); ok {
		return e, true
	}
	e, ok := m.stored[uid]
	return e, ok
}

// Merge returns an EntityGetter that prefers overlay over stored, the view
// Authorize evaluates against. overlay may be nil.
func Merge(overlay types.EntityGetter, stored types.EntityMap) types.EntityGetter {
	if overlay == nil {
		return stored
	}
	return &merged{overlay: overlay, stored: stored}
}

// uidSet is a small insertion-ordered set. Typical ancestor sets have a
// handful of members, where a linear scan beats hashing; past linearMax
// members a map takes over so deep hierarchies stay linear in their size.
type uidSet struct {
	list []types.EntityUID
	m    map[types.EntityUID]struct{}
}

const linearMax = 16

func (u *uidSet) reset() {
	u.list = u.list[:0]
	if u.m != nil {
		clear(u.m)
	}
}

func (u *uidSet) has(x types.EntityUID) bool {
	if len(u.list) > linearMax {
		_, ok := u.m[x]
		return ok
	}
	for _, y := range u.list {
		if y == x {
			return true
		}
	}
	return false
}

// add inserts x and reports whether it was new.
func (u *uidSet) add(x types.EntityUID) bool {
	if u.has(x) {
		return false
	}
	u.list = append(u.list, x)
	if len(u.list) > linearMax {
		if u.m == nil {
			u.m = make(map[types.EntityUID]struct{}, 2*linearMax)
		}
		if len(u.list) == linearMax+1 {
			for _, y := range u.list {
				u.m[y] = struct{}{}
			}
		} else {
			u.m[x] = struct{}{}
		}
	}
	return true
}

// ancestors fills out with uid and every entity reachable from it through
// Parents. The visited set makes cycles terminate.
func ancestors(ents types.EntityGetter, uid types.EntityUID, out *uidSet) {
	out.reset()
	out.add(uid)
	for i := 0; i < len(out.list); i++ {
		e, ok := ents.Get(out.list[i])
		if !ok {
			continue
		}
		for p := range e.Parents.All() {
			out.add(p)
		}
	}
}

// scratch is per-request working memory, pooled so the hot path allocates
// little.
type scratch struct {
	pAnc, aAnc, rAnc uidSet
	cands, dcands    []int32
	iter             candIter
	merged           merged
	// ents is the request's entity view; paths and condBuckets are the
	// current layer's condition dimension (condIndex.resolve).
	ents        types.EntityGetter
	req         cedar.Request
	gen         uint64
	paths       []pathState
	condBuckets [][]int32
}

// maxPooledCands bounds the candidate buffer kept in the pool, so one
// request against a huge unscoped set does not pin memory forever.
const maxPooledCands = 1 << 16

func (s *Snapshot) release(sc *scratch) {
	sc.iter.s, sc.iter.idx, sc.iter.didx = nil, nil, nil
	sc.merged = merged{}
	sc.ents, sc.req = nil, cedar.Request{}
	// Drop references into the snapshot and the request.
	clear(sc.condBuckets)
	sc.condBuckets = sc.condBuckets[:0]
	for i := range sc.paths {
		sc.paths[i].v = nil
	}
	if cap(sc.cands) > maxPooledCands {
		sc.cands = nil
	}
	if cap(sc.dcands) > maxPooledCands {
		sc.dcands = nil
	}
	s.scratch.Put(sc)
}
