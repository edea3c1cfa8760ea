package engine

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// TestAuthorizeMatchesCedar is the equivalence proof of the index: on random
// entity graphs, policy sets and requests, Snapshot.Authorize must give the
// same decision, determining policies and errors as cedar.Authorize over the
// whole policy set with the same (merged) entities.
func TestAuthorizeMatchesCedar(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	sets, reqsPerSet := 3000, 12
	if testing.Short() {
		sets = 500
	}
	var stats propStats
	for i := range sets {
		caseSeed := seed + uint64(i)
		if msg := checkRandomCase(caseSeed, reqsPerSet, &stats); msg != "" {
			t.Fatalf("seed %d (case seed %d): %s", seed, caseSeed, msg)
		}
	}
	t.Logf("seed %d: %d requests; allow %d, with errors %d, forbids determining %d; evaluated %d of %d policies, %d skipped by the condition index",
		seed, stats.requests, stats.allow, stats.withErrors, stats.forbidWins, stats.evaluated, stats.total, stats.guardSkipped)
	// Guard against a generator that never exercises the interesting
	// outcomes (which would make the comparison vacuous).
	if stats.allow == 0 || stats.withErrors == 0 || stats.forbidWins == 0 || stats.evaluated >= stats.total || stats.guardSkipped == 0 {
		t.Fatalf("seed %d: generator coverage too low: %+v", seed, stats)
	}
}

var propSeed = flag.Uint64("engine.seed", 0, "seed for TestAuthorizeMatchesCedar (0: time-based); a failure prints it")

type propStats struct {
	requests, allow, withErrors, forbidWins int
	evaluated, total                        int
	guardSkipped                            int // head held, condition index skipped
}

// permitAll turns every policy into a permit, so cedar's reasons list every
// satisfied policy (not only the forbids when one is satisfied).
func permitAll(ps cedar.PolicyMap) cedar.PolicyMap {
	out := make(cedar.PolicyMap, len(ps))
	for id, p := range ps {
		x := *(*xast.Policy)(p.AST())
		x.Effect = xast.EffectPermit
		out[id] = cedar.NewPolicyFromAST((*ast.Policy)(&x))
	}
	return out
}

var (
	propTypes   = []string{"User", "Group", "Doc", "Folder"}
	propIDs     = []string{"a", "b", "c"}
	propActions = []string{"read", "write", "del", "grpA", "grpB"}
	chainLen    = 40
)

func uid(typ, id string) types.EntityUID {
	return types.NewEntityUID(types.EntityType(typ), types.String(id))
}

func uidText(u types.EntityUID) string {
	return fmt.Sprintf("%s::%q", u.Type, string(u.ID))
}

type gen struct {
	r        *rand.Rand
	universe []types.EntityUID // non-action entities a scope may name
	actions  []types.EntityUID
}

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, t := range propTypes {
		for _, id := range propIDs {
			g.universe = append(g.universe, uid(t, id))
		}
	}
	for _, a := range propActions {
		g.actions = append(g.actions, uid("Action", a))
	}
	return g
}

func (g *gen) pick(us []types.EntityUID) types.EntityUID { return us[g.r.IntN(len(us))] }

// entityUID is a principal/resource UID: usually from the universe,
// sometimes from the deep chain, sometimes absent from every entity set.
func (g *gen) entityUID() types.EntityUID {
	switch n := g.r.IntN(20); {
	case n < 2:
		return uid("Chain", fmt.Sprint(g.r.IntN(chainLen)))
	case n < 3:
		return uid(propTypes[g.r.IntN(len(propTypes))], "absent")
	default:
		return g.pick(g.universe)
	}
}

func (g *gen) attrs() types.Record {
	m := types.RecordMap{}
	switch g.r.IntN(4) {
	case 0, 1:
		m["level"] = types.Long(g.r.IntN(7))
	case 2:
		m["level"] = types.String("high") // type error on `>`
	}
	if g.r.IntN(2) == 0 {
		m["owner"] = g.pick(g.universe)
	}
	if v := g.tenant(); v != nil {
		m["tenant"] = v
	}
	return types.NewRecord(m)
}

