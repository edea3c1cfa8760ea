package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// SyntaxError is a parse error in a policy, template or schema. Line and
// Column are 1-based and relative to the text given to the parser; both are
// zero when the underlying parser reported no position.
type SyntaxError struct {
	Line   int
	Column int
	Msg    string
}

func (e *SyntaxError) Error() string {
	if e.Line <= 0 {
		return e.Msg
	}
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// cedarPos matches the position cedar-go's scanners and parsers embed in
// their error strings ("<input>:3:14"). cedar-go exposes no structured
// position, so the string is the only source.
var cedarPos = regexp.MustCompile(`<input>:(\d+):(\d+)`)

// exactMsg matches cedar-go's message for a missing punctuation token.
var exactMsg = regexp.MustCompile(`^"(?:[^"\\]|\\.)*": exact got (.*) want (\S+)$`)

// syntaxError converts a cedar-go parse error for src into a *SyntaxError,
// moving the embedded position into Line and Column.
func syntaxError(err error, src string) *SyntaxError {
	msg := strings.TrimPrefix(err.Error(), "parser error: ")
	loc := cedarPos.FindStringSubmatchIndex(msg)
	if loc == nil {
		return &SyntaxError{Msg: msg}
	}
	se := &SyntaxError{}
	se.Line, _ = strconv.Atoi(msg[loc[2]:loc[3]])
	se.Column, _ = strconv.Atoi(msg[loc[4]:loc[5]])
	before := strings.TrimSpace(strings.TrimPrefix(msg[:loc[0]], "parse error at"))
	after := strings.TrimSpace(strings.TrimPrefix(msg[loc[1]:], ":"))
	if m := exactMsg.FindStringSubmatch(after); m != nil {
		// cedar-go reports a wrong punctuation token at the position of the
		// token after it; point at the token it actually rejected.
		se.Msg = fmt.Sprintf("at %q: expected %q", m[1], m[2])
		if m[1] == "" {
			se.Msg = fmt.Sprintf("at end of input: expected %q", m[2])
		}
		if tok, ok := tokenBefore(src, se.Line, se.Column); ok && tok.text == m[1] {
			se.Line, se.Column = tok.line, tok.column
		}
		return se
	}
	if rest, ok := strings.CutPrefix(after, `"": `); ok {
		after = "at end of input: " + rest
	} else if strings.HasPrefix(after, `"`) {
		after = "at " + after
	}
	if before != "" {
		after = before + " " + after
	}
	se.Msg = after
	return se
}

// tokenBefore returns the token preceding the one at line:column in src.
func tokenBefore(src string, line, column int) (token, bool) {
	toks, err := lex(src)
	if err != nil {
		return token{}, false
	}
	for i := 1; i < len(toks); i++ {
		if toks[i].line == line && toks[i].column == column {
			return toks[i-1], true
		}
	}
	return token{}, false
}

// jsonSyntaxError reports malformed JSON with the line and column of the
// offending byte, or nil when b is well-formed JSON. cedar-go's JSON decoders
// report byte offsets at best, so the syntax is checked here first.
func jsonSyntaxError(b []byte) error {
	var v any
	err := json.Unmarshal(b, &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &SyntaxError{Msg: err.Error()}
	}
	// Offset counts the bytes read including the offending one.
	line, col := lineColumn(b, int(se.Offset)-1)
	return &SyntaxError{Line: line, Column: col, Msg: se.Error()}
}

// lineColumn converts a byte offset into a 1-based line and a 1-based column
// counted in characters.
func lineColumn(b []byte, off int) (line, col int) {
	off = min(max(off, 0), len(b))
	line, col = 1, 1
	for _, r := range string(b[:off]) {
		if r == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}
