package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/ast"
)

// ValidationError reports a policy or template that does not validate
// against the schema in STRICT mode.
type ValidationError struct {
	// PolicyID names the policy or template as the caller passed it.
	PolicyID string
	// Line and Column locate the policy in its statement (1-based); zero
	// when unknown. cedar-go's validator does not position individual
	// problems, so this is the start of the policy.
	Line, Column int
	// Problems are the validator's messages, one per problem.
	Problems []string
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "policy %q", e.PolicyID)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d, column %d)", e.Line, e.Column)
	}
	b.WriteString(" fails schema validation: ")
	b.WriteString(strings.Join(e.Problems, "; "))
	return b.String()
}

// Validate checks p against the schema in STRICT mode (AVP's
// validationSettings mode STRICT): unknown entity types, actions and
// attributes and type errors are rejected, including comparisons (<, <=, >,
// >=) of operands of different types, such as a datetime and a duration,
// which cedar-go's validator lets through. What Cedar only warns about, a
// scope no action applies to or a condition that is always false, is
// accepted, as AVP accepts it. A failure is a *ValidationError naming id.
//
// p may be a Static's Policy: the rewrite that makes cedar-go evaluate it as
// Cedar (cedarCompat) is undone first, so problems name what was written.
func (s *Schema) Validate(id string, p *cedar.Policy) error {
	p, err := undoCompat(p)
	if err != nil {
		return &ValidationError{PolicyID: id, Problems: []string{err.Error()}}
	}
	a := policyAST(p)
	fail := func(probs []string) error {
		return &ValidationError{PolicyID: id, Line: a.Position.Line, Column: a.Position.Column, Problems: probs}
	}
	if probs := s.errors(a); len(probs) > 0 {
		return fail(probs)
	}
	same, err := sameTypeComparisons(p)
	if err != nil {
		return fail([]string{err.Error()})
	}
	if same != nil {
		if probs := s.errors(policyAST(same)); len(probs) > 0 {
			for i, pr := range probs {
				probs[i] = "the operands of <, <=, > and >= must both be Long, both datetime or both duration: " + pr
			}
			return fail(probs)
		}
	}
	return nil
}

// scopeWarning is how cedar-go's validator reports a scope no action
// applies to; Cedar reports it as a warning ("impossible policy").
const scopeWarning = "unable to find an applicable action given the policy scope constraints"

// errors returns the validator's problems with a, less those Cedar only
// warns about.
func (s *Schema) errors(a *ast.Policy) []string {
	err := s.validator.Policy("", a)
	if err == nil {
		return nil
	}
	return slices.DeleteFunc(problems(err), func(p string) bool { return p == scopeWarning })
}

// sameTypeComparisons returns p with each comparison L < R (<=, >, >=)
// rewritten to (L < R) && [L, R].isEmpty(): a set literal needs one element
// type, so the validator then rejects operands of different types in the
// same capability context as the comparison. It returns nil when p has no
// comparison.
func sameTypeComparisons(p *cedar.Policy) (*cedar.Policy, error) {
	raw, err := p.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("policy to JSON: %w", err)
	}
	if !strings.Contains(string(raw), `"<":{`) && !strings.Contains(string(raw), `"<=":{`) &&
		!strings.Contains(string(raw), `">":{`) && !strings.Contains(string(raw), `">=":{`) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("policy JSON: %w", err)
	}
	conds, _ := doc["conditions"].([]any)
	for _, c := range conds {
		if cond, ok := c.(map[string]any); ok {
			cond["body"] = mapExprs(cond["body"], func(op string, operands any) any {
				lr, ok := operands.(map[string]any)
				if !ok || !slices.Contains([]string{"<", "<=", ">", ">="}, op) {
					return nil
				}
				set := map[string]any{"isEmpty": map[string]any{"arg": map[string]any{"Set": []any{lr["left"], lr["right"]}}}}
				return map[string]any{"&&": map[string]any{"left": map[string]any{op: lr}, "right": set}}
			})
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("rewritten policy to JSON: %w", err)
	}
	var q cedar.Policy
	if err := q.UnmarshalJSON(out); err != nil {
		return nil, fmt.Errorf("rewritten policy: %w", err)
	}
	return &q, nil
}