// tenant is a value for the attributes the condition guards compare:
// usually one of the literals, sometimes of another type (== is false,
// in/is/has on it are errors), sometimes absent (access is an error).
func (g *gen) tenant() types.Value {
	switch g.r.IntN(8) {
	case 0, 1:
		return types.String("t1")
	case 2, 3:
		return types.String("t2")
	case 4:
		return types.Long(1)
	case 5:
		return g.pick(g.universe)
	case 6:
		return types.NewRecord(types.RecordMap{"k": types.Long(int64(g.r.IntN(2)))})
	}
	return nil
}

func (g *gen) parents(from []types.EntityUID, max int) types.EntityUIDSet {
	n := g.r.IntN(max + 1)
	ps := make([]types.EntityUID, 0, n)
	for range n {
		ps = append(ps, g.pick(from))
	}
	return types.NewEntityUIDSet(ps...)
}

func (g *gen) entity(u types.EntityUID) types.Entity {
	return types.Entity{UID: u, Parents: g.parents(g.universe, 3), Attributes: g.attrs()}
}

func (g *gen) store() types.EntityMap {
	em := types.EntityMap{}
	for _, u := range g.universe {
		if g.r.IntN(10) < 7 {
			em[u] = g.entity(u)
		}
	}
	if g.r.IntN(3) == 0 { // a guaranteed cycle
		a, b := uid("Group", "a"), uid("Group", "b")
		em[a] = types.Entity{UID: a, Parents: types.NewEntityUIDSet(b), Attributes: g.attrs()}
		em[b] = types.Entity{UID: b, Parents: types.NewEntityUIDSet(a), Attributes: g.attrs()}
	}
	if g.r.IntN(4) == 0 { // a deep chain ending in the universe
		for i := range chainLen {
			u := uid("Chain", fmt.Sprint(i))
			p := uid("Chain", fmt.Sprint(i+1))
			if i == chainLen-1 {
				p = g.pick(g.universe)
			}
			em[u] = types.Entity{UID: u, Parents: types.NewEntityUIDSet(p), Attributes: g.attrs()}
		}
	}
	groups := g.actions[3:]
	for _, a := range g.actions {
		if g.r.IntN(5) == 0 {
			continue // action missing from the entity set
		}
		em[a] = types.Entity{UID: a, Parents: g.parents(groups, 2)}
	}
	return em
}

func (g *gen) scope(v string, action bool) string {
	if action {
		switch g.r.IntN(5) {
		case 0:
			return v
		case 1:
			return v + " == " + uidText(g.pick(g.actions))
		case 2:
			return v + " in " + uidText(g.pick(g.actions))
		case 3:
			return v + " in [" + uidText(g.pick(g.actions)) + "]"
		default:
			n := 2 + g.r.IntN(2)
			parts := make([]string, n)
			for i := range parts {
				parts[i] = uidText(g.pick(g.actions))
			}
			return v + " in [" + strings.Join(parts, ", ") + "]"
		}
	}
	target := func() types.EntityUID {
		if g.r.IntN(10) == 0 {
			return uid("Chain", fmt.Sprint(g.r.IntN(chainLen)))
		}
		return g.pick(g.universe)
	}
	typ := func() string {
		if g.r.IntN(10) == 0 {
			return "Chain"
		}
		return propTypes[g.r.IntN(len(propTypes))]
	}
	switch g.r.IntN(6) {
	case 0, 1:
		return v
	case 2:
		return v + " == " + uidText(target())
	case 3:
		return v + " in " + uidText(target())
	case 4:
		return v + " is " + typ()
	default:
		return v + " is " + typ() + " in " + uidText(target())
	}
}

