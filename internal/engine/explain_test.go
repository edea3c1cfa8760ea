package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// TestExplainMatchesDecision checks the explanation against the real decision on the random
// stores, entity graphs and requests of TestAuthorizeMatchesCedar (some built incrementally
// with Apply): the policies it marks determining are exactly Authorize's determining
// policies and cedar.Authorize's over the whole set, its errors are cedar's, every policy's
// satisfaction and scope checks agree with cedar evaluating it alone, each clause breakdown
// adds up to the policy's outcome, and the pages of every filter concatenate to the filter's
// full list.
func TestExplainMatchesDecision(t *testing.T) {
	t.Parallel()
	seed := *propSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	cases := 300
	if testing.Short() {
		cases = 80
	}
	var st explainStats
	for i := range cases {
		caseSeed := seed + uint64(i)
		if msg := checkExplainCase(caseSeed, 8, &st); msg != "" {
			t.Fatalf("seed %d (case seed %d): %s", seed, caseSeed, msg)
		}
	}
	t.Logf("seed %d: %+v", seed, st)
	if st.forbidDet == 0 || st.permitDet == 0 || st.overridden == 0 || st.errors == 0 || st.condFalse == 0 || st.scopeMiss == 0 {
		t.Fatalf("seed %d: generator coverage too low: %+v", seed, st)
	}
}

type explainStats struct {
	requests, forbidDet, permitDet, overridden, errors, condFalse, scopeMiss int
}

func checkExplainCase(seed uint64, n int, st *explainStats) string {
	g := newGen(seed)
	stored := g.store()
	var text strings.Builder
	for range 1 + g.r.IntN(25) {
		text.WriteString(g.policyText())
	}
	list, err := cedar.NewPolicyListFromBytes("gen.cedar", []byte(text.String()))
	if err != nil {
		return fmt.Sprintf("parse: %v", err)
	}
	full := cedar.PolicyMap{}
	in := Input{Entities: stored}
	for i, p := range list {
		id := fmt.Sprintf("p%02d", i)
		full[cedar.PolicyID(id)] = p
		in.Policies = append(in.Policies, Policy{ID: id, Policy: p})
	}
	snap, err := Build(in)
	if err != nil {
		return fmt.Sprintf("build: %v", err)
	}
	if g.r.IntN(2) == 0 && len(in.Policies) > 1 {
		// A two-layer snapshot: half the policies in the delta, one of them left out, one base
		// policy deleted (hidden).
		half := in.Policies[len(in.Policies)/2:]
		base := Input{Entities: stored, Policies: in.Policies[:len(in.Policies)/2]}
		if snap, err = Build(base); err != nil {
			return fmt.Sprintf("build base: %v", err)
		}
		gone := []string{half[0].ID, in.Policies[0].ID}
		if snap, err = snap.Apply(Change{Put: half[1:], Delete: gone[1:]}); err != nil {
			return fmt.Sprintf("apply: %v", err)
		}
		for _, id := range gone {
			delete(full, cedar.PolicyID(id))
		}
	}
	for range n {
		req, overlay := g.request()
		var ov types.EntityGetter
		if overlay != nil {
			ov = overlay
		}
		all := stored.Clone()
		for u, e := range overlay {
			all[u] = e
		}
		dec, diag := cedar.Authorize(full, all, req)
		want := avpResult(dec, diag)

		ex, err := snap.Explain(req, ov, ExplainOptions{Filter: ExplainAll, Limit: 1 << 20})
		if err != nil {
			return err.Error()
		}
		ctx := fmt.Sprintf("\nrequest: %+v\noverlay: %v\npolicies:\n%s", req, overlay, text.String())
		if !ex.Agrees || ex.Decision != want.Decision || !slices.Equal(ex.Determining, want.DeterminingPolicies) || !slices.Equal(ex.Errors, want.Errors) {
			return fmt.Sprintf("explanation %v %v %v (agrees %v), cedar %+v%s", ex.Decision, ex.Determining, ex.Errors, ex.Agrees, want, ctx)
		}
		if ex.Total != len(full) || len(ex.Policies) != len(full) {
			return fmt.Sprintf("all lists %d of %d policies (total %d)%s", len(ex.Policies), len(full), ex.Total, ctx)
		}
		var determining, heads, actions []string
		for _, pe := range ex.Policies {
			p := full[cedar.PolicyID(pe.ID)]
			if msg := checkPolicyExplanation(pe, p, all, req, ex.Decision); msg != "" {
				return pe.ID + ": " + msg + ctx
			}
			if pe.Role == RoleDeterminingForbid || pe.Role == RoleDeterminingPermit {
				determining = append(determining, pe.ID)
			}
			if pe.Principal.Matched && pe.Action.Matched && pe.Resource.Matched {
				heads = append(heads, pe.ID)
			}
			if pe.Action.Matched {
				actions = append(actions, pe.ID)
			}
			switch pe.Role {
			case RoleDeterminingForbid:
				st.forbidDet++
			case RoleDeterminingPermit:
				st.permitDet++
			case RoleOverridden:
				st.overridden++
			case RoleError:
				st.errors++
			case RoleNotApplicable:
				if pe.Principal.Matched && pe.Action.Matched && pe.Resource.Matched {
					st.condFalse++
				} else {
					st.scopeMiss++
				}
			}
		}
		if !slices.Equal(determining, want.DeterminingPolicies) {
			return fmt.Sprintf("roles mark %v determining, cedar %v%s", determining, want.DeterminingPolicies, ctx)
		}
		if ex.Candidates != len(heads) {
			return fmt.Sprintf("%d candidates, %d scopes hold%s", ex.Candidates, len(heads), ctx)
		}
		// Every filter, paged three at a time, lists exactly its policies.
		for _, f := range []struct {
			name string
			want []string
		}{{ExplainCandidates, heads}, {ExplainAction, actions}, {ExplainAll, slices.Sorted(func(yield func(string) bool) {
			for id := range full {
				if !yield(string(id)) {
					return
				}
			}
		})}} {
			var got []string
			after := ""
			for page := 0; ; page++ {
				ex, err := snap.Explain(req, ov, ExplainOptions{Filter: f.name, After: after, Limit: 3})
				if err != nil {
					return err.Error()
				}
				if ex.Total != len(f.want) || page > len(f.want) || (len(ex.Policies) > 0 && ex.Offset != len(got)) {
					return fmt.Sprintf("filter %s: total %d, want %d%s", f.name, ex.Total, len(f.want), ctx)
				}
				for _, pe := range ex.Policies {
					got = append(got, pe.ID)
				}
				if after = ex.Next; after == "" {
					break
				}
			}
			if !slices.Equal(got, f.want) {
				return fmt.Sprintf("filter %s pages list %v, want %v%s", f.name, got, f.want, ctx)
			}
		}
		st.requests++
	}
	return ""
}

