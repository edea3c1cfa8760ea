package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// Explain says, policy by policy, why each policy of a snapshot did or did not apply to a
// request: whether its principal, action and resource scopes match (and if not, why not),
// what each when/unless clause evaluated to, and the part the policy played in the decision.
//
// The roles are not copied from Authorize's answer: every policy whose scope holds is
// evaluated alone with cedar-go (cedar.Authorize over that one policy), and the decision and
// determining policies are derived from those evaluations the way Cedar combines them
// (a satisfied forbid wins, else a satisfied permit allows; an erroring policy is skipped).
// Explanation.Engine carries Authorize's own answer for the same request, and Agrees says
// whether the two coincide; explain_test.go checks that they always do on random stores.
//
// Only the policies whose scope holds can be satisfied or fail, so the work is in proportion
// to those, plus the page of policies listed (ExplainOptions), never to the whole store.

// Which policies an explanation lists.
const (
	// ExplainCandidates lists the policies whose principal, action and resource scopes all
	// hold: the ones Cedar evaluates the conditions of.
	ExplainCandidates = "candidates"
	// ExplainAction lists the policies whose action scope holds, whatever their principal
	// and resource scopes: the usual place to look for "why did my policy not apply".
	ExplainAction = "action"
	// ExplainAll lists every policy of the store.
	ExplainAll = "all"
)

// ExplainOptions select the page of policies an explanation lists.
type ExplainOptions struct {
	// Filter is ExplainCandidates (the default), ExplainAction or ExplainAll.
	Filter string
	// After lists only policies whose ID sorts after it (the previous page's Next).
	After string
	// Limit bounds the policies listed (default 50).
	Limit int
}

// Role is the part a policy played in the decision.
type Role string

const (
	RoleDeterminingForbid Role = "determining forbid"
	RoleDeterminingPermit Role = "determining permit"
	// RoleOverridden is a satisfied permit under a satisfied forbid.
	RoleOverridden Role = "overridden"
	// RoleError is a policy whose evaluation failed: Cedar skips it.
	RoleError         Role = "error"
	RoleNotApplicable Role = "not applicable"
)

// ScopeMatch is one scope constraint of a policy checked against the request.
type ScopeMatch struct {
	Matched bool
	// Reason says why, e.g. `principal User::"alice" is not in Group::"admins"`.
	Reason string
}

// Condition outcomes.
const (
	CondTrue         = "true"
	CondFalse        = "false"
	CondError        = "error"
	CondNotEvaluated = "not evaluated"
)

// ConditionResult is one when or unless clause of a policy.
type ConditionResult struct {
	Kind string // when or unless
	// Text is the clause in Cedar syntax.
	Text string
	// Outcome is the value of the clause's expression (CondTrue, CondFalse), CondError, or
	// CondNotEvaluated when an earlier clause (or the scope) already decided the policy.
	Outcome string
	// Passes is whether the clause lets the policy apply: a when clause that is true, an
	// unless clause that is false.
	Passes bool
	Error  string
}

// PolicyExplanation is one policy's part in a decision.
type PolicyExplanation struct {
	ID     string
	Effect string // permit or forbid
	// Principal, Action and Resource are the scope checks.
	Principal, Action, Resource ScopeMatch
	Conditions                  []ConditionResult
	// Satisfied is true when the scope and every clause hold.
	Satisfied bool
	// Error is the evaluation error, when the policy failed (Cedar then skips it).
	Error string
	Role  Role
	// Reason is one sentence on the role.
	Reason string
	// OverriddenBy lists the determining forbids of an overridden permit.
	OverriddenBy []string
}

// Explanation is a request's decision explained policy by policy.
type Explanation struct {
	// Decision, Determining and Errors are derived from the per-policy evaluations.
	Decision    cedar.Decision
	Determining []string
	Errors      []PolicyError
	// Engine is Authorize's answer for the same request; Agrees reports whether it equals
	// the derived one (decision, determining policies and errors).
	Engine Result
	Agrees bool
	// Candidates is the number of policies whose scope holds.
	Candidates int
	// Filter is the filter applied; Total the number of policies it selects; Policies the
	// page of them after ExplainOptions.After, and Next the After of the next page ("" on
	// the last).
	Filter   string
	Total    int
	Offset   int // the position of Policies[0] among the Total
	Policies []PolicyExplanation
	Next     string
}

// defaultExplainLimit is the page size when ExplainOptions.Limit is not set.
const defaultExplainLimit = 50

