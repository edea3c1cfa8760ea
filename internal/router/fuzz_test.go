package router_test

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{
		"/", "/pets", "/pets/", "/a/b/c", "/%7e", "/caf%c3%a9", "/a%20b", "/public/../admin",
		"/p/%2e%2e/admin", "/p/%2E%2e/admin", "/p/.%2e/admin", "/api%2e/admin", "/p%2F..%2Fadmin",
		"/p%5C..%5Cadmin", "/%252e%252e%252f", `/p\..\admin`, "/..;/admin", "/u/..;a=b/admin",
		"//admin", "/admin//", "/admin/index%0a", "/admin%00", "/admin#x", "/admin\r\n",
		"/admin／x", "/admin%EF%BC%8Fx", "/ａｄｍｉｎ", "http://x/admin", "", "%", "/%", "/%%",
		"/.", "/..", "/...", "/%C0%AF", "/cafe%CC%81", "/%E6%97%A5", "/a%21%40%3a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := router.Canonicalize(in)
		if err != nil {
			if out != "" {
				t.Fatalf("Canonicalize(%q) = %q with error %v", in, out, err)
			}
			return
		}
		again, err := router.Canonicalize(out)
		if err != nil || again != out {
			t.Fatalf("not a fixed point: %q -> %q -> %q, %v", in, out, again, err)
		}
		checkCanonical(t, out)
		// Normalizing never changes what the path decodes to.
		din, err1 := url.PathUnescape(in)
		dout, err2 := url.PathUnescape(out)
		if err1 != nil || err2 != nil || din != dout {
			t.Fatalf("meaning changed: %q (%q, %v) -> %q (%q, %v)", in, din, err1, out, dout, err2)
		}
		// What the proxy emits upstream is the canonical string itself.
		if u := (&url.URL{Path: dout, RawPath: out}); u.EscapedPath() != out {
			t.Fatalf("net/url would forward %q as %q", out, u.EscapedPath())
		}
		// The decoded path has exactly one canonical spelling: re-escaping every byte
		// differently gives the same output.
		if esc := escapeAll(dout); len(esc) > router.MaxPathLength {
			// Too long to spell out fully; the length cap applies to the raw form.
		} else if alt, err := router.Canonicalize(esc); err != nil || alt != out {
			t.Fatalf("fully escaped spelling of %q gives %q, %v; want %q", out, alt, err, out)
		}
	})
}

// escapeAll percent-encodes every byte of a decoded path except '/' and '.'.
func escapeAll(decoded string) string {
	var b strings.Builder
	for i := 0; i < len(decoded); i++ {
		c := decoded[i]
		if c == '/' || c == '.' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02x", c)
	}
	return b.String()
}

func checkCanonical(t *testing.T, out string) {
	t.Helper()
	if !strings.HasPrefix(out, "/") {
		t.Fatalf("output %q does not start with '/'", out)
	}
	if strings.Contains(out, "//") {
		t.Fatalf("output %q has an empty segment", out)
	}
	for i := 0; i < len(out); i++ {
		c := out[i]
		switch {
		case c == '%':
			if i+2 >= len(out) || !isUpperHex(out[i+1]) || !isUpperHex(out[i+2]) {
				t.Fatalf("output %q has a non-canonical escape at %d", out, i)
			}
			i += 2
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			strings.IndexByte("/.-_~!$&'()*+,=:@", c) >= 0:
		default:
			t.Fatalf("output %q has forbidden byte %q at %d", out, c, i)
		}
	}
	segs := router.Segments(out)
	for i, s := range segs {
		if s == "." || s == ".." {
			t.Fatalf("output %q has a dot segment", out)
		}
		if s == "" && i != len(segs)-1 {
			t.Fatalf("output %q has an empty segment", out)
		}
		if strings.ContainsAny(s, "/\\\x00\r\n;?#%") {
			t.Fatalf("output %q decodes to segment %q with a forbidden character", out, s)
		}
	}
}

func isUpperHex(c byte) bool { return '0' <= c && c <= '9' || 'A' <= c && c <= 'F' }

// FuzzMatch builds tables from random patterns ("METHOD PATH" lines) and checks Match against
// a brute-force reference implementation of the precedence rules.
func FuzzMatch(f *testing.F) {
	f.Add("GET /\nGET /pets\nGET /pets/{petId}\nPOST /pets\nANY /admin/{proxy+}", "GET", "/pets/1")
	f.Add("GET /a/b\nGET /a/{x}\nGET /a/{r+}\nANY /{all+}", "GET", "/a/b/c")
	f.Add("GET /b/lit\nGET /b/{x}/c", "GET", "/b/lit/c")
	f.Add("POST /d/x\nGET /d/{id}", "GET", "/d/x")
	f.Add("ANY /{api+}", "HEAD", "/petstore/v1/pets/")
	f.Add("GET /x/%7e\nHEAD /x/~", "HEAD", "/x/~")
	f.Add("GET /{a}/{b}\nGET /{a}/{b+}", "DELETE", "//")
	f.Fuzz(func(t *testing.T, spec, method, path string) {
		var routes []router.Route
		for i, line := range strings.Split(spec, "\n") {
			m, p, _ := strings.Cut(line, " ")
			routes = append(routes, router.Route{Method: m, Path: p, Value: i})
		}
		tbl, err := router.New(routes)
		if err != nil {
			if tbl != nil {
				t.Fatal("New returned a table with an error")
			}
			return
		}
		got, ok := tbl.Match(method, path)
		if _, err := router.Canonicalize(path); err == nil {
			checkAgainstReference(t, tbl, routes, method, path)
		} else if ok && !strings.HasPrefix(path, "/") {
			t.Fatalf("Match(%s %q) matched %v", method, path, got.Route)
		}
		// Paths made from the routes themselves reach the interesting cases.
		for _, r := range routes {
			checkAgainstReference(t, tbl, routes, method, concretize(r.Path))
		}
		// A literal-only route equal to the path is always the match for its own method.
		for _, r := range routes {
			if r.Method == "ANY" || strings.Contains(r.Path, "{") {
				continue
			}
			if c, err := router.Canonicalize(r.Path); err != nil || c != path {
				continue
			}
			m, ok := tbl.Match(r.Method, path)
			if !ok || m.Route.Value != r.Value {
				t.Fatalf("literal route %s %s not matched: %v, %v", r.Method, r.Path, m.Route, ok)
			}
		}
	})
}