// checkPolicyExplanation compares one policy's explanation with cedar evaluating the policy
// alone, its scope alone and its clauses in order.
func checkPolicyExplanation(pe PolicyExplanation, p *cedar.Policy, ents types.EntityMap, req cedar.Request, dec cedar.Decision) string {
	x := (*xast.Policy)(p.AST())
	alone := func(q *xast.Policy) (bool, string) {
		_, d := cedar.Authorize(cedar.PolicyMap{"q": cedar.NewPolicyFromAST((*ast.Policy)(q))}, ents, req)
		if len(d.Errors) > 0 {
			return false, d.Errors[0].Message
		}
		return len(d.Reasons) > 0, ""
	}
	asPermit := *x
	asPermit.Effect = xast.EffectPermit
	sat, msg := alone(&asPermit)
	if sat != pe.Satisfied || msg != pe.Error {
		return fmt.Sprintf("satisfied %v error %q, cedar alone %v %q", pe.Satisfied, pe.Error, sat, msg)
	}
	for _, dim := range []struct {
		got ScopeMatch
		set func(*xast.Policy)
	}{
		{pe.Principal, func(q *xast.Policy) { q.Principal = x.Principal }},
		{pe.Action, func(q *xast.Policy) { q.Action = x.Action }},
		{pe.Resource, func(q *xast.Policy) { q.Resource = x.Resource }},
	} {
		q := xast.Permit()
		dim.set(q)
		if ok, _ := alone(q); ok != dim.got.Matched {
			return fmt.Sprintf("scope %q matched %v, cedar %v", dim.got.Reason, dim.got.Matched, ok)
		}
	}
	// The clauses add up: the policy holds when the scope and every clause pass, fails with
	// the first failing clause's error, and a clause after a deciding one is not evaluated.
	scope := pe.Principal.Matched && pe.Action.Matched && pe.Resource.Matched
	holds, errMsg, decided := scope, "", !scope
	for i, c := range pe.Conditions {
		if decided != (c.Outcome == CondNotEvaluated) {
			return fmt.Sprintf("clause %d outcome %s after a deciding clause: %v", i, c.Outcome, decided)
		}
		if decided {
			continue
		}
		if c.Outcome == CondError {
			holds, errMsg, decided = false, c.Error, true
		} else if !c.Passes {
			holds, decided = false, true
		}
	}
	if holds != pe.Satisfied || errMsg != pe.Error {
		return fmt.Sprintf("clauses say holds %v error %q; policy %v %q", holds, errMsg, pe.Satisfied, pe.Error)
	}
	if pe.Role == RoleOverridden && (pe.Effect != "permit" || dec != cedar.Deny || len(pe.OverriddenBy) == 0) {
		return fmt.Sprintf("overridden %s under decision %v by %v", pe.Effect, dec, pe.OverriddenBy)
	}
	if pe.Reason == "" {
		return "no reason"
	}
	return ""
}