var propConditions = []string{
	`when { principal.level > 3 }`,
	`when { principal has level && principal.level > 1 }`,
	`unless { resource.owner == principal }`,
	`when { principal in resource.owner }`,
	`when { context.n > 2 }`,
	`unless { principal.level < 2 }`,
	`when { true }`,
	`unless { false }`,
	`when { resource.level + 1 > principal.level }`,
	`when { action in [Action::"grpA"] }`,
	// Guards the condition index keys on (cond.go), alone, first of a
	// conjunction, behind an unindexable first condition, and in shapes
	// whose evaluation errors (missing attribute, wrong type).
	`when { principal.tenant == "t1" }`,
	`when { context.tenant == "t2" && principal.level > 1 }`,
	`when { "t1" == resource.tenant }`,
	`when { principal.tenant == 1 }`,
	`when { resource.owner == User::"a" }`,
	`when { context.n == 2 }`,
	`when { principal.level == 3 && resource.tenant == "t2" }`,
	`when { principal.tenant.k == 1 }`,
	`when { resource.owner.tenant == "t1" }`,
	`when { context.tenant in Group::"a" }`,
	`when { principal.tenant in [Group::"b", Folder::"a"] }`,
	`when { resource.owner in [Group::"a", User::"b"] }`,
	`when { principal.owner in Group::"c" && context.n > 1 }`,
	`when { principal has tenant && principal.tenant == "t2" }`,
	`when { context has tenant }`,
	`when { resource.owner has tenant }`,
	`when { principal.tenant has k }`,
	`when { principal is User }`,
	`when { resource.owner is Group }`,
	`when { context.tenant is User }`,
	`when { principal.tenant == "t1" || context.n == 1 }`,
	`unless { principal.tenant == "t1" }`,
	`when { context.tenant == "t1" } when { principal.tenant == "t2" }`,
}

func (g *gen) policyText() string {
	var b strings.Builder
	if g.r.IntN(3) == 0 {
		b.WriteString("forbid(")
	} else {
		b.WriteString("permit(")
	}
	b.WriteString(g.scope("principal", false) + ", ")
	b.WriteString(g.scope("action", true) + ", ")
	b.WriteString(g.scope("resource", false) + ")")
	for range g.r.IntN(3) {
		b.WriteString(" " + propConditions[g.r.IntN(len(propConditions))])
	}
	b.WriteString(";\n")
	return b.String()
}

func (g *gen) request() (cedar.Request, types.EntityMap) {
	req := cedar.Request{
		Principal: g.entityUID(),
		Action:    g.pick(g.actions),
		Resource:  g.entityUID(),
		Context:   types.Record{},
	}
	if g.r.IntN(8) == 0 {
		req.Action = uid("Action", "absent")
	}
	if g.r.IntN(2) == 0 {
		m := types.RecordMap{"n": types.Long(g.r.IntN(5))}
		if v := g.tenant(); v != nil {
			m["tenant"] = v
		}
		req.Context = types.NewRecord(m)
	}
	if g.r.IntN(5) < 2 {
		return req, nil
	}
	overlay := types.EntityMap{}
	for range 1 + g.r.IntN(3) {
		var u types.EntityUID
		switch g.r.IntN(4) {
		case 0:
			u = req.Principal
		case 1:
			u = req.Resource
		case 2:
			u = g.pick(g.actions) // overriding an action group edge
			overlay[u] = types.Entity{UID: u, Parents: g.parents(g.actions[3:], 2)}
			continue
		default:
			u = g.pick(g.universe)
		}
		overlay[u] = g.entity(u)
	}
	return req, overlay
}

