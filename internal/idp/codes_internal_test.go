package idp

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskDestination(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ medium, dest, want string }{
		{"EMAIL", "alice@example.com", "a***@e***"},
		{"EMAIL", "élodie@ünï.example", "é***@ü***"},
		{"EMAIL", "no-at-sign", "***"},
		{"EMAIL", "@example.com", "***"},
		{"SMS", "+15555550123", "+*******0123"},
		{"SMS", "+12", "+****"},
		{"SMS", "555-0123 ext", "+****"},
	} {
		if got := maskDestination(tc.medium, tc.dest); got != tc.want {
			t.Errorf("maskDestination(%s, %q) = %q, want %q", tc.medium, tc.dest, got, tc.want)
		}
	}
}

// FuzzMaskDestination: whatever an attribute holds, the mask is valid UTF-8, shows at most
// two characters and four digits of it, and never panics.
func FuzzMaskDestination(f *testing.F) {
	for _, s := range []string{"alice@example.com", "é@ü", "+15555550123", "", "@", "+", "a@b@c", "\xff@\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, dest string) {
		for _, medium := range []string{"EMAIL", "SMS"} {
			got := maskDestination(medium, dest)
			if !utf8.ValidString(got) && utf8.ValidString(dest) {
				t.Fatalf("mask %q of %q is not UTF-8", got, dest)
			}
			if len(dest) > 8 && strings.Contains(got, dest[:len(dest)-4]) {
				t.Fatalf("mask %q reveals %q", got, dest)
			}
		}
	})
}