// mapExprs rewrites the Cedar JSON expression v bottom-up: each operator
// node {op: operands}, operands already rewritten, is replaced by f's result
// unless that is nil. Literals and record attribute names are left alone.
func mapExprs(v any, f func(op string, operands any) any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = mapExprs(e, f)
		}
		return out
	case map[string]any:
		if len(v) == 1 {
			if _, ok := v["Value"]; ok {
				return v
			}
			if attrs, ok := v["Record"].(map[string]any); ok {
				out := make(map[string]any, len(attrs))
				for name, e := range attrs {
					out[name] = mapExprs(e, f)
				}
				return map[string]any{"Record": out}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = mapExprs(e, f)
		}
		if len(out) == 1 {
			for k, e := range out {
				if r := f(k, e); r != nil {
					return r
				}
			}
		}
		return out
	}
	return v
}

func problems(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, problems(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

// maxTemplateLinks bounds the placeholder links ValidateTemplate checks.
const maxTemplateLinks = 1024

// ValidateTemplate checks a template against the schema in STRICT mode.
// cedar-go cannot validate slots, so each slot is linked with a placeholder
// entity of every type it could take, given each action the template's
// action scope matches:
//
//   - "== ?slot": the principal (resource) types the action applies to;
//   - "in ?slot": those types and every type they may be members of;
//   - "is T in ?slot": T and every type T may be a member of.
//
// Every such link must validate, as in Cedar, which type-checks a template
// in each request environment its slots allow. When the template matches no
// action that applies to anything, a single link is validated so the
// validator reports the cause (unknown action, no applicable action). A
// template needing more than 1024 links is rejected as too broad to
// validate. A failure is a *ValidationError naming id and, per problem, the
// slot types of the failing link.
func (s *Schema) ValidateTemplate(id string, t *Template) error {
	links := s.templateLinks(t)
	if len(links) > maxTemplateLinks {
		return &ValidationError{PolicyID: id, Problems: []string{fmt.Sprintf(
			"template slots admit %d entity type combinations; at most %d can be validated", len(links), maxTemplateLinks)}}
	}
	for _, l := range links {
		var pu, ru *types.EntityUID
		var label []string
		if t.hasPrincipal {
			u := s.placeholder(l.principal)
			pu = &u
			label = append(label, fmt.Sprintf("%s as %s", SlotPrincipal, l.principal))
		}
		if t.hasResource {
			u := s.placeholder(l.resource)
			ru = &u
			label = append(label, fmt.Sprintf("%s as %s", SlotResource, l.resource))
		}
		st, err := t.Link(pu, ru)
		if err != nil {
			return &ValidationError{PolicyID: id, Problems: []string{err.Error()}}
		}
		if err := s.Validate(id, st.Policy); err != nil {
			var ve *ValidationError
			if errors.As(err, &ve) {
				for i, p := range ve.Problems {
					ve.Problems[i] = "with " + strings.Join(label, " and ") + ": " + p
				}
			}
			return err
		}
	}
	return nil
}

// slotLink is one combination of slot types; a type is empty when the
// template lacks that slot.
type slotLink struct{ principal, resource types.EntityType }

// templateLinks returns the slot type combinations to validate, sorted.
func (s *Schema) templateLinks(t *Template) []slotLink {
	set := map[slotLink]bool{}
	for _, a := range s.templateActions(t.shape.Action) {
		ps, rs := []types.EntityType{""}, []types.EntityType{""}
		if t.hasPrincipal {
			ps = s.slotTypes(t.shape.Principal, a.Principals)
		}
		if t.hasResource {
			rs = s.slotTypes(t.shape.Resource, a.Resources)
		}
		for _, p := range ps {
			for _, r := range rs {
				set[slotLink{p, r}] = true
			}
		}
	}
	if len(set) == 0 {
		l := slotLink{}
		if t.hasPrincipal {
			l.principal = s.anyEntityType()
		}
		if t.hasResource {
			l.resource = s.anyEntityType()
		}
		set[l] = true
	}
	links := slices.Collect(maps.Keys(set))
	slices.SortFunc(links, func(a, b slotLink) int {
		if c := strings.Compare(string(a.principal), string(b.principal)); c != 0 {
			return c
		}
		return strings.Compare(string(a.resource), string(b.resource))
	})
	return links
}

// anyEntityType returns the least declared entity type, or an undeclared
// one (which the validator then names) when the schema declares none.
func (s *Schema) anyEntityType() types.EntityType {
	all := slices.Collect(maps.Keys(s.resolved.Entities))
	all = append(all, slices.Collect(maps.Keys(s.resolved.Enums))...)
	if len(all) == 0 {
		return "S"
	}
	return slices.Min(all)
}

type appliesTo struct{ Principals, Resources []types.EntityType }

// placeholder returns an entity of type et for validation. An enum type
// only admits its declared ids, so its first value is used.
func (s *Schema) placeholder(et types.EntityType) types.EntityUID {
	if e, ok := s.resolved.Enums[et]; ok && len(e.Values) > 0 {
		return e.Values[0]
	}
	return types.NewEntityUID(et, "")
}

// templateActions returns the appliesTo of each schema action the action
// scope can match: the named actions and, for "in", their descendants.
func (s *Schema) templateActions(sc ast.IsActionScopeNode) []*appliesTo {
	var roots []types.EntityUID
	in := false
	switch sc := sc.(type) {
	case ast.ScopeTypeAll:
		var out []*appliesTo
		for _, a := range s.resolved.Actions {
			if a.AppliesTo != nil {
				out = append(out, &appliesTo{a.AppliesTo.Principals, a.AppliesTo.Resources})
			}
		}
		return out
	case ast.ScopeTypeEq:
		roots = []types.EntityUID{sc.Entity}
	case ast.ScopeTypeIn:
		roots, in = []types.EntityUID{sc.Entity}, true
	case ast.ScopeTypeInSet:
		roots, in = sc.Entities, true
	}
	var out []*appliesTo
	for uid, a := range s.resolved.Actions {
		if a.AppliesTo == nil {
			continue
		}
		if slices.Contains(roots, uid) || in && s.actionDescends(uid, roots) {
			out = append(out, &appliesTo{a.AppliesTo.Principals, a.AppliesTo.Resources})
		}
	}
	return out
}

// actionDescends reports whether action uid is a transitive member of any of
// roots.
func (s *Schema) actionDescends(uid types.EntityUID, roots []types.EntityUID) bool {
	seen := map[types.EntityUID]bool{}
	stack := []types.EntityUID{uid}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		a, ok := s.resolved.Actions[cur]
		if !ok {
			continue
		}
		for p := range a.Entity.Parents.All() {
			if slices.Contains(roots, p) {
				return true
			}
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return false
}

// slotTypes lists the entity types a slot in scope sc could be linked with
// when the action applies to the given types.
func (s *Schema) slotTypes(sc ast.IsScopeNode, applies []types.EntityType) []types.EntityType {
	set := map[types.EntityType]bool{}
	switch sc := sc.(type) {
	case ast.ScopeTypeEq:
		for _, t := range applies {
			set[t] = true
		}
	case ast.ScopeTypeIn:
		for _, t := range applies {
			s.addAncestorTypes(set, t)
		}
	case ast.ScopeTypeIsIn:
		s.addAncestorTypes(set, sc.Type)
	}
	return slices.Collect(maps.Keys(set))
}

// addAncestorTypes adds t and every type t may transitively be a member of.
func (s *Schema) addAncestorTypes(set map[types.EntityType]bool, t types.EntityType) {
	if set[t] {
		return
	}
	set[t] = true
	if e, ok := s.resolved.Entities[t]; ok {
		for _, p := range e.ParentTypes {
			s.addAncestorTypes(set, p)
		}
	}
}

// ValidateEntities checks entities against the schema: declared types,
// attributes and parents of the declared types.
func (s *Schema) ValidateEntities(entities types.EntityMap) error {
	if err := s.validator.Entities(entities); err != nil {
		return fmt.Errorf("entities fail schema validation: %w", err)
	}
	return nil
}

// ValidateRequest checks a request against the schema: the action is
// declared, applies to the principal and resource types, and the context
// matches its declared shape.
func (s *Schema) ValidateRequest(req types.Request) error {
	if err := s.validator.Request(req); err != nil {
		return fmt.Errorf("request fails schema validation: %w", err)
	}
	return nil
}
