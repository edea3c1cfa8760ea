package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/ast"
)

// Template slot names as they appear in Cedar text.
const (
	SlotPrincipal = "?principal"
	SlotResource  = "?resource"
)

// placeholder returns the entity used to parse a template with cedar-go,
// which has no slots. Its literal has exactly as many characters as the slot
// it replaces, so positions in cedar-go's errors are positions in the
// template text as written. A slot glued to a preceding identifier
// ("in?principal") is replaced by a space and a literal one character
// shorter.
func placeholder(slot string, glued bool) types.EntityUID {
	id := "princ" // S::"princ" has 10 characters, like ?principal
	if slot == SlotResource {
		id = "reso" // S::"reso" has 9, like ?resource
	}
	if glued {
		id = id[:len(id)-1]
	}
	return types.NewEntityUID("S", types.String(id))
}

// Template is a parsed policy template: a Cedar policy whose principal
// and/or resource scope names a slot (?principal, ?resource) instead of an
// entity. Link turns it into a Static.
//
// A Template is immutable and safe for concurrent use.
type Template struct {
	statement                   string
	hasPrincipal, hasResource   bool
	principalSpan, resourceSpan span
	// shape is the template parsed with placeholders in the slots. Its
	// effect, action scope and the "is T" part of the slot scopes are those
	// of every linked policy.
	shape *ast.Policy
}

// Statement returns the template text as given to ParseTemplate.
func (t *Template) Statement() string { return t.statement }

// HasPrincipal reports whether the template has a ?principal slot.
func (t *Template) HasPrincipal() bool { return t.hasPrincipal }

// HasResource reports whether the template has a ?resource slot. At least
// one of HasPrincipal and HasResource is true.
func (t *Template) HasResource() bool { return t.hasResource }

// span is the byte range of a slot in the statement. glued reports that the
// byte before it belongs to an identifier, so a substitute must start with a
// space or it would lex as part of that identifier.
type span struct {
	off, end int
	glued    bool
}

// ParseTemplate parses a policy template. Slots may appear only in the
// policy scope, as "principal == ?principal", "principal in ?principal" or
// "principal is T in ?principal" (and the same for resource), each at most
// once; a template needs at least one slot. Syntax errors are *SyntaxError
// values positioned in statement.
func ParseTemplate(statement string) (*Template, error) {
	toks, err := lex(statement)
	if err != nil {
		return nil, err
	}
	t := &Template{statement: statement}
	head := headRange(toks)
	for i, tok := range toks {
		if tok.kind != tokSlot {
			continue
		}
		var variable string
		var has *bool
		var sp *span
		switch tok.text {
		case SlotPrincipal:
			variable, has, sp = "principal", &t.hasPrincipal, &t.principalSpan
		case SlotResource:
			variable, has, sp = "resource", &t.hasResource, &t.resourceSpan
		default:
			return nil, tokError(tok, "unknown template slot %s; only ?principal and ?resource exist", tok.text)
		}
		if *has {
			return nil, tokError(tok, "template slot %s appears more than once", tok.text)
		}
		if !slotInScope(toks, head, i, variable) {
			return nil, tokError(tok, "template slot %s may only appear in the policy scope as %s == %s, %s in %s or %s is T in %s",
				tok.text, variable, tok.text, variable, tok.text, variable, tok.text)
		}
		glued := tok.off > 0 && isIdentRune(rune(statement[tok.off-1]), false)
		*has, *sp = true, span{tok.off, tok.end, glued}
	}
	if !t.hasPrincipal && !t.hasResource {
		return nil, &SyntaxError{Msg: "template has no slot; a template needs ?principal or ?resource in its scope (use a static policy otherwise)"}
	}

	pPlace, rPlace := placeholder(SlotPrincipal, t.principalSpan.glued), placeholder(SlotResource, t.resourceSpan.glued)
	p, err := parseOne(t.substitute(pPlace.String(), rPlace.String()))
	if err != nil {
		return nil, err
	}
	t.shape = policyAST(p)
	// The token checks above already pin the slots to the scope; this
	// confirms that cedar-go read them there too.
	if t.hasPrincipal && !scopeIs(t.shape.Principal, pPlace) ||
		t.hasResource && !scopeIs(t.shape.Resource, rPlace) {
		return nil, &SyntaxError{Msg: "template slots are not in the policy scope"}
	}
	return t, nil
}

func tokError(t token, format string, args ...any) error {
	return &SyntaxError{Line: t.line, Column: t.column, Msg: fmt.Sprintf(format, args...)}
}

// headRange returns the token index range (exclusive) of the policy scope:
// the tokens between the "(" after the effect and the first ")". It returns
// an empty range when the text does not have that shape, so every slot in
// such text is reported as outside the scope; the text is rejected either
// way.
func headRange(toks []token) tokRange {
	i := 0
	for i < len(toks) && toks[i].kind == tokOp && toks[i].text == "@" {
		i += 2 // "@" name
		if i < len(toks) && toks[i].kind == tokOp && toks[i].text == "(" {
			i += 3 // "(" string ")"
		}
	}
	i++ // effect
	if i >= len(toks) || toks[i].kind != tokOp || toks[i].text != "(" {
		return tokRange{}
	}
	lo := i + 1
	for hi := lo; hi < len(toks); hi++ {
		if toks[hi].kind == tokOp && toks[hi].text == ")" {
			return tokRange{lo, hi}
		}
	}
	return tokRange{}
}