// Explain explains req against the snapshot, with overlay entities as Authorize takes them.
func (s *Snapshot) Explain(req cedar.Request, overlay types.EntityGetter, opt ExplainOptions) (Explanation, error) {
	filter := opt.Filter
	if filter == "" {
		filter = ExplainCandidates
	}
	if filter != ExplainCandidates && filter != ExplainAction && filter != ExplainAll {
		return Explanation{}, fmt.Errorf("explain: unknown filter %q (want %s, %s or %s)", filter, ExplainCandidates, ExplainAction, ExplainAll)
	}
	limit := opt.Limit
	if limit <= 0 {
		limit = defaultExplainLimit
	}
	ents := Merge(overlay, s.entities)
	var x explainer
	x.ents, x.req = ents, req
	ancestors(ents, req.Principal, &x.pAnc)
	ancestors(ents, req.Action, &x.aAnc)
	ancestors(ents, req.Resource, &x.rAnc)

	// Every policy whose scope holds, evaluated alone.
	cands := s.selectScope(&x, filterCandidates)
	x.outcome = make(map[cedar.PolicyID]single, len(cands))
	var forbids, permits []string
	out := Explanation{Filter: filter, Candidates: len(cands)}
	for _, e := range cands {
		o := evalAlone(e.id, e.policy.get(), ents, req)
		x.outcome[e.id] = o
		switch {
		case o.err != "":
			out.Errors = append(out.Errors, PolicyError{PolicyID: string(e.id), Message: o.err})
		case o.satisfied && e.head.Effect == xast.EffectForbid:
			forbids = append(forbids, string(e.id))
		case o.satisfied:
			permits = append(permits, string(e.id))
		}
	}
	out.Decision = cedar.Deny
	switch {
	case len(forbids) > 0:
		out.Determining = forbids
	case len(permits) > 0:
		out.Decision, out.Determining = cedar.Allow, permits
	}
	slices.SortFunc(out.Errors, comparePolicyErrors)
	x.forbids = forbids

	out.Engine = s.Authorize(req, overlay)
	out.Agrees = out.Engine.Decision == out.Decision && slices.Equal(out.Engine.DeterminingPolicies, out.Determining) &&
		slices.Equal(out.Engine.Errors, out.Errors)

	var list []*entry
	switch filter {
	case ExplainCandidates:
		list = cands
	case ExplainAction:
		list = s.selectScope(&x, filterAction)
	default:
		list = s.sortedEntries()
	}
	out.Total = len(list)
	start := 0
	if opt.After != "" {
		start, _ = slices.BinarySearchFunc(list, cedar.PolicyID(opt.After), func(e *entry, id cedar.PolicyID) int {
			return cmp.Compare(e.id, id)
		})
		for start < len(list) && list[start].id == cedar.PolicyID(opt.After) {
			start++
		}
	}
	end := min(start+limit, len(list))
	out.Offset = start
	for _, e := range list[start:end] {
		out.Policies = append(out.Policies, x.explain(e))
	}
	if end < len(list) {
		out.Next = string(list[end-1].id)
	}
	return out, nil
}

// single is one policy evaluated alone.
type single struct {
	satisfied bool
	err       string
}

// evalAlone evaluates one policy with cedar-go's own authorizer: satisfied, failed (with
// cedar's message), or neither.
func evalAlone(id cedar.PolicyID, p *cedar.Policy, ents types.EntityGetter, req cedar.Request) single {
	_, diag := cedar.Authorize(cedar.PolicyMap{id: p}, ents, req)
	if len(diag.Errors) > 0 {
		return single{err: diag.Errors[0].Message}
	}
	return single{satisfied: len(diag.Reasons) > 0}
}

type explainer struct {
	ents             types.EntityGetter
	req              cedar.Request
	pAnc, aAnc, rAnc uidSet
	outcome          map[cedar.PolicyID]single
	forbids          []string // the satisfied forbids
}

type scopeFilter int

const (
	filterCandidates scopeFilter = iota // all three scopes hold
	filterAction                        // the action scope holds
)

