package router_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

func TestCanonicalizeAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"/", "/"},
		{"/pets", "/pets"},
		{"/pets/", "/pets/"}, // trailing slash kept; distinct from /pets
		{"/demo/admin/curltest1", "/demo/admin/curltest1"},
		{"/appointment/PI-T123", "/appointment/PI-T123"},
		{"/file.txt", "/file.txt"},
		{"/a.b.c/...", "/a.b.c/..."}, // three dots is a name, not a dot segment
		{"/.well-known/jwks.json", "/.well-known/jwks.json"},
		{"/.%7e", "/.~"},   // a dot followed by anything is a name
		{"/..%41", "/..A"}, // likewise
		{"/%41/..b", "/A/..b"},
		{"/a-b_c~d!$&'()*+,=:@", "/a-b_c~d!$&'()*+,=:@"},
		{"/%7e", "/~"},
		{"/%7E", "/~"},
		{"/%41%62%63", "/Abc"},
		{"/p%2Dq%5fr", "/p-q_r"},
		{"/a%21b%40c%3Ad%3d", "/a!b@c:d="}, // sub-delims have one spelling: raw
		{"/a%20b", "/a%20b"},
		{"/%7b%7D", "/%7B%7D"},
		{"/caf%c3%a9", "/caf%C3%A9"},
		{"/caf%C3%A9/x", "/caf%C3%A9/x"},
		{"/%E6%97%A5%E6%9C%AC", "/%E6%97%A5%E6%9C%AC"},
		{"/x/%22q%22", "/x/%22q%22"},
		{"/%3c%3E%5b%5D%5e%60%7c", "/%3C%3E%5B%5D%5E%60%7C"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			got, err := router.Canonicalize(tc.in)
			if err != nil {
				t.Fatalf("Canonicalize(%q) error: %v", tc.in, err)
			}
			if got != tc.want {
				t.Fatalf("Canonicalize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			again, err := router.Canonicalize(got)
			if err != nil || again != got {
				t.Fatalf("not a fixed point: Canonicalize(%q) = %q, %v", got, again, err)
			}
		})
	}
}

