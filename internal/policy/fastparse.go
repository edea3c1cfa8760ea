package policy

import (
	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// ParseHead returns the head of a static policy that has nothing else (see parseScopeOnly),
// uncompiled: engine.Policy.Head takes it, and cedar-go compiles it on its first evaluation.
// ok is false for any other text; ParseStatic reads those.
func ParseHead(text string) (*xast.Policy, bool) { return parseHead(text) }

// parseScopeOnly builds a policy that has only a head — annotations with plain string
// values, an effect and three scope constraints on entity literals, no conditions — without
// cedar-go's tokenizer, which is most of the time a 100,000-policy store takes to load (such
// stores are nearly all of this shape: one policy per group). It recognises a strict subset
// of Cedar's grammar and answers ok=false for anything else (comments, escapes, non-ASCII,
// keywords used as names, conditions, slots), which then goes to cedar-go's parser. When it
// answers ok, the policy is exactly the one cedar-go would parse, position included; the
// differential test and FuzzScopeOnlyMatchesCedar hold it to that.
func parseScopeOnly(text string) (*cedar.Policy, bool) {
	p, ok := parseHead(text)
	if !ok {
		return nil, false
	}
	return cedar.NewPolicyFromAST((*ast.Policy)(p)), true
}

func parseHead(text string) (*xast.Policy, bool) {
	s := scan{src: text}
	s.space()
	start := s.i
	line, col := s.line, s.i-s.lineStart+1
	p := &xast.Policy{Principal: xast.ScopeTypeAll{}, Action: xast.ScopeTypeAll{}, Resource: xast.ScopeTypeAll{},
		Position: xast.Position{Offset: start, Line: line, Column: col}}
	for s.peek() == '@' {
		s.i++
		key, ok := s.ident()
		if !ok {
			return nil, false
		}
		for _, a := range p.Annotations {
			if string(a.Key) == key {
				return nil, false // a duplicate: cedar-go's parser reports it
			}
		}
		s.space()
		var value string
		if s.peek() == '(' {
			s.i++
			s.space()
			if value, ok = s.str(); !ok {
				return nil, false
			}
			s.space()
			if !s.byte(')') {
				return nil, false
			}
		}
		p.Annotations = append(p.Annotations, xast.AnnotationType{Key: types.AnnotationKey(key), Value: types.String(value)})
		s.space()
	}
	switch effect, _ := s.ident(); effect {
	case "permit":
		p.Effect = xast.EffectPermit
	case "forbid":
		p.Effect = xast.EffectForbid
	default:
		return nil, false
	}
	s.space()
	if !s.byte('(') {
		return nil, false
	}
	var ok bool
	if p.Principal, ok = s.principalOrResource("principal"); !ok {
		return nil, false
	}
	if !s.byte(',') {
		return nil, false
	}
	if p.Action, ok = s.action(); !ok {
		return nil, false
	}
	if !s.byte(',') {
		return nil, false
	}
	r, ok := s.principalOrResource("resource")
	if !ok {
		return nil, false
	}
	p.Resource = r
	if s.peek() == ',' {
		s.i++
		s.space()
	}
	if !s.byte(')') || !s.byte(';') || s.i != len(s.src) {
		return nil, false
	}
	return p, true
}

// scan reads ASCII Cedar text. Every method that consumes a token skips the whitespace after
// it, so the next token starts at s.i.
type scan struct {
	src             string
	i               int
	line, lineStart int
}

func (s *scan) peek() byte {
	if s.i < len(s.src) {
		return s.src[s.i]
	}
	return 0
}

// space skips the whitespace Cedar's scanner skips (a subset: no comments).
func (s *scan) space() {
	if s.line == 0 {
		s.line = 1
	}
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r':
		case '\n':
			s.line++
			s.lineStart = s.i + 1
		default:
			return
		}
		s.i++
	}
}

// byte consumes c and the whitespace after it.
func (s *scan) byte(c byte) bool {
	if s.peek() != c {
		return false
	}
	s.i++
	s.space()
	return true
}

// keywords are refused as names here (cedar-go decides what it accepts).
var keywords = map[string]bool{"true": true, "false": true, "if": true, "then": true, "else": true, "in": true,
	"is": true, "like": true, "has": true, "principal": true, "action": true, "resource": true, "context": true,
	"permit": true, "forbid": true, "when": true, "unless": true, "__cedar": true}

// ident reads [A-Za-z_][A-Za-z0-9_]* (no whitespace skipped).
func (s *scan) ident() (string, bool) {
	j := s.i
	for j < len(s.src) {
		c := s.src[j]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || j > s.i && '0' <= c && c <= '9' {
			j++
			continue
		}
		break
	}
	if j == s.i {
		return "", false
	}
	id := s.src[s.i:j]
	s.i = j
	return id, true
}