// selectScope returns, in ID order, the visible policies whose scopes hold as f asks. Like
// selectCandidates it visits only the buckets of one dimension (the most selective one for
// candidates, the action dimension for filterAction), but it applies no condition index:
// a policy whose first condition is false is listed, with that reason.
func (s *Snapshot) selectScope(x *explainer, f scopeFilter) []*entry {
	var out []*entry
	for _, l := range []*layer{s.base, s.delta} {
		if l == nil {
			continue
		}
		var hidden bitset
		if l == s.base {
			hidden = s.hidden
		}
		d, uid, anc := &l.action, x.req.Action, &x.aAnc
		if f == filterCandidates {
			if n := l.principal.count(x.req.Principal, &x.pAnc); n < d.count(uid, anc) {
				d, uid, anc = &l.principal, x.req.Principal, &x.pAnc
			}
			if n := l.resource.count(x.req.Resource, &x.rAnc); n < d.count(uid, anc) {
				d, uid, anc = &l.resource, x.req.Resource, &x.rAnc
			}
		}
		idx := make([]int32, 0, d.count(uid, anc))
		visit := func(bucket []int32) {
			for _, i := range bucket {
				e := &l.policies[i]
				if hidden.has(int(i)) || !scopeHolds(e.head.Action, x.req.Action, &x.aAnc) {
					continue
				}
				if f == filterCandidates && (!scopeHolds(e.head.Principal, x.req.Principal, &x.pAnc) ||
					!scopeHolds(e.head.Resource, x.req.Resource, &x.rAnc)) {
					continue
				}
				idx = append(idx, i)
			}
		}
		visit(d.any)
		visit(d.byType.get(uid.Type))
		for _, a := range anc.list {
			visit(d.byEntity.get(a))
		}
		slices.Sort(idx)
		for _, i := range slices.Compact(idx) {
			out = append(out, &l.policies[i])
		}
	}
	if s.delta != nil {
		// Each layer's part is in ID order, and they share no visible ID: one sort merges them.
		slices.SortFunc(out, func(a, b *entry) int { return cmp.Compare(a.id, b.id) })
	}
	return out
}

// sortedEntries returns every visible policy in ID order.
func (s *Snapshot) sortedEntries() []*entry {
	out := make([]*entry, 0, s.Len())
	var d []entry
	if s.delta != nil {
		d = s.delta.policies
	}
	j := 0
	for i := range s.base.policies {
		if s.hidden.has(i) {
			continue
		}
		for j < len(d) && d[j].id < s.base.policies[i].id {
			out = append(out, &d[j])
			j++
		}
		out = append(out, &s.base.policies[i])
	}
	for ; j < len(d); j++ {
		out = append(out, &d[j])
	}
	return out
}

// explain builds one policy's explanation.
func (x *explainer) explain(e *entry) PolicyExplanation {
	h := e.head
	pe := PolicyExplanation{ID: string(e.id), Effect: "permit"}
	if h.Effect == xast.EffectForbid {
		pe.Effect = "forbid"
	}
	pe.Principal = x.scope("principal", h.Principal, x.req.Principal, &x.pAnc)
	pe.Action = x.scope("action", h.Action, x.req.Action, &x.aAnc)
	pe.Resource = x.scope("resource", h.Resource, x.req.Resource, &x.rAnc)
	scopeOK := pe.Principal.Matched && pe.Action.Matched && pe.Resource.Matched
	decided := !scopeOK // a later clause is not evaluated once one fails
	p := e.policy.get()
	full := (*xast.Policy)(p.AST())
	for i, c := range full.Conditions {
		cr := ConditionResult{Kind: "when", Text: conditionText(c), Outcome: CondNotEvaluated}
		if c.Condition == xast.ConditionUnless {
			cr.Kind = "unless"
		}
		if !decided {
			o := evalAlone(cedar.PolicyID(fmt.Sprintf("%s#%d", e.id, i)), conditionPolicy(c), x.ents, x.req)
			switch {
			case o.err != "":
				cr.Outcome, cr.Error, decided = CondError, o.err, true
			case o.satisfied:
				cr.Passes = true
			default:
				decided = true
			}
			if cr.Outcome != CondError {
				// The clause's own value: a when clause passes when true, an unless when false.
				cr.Outcome = CondFalse
				if cr.Passes == (cr.Kind == "when") {
					cr.Outcome = CondTrue
				}
			}
		}
		pe.Conditions = append(pe.Conditions, cr)
	}
	o := x.outcome[e.id] // a policy whose scope does not hold was not evaluated: neither
	pe.Satisfied, pe.Error = o.satisfied, o.err
	switch {
	case pe.Error != "":
		pe.Role, pe.Reason = RoleError, "Its evaluation failed, so Cedar skips it: "+pe.Error
	case pe.Satisfied && pe.Effect == "forbid":
		pe.Role, pe.Reason = RoleDeterminingForbid, "Its scope and conditions hold: it forbids the request, whatever any permit says."
	case pe.Satisfied && len(x.forbids) > 0:
		pe.Role, pe.OverriddenBy = RoleOverridden, x.forbids
		pe.Reason = "Its scope and conditions hold, but forbid " + strings.Join(x.forbids, ", ") + " overrides it."
	case pe.Satisfied:
		pe.Role, pe.Reason = RoleDeterminingPermit, "Its scope and conditions hold and no forbid policy applies: it permits the request."
	default:
		pe.Role, pe.Reason = RoleNotApplicable, notApplicable(pe)
	}
	return pe
}

