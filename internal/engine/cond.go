package engine

import (
	"strconv"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// The condition index (the fourth dimension next to principal, action and
// resource) lets a request skip a policy whose first condition conjunct is
// certain to be false without an error.
//
// cedar-go evaluates a policy as
//
//	scope terms && cond1 && cond2 && ...
//
// with short-circuiting &&, and the scope terms never error (see
// Authorize). So the first thing that can decide a policy, or raise an
// error, is the leftmost conjunct of its first condition. When that
// condition is a `when` and the conjunct is a guard
//
//	path == literal   literal == path   (literal: Long, String, Bool, entity)
//	path in Entity    path in [Entity, ...]
//	path has attr
//	path is Type
//
// where path is a variable followed by attribute accesses, the policy is
// skipped only when the guard is certain to evaluate to false without error:
// every access along path resolves (as cedar's attributeAccessEval would) to
// a value v, and v == literal is false (Cedar equality never errors); v is an
// entity not in the listed entities (in) or not of the type (is); v is a
// record, or an entity, without attr (has). Anything else, including a
// missing attribute or a value of the wrong type, which make cedar report an
// error, keeps the policy a candidate, and cedar-go judges it in full.

type guardKind uint8

const (
	guardAny guardKind = iota // bucket key: every guard on a path
	guardEq
	guardIn
	guardIs
	guardHas
)

// guard is the indexed first conjunct of a policy's conditions.
type guard struct {
	kind guardKind
	path attrPath
	lit  types.Value       // ==
	ents []types.EntityUID // in
	name types.String      // has: the attribute; is: the entity type
	pkey string            // path.key()
}

// attrPath is a variable followed by attribute accesses.
type attrPath struct {
	root  types.String // principal, action, resource or context
	attrs []types.String
}

func (p attrPath) key() string {
	var b strings.Builder
	b.WriteString(string(p.root))
	for _, a := range p.attrs {
		b.WriteByte('.')
		b.WriteString(strconv.Itoa(len(a)))
		b.WriteByte(':')
		b.WriteString(string(a))
	}
	return b.String()
}

// resolve evaluates the path as cedar does and reports whether it yields a
// value without error.
func (p attrPath) resolve(req *cedar.Request, ents types.EntityGetter) (types.Value, bool) {
	var v types.Value
	switch p.root {
	case "principal":
		v = req.Principal
	case "action":
		v = req.Action
	case "resource":
		v = req.Resource
	case "context":
		v = req.Context
	default:
		return nil, false
	}
	for _, a := range p.attrs {
		switch t := v.(type) {
		case types.EntityUID:
			if t == (types.EntityUID{}) {
				return nil, false
			}
			e, ok := ents.Get(t)
			if !ok {
				return nil, false
			}
			if v, ok = e.Attributes.Get(a); !ok {
				return nil, false
			}
		case types.Record:
			var ok bool
			if v, ok = t.Get(a); !ok {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	return v, true
}

// extractGuard returns the guard of a policy, or nil if its first condition
// does not start with one.
func extractGuard(p *xast.Policy) *guard {
	if len(p.Conditions) == 0 || p.Conditions[0].Condition != xast.ConditionWhen {
		return nil
	}
	n := p.Conditions[0].Body
	for {
		a, ok := n.(xast.NodeTypeAnd)
		if !ok {
			break
		}
		n = a.Left
	}
	var g *guard
	switch t := n.(type) {
	case xast.NodeTypeEquals:
		if path, ok := toPath(t.Left); ok {
			if lit, ok := eqLiteral(t.Right); ok {
				g = &guard{kind: guardEq, path: path, lit: lit}
			}
		} else if path, ok := toPath(t.Right); ok {
			if lit, ok := eqLiteral(t.Left); ok {
				g = &guard{kind: guardEq, path: path, lit: lit}
			}
		}
	case xast.NodeTypeIn:
		path, ok := toPath(t.Left)
		if !ok {
			return nil
		}
		switch r := t.Right.(type) {
		case xast.NodeValue:
			if u, ok := r.Value.(types.EntityUID); ok {
				g = &guard{kind: guardIn, path: path, ents: []types.EntityUID{u}}
			}
		case xast.NodeTypeSet:
			us := make([]types.EntityUID, 0, len(r.Elements))
			for _, el := range r.Elements {
				v, ok := el.(xast.NodeValue)
				if !ok {
					return nil
				}
				u, ok := v.Value.(types.EntityUID)
				if !ok {
					return nil
				}
				us = append(us, u)
			}
			g = &guard{kind: guardIn, path: path, ents: dedupe(us)}
		}
	case xast.NodeTypeHas:
		if path, ok := toPath(t.Arg); ok {
			g = &guard{kind: guardHas, path: path, name: t.Value}
		}
	case xast.NodeTypeIs:
		if path, ok := toPath(t.Left); ok {
			g = &guard{kind: guardIs, path: path, name: types.String(t.EntityType)}
		}
	}
	if g != nil {
		g.pkey = g.path.key()
	}
	return g
}

func toPath(n xast.IsNode) (attrPath, bool) {
	switch t := n.(type) {
	case xast.NodeTypeVariable:
		switch t.Name {
		case "principal", "action", "resource", "context":
			return attrPath{root: t.Name}, true
		}
	case xast.NodeTypeAccess:
		p, ok := toPath(t.Arg)
		if !ok {
			return attrPath{}, false
		}
		p.attrs = append(p.attrs[:len(p.attrs):len(p.attrs)], t.Value)
		return p, true
	}
	return attrPath{}, false
}

// eqLiteral returns the literal of an == guard: only types whose Cedar
// equality is Go's == (so they can key a map).
func eqLiteral(n xast.IsNode) (types.Value, bool) {
	v, ok := n.(xast.NodeValue)
	if !ok {
		return nil, false
	}
	switch v.Value.(type) {
	case types.Long, types.String, types.Boolean, types.EntityUID:
		return v.Value, true
	}
	return nil, false
}

// hashable reports whether v can key a map and compare with == as Cedar
// compares it: the literal types eqLiteral admits.
func hashable(v types.Value) bool {
	switch v.(type) {
	case types.Long, types.String, types.Boolean, types.EntityUID:
		return true
	}
	return false
}

type condKey struct {
	path int32
	kind guardKind
	val  types.Value  // ==: the literal; in: one listed entity; nil for "all of kind"
	name types.String // has, is
	all  bool         // every guard of kind (or of any kind) on path
}

// condIndex is the condition dimension of a layer.
type condIndex struct {
	paths     []attrPath
	guardPath []int32 // per policy position; -1: no guard. nil if no policy has one
	b         buckets[condKey]
	unguarded []int32
}

func buildCondIndex(policies []entry) condIndex {
	var ci condIndex
	var bb bucketBuilder[condKey]
	pathID := map[string]int32{}
	for i := range policies {
		g := policies[i].guard
		if g == nil {
			ci.unguarded = append(ci.unguarded, int32(i))
			continue
		}
		if ci.guardPath == nil {
			ci.guardPath = make([]int32, len(policies))
			for j := range i {
				ci.guardPath[j] = -1
			}
		}
		p, ok := pathID[g.pkey]
		if !ok {
			p = int32(len(ci.paths))
			pathID[g.pkey] = p
			ci.paths = append(ci.paths, g.path)
		}
		ci.guardPath[i] = p
		pos := int32(i)
		bb.add(condKey{path: p, kind: guardAny, all: true}, pos)
		switch g.kind {
		case guardEq:
			bb.add(condKey{path: p, kind: guardEq, val: g.lit}, pos)
		case guardIn:
			bb.add(condKey{path: p, kind: guardIn, all: true}, pos)
			for _, u := range g.ents {
				bb.add(condKey{path: p, kind: guardIn, val: u}, pos)
			}
		case guardIs:
			bb.add(condKey{path: p, kind: guardIs, all: true}, pos)
			bb.add(condKey{path: p, kind: guardIs, name: g.name}, pos)
		case guardHas:
			bb.add(condKey{path: p, kind: guardHas, all: true}, pos)
			bb.add(condKey{path: p, kind: guardHas, name: g.name}, pos)
		}
	}
	if ci.guardPath == nil {
		ci.unguarded = nil // every policy: the dimension selects nothing
	}
	ci.b = bb.finish()
	return ci
}

// pathState is one path resolved for the request, memoized: gen tells whether it was
// resolved for the current request and layer.
type pathState struct {
	gen     uint64
	v       types.Value
	ok      bool
	ancDone bool
	anc     uidSet // ancestors of v when it is an entity and an in guard needs them
}

// begin prepares sc for resolving this layer's paths for a new request or layer.
func (ci *condIndex) begin(sc *scratch) {
	sc.gen++
	if cap(sc.paths) < len(ci.paths) {
		sc.paths = make([]pathState, len(ci.paths))
	}
	sc.paths = sc.paths[:len(ci.paths)]
}

// state resolves path p for the request once.
func (ci *condIndex) state(sc *scratch, p int32) *pathState {
	st := &sc.paths[p]
	if st.gen != sc.gen {
		st.gen = sc.gen
		st.v, st.ok = ci.paths[p].resolve(&sc.req, sc.ents)
		st.ancDone = false
	}
	return st
}

func (st *pathState) ancestors(ents types.EntityGetter, u types.EntityUID) *uidSet {
	if !st.ancDone {
		ancestors(ents, u, &st.anc)
		st.ancDone = true
	}
	return &st.anc
}

// resolve fills sc.condBuckets with the buckets holding every policy whose guard may hold
// (or error) and returns their total size; it resolves every path of the layer, so the
// caller only asks when that is cheaper than the best scope dimension.
func (ci *condIndex) resolve(sc *scratch) int {
	sc.condBuckets = append(sc.condBuckets[:0], ci.unguarded)
	n := len(ci.unguarded)
	add := func(k condKey) {
		if b := ci.b.get(k); len(b) > 0 {
			sc.condBuckets = append(sc.condBuckets, b)
			n += len(b)
		}
	}
	has := func(k condKey) bool { return len(ci.b.get(k)) > 0 }
	for i := range ci.paths {
		pi := int32(i)
		st := ci.state(sc, pi)
		if !st.ok {
			add(condKey{path: pi, kind: guardAny, all: true})
			continue
		}
		if hashable(st.v) {
			add(condKey{path: pi, kind: guardEq, val: st.v})
		}
		switch v := st.v.(type) {
		case types.EntityUID:
			add(condKey{path: pi, kind: guardIs, name: types.String(v.Type)})
			if has(condKey{path: pi, kind: guardIn, all: true}) {
				for _, a := range st.ancestors(sc.ents, v).list {
					add(condKey{path: pi, kind: guardIn, val: a})
				}
			}
			if has(condKey{path: pi, kind: guardHas, all: true}) {
				if e, ok := sc.ents.Get(v); ok {
					for k := range e.Attributes.Keys() {
						add(condKey{path: pi, kind: guardHas, name: k})
					}
				}
			}
		case types.Record:
			for k := range v.Keys() {
				add(condKey{path: pi, kind: guardHas, name: k})
			}
			add(condKey{path: pi, kind: guardIs, all: true})
			add(condKey{path: pi, kind: guardIn, all: true})
		default:
			add(condKey{path: pi, kind: guardIs, all: true})
			add(condKey{path: pi, kind: guardIn, all: true})
			add(condKey{path: pi, kind: guardHas, all: true})
		}
	}
	return n
}

// mayHold reports whether the guard of the policy at position i may be
// satisfied or raise an error (after begin for this request and layer).
func (ci *condIndex) mayHold(i int32, g *guard, sc *scratch) bool {
	if ci.guardPath == nil || g == nil {
		return true
	}
	st := ci.state(sc, ci.guardPath[i])
	if !st.ok {
		return true
	}
	switch g.kind {
	case guardEq:
		return g.lit.Equal(st.v)
	case guardIs:
		u, ok := st.v.(types.EntityUID)
		return !ok || types.String(u.Type) == g.name
	case guardIn:
		v, ok := st.v.(types.EntityUID)
		if !ok {
			return true
		}
		anc := st.ancestors(sc.ents, v)
		for _, u := range g.ents {
			if anc.has(u) {
				return true
			}
		}
		return false
	case guardHas:
		switch v := st.v.(type) {
		case types.Record:
			_, ok := v.Get(g.name)
			return ok
		case types.EntityUID:
			// cedar's hasEval: a missing entity has no attributes.
			e, ok := sc.ents.Get(v)
			if !ok {
				return false
			}
			_, ok = e.Attributes.Get(g.name)
			return ok
		}
		return true
	}
	return true
}