// TestExplainReasons pins the wording a person reads on the test bench.
func TestExplainReasons(t *testing.T) {
	t.Parallel()
	alice := uid("User", "alice")
	read := uid("Action", "read")
	snap, err := Build(Input{Entities: tableStore(), Policies: mustPolicies(t, map[string]string{
		"deny-low":   `forbid(principal, action, resource) when { principal.level < 9 };`,
		"eng-read":   `permit(principal in Group::"all", action in Action::"readers", resource in Folder::"f1");`,
		"admins":     `permit(principal in Group::"admins", action == Action::"read", resource);`,
		"bad-attr":   `permit(principal, action, resource) when { principal.nope == 1 };`,
		"only-write": `permit(principal, action == Action::"write", resource) unless { false };`,
		"owner":      `permit(principal, action, resource is Doc) when { resource.owner == principal } unless { principal.level > 1 };`,
	})})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := snap.Explain(cedar.Request{Principal: alice, Action: read, Resource: uid("Doc", "d1"), Context: types.Record{}}, nil,
		ExplainOptions{Filter: ExplainAll})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]PolicyExplanation{}
	for _, pe := range ex.Policies {
		by[pe.ID] = pe
	}
	tests := []struct {
		id, want string
		role     Role
	}{
		{"deny-low", "Its scope and conditions hold: it forbids the request", RoleDeterminingForbid},
		{"eng-read", `forbid deny-low overrides it`, RoleOverridden},
		{"admins", `principal User::"alice" is not in Group::"admins"`, RoleNotApplicable},
		{"bad-attr", `does not have the attribute`, RoleError},
		{"only-write", `action Action::"read" is not Action::"write"`, RoleNotApplicable},
		{"owner", `Its unless clause (#2) is true.`, RoleNotApplicable},
	}
	for _, tc := range tests {
		pe := by[tc.id]
		if pe.Role != tc.role || !strings.Contains(pe.Reason, tc.want) {
			t.Errorf("%s: role %q reason %q; want %q containing %q", tc.id, pe.Role, pe.Reason, tc.role, tc.want)
		}
	}
	if got := by["eng-read"].Principal.Reason; got != `principal User::"alice" is in Group::"all" (via Group::"eng")` {
		t.Errorf("eng-read principal: %q", got)
	}
	if got := by["eng-read"].Action.Reason; got != `action Action::"read" is in Action::"readers" (a parent)` {
		t.Errorf("eng-read action: %q", got)
	}
	if c := by["owner"].Conditions; len(c) != 2 || c[0].Outcome != CondTrue || c[1].Outcome != CondTrue || c[1].Passes || c[1].Text != "unless { principal.level > 1 }" {
		t.Errorf("owner clauses: %+v", c)
	}
	if ex.Decision != cedar.Deny || !slices.Equal(ex.Determining, []string{"deny-low"}) || !ex.Agrees || ex.Candidates != 4 {
		t.Errorf("decision %v %v agrees %v candidates %d", ex.Decision, ex.Determining, ex.Agrees, ex.Candidates)
	}
	if _, err := snap.Explain(cedar.Request{}, nil, ExplainOptions{Filter: "some"}); err == nil {
		t.Error("an unknown filter was accepted")
	}
}
