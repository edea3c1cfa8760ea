package iam

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxPolicySize is the largest document Parse accepts, in bytes. IAM's own
// limits are smaller (6,144 characters for a managed policy, 10,240 for an
// inline role policy); the cap only bounds the work a single document can
// cause, while leaving room for generous group policies.
const MaxPolicySize = 64 << 10

// Policy versions IAM accepts. A document without Version is read as
// Version2008, as IAM does.
const (
	Version2012 = "2012-10-17"
	Version2008 = "2008-10-17"
)

// ParseError reports why a document was rejected. Path names the offending
// element in the document, e.g. "Statement[1].Effect"; it is empty for
// errors about the document as a whole.
type ParseError struct {
	Path string
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// Policy is a parsed, compiled IAM policy document. It is immutable and safe
// for concurrent use.
type Policy struct {
	version    string
	statements []statement
}

// Version returns the document's Version element, or "" if it had none.
func (p *Policy) Version() string { return p.version }

// ConditionKeys returns the distinct condition keys the policy refers to, in
// sorted order, spelled as in the document (keys are case-insensitive, so
// only the first spelling is kept). A caller can use it to reject a policy
// naming keys it never supplies, since conditions on such keys never hold.
func (p *Policy) ConditionKeys() []string {
	var keys []string
	for i := range p.statements {
		for j := range p.statements[i].conditions {
			k := p.statements[i].conditions[j].key
			if !slices.ContainsFunc(keys, func(s string) bool { return strings.EqualFold(s, k) }) {
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

type statement struct {
	deny        bool
	notAction   bool
	actions     []pattern
	notResource bool
	resources   []pattern
	conditions  []condition
}

// Parse parses and compiles an IAM policy document. The document must be a
// JSON object with an optional Version ("2012-10-17" or "2008-10-17"), an
// optional Id and a Statement that is one statement object or a non-empty
// list of them. Each statement has an optional Sid, an Effect ("Allow" or
// "Deny", any case), exactly one of Action and NotAction, exactly one of
// Resource and NotResource (each a string or a non-empty list of strings)
// and an optional Condition.
//
// Anything else is rejected with a *ParseError naming the element: unknown
// or duplicate keys, wrong types, empty lists, unknown condition operators,
// unparsable condition values, Principal (this is an identity policy) and,
// under Version 2012-10-17, policy variables such as ${aws:username}, which
// are not supported.
func Parse(doc []byte) (*Policy, error) {
	if len(doc) > MaxPolicySize {
		return nil, &ParseError{Msg: fmt.Sprintf("policy document is %d bytes, larger than the limit of %d", len(doc), MaxPolicySize)}
	}
	if !utf8.Valid(doc) {
		return nil, &ParseError{Msg: "policy document is not valid UTF-8"}
	}
	root, err := decodeJSON(doc)
	if err != nil {
		return nil, err
	}
	if root.kind != kindObject {
		return nil, &ParseError{Msg: "policy document must be a JSON object, not " + root.kind.String()}
	}
	p := &Policy{}
	var stmts *jsonNode
	for _, m := range root.members {
		switch m.key {
		case "Version":
			v, err := stringValue(m.val, "Version")
			if err != nil {
				return nil, err
			}
			if v != Version2012 && v != Version2008 {
				return nil, &ParseError{Path: "Version", Msg: fmt.Sprintf("must be %q or %q", Version2012, Version2008)}
			}
			p.version = v
		case "Id":
			if _, err := stringValue(m.val, "Id"); err != nil {
				return nil, err
			}
		case "Statement":
			stmts = m.val
		default:
			return nil, unknownKey(m.key, "Version, Id, Statement")
		}
	}
	if stmts == nil {
		return nil, &ParseError{Path: "Statement", Msg: "is required"}
	}
	c := compiler{variables: p.version == Version2012, sids: make(map[string]string)}
	switch stmts.kind {
	case kindObject:
		s, err := c.statement(stmts, "Statement")
		if err != nil {
			return nil, err
		}
		p.statements = []statement{s}
	case kindArray:
		if len(stmts.items) == 0 {
			return nil, &ParseError{Path: "Statement", Msg: "must not be empty"}
		}
		p.statements = make([]statement, 0, len(stmts.items))
		for i, item := range stmts.items {
			s, err := c.statement(item, indexPath("Statement", i))
			if err != nil {
				return nil, err
			}
			p.statements = append(p.statements, s)
		}
	default:
		return nil, &ParseError{Path: "Statement", Msg: "must be an object or a list of objects, not " + stmts.kind.String()}
	}
	return p, nil
}

// compiler carries document-wide state while statements are compiled.
type compiler struct {
	variables bool              // Version 2012-10-17: "${" starts a policy variable
	sids      map[string]string // Sid → path of the statement that declared it
}

func (c *compiler) statement(n *jsonNode, path string) (statement, error) {
	var s statement
	if n.kind != kindObject {
		return s, &ParseError{Path: path, Msg: "must be an object, not " + n.kind.String()}
	}
	var effect, action, notAction, resource, notResource, cond *jsonNode
	for _, m := range n.members {
		mp := keyPath(path, m.key)
		switch m.key {
		case "Sid":
			sid, err := stringValue(m.val, mp)
			if err != nil {
				return s, err
			}
			if sid != "" {
				if prev, dup := c.sids[sid]; dup {
					return s, &ParseError{Path: mp, Msg: fmt.Sprintf("%q is already used by %s", sid, prev)}
				}
				c.sids[sid] = path
			}
		case "Effect":
			effect = m.val
		case "Action":
			action = m.val
		case "NotAction":
			notAction = m.val
		case "Resource":
			resource = m.val
		case "NotResource":
			notResource = m.val
		case "Condition":
			cond = m.val
		case "Principal", "NotPrincipal":
			return s, &ParseError{Path: mp, Msg: "not supported: the policy applies to the authenticated caller, so it names no principal"}
		default:
			return s, unknownKey(mp, "Sid, Effect, Action, NotAction, Resource, NotResource, Condition")
		}
	}

	ep := keyPath(path, "Effect")
	if effect == nil {
		return s, &ParseError{Path: ep, Msg: "is required"}
	}
	e, err := stringValue(effect, ep)
	if err != nil {
		return s, err
	}
	switch {
	case strings.EqualFold(e, "Allow"):
	case strings.EqualFold(e, "Deny"):
		s.deny = true
	default:
		return s, &ParseError{Path: ep, Msg: `must be "Allow" or "Deny"`}
	}

	s.actions, s.notAction, err = c.patterns(path, "Action", action, notAction, checkAction)
	if err != nil {
		return s, err
	}
	s.resources, s.notResource, err = c.patterns(path, "Resource", resource, notResource, c.checkResource)
	if err != nil {
		return s, err
	}
	if cond != nil {
		s.conditions, err = c.conditions(cond, keyPath(path, "Condition"))
		if err != nil {
			return s, err
		}
	}
	return s, nil
}

// patterns compiles the element name (Action or Resource) or its Not form,
// exactly one of which must be present.
func (c *compiler) patterns(path, name string, pos, neg *jsonNode, check func(string) string) ([]pattern, bool, error) {
	switch {
	case pos != nil && neg != nil:
		return nil, false, &ParseError{Path: keyPath(path, "Not"+name), Msg: "cannot be used together with " + name}
	case pos == nil && neg == nil:
		return nil, false, &ParseError{Path: keyPath(path, name), Msg: "is required (or Not" + name + ")"}
	}
	n, negated := pos, false
	if neg != nil {
		n, negated, name = neg, true, "Not"+name
	}
	vals, err := stringList(n, keyPath(path, name))
	if err != nil {
		return nil, false, err
	}
	pats := make([]pattern, len(vals))
	for i, v := range vals {
		if msg := check(v); msg != "" {
			return nil, false, &ParseError{Path: elemPath(keyPath(path, name), n, i), Msg: msg}
		}
		pats[i] = compilePattern(v)
	}
	return pats, negated, nil
}

func checkAction(a string) string {
	if a == "*" {
		return ""
	}
	svc, act, ok := strings.Cut(a, ":")
	if !ok || svc == "" || act == "" || strings.Contains(act, ":") {
		return fmt.Sprintf("%q is not an action: want \"*\" or \"service:action\", e.g. \"execute-api:Invoke\"", a)
	}
	return ""
}

func (c *compiler) checkResource(r string) string {
	if r != "*" && !strings.HasPrefix(r, "arn:") {
		return fmt.Sprintf("%q is not a resource: want \"*\" or an ARN", r)
	}
	return c.checkVariables(r)
}

// checkVariables rejects policy variables. Under Version 2012-10-17 IAM
// substitutes "${...}"; matching the text literally instead would make an
// Allow never apply and, worse, a Deny never apply, so refuse the document.
func (c *compiler) checkVariables(v string) string {
	if c.variables && strings.Contains(v, "${") {
		return fmt.Sprintf("%q uses a policy variable, which is not supported", v)
	}
	return ""
}

// elemPath names element i of a value that may be a single string or a
// list.
func elemPath(path string, n *jsonNode, i int) string {
	if n.kind == kindArray {
		return indexPath(path, i)
	}
	return path
}

func stringValue(n *jsonNode, path string) (string, error) {
	if n.kind != kindString {
		return "", &ParseError{Path: path, Msg: "must be a string, not " + n.kind.String()}
	}
	return n.text, nil
}

// stringList reads a string or a non-empty list of strings.
func stringList(n *jsonNode, path string) ([]string, error) {
	switch n.kind {
	case kindString:
		return []string{n.text}, nil
	case kindArray:
		if len(n.items) == 0 {
			return nil, &ParseError{Path: path, Msg: "must not be empty"}
		}
		out := make([]string, len(n.items))
		for i, it := range n.items {
			if it.kind != kindString {
				return nil, &ParseError{Path: indexPath(path, i), Msg: "must be a string, not " + it.kind.String()}
			}
			out[i] = it.text
		}
		return out, nil
	}
	return nil, &ParseError{Path: path, Msg: "must be a string or a list of strings, not " + n.kind.String()}
}

func unknownKey(path, allowed string) error {
	return &ParseError{Path: path, Msg: "unknown element (allowed: " + allowed + ")"}
}
