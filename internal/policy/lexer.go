package policy

import (
	"fmt"
	"unicode/utf8"
)

// tokKind classifies a lexer token. The lexer mirrors the token boundaries of
// cedar-go's scanner (identifiers, integers, strings with escapes, operators,
// "//" and "/* */" comments) and adds one token cedar-go lacks: a template
// slot, "?" immediately followed by identifier characters. Its only job is to
// locate slots so that substitution never touches a string or a comment; the
// real parse is always done by cedar-go afterwards.
type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokInt
	tokString
	tokOp
	tokSlot
)

type token struct {
	kind   tokKind
	text   string
	off    int // byte offset of the first byte
	end    int // byte offset just past the last byte
	line   int // 1-based
	column int // 1-based, counted in characters like cedar-go
}

type lexer struct {
	src    string
	off    int
	line   int
	column int // column of the next character
}

// lex splits src into tokens. Comments and whitespace are dropped. The last
// token is always tokEOF.
func lex(src string) ([]token, error) {
	l := lexer{src: src, line: 1, column: 1}
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks, nil
		}
	}
}

// peek returns the rune at the current offset and its width; width 0 means
// end of input.
func (l *lexer) peek() (rune, int) {
	if l.off >= len(l.src) {
		return 0, 0
	}
	return utf8.DecodeRuneInString(l.src[l.off:])
}

func (l *lexer) advance() (rune, error) {
	r, w := l.peek()
	if r == utf8.RuneError && w == 1 {
		return r, l.errorf("invalid UTF-8 encoding")
	}
	if r == 0 && w == 1 {
		return r, l.errorf("invalid character NUL")
	}
	l.off += w
	if r == '\n' {
		l.line++
		l.column = 1
	} else {
		l.column++
	}
	return r, nil
}

func (l *lexer) errorf(format string, args ...any) error {
	return &SyntaxError{Line: l.line, Column: l.column, Msg: fmt.Sprintf(format, args...)}
}

func isIdentRune(r rune, first bool) bool {
	return r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (!first && r >= '0' && r <= '9')
}

func (l *lexer) next() (token, error) {
	// Skip whitespace and comments.
	for {
		r, w := l.peek()
		if w == 0 {
			return token{kind: tokEOF, off: l.off, end: l.off, line: l.line, column: l.column}, nil
		}
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if _, err := l.advance(); err != nil {
				return token{}, err
			}
			continue
		case r == '/' && l.off+1 < len(l.src) && l.src[l.off+1] == '/':
			for {
				r, w := l.peek()
				if w == 0 || r == '\n' {
					break
				}
				if _, err := l.advance(); err != nil {
					return token{}, err
				}
			}
			continue
		case r == '/' && l.off+1 < len(l.src) && l.src[l.off+1] == '*':
			line, col := l.line, l.column
			l.off += 2
			l.column += 2
			closed := false
			for !closed {
				_, w := l.peek()
				if w == 0 {
					return token{}, &SyntaxError{Line: line, Column: col, Msg: "comment not terminated"}
				}
				closed = l.src[l.off] == '*' && l.off+1 < len(l.src) && l.src[l.off+1] == '/'
				if _, err := l.advance(); err != nil {
					return token{}, err
				}
			}
			if _, err := l.advance(); err != nil { // the closing '/'
				return token{}, err
			}
			continue
		}
		break
	}

	t := token{off: l.off, line: l.line, column: l.column}
	r, err := l.advance()
	if err != nil {
		return token{}, err
	}
	switch {
	case isIdentRune(r, true):
		t.kind = tokIdent
		l.identTail()
	case r >= '0' && r <= '9':
		t.kind = tokInt
		for {
			r, w := l.peek()
			if w == 0 || r < '0' || r > '9' {
				break
			}
			l.advance()
		}
	case r == '"':
		t.kind = tokString
		if err := l.stringTail(t); err != nil {
			return token{}, err
		}
	case r == '?':
		// A lone "?" is a slot with an empty name, so that templates
		// report it as an unknown slot rather than as a missing one.
		t.kind = tokSlot
		if r, w := l.peek(); w > 0 && isIdentRune(r, true) {
			l.identTail()
		}
	default:
		t.kind = tokOp
		if nr, w := l.peek(); w > 0 {
			switch string([]rune{r, nr}) {
			case "::", "==", "!=", "<=", ">=", "&&", "||":
				l.advance()
			}
		}
	}
	t.end = l.off
	t.text = l.src[t.off:t.end]
	return t, nil
}

func (l *lexer) identTail() {
	for {
		r, w := l.peek()
		if w == 0 || !isIdentRune(r, false) {
			return
		}
		l.advance()
	}
}

// stringTail consumes a string literal after its opening quote. Escapes are
// only skipped here, not decoded: an escape is a backslash and the following
// character, which is enough to find where the literal ends. cedar-go checks
// the escapes themselves when it parses.
func (l *lexer) stringTail(start token) error {
	for {
		r, w := l.peek()
		if w == 0 || r == '\n' {
			return &SyntaxError{Line: start.line, Column: start.column, Msg: "string literal not terminated"}
		}
		if _, err := l.advance(); err != nil {
			return err
		}
		switch r {
		case '"':
			return nil
		case '\\':
			if r, w := l.peek(); w == 0 || r == '\n' {
				return &SyntaxError{Line: start.line, Column: start.column, Msg: "string literal not terminated"}
			}
			if _, err := l.advance(); err != nil {
				return err
			}
		}
	}
}