// tokRange is a half-open range of token indexes.
type tokRange struct{ lo, hi int }

// slotInScope reports whether the slot token at index i is the entity of the
// scope constraint on variable: the segment of the scope it sits in starts
// with variable, the slot follows "==" or "in", and the segment ends right
// after it.
func slotInScope(toks []token, head tokRange, i int, variable string) bool {
	if i <= head.lo || i >= head.hi {
		return false
	}
	prev, next := toks[i-1], toks[i+1]
	if !(prev.kind == tokOp && prev.text == "==" || prev.kind == tokIdent && prev.text == "in") {
		return false
	}
	if next.kind != tokOp || (next.text != "," && next.text != ")") {
		return false
	}
	start := i - 1
	for start > head.lo && !(toks[start-1].kind == tokOp && toks[start-1].text == ",") {
		start--
	}
	return toks[start].kind == tokIdent && toks[start].text == variable
}

func scopeIs(sc ast.IsScopeNode, want types.EntityUID) bool {
	e := scopeEntity(sc)
	return e != nil && *e == want
}

// substitute returns the statement with the slots replaced by the given Cedar
// entity literals.
func (t *Template) substitute(principal, resource string) string {
	type repl struct {
		span
		text string
	}
	var rs []repl
	if t.hasPrincipal {
		rs = append(rs, repl{t.principalSpan, principal})
	}
	if t.hasResource {
		rs = append(rs, repl{t.resourceSpan, resource})
	}
	if len(rs) == 2 && rs[1].off < rs[0].off {
		rs[0], rs[1] = rs[1], rs[0]
	}
	var b strings.Builder
	b.Grow(len(t.statement) + len(principal) + len(resource) + 2)
	last := 0
	for _, r := range rs {
		b.WriteString(t.statement[last:r.off])
		if r.glued {
			b.WriteByte(' ')
		}
		b.WriteString(r.text)
		last = r.end
	}
	b.WriteString(t.statement[last:])
	return b.String()
}

// Link fills the template's slots and returns the resulting policy. Exactly
// the slots the template has must be given: a missing entity for a slot, or
// an entity for a slot the template lacks, is an error. The linked policy's
// principal (resource) scope names exactly the given entity.
func (t *Template) Link(principal, resource *types.EntityUID) (*Static, error) {
	pText, err := slotLiteral(SlotPrincipal, t.hasPrincipal, principal)
	if err != nil {
		return nil, err
	}
	rText, err := slotLiteral(SlotResource, t.hasResource, resource)
	if err != nil {
		return nil, err
	}
	p, err := parseOne(t.substitute(pText, rText))
	if err != nil {
		return nil, fmt.Errorf("link template: %w", err)
	}
	s, err := newStatic(p)
	if err != nil {
		return nil, fmt.Errorf("link template: %w", err)
	}
	// Fail closed if the text cedar-go read back does not name exactly the
	// requested entities; EntityLiteral makes this unreachable.
	if t.hasPrincipal && (s.Principal == nil || *s.Principal != *principal) ||
		t.hasResource && (s.Resource == nil || *s.Resource != *resource) {
		return nil, fmt.Errorf("link template: linked policy does not name the given entities")
	}
	return s, nil
}

func slotLiteral(slot string, has bool, uid *types.EntityUID) (string, error) {
	switch {
	case has && uid == nil:
		return "", fmt.Errorf("link template: slot %s needs an entity", slot)
	case !has && uid != nil:
		return "", fmt.Errorf("link template: template has no %s slot", slot)
	case !has:
		return "", nil
	}
	lit, err := EntityLiteral(*uid)
	if err != nil {
		return "", fmt.Errorf("link template: %s: %w", slot, err)
	}
	return lit, nil
}

// EntityLiteral renders uid as Cedar source text, Type::"id", that cedar-go
// parses back to exactly uid. The type must be a Cedar path (identifiers
// joined by "::", no reserved words), so it cannot inject Cedar syntax; the
// id must be valid UTF-8 (Cedar strings are Unicode) and is escaped so the
// literal is printable ASCII on one line.
func EntityLiteral(uid types.EntityUID) (string, error) {
	if _, err := types.NewEntityType(string(uid.Type)); err != nil {
		return "", fmt.Errorf("invalid entity type %q: want identifiers separated by ::", string(uid.Type))
	}
	id := string(uid.ID)
	if !utf8.ValidString(id) {
		return "", fmt.Errorf("entity id %q is not valid UTF-8", id)
	}
	var b strings.Builder
	b.Grow(len(uid.Type) + len(id) + 4)
	b.WriteString(string(uid.Type))
	b.WriteString(`::"`)
	writeCedarString(&b, id)
	b.WriteByte('"')
	return b.String(), nil
}

// writeCedarString writes s escaped for a Cedar string literal (without the
// quotes). Printable ASCII other than '"' and '\' is written as is; every
// other character uses an escape cedar-go decodes back to it: \n \r \t \0
// \" \\ or \u{hex}.
func writeCedarString(b *strings.Builder, s string) {
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case 0:
			b.WriteString(`\0`)
		default:
			if r >= 0x20 && r < 0x7f {
				b.WriteRune(r)
			} else {
				fmt.Fprintf(b, `\u{%x}`, r)
			}
		}
	}
}
