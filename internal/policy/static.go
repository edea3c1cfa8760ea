package policy

import (
	"errors"
	"fmt"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/ast"
)

// Effects as AVP spells them in policy outputs.
const (
	EffectPermit = "Permit"
	EffectForbid = "Forbid"
)

// Static is one parsed static (or template-linked) policy together with the
// scope fields AVP derives from its head.
type Static struct {
	// Policy is the compiled policy, ready for cedar.Authorize. Where
	// cedar-go would evaluate it differently from Cedar, it is rewritten to
	// an equivalent that it evaluates as Cedar does (see cedarCompat).
	Policy *cedar.Policy
	// Effect is EffectPermit or EffectForbid.
	Effect string
	// Principal is the entity in the principal constraint for ==, in and
	// is ... in; nil when the principal is unconstrained or only "is T".
	Principal *types.EntityUID
	// Resource is the same for the resource constraint.
	Resource *types.EntityUID
	// Actions are the actions named by "action == A", "action in A" or
	// "action in [A, B]"; nil when the action is unconstrained.
	Actions []types.EntityUID
}

// ParseStatic parses a statement in Cedar syntax that holds exactly one
// static policy. Syntax errors are *SyntaxError values with the line and
// column in statement. A template slot (?principal, ?resource) is an error:
// templates are parsed by ParseTemplate.
func ParseStatic(statement string) (*Static, error) {
	p, err := parseOne(statement)
	if err != nil {
		// cedar-go has no slots and fails on "?"; say why when that is it.
		if toks, lexErr := lex(statement); lexErr == nil {
			for _, t := range toks {
				if t.kind == tokSlot && t.text != "?" {
					return nil, &SyntaxError{Line: t.line, Column: t.column,
						Msg: fmt.Sprintf("template slot %s is not allowed in a static policy", t.text)}
				}
			}
		}
		return nil, err
	}
	return newStatic(p)
}

// ParseStaticJSON parses one policy in the Cedar JSON policy format
// (https://docs.cedarpolicy.com/policies/json-format.html).
func ParseStaticJSON(statement []byte) (*Static, error) {
	if err := jsonSyntaxError(statement); err != nil {
		return nil, err
	}
	var p cedar.Policy
	if err := p.UnmarshalJSON(statement); err != nil {
		return nil, &SyntaxError{Msg: "invalid JSON policy: " + err.Error()}
	}
	return newStatic(&p)
}

// parseOne parses text that must contain exactly one Cedar policy.
// (*cedar.Policy).UnmarshalCedar would silently ignore anything after the
// first policy, so the text is parsed as a list and counted.
func parseOne(text string) (*cedar.Policy, error) {
	if p, ok := parseScopeOnly(text); ok {
		return p, nil
	}
	var list cedar.PolicyList
	if err := list.UnmarshalCedar([]byte(text)); err != nil {
		return nil, syntaxError(err, text)
	}
	switch len(list) {
	case 0:
		return nil, &SyntaxError{Msg: "statement contains no policy"}
	case 1:
		return list[0], nil
	default:
		pos := list[1].Position()
		return nil, &SyntaxError{Line: pos.Line, Column: pos.Column,
			Msg: fmt.Sprintf("statement contains %d policies; exactly one is allowed", len(list))}
	}
}

// newStatic derives the scope fields of p and compiles it with cedarCompat,
// so the Policy of every Static evaluates as Cedar does.
// FromParsed compiles a policy cedar-go already parsed, as ParseStatic does, keeping its
// source position: for callers that parse whole files of policies.
func FromParsed(p *cedar.Policy) (*Static, error) { return newStatic(p) }

func newStatic(p *cedar.Policy) (*Static, error) {
	a := policyAST(p)
	compat, err := cedarCompat(p)
	if err != nil {
		return nil, err
	}
	s := &Static{
		Policy:    compat,
		Effect:    EffectForbid,
		Principal: scopeEntity(a.Principal),
		Resource:  scopeEntity(a.Resource),
	}
	if a.Effect == ast.EffectPermit {
		s.Effect = EffectPermit
	}
	switch sc := a.Action.(type) {
	case ast.ScopeTypeEq:
		s.Actions = []types.EntityUID{sc.Entity}
	case ast.ScopeTypeIn:
		s.Actions = []types.EntityUID{sc.Entity}
	case ast.ScopeTypeInSet:
		s.Actions = append([]types.EntityUID{}, sc.Entities...)
	}
	return s, nil
}

// scopeEntity returns the entity a principal or resource scope names, or nil
// for "all" and "is T".
func scopeEntity(sc ast.IsScopeNode) *types.EntityUID {
	var e types.EntityUID
	switch sc := sc.(type) {
	case ast.ScopeTypeEq:
		e = sc.Entity
	case ast.ScopeTypeIn:
		e = sc.Entity
	case ast.ScopeTypeIsIn:
		e = sc.Entity
	default:
		return nil
	}
	return &e
}

// ErrScopeChange reports an update that changes what AVP's UpdatePolicy
// keeps fixed: the effect, the principal scope or the resource scope.
var ErrScopeChange = errors.New("policy update may only change the action scope and conditions")

// CheckUpdate reports whether updated may replace old under AVP's
// UpdatePolicy rule: only the action scope and the when/unless conditions
// may change. The error wraps ErrScopeChange and names what changed.
func CheckUpdate(old, updated *Static) error {
	o, n := policyAST(old.Policy), policyAST(updated.Policy)
	switch {
	case o.Effect != n.Effect:
		return fmt.Errorf("%w: effect changed from %s to %s", ErrScopeChange, old.Effect, updated.Effect)
	case o.Principal != n.Principal:
		return fmt.Errorf("%w: principal scope changed", ErrScopeChange)
	case o.Resource != n.Resource:
		return fmt.Errorf("%w: resource scope changed", ErrScopeChange)
	}
	return nil
}

// policyAST exposes the policy's AST in the x/exp/ast form, whose scope
// nodes are exported; cedar.Policy.AST returns the same value under a
// different named type.
func policyAST(p *cedar.Policy) *ast.Policy {
	return (*ast.Policy)(p.AST())
}
