package console

import (
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestParseUID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, typ, id, err string }{
		{in: `User::"alice"`, typ: "User", id: "alice"},
		{in: ` PhotoApp::Photo::"a \"b\" c" `, typ: "PhotoApp::Photo", id: `a "b" c`},
		{in: `A::B::C::"x::y"`, typ: "A::B::C", id: "x::y"},
		{in: `User::alice`, err: "principal: write an entity as"},
		{in: `"alice"`, err: "principal: write an entity as"},
		{in: `User::"unterminated`, err: "principal: write an entity as"},
		{in: `1User::"x"`, err: "principal: write an entity as"},
	} {
		typ, id, err := parseUID("principal", tc.in)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("%q: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || typ != tc.typ || id != tc.id {
			t.Errorf("%q: %q %q %v", tc.in, typ, id, err)
		}
	}
}

// FuzzParseUID: never panics, names the field on error, and what it accepts reads back the
// same when written again.
func FuzzParseUID(f *testing.F) {
	for _, s := range []string{`User::"alice"`, `NS::T::"\u00e9\n"`, `T::""`, `::"x"`, `T::"\"`, `T::"a"b"`, "T::\"\x00\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		typ, id, err := parseUID("resource", in)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "resource: ") {
				t.Fatalf("error does not name the field: %v", err)
			}
			return
		}
		typ2, id2, err := parseUID("resource", typ+"::"+strconv.Quote(id))
		if err != nil || typ2 != typ || id2 != id {
			t.Fatalf("%q → %q %q does not round-trip: %q %q %v", in, typ, id, typ2, id2, err)
		}
	})
}

// FuzzSafeNext: a post-sign-in redirect never leaves the console.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/console/stores", "//evil.example/", "/console/../x", "https://evil.example/console/", "/console/\\evil", "/console//evil", "/\t/evil", "/console/stores?q=a#b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := safeNext(in)
		u, err := url.Parse(out)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(out, Prefix) || strings.HasPrefix(out, "//") || strings.ContainsAny(out, "\\\r\n") {
			t.Fatalf("safeNext(%q) = %q leaves the console", in, out)
		}
	})
}

// FuzzErrorPosition: any message yields a position or none, never a panic or a negative one.
func FuzzErrorPosition(f *testing.F) {
	for _, s := range []string{"parse error at <input>:3:14: unexpected token", "line 6, column 2: expected ;", "at 1:1", "99999999999999999999:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		e := toAPIError(errString(msg))
		if e.Line < 0 || e.Column < 0 || e.Message != msg {
			t.Fatalf("%q → %+v", msg, e)
		}
	})
}

type errString string

func (e errString) Error() string { return string(e) }
