package iam

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// refMatch is the reference matcher: the pattern translated to an anchored
// regular expression. Go's regexp is linear-time too, but it is an
// independent implementation to compare against.
func refMatch(t testing.TB, p, s string, fold bool) bool {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	if fold {
		b.WriteString(`(?i)`)
	}
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`)$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		t.Fatalf("reference pattern %q: %v", b.String(), err)
	}
	return re.MatchString(s)
}

func TestWildcard(t *testing.T) {
	t.Parallel()
	tests := []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything/at:all", true},
		{"?", "", false},
		{"?", "é", true},
		{"??", "é", false},
		{"a*b", "ab", true},
		{"a*b", "axxb", true},
		{"a*b", "axxbc", false},
		{"*/GET/*", "arn:aws:execute-api:r:a:id/dev/GET/x/y", true},
		{"arn:aws:execute-api:*:*:*/*/*/petstore/v1/*", "arn:aws:execute-api:us-east-1:1:abc/dev/GET/petstore/v1/pets/2", true},
		{"arn:aws:execute-api:*:*:*/*/*/petstore/v1/*", "arn:aws:execute-api:us-east-1:1:abc/dev/GET/petstore/v2/pets", false},
		{"*a*a*a*a*b", strings.Repeat("a", 100), false},
		{"**", "x", true},
		{"a?c*", "abcdef", true},
		{"a?c*", "acdef", false},
	}
	for _, tt := range tests {
		if got := wildcardMatch(tt.p, tt.s, false); got != tt.want {
			t.Errorf("wildcardMatch(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
		if ref := refMatch(t, tt.p, tt.s, false); ref != tt.want {
			t.Errorf("reference(%q, %q) = %v, want %v", tt.p, tt.s, ref, tt.want)
		}
	}
}

// TestWildcardAdversarial checks the matcher stays polynomial on patterns
// that make naive backtracking exponential. It asserts the result, not the
// time; with exponential behaviour the test would simply never finish.
func TestWildcardAdversarial(t *testing.T) {
	t.Parallel()
	p := strings.Repeat("*a", 200) + "*b"
	s := strings.Repeat("a", 4000)
	if wildcardMatch(p, s, false) {
		t.Fatal("matched a string without b")
	}
	if !wildcardMatch(p, s+"b", false) {
		t.Fatal("did not match a string ending in b")
	}
}

func FuzzWildcard(f *testing.F) {
	seeds := [][2]string{
		{"*", ""},
		{"a*b?c", "aXXbYc"},
		{"arn:aws:execute-api:*:*:*/*/GET/petstore/v2/status", "arn:aws:execute-api:us-east-1:123:abc/dev/GET/petstore/v2/status"},
		{"*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaa"},
		{"?é*", "xéé"},
		{"??", "\xff\xfe"},
		{"*?", "\xe2\x82"},
		{"Execute-API:*", "execute-api:Invoke"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		// Bound the sizes by truncating rather than rejecting, so long
		// inputs do not look interesting and stall the fuzzer minimizing.
		p, s = p[:min(len(p), 64)], s[:min(len(s), 256)]
		if !utf8.ValidString(p) {
			// Policy strings are always valid UTF-8 (Parse rejects anything
			// else) and the regexp reference cannot compile invalid UTF-8.
			return
		}
		got := wildcardMatch(p, s, false)
		if want := refMatch(t, p, s, false); got != want {
			t.Fatalf("wildcardMatch(%q, %q) = %v, reference %v", p, s, got, want)
		}
		if compilePattern(p).match(s, false) != got {
			t.Fatalf("pattern.match disagrees with wildcardMatch for (%q, %q)", p, s)
		}
		// Case folding is ASCII-only (action names), so compare it with
		// the reference only on ASCII input, where (?i) agrees.
		if isASCII(p) && isASCII(s) {
			got := compilePattern(p).match(s, true)
			if want := refMatch(t, p, s, true); got != want {
				t.Fatalf("folding match(%q, %q) = %v, reference %v", p, s, got, want)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// BenchmarkWildcard compares the matcher with a precompiled regexp (the
// baseline) on article 001's resource pattern and a matching method ARN.
func BenchmarkWildcard(b *testing.B) {
	const (
		p = "arn:aws:execute-api:*:*:*/*/*/petstore/v1/*"
		s = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/dev/GET/petstore/v1/pets/3"
	)
	b.Run("greedy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !wildcardMatch(p, s, false) {
				b.Fatal("no match")
			}
		}
	})
	b.Run("regexp-baseline", func(b *testing.B) {
		re := regexp.MustCompile(`^(?s:arn:aws:execute-api:.*:.*:.*/.*/.*/petstore/v1/.*)$`)
		b.ReportAllocs()
		for b.Loop() {
			if !re.MatchString(s) {
				b.Fatal("no match")
			}
		}
	})
}