// TestCanonicalizeRejects covers the path-confusion vectors that reach the path (dot segments,
// encoded separators and dots, duplicate slashes, control characters, ...), raw and encoded;
// docs/security.md states the rule they enforce.
func TestCanonicalizeRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, reason string
	}{
		// Structure.
		{"empty", "", "path does not start with '/'"},
		{"relative", "admin", "path does not start with '/'"},
		{"absolute URI", "http://x/admin", "path does not start with '/'"},
		{"authority form", "x:443", "path does not start with '/'"},
		{"asterisk form", "*", "path does not start with '/'"},
		{"double slash leading", "//admin", "empty segment"},
		{"double slash inside", "/public//admin", "empty segment"},
		{"double trailing slash", "/admin//", "empty segment"},
		{"too long", "/" + strings.Repeat("a", router.MaxPathLength), "path too long"},

		// Dot segments, raw.
		{"dotdot", "/public/../admin", "dot segment"},
		{"dotdot leading", "/../admin", "dot segment"},
		{"dotdot trailing", "/public/..", "dot segment"},
		{"dotdot trailing slash", "/public/../", "dot segment"},
		{"dot", "/./admin", "dot segment"},
		{"dot trailing", "/admin/.", "dot segment"},
		{"root dot", "/.", "dot segment"},

		// Dot segments, encoded.
		{"%2e%2e", "/p/%2e%2e/admin", "encoded dot"},
		{"%2E%2E", "/p/%2E%2E/admin", "encoded dot"},
		{"%2E%2e mixed", "/p/%2E%2e/admin", "encoded dot"},
		{".%2e", "/p/.%2e/admin", "encoded dot"},
		{"%2e.", "/p/%2e./admin", "encoded dot"},
		{"%2e", "/%2e/admin", "encoded dot"},
		{"api%2e", "/api%2e/admin", "encoded dot"},

		// Encoded separators.
		{"%2F", "/p%2F..%2Fadmin", "encoded slash"},
		{"%2f", "/p%2f..%2fadmin", "encoded slash"},
		{"%5C", "/p%5C..%5Cadmin", "encoded backslash"},
		{"%5c", "/p%5cadmin", "encoded backslash"},

		// Double encoding.
		{"%252e%252e%252f", "/%252e%252e%252fadmin", "double encoding"},
		{"%25", "/100%25", "double encoding"},
		{"%2525", "/%2525", "double encoding"},

		// Backslash.
		{"backslash", `/p\..\admin`, "backslash"},
		{"backslash only", `/\admin`, "backslash"},

		// Path parameters.
		{"..;", "/..;/admin", "semicolon"},
		{"..;a=b", "/u/..;a=b/admin", "semicolon"},
		{"jsessionid", "/admin;jsessionid=x", "semicolon"},
		{"%3B", "/admin%3Bx", "encoded semicolon"},
		{"..%3B", "/..%3b/admin", "encoded semicolon"},

		// NUL, CR, LF, fragment, query.
		{"%0a", "/admin/index%0a", "encoded control character"},
		{"%0d%0a", "/admin%0d%0aX-Injected:%20y", "encoded control character"},
		{"%00", "/admin%00.json", "encoded NUL"},
		{"%09", "/admin%09", "encoded control character"},
		{"%7f", "/admin%7f", "encoded control character"},
		{"%1F", "/admin%1F", "encoded control character"},
		{"%23", "/admin%23x", "encoded hash"},
		{"%3F", "/admin%3Fx=1", "encoded question mark"},
		{"raw NUL", "/admin\x00", "NUL"},
		{"raw CR", "/admin\r", "control character"},
		{"raw LF", "/admin\nx", "control character"},
		{"raw CRLF", "/admin\r\nHost: evil", "control character"},
		{"raw TAB", "/ad\tmin", "control character"},
		{"raw DEL", "/admin\x7f", "control character"},
		{"raw hash", "/admin#x", "query or fragment delimiter in path"},
		{"raw query", "/admin?x", "query or fragment delimiter in path"},

		// Malformed escapes.
		{"lone percent", "/admin%", "malformed percent escape"},
		{"short escape", "/admin%2", "malformed percent escape"},
		{"bad hex", "/admin%zz", "malformed percent escape"},
		{"half hex", "/admin%g1", "malformed percent escape"},
		{"percent slash", "/a%/b", "malformed percent escape"},

		// Unicode, raw.
		{"fullwidth solidus", "/admin／x", "non-ASCII byte"},
		{"fullwidth reverse solidus", "/admin＼x", "non-ASCII byte"},
		{"fullwidth full stop", "/．．/admin", "non-ASCII byte"},
		{"fullwidth admin", "/ａｄｍｉｎ", "non-ASCII byte"},
		{"raw latin-1", "/caf\xe9", "non-ASCII byte"},
		{"raw utf-8", "/café", "non-ASCII byte"},

		// Unicode, encoded.
		{"encoded fullwidth solidus", "/admin%EF%BC%8Fx", "escaped characters not in NFKC form"},
		{"encoded fullwidth reverse solidus", "/admin%ef%bc%bcx", "escaped characters not in NFKC form"},
		{"encoded fullwidth full stop", "/%EF%BC%8E%EF%BC%8E/admin", "escaped characters not in NFKC form"},
		{"encoded fullwidth admin", "/%EF%BD%81%EF%BD%84%EF%BD%8D%EF%BD%89%EF%BD%8E", "escaped characters not in NFKC form"},
		{"encoded combining mark composes", "/cafe%CC%81", "escaped characters not in NFKC form"},
		{"encoded overlong slash", "/%C0%AF", "escaped bytes are not valid UTF-8"},
		{"encoded overlong dot", "/%C0%AE%C0%AE/admin", "escaped bytes are not valid UTF-8"},
		{"encoded latin-1", "/caf%E9", "escaped bytes are not valid UTF-8"},
		{"encoded truncated utf-8", "/%E6%97", "escaped bytes are not valid UTF-8"},
		{"encoded C1 control", "/a%C2%85", "escaped non-printable or space character"},
		{"encoded NBSP", "/a%C2%A0", "escaped non-printable or space character"},
		{"encoded zero-width space", "/ad%E2%80%8Bmin", "escaped non-printable or space character"},
		{"encoded RTL override", "/a%E2%80%AEb", "escaped non-printable or space character"},
		{"encoded BOM", "/%EF%BB%BFadmin", "escaped non-printable or space character"},

		// ASCII that must be escaped.
		{"raw space", "/a b", "character not allowed in path"},
		{"raw brace", "/{x}", "character not allowed in path"},
		{"raw bracket", "/a[0]", "character not allowed in path"},
		{"raw pipe", "/a|b", "character not allowed in path"},
		{"raw quote", `/a"b`, "character not allowed in path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := router.Canonicalize(tc.in)
			if err == nil {
				t.Fatalf("Canonicalize(%q) = %q, want error %q", tc.in, got, tc.reason)
			}
			if !errors.Is(err, router.ErrBadPath) {
				t.Fatalf("error %v does not wrap ErrBadPath", err)
			}
			var pe *router.PathError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *PathError", err)
			}
			if pe.Reason != tc.reason {
				t.Fatalf("Canonicalize(%q) reason %q, want %q", tc.in, pe.Reason, tc.reason)
			}
			if got != "" {
				t.Fatalf("Canonicalize(%q) returned %q with an error", tc.in, got)
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "\x00") {
				t.Fatalf("error message echoes control characters: %q", err)
			}
		})
	}
}

func TestCanonicalizeNoAllocWhenCanonical(t *testing.T) {
	for _, p := range []string{"/", "/pets/123", "/demo/admin/curltest1/", "/caf%C3%A9"} {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := router.Canonicalize(p); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 && !strings.Contains(p, "%") {
			t.Errorf("Canonicalize(%q) allocates %v times, want 0", p, allocs)
		}
	}
}

func TestSegments(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []string
	}{
		{"/", nil},
		{"/pets", []string{"pets"}},
		{"/pets/", []string{"pets", ""}},
		{"/a/b%20c/caf%C3%A9", []string{"a", "b c", "café"}},
		{"/%7B%7D", []string{"{}"}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			t.Parallel()
			if got := router.Segments(tc.in); !slices.Equal(got, tc.want) {
				t.Fatalf("Segments(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