// notApplicable says why a policy that neither holds nor fails does not apply.
func notApplicable(pe PolicyExplanation) string {
	for _, m := range []ScopeMatch{pe.Principal, pe.Action, pe.Resource} {
		if !m.Matched {
			return "Its scope does not match: " + m.Reason + "."
		}
	}
	for i, c := range pe.Conditions {
		if c.Outcome != CondNotEvaluated && !c.Passes {
			return fmt.Sprintf("Its %s clause (#%d) is %s.", c.Kind, i+1, c.Outcome)
		}
	}
	return "It does not hold."
}

// conditionPolicy is a permit with an open scope and the one clause c: cedar-go evaluates
// it exactly as that clause inside the policy (folded and compiled the same way).
func conditionPolicy(c xast.ConditionType) *cedar.Policy {
	p := xast.Permit()
	p.Conditions = []xast.ConditionType{c}
	return cedar.NewPolicyFromAST((*ast.Policy)(p))
}

// conditionText is the clause in Cedar syntax, e.g. `when { principal.level > 3 }`.
func conditionText(c xast.ConditionType) string {
	p := xast.Permit()
	p.Conditions = []xast.ConditionType{c}
	t := string(cedar.NewPolicyFromAST((*ast.Policy)(p)).MarshalCedar())
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		t = t[i+1:]
	}
	return strings.TrimSuffix(t, ";")
}

// scope checks one scope constraint as scopeHolds does, saying why.
func (x *explainer) scope(v string, n xast.IsScopeNode, uid types.EntityUID, anc *uidSet) ScopeMatch {
	who := v + " " + uid.String()
	in := func(target types.EntityUID) (bool, string) {
		if !anc.has(target) {
			why := who + " is not in " + target.String()
			if _, ok := x.ents.Get(uid); !ok {
				why += " (" + uid.String() + " is not a known entity, so it has no parents)"
			}
			return false, why
		}
		if uid == target {
			return true, who + " is " + target.String() + " itself"
		}
		return true, who + " is in " + target.String() + pathText(x.ents, uid, target)
	}
	switch t := n.(type) {
	case xast.ScopeTypeEq:
		if uid == t.Entity {
			return ScopeMatch{true, who + " is " + t.Entity.String()}
		}
		return ScopeMatch{false, who + " is not " + t.Entity.String()}
	case xast.ScopeTypeIn:
		ok, why := in(t.Entity)
		return ScopeMatch{ok, why}
	case xast.ScopeTypeIs:
		if uid.Type == t.Type {
			return ScopeMatch{true, who + " is a " + string(t.Type)}
		}
		return ScopeMatch{false, who + " is a " + string(uid.Type) + ", not a " + string(t.Type)}
	case xast.ScopeTypeIsIn:
		if uid.Type != t.Type {
			return ScopeMatch{false, who + " is a " + string(uid.Type) + ", not a " + string(t.Type)}
		}
		ok, why := in(t.Entity)
		return ScopeMatch{ok, why}
	case xast.ScopeTypeInSet:
		names := make([]string, len(t.Entities))
		for i, e := range t.Entities {
			if anc.has(e) {
				_, why := in(e)
				return ScopeMatch{true, why}
			}
			names[i] = e.String()
		}
		return ScopeMatch{false, who + " is in none of [" + strings.Join(names, ", ") + "]"}
	}
	return ScopeMatch{true, "any " + v}
}

// pathText shows how from reaches to through parents, e.g. ` (via Group::"eng")`, by a
// breadth-first search (the shortest path; cycles terminate).
func pathText(ents types.EntityGetter, from, to types.EntityUID) string {
	prev := map[types.EntityUID]types.EntityUID{from: from}
	queue := []types.EntityUID{from}
	for len(queue) > 0 {
		u := queue[0]
		queue = queue[1:]
		e, ok := ents.Get(u)
		if !ok {
			continue
		}
		for p := range e.Parents.All() {
			if _, seen := prev[p]; seen {
				continue
			}
			prev[p] = u
			if p == to {
				var via []string
				for w := prev[p]; w != from; w = prev[w] {
					via = append(via, w.String())
				}
				if len(via) == 0 {
					return " (a parent)"
				}
				slices.Reverse(via)
				return " (via " + strings.Join(via, " → ") + ")"
			}
			queue = append(queue, p)
		}
	}
	return ""
}