func checkAgainstReference(t *testing.T, tbl *router.Table, routes []router.Route, method, path string) {
	t.Helper()
	got, ok := tbl.Match(method, path)
	want, wantOK := referenceMatch(routes, method, path)
	if ok != wantOK || ok && got.Route.Value != want.Value {
		t.Fatalf("Match(%s %s) = %v, %v; reference %v, %v", method, path, got.Route, ok, want, wantOK)
	}
	if ok && len(got.Params) == 0 && got.Params != nil {
		t.Fatalf("Match(%s %s) returned an empty non-nil Params", method, path)
	}
}

// concretize turns a valid pattern into a canonical path it matches.
func concretize(pattern string) string {
	if pattern == "/" {
		return pattern
	}
	parts := strings.Split(pattern[1:], "/")
	for i, p := range parts {
		switch {
		case strings.HasSuffix(p, "+}"):
			parts[i] = "g1/g2"
		case strings.HasPrefix(p, "{"):
			parts[i] = "v"
		default:
			c, err := router.Canonicalize("/" + p)
			if err != nil {
				return "/"
			}
			parts[i] = c[1:]
		}
	}
	return "/" + strings.Join(parts, "/")
}

// referenceMatch is the precedence rule written the slow, obvious way: among the patterns
// that match the path, the resource whose segment kinds (literal < param < greedy) are
// lexicographically smallest wins; then the method is picked on that resource only.
func referenceMatch(routes []router.Route, method, path string) (router.Route, bool) {
	var segs []string
	if path != "/" {
		segs = strings.Split(path[1:], "/")
	}
	var best []int
	var resource []router.Route
	for _, r := range routes {
		rank, ok := referenceRank(r.Path, segs)
		if !ok {
			continue
		}
		switch c := slices.Compare(rank, best); {
		case best == nil || c < 0:
			best, resource = rank, []router.Route{r}
		case c == 0:
			resource = append(resource, r)
		}
	}
	find := func(m string) (router.Route, bool) {
		for _, r := range resource {
			if r.Method == m {
				return r, true
			}
		}
		return router.Route{}, false
	}
	switch method {
	case "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS":
	default:
		return router.Route{}, false
	}
	if r, ok := find(method); ok {
		return r, true
	}
	if method == "HEAD" {
		if r, ok := find("GET"); ok {
			return r, true
		}
	}
	return find("ANY")
}

func referenceRank(pattern string, segs []string) ([]int, bool) {
	rank := []int{} // non-nil: the root's empty rank still beats "no match yet"
	if pattern == "/" {
		return rank, len(segs) == 0
	}
	parts := strings.Split(pattern[1:], "/")
	for i, p := range parts {
		if i >= len(segs) {
			return nil, false
		}
		switch {
		case strings.HasSuffix(p, "+}"):
			return append(rank, 2), segs[i] != ""
		case strings.HasPrefix(p, "{"):
			if segs[i] == "" {
				return nil, false
			}
			rank = append(rank, 1)
		default:
			c, err := router.Canonicalize("/" + p)
			if err != nil || c[1:] != segs[i] {
				return nil, false
			}
			rank = append(rank, 0)
		}
	}
	return rank, len(parts) == len(segs)
}

// TestMatchAgainstReference compares Match with referenceMatch over many small random tables
// built from a tiny alphabet, so that overlaps, backtracking and method fallbacks are common.
func TestMatchAgainstReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	patSegs := []string{"a", "b", "{x}", "{y}", "{r+}"}
	pathSegs := []string{"a", "b", "c", ""}
	methods := []string{"GET", "POST", "HEAD", "ANY", "OPTIONS"}
	built := 0
	for range 3000 {
		var routes []router.Route
		for i := range 1 + rng.IntN(8) {
			p := ""
			for range rng.IntN(4) {
				p += "/" + patSegs[rng.IntN(len(patSegs))]
			}
			if p == "" {
				p = "/"
			}
			routes = append(routes, router.Route{Method: methods[rng.IntN(len(methods))], Path: p, Value: i})
		}
		tbl, err := router.New(routes)
		if err != nil {
			continue
		}
		built++
		for range 30 {
			path := ""
			for range rng.IntN(5) {
				path += "/" + pathSegs[rng.IntN(len(pathSegs))]
			}
			if _, err := router.Canonicalize(path); err != nil {
				continue
			}
			checkAgainstReference(t, tbl, routes, methods[rng.IntN(len(methods))], path)
		}
		for _, r := range routes {
			for _, m := range methods {
				checkAgainstReference(t, tbl, routes, m, concretize(r.Path))
			}
		}
	}
	if built < 500 {
		t.Fatalf("only %d random tables were valid; the test is not exercising Match", built)
	}
}
