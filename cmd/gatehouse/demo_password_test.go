package main

import (
	"strings"
	"testing"
	"unicode"
)

// TestDemoPasswordMeetsPoolPolicy: every generated demo password has what the built-in IdP's
// default pool policy asks for. Before the fixed digit, about one password in 180 had none and
// `gatehouse demo` failed with InvalidPasswordException.
func TestDemoPasswordMeetsPoolPolicy(t *testing.T) {
	t.Parallel()
	for range 5000 {
		p := demoPassword()
		if len(p) < 8 || !strings.ContainsFunc(p, unicode.IsDigit) || !strings.ContainsFunc(p, unicode.IsUpper) ||
			!strings.ContainsFunc(p, unicode.IsLower) || !strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			t.Fatalf("demo password %q does not meet the default policy", p)
		}
	}
}