// checkRandomCase runs one random store against n random requests and
// returns a description of the first mismatch, or "".
func checkRandomCase(seed uint64, n int, st *propStats) string {
	g := newGen(seed)
	stored := g.store()
	var text strings.Builder
	np := 1 + g.r.IntN(25)
	for range np {
		text.WriteString(g.policyText())
	}
	list, err := cedar.NewPolicyListFromBytes("gen.cedar", []byte(text.String()))
	if err != nil {
		return fmt.Sprintf("parse generated policies: %v\n%s", err, text.String())
	}
	full := cedar.PolicyMap{}
	scopeOnly := cedar.PolicyMap{} // same heads, no conditions, all permit
	in := Input{Revision: int64(seed), Entities: stored}
	for i, p := range list {
		id := fmt.Sprintf("p%02d", i)
		full[cedar.PolicyID(id)] = p
		head := *(*xast.Policy)(p.AST())
		head.Effect, head.Conditions = xast.EffectPermit, nil
		scopeOnly[cedar.PolicyID(id)] = cedar.NewPolicyFromAST((*ast.Policy)(&head))
		if x := (*xast.Policy)(p.AST()); len(x.Conditions) == 0 && g.r.IntN(2) == 0 {
			// Half the head-only policies come as heads, compiled on first evaluation.
			in.Policies = append(in.Policies, Policy{ID: id, Head: x})
		} else {
			in.Policies = append(in.Policies, Policy{ID: id, Policy: p})
		}
	}
	g.r.Shuffle(len(in.Policies), func(i, j int) { in.Policies[i], in.Policies[j] = in.Policies[j], in.Policies[i] })
	snap, err := Build(in)
	if err != nil {
		return fmt.Sprintf("build: %v", err)
	}
	for range n {
		req, overlay := g.request()
		var ov types.EntityGetter
		if overlay != nil {
			ov = overlay
		}
		got := snap.Authorize(req, ov)
		// The baseline sees a plain map in which overlay entities
		// replaced stored ones, independent of the engine's Merge.
		all := stored.Clone()
		for u, e := range overlay {
			all[u] = e
		}
		dec, diag := cedar.Authorize(full, all, req)
		want := avpResult(dec, diag)

		// The index must select every policy cedar finds satisfied or
		// erroneous (completeness) and only policies whose head holds
		// (precision of the scope index).
		cands := snap.candidates(req, ov)
		_, heads := cedar.Authorize(scopeOnly, all, req)
		headsHold := avpResult(cedar.Allow, heads).DeterminingPolicies
		for _, c := range cands {
			if _, ok := slices.BinarySearch(headsHold, c); !ok {
				return fmt.Sprintf("candidate %s whose head does not hold\nrequest: %+v\noverlay: %v\npolicies:\n%s\ngot:  %v\nheads: %v",
					c, req, overlay, text.String(), cands, headsHold)
			}
		}
		decisive := slices.Clone(want.DeterminingPolicies)
		for _, e := range want.Errors {
			decisive = append(decisive, e.PolicyID)
		}
		_, allReasons := cedar.Authorize(permitAll(full), all, req)
		for _, r := range allReasons.Reasons {
			decisive = append(decisive, string(r.PolicyID))
		}
		for _, id := range decisive {
			if _, ok := slices.BinarySearch(cands, id); !ok {
				return fmt.Sprintf("policy %s satisfied or erroneous but not a candidate\nrequest: %+v\noverlay: %v\npolicies:\n%s\ngot:  %v",
					id, req, overlay, text.String(), cands)
			}
		}
		st.guardSkipped += len(headsHold) - len(cands)

		st.requests++
		st.total += np
		st.evaluated += len(cands)
		if want.Decision == cedar.Allow {
			st.allow++
		}
		if len(want.Errors) > 0 {
			st.withErrors++
		}
		if len(want.DeterminingPolicies) > 0 && !bool(full[cedar.PolicyID(want.DeterminingPolicies[0])].Effect()) {
			st.forbidWins++
		}

		if got.Decision != want.Decision ||
			!slices.Equal(got.DeterminingPolicies, want.DeterminingPolicies) ||
			!slices.Equal(got.Errors, want.Errors) {
			return fmt.Sprintf("mismatch\nrequest: %+v\noverlay: %v\npolicies:\n%s\ngot:  %+v\nwant: %+v",
				req, overlay, text.String(), got, want)
		}
	}
	return ""
}