// name reads an identifier that is not a keyword.
func (s *scan) name() (string, bool) {
	id, ok := s.ident()
	return id, ok && !keywords[id]
}

// str reads a string literal without escapes or control characters, and the space after it.
func (s *scan) str() (string, bool) {
	if s.peek() != '"' {
		return "", false
	}
	j := s.i + 1
	for j < len(s.src) {
		c := s.src[j]
		if c == '"' {
			v := s.src[s.i+1 : j]
			s.i = j + 1
			s.space()
			return v, true
		}
		if c == '\\' || c < 0x20 || c >= 0x7f {
			return "", false
		}
		j++
	}
	return "", false
}

// path reads Name(::Name)* and stops before a "::" followed by a string.
func (s *scan) path() (string, bool) {
	start := s.i
	if _, ok := s.name(); !ok {
		return "", false
	}
	for s.i+2 < len(s.src) && s.src[s.i] == ':' && s.src[s.i+1] == ':' && s.src[s.i+2] != '"' {
		s.i += 2
		if _, ok := s.name(); !ok {
			return "", false
		}
	}
	return s.src[start:s.i], true
}

// entity reads Path::"id" and the space after it.
func (s *scan) entity() (types.EntityUID, bool) {
	typ, ok := s.path()
	if !ok || s.i+2 >= len(s.src) || s.src[s.i] != ':' || s.src[s.i+1] != ':' {
		return types.EntityUID{}, false
	}
	s.i += 2
	id, ok := s.str()
	if !ok {
		return types.EntityUID{}, false
	}
	return types.NewEntityUID(types.EntityType(typ), types.String(id)), true
}

// scopeStart reads the variable v and, when the constraint is `v` alone or `v == E`, the
// whole constraint (done); otherwise it stops before the keyword that follows v.
func (s *scan) scopeStart(v string) (n anyScope, done, ok bool) {
	if id, ok := s.ident(); !ok || id != v {
		return nil, true, false
	}
	s.space()
	switch s.peek() {
	case ',', ')':
		return xast.ScopeTypeAll{}, true, true
	case '=':
		if s.i+1 >= len(s.src) || s.src[s.i+1] != '=' {
			return nil, true, false
		}
		s.i += 2
		s.space()
		e, ok := s.entity()
		return xast.ScopeTypeEq{Entity: e}, true, ok
	}
	return nil, false, false
}

// principalOrResource reads `v`, `v == E`, `v in E`, `v is T` or `v is T in E`.
func (s *scan) principalOrResource(v string) (scopeNode, bool) {
	if n, done, ok := s.scopeStart(v); done {
		return n, ok
	}
	switch kw, _ := s.ident(); kw {
	case "in":
		s.space()
		e, ok := s.entity()
		return xast.ScopeTypeIn{Entity: e}, ok
	case "is":
		s.space()
		typ, ok := s.path()
		if !ok {
			return nil, false
		}
		s.space()
		if s.peek() != 'i' {
			return xast.ScopeTypeIs{Type: types.EntityType(typ)}, true
		}
		if kw, _ := s.ident(); kw != "in" {
			return nil, false
		}
		s.space()
		e, ok := s.entity()
		return xast.ScopeTypeIsIn{Type: types.EntityType(typ), Entity: e}, ok
	}
	return nil, false
}

// action reads `action`, `action == E`, `action in E` or `action in [E, ...]`.
func (s *scan) action() (xast.IsActionScopeNode, bool) {
	if n, done, ok := s.scopeStart("action"); done {
		return n, ok
	}
	if kw, _ := s.ident(); kw != "in" {
		return nil, false
	}
	s.space()
	if !s.byte('[') {
		e, ok := s.entity()
		return xast.ScopeTypeIn{Entity: e}, ok
	}
	var list []types.EntityUID
	for {
		e, ok := s.entity()
		if !ok {
			return nil, false
		}
		list = append(list, e)
		if s.byte(']') {
			return xast.ScopeTypeInSet{Entities: list}, true
		}
		if !s.byte(',') {
			return nil, false
		}
	}
}

// scopeNode is a principal or resource scope: every scope type satisfies both interfaces.
type scopeNode interface {
	xast.IsPrincipalScopeNode
	xast.IsResourceScopeNode
}

// anyScope is a constraint every dimension takes (all, ==).
type anyScope interface {
	scopeNode
	xast.IsActionScopeNode
}