// avpResult derives the expected result from cedar's own diagnostic,
// independently of toResult.
func avpResult(dec cedar.Decision, diag cedar.Diagnostic) Result {
	r := Result{Decision: dec}
	for _, x := range diag.Reasons {
		r.DeterminingPolicies = append(r.DeterminingPolicies, string(x.PolicyID))
	}
	slices.Sort(r.DeterminingPolicies)
	for _, x := range diag.Errors {
		r.Errors = append(r.Errors, PolicyError{PolicyID: string(x.PolicyID), Message: x.Message})
	}
	slices.SortFunc(r.Errors, func(a, b PolicyError) int {
		return strings.Compare(a.PolicyID+"\x00"+a.Message, b.PolicyID+"\x00"+b.Message)
	})
	return r
}

// FuzzAuthorizeMatchesCedar lets the fuzzer drive the generator's seed:
// go test -fuzz FuzzAuthorizeMatchesCedar ./internal/engine
func FuzzAuthorizeMatchesCedar(f *testing.F) {
	for _, s := range []uint64{0, 1, 42, 1 << 40, 0xdeadbeef} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		var st propStats
		if msg := checkRandomCase(seed, 4, &st); msg != "" {
			t.Fatalf("case seed %d: %s", seed, msg)
		}
	})
}

// TestApplyMatchesBuild is the equivalence proof of incremental snapshots:
// a snapshot moved through random add, update and delete sequences (and
// entity replacements and compactions) with Apply must decide every request
// exactly as one built from scratch from the same policies and entities, and
// both as cedar.Authorize over the whole set.
func TestApplyMatchesBuild(t *testing.T) {
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	stores := 400
	if testing.Short() {
		stores = 80
	}
	var st propStats
	for i := range stores {
		caseSeed := seed + uint64(i)
		if msg := checkRandomChanges(caseSeed, 20, 6, &st); msg != "" {
			t.Fatalf("seed %d (case seed %d): %s", seed, caseSeed, msg)
		}
	}
	t.Logf("seed %d: %d requests; allow %d, with errors %d, forbids determining %d",
		seed, st.requests, st.allow, st.withErrors, st.forbidWins)
	if st.allow == 0 || st.withErrors == 0 || st.forbidWins == 0 {
		t.Fatalf("seed %d: generator coverage too low: %+v", seed, st)
	}
}

// checkRandomChanges builds a random store, applies steps random changes to
// it and after each compares n random requests; it returns the first
// mismatch, or "".
func checkRandomChanges(seed uint64, steps, n int, st *propStats) string {
	g := newGen(seed)
	parse := func() *cedar.Policy {
		text := g.policyText()
		list, err := cedar.NewPolicyListFromBytes("gen.cedar", []byte(text))
		if err != nil || len(list) != 1 {
			panic(fmt.Sprintf("parse generated policy %q: %v", text, err))
		}
		return list[0]
	}
	// current is the store as it should be after every change so far.
	current := map[string]*cedar.Policy{}
	nextID := 0
	newID := func() string { nextID++; return fmt.Sprintf("p%03d", nextID) }
	stored := g.store()
	var in Input
	for range g.r.IntN(20) {
		id := newID()
		current[id] = parse()
		in.Policies = append(in.Policies, Policy{ID: id, Policy: current[id]})
	}
	in.Entities = stored
	snap, err := Build(in)
	if err != nil {
		return fmt.Sprintf("build: %v", err)
	}
	var log strings.Builder
	for step := range steps {
		c := Change{Revision: int64(step + 2)}
		ids := slices.Sorted(maps.Keys(current))
		for range 1 + g.r.IntN(4) {
			switch k := g.r.IntN(10); {
			case k < 4 || len(ids) == 0: // add
				id := newID()
				c.Put = append(c.Put, Policy{ID: id, Policy: parse()})
			case k < 7: // update (a policy added in this change is never updated again in it)
				id := ids[g.r.IntN(len(ids))]
				if slices.ContainsFunc(c.Put, func(p Policy) bool { return p.ID == id }) {
					continue
				}
				c.Put = append(c.Put, Policy{ID: id, Policy: parse()})
			case k < 9: // delete, possibly of something added and deleted before
				c.Delete = append(c.Delete, ids[g.r.IntN(len(ids))])
			default: // delete of an ID the store never had
				c.Delete = append(c.Delete, "never")
			}
		}
		// Deletes apply first: an ID both deleted and put ends up put.
		for _, id := range c.Delete {
			delete(current, id)
		}
		for _, p := range c.Put {
			current[p.ID] = p.Policy
		}
		if g.r.IntN(5) == 0 {
			stored = g.store()
			c.Entities = stored
		}
		fmt.Fprintf(&log, "step %d: delete %v, put %d %v, new entities %v\n", step, c.Delete, len(c.Put),
			slices.Collect(func(yield func(string) bool) {
				for _, p := range c.Put {
					if !yield(p.ID) {
						return
					}
				}
			}), c.Entities != nil)
		if snap, err = snap.Apply(c); err != nil {
			return fmt.Sprintf("apply: %v\n%s", err, log.String())
		}
		if g.r.IntN(6) == 0 {
			if snap, err = snap.Compact(); err != nil {
				return fmt.Sprintf("compact: %v\n%s", err, log.String())
			}
			log.WriteString("compacted\n")
		}

		fresh := Input{Revision: c.Revision, Entities: stored}
		full := cedar.PolicyMap{}
		for id, p := range current {
			fresh.Policies = append(fresh.Policies, Policy{ID: id, Policy: p})
			full[cedar.PolicyID(id)] = p
		}
		scratchSnap, err := Build(fresh)
		if err != nil {
			return fmt.Sprintf("build: %v", err)
		}
		if snap.Len() != len(current) || snap.Revision() != c.Revision {
			return fmt.Sprintf("len %d revision %d, want %d and %d\n%s", snap.Len(), snap.Revision(), len(current), c.Revision, log.String())
		}
		for id, p := range current {
			if got, ok := snap.Policy(id); !ok || got != p {
				return fmt.Sprintf("Policy(%q) = %v, %v; want the current policy\n%s", id, got, ok, log.String())
			}
		}
		if _, ok := snap.Policy("never"); ok {
			return "Policy(never) found"
		}
		for range n {
			req, overlay := g.request()
			var ov types.EntityGetter
			if overlay != nil {
				ov = overlay
			}
			got := snap.Authorize(req, ov)
			want := scratchSnap.Authorize(req, ov)
			all := stored.Clone()
			for u, e := range overlay {
				all[u] = e
			}
			dec, diag := cedar.Authorize(full, all, req)
			cedarWant := avpResult(dec, diag)
			if !slices.Equal(snap.candidates(req, ov), scratchSnap.candidates(req, ov)) {
				return fmt.Sprintf("candidates mismatch\nrequest: %+v\n%s\ngot:  %v\nwant: %v", req, log.String(),
					snap.candidates(req, ov), scratchSnap.candidates(req, ov))
			}
			for _, w := range []Result{want, cedarWant} {
				if got.Decision != w.Decision || !slices.Equal(got.DeterminingPolicies, w.DeterminingPolicies) ||
					!slices.Equal(got.Errors, w.Errors) {
					return fmt.Sprintf("mismatch\nrequest: %+v\noverlay: %v\n%s\ngot:  %+v\nwant: %+v", req, overlay, log.String(), got, w)
				}
			}
			st.requests++
			if got.Decision == cedar.Allow {
				st.allow++
			}
			if len(got.Errors) > 0 {
				st.withErrors++
			}
			if len(got.DeterminingPolicies) > 0 && !bool(full[cedar.PolicyID(got.DeterminingPolicies[0])].Effect()) {
				st.forbidWins++
			}
		}
	}
	return ""
}

// FuzzApplyMatchesBuild lets the fuzzer drive the change generator's seed:
// go test -fuzz FuzzApplyMatchesBuild ./internal/engine
func FuzzApplyMatchesBuild(f *testing.F) {
	for _, s := range []uint64{0, 7, 1 << 33} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) {
		var st propStats
		if msg := checkRandomChanges(seed, 8, 3, &st); msg != "" {
			t.Fatalf("case seed %d: %s", seed, msg)
		}
	})
}
