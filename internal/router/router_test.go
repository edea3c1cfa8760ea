package router_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// petStore is article 000's API (examples/petstore), plus article 004's appointment route.
var petStore = []router.Route{
	{Method: "GET", Path: "/", Value: "welcome"},
	{Method: "GET", Path: "/pets", Value: "list pets"},
	{Method: "GET", Path: "/pets/{petId}", Value: "get pet"},
	{Method: "POST", Path: "/pets", Value: "create pet"},
	{Method: "ANY", Path: "/admin/{proxy+}", Value: "admin"},
	{Method: "GET", Path: "/appointment/{id}", Value: "appointment"},
}

type matchCase struct {
	name         string
	method, path string
	want         any // Route.Value; nil means no match
	template     string
	authMethod   string
	params       map[string]string
}

func runMatches(t *testing.T, tbl *router.Table, tests []matchCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m, ok := tbl.Match(tc.method, tc.path)
			if tc.want == nil {
				if ok {
					t.Fatalf("Match(%s %s) = %q (%v), want no match", tc.method, tc.path, m.Template, m.Route.Value)
				}
				return
			}
			if !ok {
				t.Fatalf("Match(%s %s): no match, want %v", tc.method, tc.path, tc.want)
			}
			if m.Route.Value != tc.want {
				t.Errorf("Match(%s %s) route %v, want %v", tc.method, tc.path, m.Route.Value, tc.want)
			}
			if m.Template != tc.template {
				t.Errorf("Match(%s %s) template %q, want %q", tc.method, tc.path, m.Template, tc.template)
			}
			wantMethod := tc.authMethod
			if wantMethod == "" {
				wantMethod = tc.method
			}
			if m.Method != wantMethod {
				t.Errorf("Match(%s %s) method %q, want %q", tc.method, tc.path, m.Method, wantMethod)
			}
			if !maps.Equal(m.Params, tc.params) {
				t.Errorf("Match(%s %s) params %v, want %v", tc.method, tc.path, m.Params, tc.params)
			}
			if tc.params == nil && m.Params != nil {
				t.Errorf("Match(%s %s) params %v, want nil", tc.method, tc.path, m.Params)
			}
		})
	}
}

func mustNew(t testing.TB, routes []router.Route) *router.Table {
	t.Helper()
	tbl, err := router.New(routes)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tbl
}

func TestMatchPetStore(t *testing.T) {
	t.Parallel()
	tbl := mustNew(t, petStore)
	runMatches(t, tbl, []matchCase{
		{name: "root", method: "GET", path: "/", want: "welcome", template: "/"},
		{name: "root POST", method: "POST", path: "/"},
		{name: "list", method: "GET", path: "/pets", want: "list pets", template: "/pets"},
		{name: "create", method: "POST", path: "/pets", want: "create pet", template: "/pets"},
		{name: "delete pets no route", method: "DELETE", path: "/pets"},
		{name: "get pet", method: "GET", path: "/pets/1", want: "get pet", template: "/pets/{petId}", params: map[string]string{"petId": "1"}},
		{name: "get pet decoded", method: "GET", path: "/pets/caf%C3%A9%20x", want: "get pet", template: "/pets/{petId}", params: map[string]string{"petId": "café x"}},
		{name: "post pet no route", method: "POST", path: "/pets/1"},
		{name: "pets trailing slash", method: "GET", path: "/pets/"},
		{name: "pet too deep", method: "GET", path: "/pets/1/toys"},
		{name: "admin curltest1", method: "GET", path: "/admin/curltest1", want: "admin", template: "/admin/{proxy+}", params: map[string]string{"proxy": "curltest1"}},
		{name: "admin deep", method: "DELETE", path: "/admin/a/b/c", want: "admin", template: "/admin/{proxy+}", params: map[string]string{"proxy": "a/b/c"}},
		{name: "admin trailing slash kept", method: "PUT", path: "/admin/a/b/", want: "admin", template: "/admin/{proxy+}", params: map[string]string{"proxy": "a/b/"}},
		{name: "admin greedy decoded", method: "PATCH", path: "/admin/%7B1%7D/x", want: "admin", template: "/admin/{proxy+}", params: map[string]string{"proxy": "{1}/x"}},
		{name: "admin bare", method: "GET", path: "/admin"},
		{name: "admin bare slash", method: "GET", path: "/admin/"},
		{name: "admin OPTIONS via ANY", method: "OPTIONS", path: "/admin/x", want: "admin", template: "/admin/{proxy+}", params: map[string]string{"proxy": "x"}},
		{name: "admin HEAD via ANY is GET", method: "HEAD", path: "/admin/x", want: "admin", template: "/admin/{proxy+}", authMethod: "GET", params: map[string]string{"proxy": "x"}},
		{name: "admin unknown method", method: "TRACE", path: "/admin/x"},
		{name: "admin ANY as a method", method: "ANY", path: "/admin/x"},
		{name: "admin lower-case method", method: "get", path: "/admin/x"},
		{name: "admin case-sensitive", method: "GET", path: "/ADMIN/x"},
		{name: "appointment", method: "GET", path: "/appointment/PI-T123", want: "appointment", template: "/appointment/{id}", params: map[string]string{"id": "PI-T123"}},
		{name: "appointment empty id", method: "GET", path: "/appointment/"},
		{name: "appointment PUT", method: "PUT", path: "/appointment/PI-T123"},
		{name: "HEAD pets is GET", method: "HEAD", path: "/pets", want: "list pets", template: "/pets", authMethod: "GET"},
		{name: "unknown path", method: "GET", path: "/nope"},
		{name: "not canonical", method: "GET", path: "pets"},
		{name: "empty path", method: "GET", path: ""},
	})
}

// TestMatchGreedyRoot is article 001's single `ANY /{api+}` route.
func TestMatchGreedyRoot(t *testing.T) {
	t.Parallel()
	tbl := mustNew(t, []router.Route{{Method: "ANY", Path: "/{api+}", Value: "api"}})
	runMatches(t, tbl, []matchCase{
		{name: "v1 pets", method: "GET", path: "/petstore/v1/pets", want: "api", template: "/{api+}", params: map[string]string{"api": "petstore/v1/pets"}},
		{name: "v2 status POST", method: "POST", path: "/petstore/v2/status", want: "api", template: "/{api+}", params: map[string]string{"api": "petstore/v2/status"}},
		{name: "one segment", method: "DELETE", path: "/x", want: "api", template: "/{api+}", params: map[string]string{"api": "x"}},
		{name: "root not matched", method: "GET", path: "/"},
	})
}

func TestMatchPrecedence(t *testing.T) {
	t.Parallel()
	tbl := mustNew(t, []router.Route{
		{Method: "GET", Path: "/a/b", Value: "literal"},
		{Method: "GET", Path: "/a/{x}", Value: "param"},
		{Method: "GET", Path: "/a/{rest+}", Value: "greedy"},
		{Method: "ANY", Path: "/m", Value: "m any"},
		{Method: "GET", Path: "/m", Value: "m get"},
		{Method: "HEAD", Path: "/h", Value: "h head"},
		{Method: "GET", Path: "/h", Value: "h get"},
		{Method: "POST", Path: "/only-post", Value: "only post"},
		{Method: "ANY", Path: "/{all+}", Value: "catch-all"},
		// Backtracking: /b/{x}/c exists, so /b/lit/c must fall back from the literal
		// branch /b/lit (which has no resource at depth 3) to the param branch.
		{Method: "GET", Path: "/b/lit", Value: "b lit"},
		{Method: "GET", Path: "/b/{x}/c", Value: "b param c"},
		// An intermediate node without routes is not a resource.
		{Method: "GET", Path: "/c/{id}", Value: "c id"},
		{Method: "GET", Path: "/c/special/deep", Value: "c deep"},
		// A resource that lacks the method stops the search (no fallback).
		{Method: "POST", Path: "/d/x", Value: "d x post"},
		{Method: "GET", Path: "/d/{id}", Value: "d id"},
		{Method: "GET", Path: "/d/{rest+}", Value: "d rest"},
		{Method: "GET", Path: "/e/{id}/f", Value: "e f"},
		{Method: "GET", Path: "/e/{rest+}", Value: "e rest"},
	})
	runMatches(t, tbl, []matchCase{
		{name: "literal beats param", method: "GET", path: "/a/b", want: "literal", template: "/a/b"},
		{name: "param beats greedy", method: "GET", path: "/a/c", want: "param", template: "/a/{x}", params: map[string]string{"x": "c"}},
		{name: "greedy for depth", method: "GET", path: "/a/b/c", want: "greedy", template: "/a/{rest+}", params: map[string]string{"rest": "b/c"}},
		{name: "greedy for trailing slash", method: "GET", path: "/a/b/", want: "greedy", template: "/a/{rest+}", params: map[string]string{"rest": "b/"}},
		{name: "method beats ANY", method: "GET", path: "/m", want: "m get", template: "/m"},
		{name: "ANY for other", method: "PUT", path: "/m", want: "m any", template: "/m"},
		{name: "HEAD route for HEAD", method: "HEAD", path: "/h", want: "h head", template: "/h"},
		{name: "GET route for HEAD", method: "HEAD", path: "/m", want: "m get", template: "/m", authMethod: "GET"},
		{name: "wrong method no fallback to catch-all", method: "GET", path: "/only-post"},
		{name: "right method", method: "POST", path: "/only-post", want: "only post", template: "/only-post"},
		{name: "catch-all", method: "GET", path: "/zzz/y", want: "catch-all", template: "/{all+}", params: map[string]string{"all": "zzz/y"}},
		{name: "trailing slash distinct", method: "GET", path: "/m/", want: "catch-all", template: "/{all+}", params: map[string]string{"all": "m/"}},
		{name: "backtrack literal to param", method: "GET", path: "/b/lit/c", want: "b param c", template: "/b/{x}/c", params: map[string]string{"x": "lit"}},
		{name: "literal at its depth", method: "GET", path: "/b/lit", want: "b lit", template: "/b/lit"},
		{name: "backtrack to catch-all", method: "GET", path: "/b/lit/d", want: "catch-all", template: "/{all+}", params: map[string]string{"all": "b/lit/d"}},
		{name: "intermediate is not a resource", method: "GET", path: "/c/special", want: "c id", template: "/c/{id}", params: map[string]string{"id": "special"}},
		{name: "deep literal", method: "GET", path: "/c/special/deep", want: "c deep", template: "/c/special/deep"},
		{name: "resource lacks method", method: "GET", path: "/d/x"},
		{name: "resource has method", method: "POST", path: "/d/x", want: "d x post", template: "/d/x"},
		{name: "param then greedy", method: "GET", path: "/d/y/z", want: "d rest", template: "/d/{rest+}", params: map[string]string{"rest": "y/z"}},
		{name: "param subtree", method: "GET", path: "/e/1/f", want: "e f", template: "/e/{id}/f", params: map[string]string{"id": "1"}},
		{name: "param subtree miss", method: "GET", path: "/e/1/g", want: "e rest", template: "/e/{rest+}", params: map[string]string{"rest": "1/g"}},
	})
}

func TestMatchRootOnly(t *testing.T) {
	t.Parallel()
	tbl := mustNew(t, []router.Route{{Method: "GET", Path: "/", Value: "root"}})
	runMatches(t, tbl, []matchCase{
		{name: "root", method: "GET", path: "/", want: "root", template: "/"},
		{name: "child", method: "GET", path: "/x"},
		{name: "empty", method: "GET", path: ""},
	})
	empty := mustNew(t, nil)
	if _, ok := empty.Match("GET", "/"); ok {
		t.Fatal("empty table matched /")
	}
	var zero router.Table
	if _, ok := zero.Match("GET", "/x"); ok {
		t.Fatal("zero Table matched /x")
	}
	var nilTable *router.Table
	if _, ok := nilTable.Match("GET", "/"); ok {
		t.Fatal("nil *Table matched /")
	}
}

func TestMatchMultipleParams(t *testing.T) {
	t.Parallel()
	tbl := mustNew(t, []router.Route{
		{Method: "GET", Path: "/org/{org}/repo/{repo}/{path+}", Value: "file"},
		{Method: "GET", Path: "/x/%7e/{id}", Value: "tilde"},
		{Method: "GET", Path: "/with,dots.and:colons/{id}", Value: "punct"},
	})
	runMatches(t, tbl, []matchCase{
		{name: "three params", method: "GET", path: "/org/acme/repo/web/src/main.go", want: "file",
			template: "/org/{org}/repo/{repo}/{path+}", params: map[string]string{"org": "acme", "repo": "web", "path": "src/main.go"}},
		{name: "canonical literal", method: "GET", path: "/x/~/1", want: "tilde", template: "/x/~/{id}", params: map[string]string{"id": "1"}},
		{name: "api gateway punctuation", method: "GET", path: "/with,dots.and:colons/1", want: "punct", template: "/with,dots.and:colons/{id}", params: map[string]string{"id": "1"}},
	})
}

func TestMatchDoesNotAllocateWithoutParams(t *testing.T) {
	tbl := mustNew(t, petStore)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := tbl.Match("GET", "/pets"); !ok {
			t.Fatal("no match")
		}
	})
	if allocs != 0 {
		t.Fatalf("Match without params allocates %v times, want 0", allocs)
	}
}

func TestNewErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		routes []router.Route
		target error
		msg    string
	}{
		{"bad method", []router.Route{{Method: "FETCH", Path: "/x"}}, router.ErrInvalidRoute, `method "FETCH"`},
		{"lower-case method", []router.Route{{Method: "get", Path: "/x"}}, router.ErrInvalidRoute, `method "get"`},
		{"empty method", []router.Route{{Method: "", Path: "/x"}}, router.ErrInvalidRoute, `method ""`},
		{"no leading slash", []router.Route{{Method: "GET", Path: "x"}}, router.ErrInvalidRoute, "must start with '/'"},
		{"empty path", []router.Route{{Method: "GET", Path: ""}}, router.ErrInvalidRoute, "must start with '/'"},
		{"trailing slash", []router.Route{{Method: "GET", Path: "/x/"}}, router.ErrInvalidRoute, "must not end with '/'"},
		{"empty segment", []router.Route{{Method: "GET", Path: "/x//y"}}, router.ErrInvalidRoute, "empty segment"},
		{"greedy not last", []router.Route{{Method: "GET", Path: "/{proxy+}/child"}}, router.ErrInvalidRoute, `greedy parameter "{proxy+}" must be the last segment`},
		{"empty braces", []router.Route{{Method: "GET", Path: "/x/{}"}}, router.ErrInvalidRoute, `parameter "{}"`},
		{"empty greedy", []router.Route{{Method: "GET", Path: "/x/{+}"}}, router.ErrInvalidRoute, `parameter "{+}"`},
		{"bad name", []router.Route{{Method: "GET", Path: "/x/{a b}"}}, router.ErrInvalidRoute, `parameter "{a b}"`},
		{"partial braces", []router.Route{{Method: "GET", Path: "/x/pre{id}"}}, router.ErrInvalidRoute, "braces are only allowed"},
		{"unbalanced brace", []router.Route{{Method: "GET", Path: "/x/{id"}}, router.ErrInvalidRoute, "braces are only allowed"},
		{"duplicate param", []router.Route{{Method: "GET", Path: "/{id}/x/{id}"}}, router.ErrInvalidRoute, `duplicate parameter name "id"`},
		{"dot segment", []router.Route{{Method: "GET", Path: "/x/../y"}}, router.ErrInvalidRoute, "dot segment"},
		{"semicolon", []router.Route{{Method: "GET", Path: "/x;y"}}, router.ErrInvalidRoute, "semicolon"},
		{"encoded slash", []router.Route{{Method: "GET", Path: "/x%2Fy"}}, router.ErrInvalidRoute, "encoded slash"},
		{"non-ASCII", []router.Route{{Method: "GET", Path: "/café"}}, router.ErrInvalidRoute, "non-ASCII byte"},
		{"query", []router.Route{{Method: "GET", Path: "/x?y=1"}}, router.ErrInvalidRoute, "query or fragment"},
		{"duplicate route", []router.Route{{Method: "GET", Path: "/pets"}, {Method: "GET", Path: "/pets"}}, router.ErrRouteConflict, `same method and pattern as "GET /pets"`},
		{"equivalent pattern", []router.Route{{Method: "GET", Path: "/pets/{id}"}, {Method: "GET", Path: "/pets/{petId}"}}, router.ErrRouteConflict, "parameter {petId} conflicts with {id} at /pets"},
		{"sibling param names", []router.Route{{Method: "GET", Path: "/pets/{id}"}, {Method: "POST", Path: "/pets/{petId}/toys"}}, router.ErrRouteConflict, "parameter {petId} conflicts with {id}"},
		{"sibling greedy names", []router.Route{{Method: "GET", Path: "/a/{p+}"}, {Method: "POST", Path: "/a/{q+}"}}, router.ErrRouteConflict, "greedy parameter {q+} conflicts with {p+}"},
		{"equivalent literal spelling", []router.Route{{Method: "GET", Path: "/~x"}, {Method: "GET", Path: "/%7Ex"}}, router.ErrRouteConflict, `same method and pattern as "GET /~x"`},
		{"duplicate root", []router.Route{{Method: "ANY", Path: "/"}, {Method: "ANY", Path: "/"}}, router.ErrRouteConflict, "same method and pattern"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tbl, err := router.New(tc.routes)
			if err == nil {
				t.Fatalf("New succeeded, want error containing %q", tc.msg)
			}
			if tbl != nil {
				t.Fatal("New returned a table with an error")
			}
			if !errors.Is(err, tc.target) {
				t.Fatalf("error %q does not wrap %v", err, tc.target)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not contain %q", err, tc.msg)
			}
			last := tc.routes[len(tc.routes)-1]
			if !strings.Contains(err.Error(), last.Method+" "+last.Path) {
				t.Fatalf("error %q does not name the route %q", err, last.Method+" "+last.Path)
			}
		})
	}
}

func TestNewReportsEveryError(t *testing.T) {
	t.Parallel()
	_, err := router.New([]router.Route{
		{Method: "FETCH", Path: "/a"},
		{Method: "GET", Path: "/ok"},
		{Method: "GET", Path: "/{x+}/b"},
	})
	if err == nil {
		t.Fatal("New succeeded")
	}
	for _, want := range []string{`route 0 "FETCH /a"`, `route 2 "GET /{x+}/b"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestNewCopiesRoutes(t *testing.T) {
	t.Parallel()
	routes := []router.Route{{Method: "GET", Path: "/x", Value: 1}}
	tbl := mustNew(t, routes)
	routes[0].Value = 2
	routes[0].Path = "/y"
	m, ok := tbl.Match("GET", "/x")
	if !ok || m.Route.Value != 1 || m.Route.Path != "/x" {
		t.Fatalf("table changed with its input: %+v, %v", m.Route, ok)
	}
}

// TestCanonicalizeThenMatch runs the gateway's sequence on the path-confusion vectors against
// a table where /admin is protected and /public is open: none of them may reach a route
// other than the one their canonical form names.
func TestCanonicalizeThenMatch(t *testing.T) {
	t.Parallel()
	tbl := mustNew(t, []router.Route{
		{Method: "ANY", Path: "/admin/{proxy+}", Value: "admin"},
		{Method: "ANY", Path: "/public/{proxy+}", Value: "public"},
	})
	for _, raw := range []string{
		"/public/../admin/x", "/public/%2e%2e/admin/x", "/public%2F..%2Fadmin/x", "/public/..;/admin/x",
		`/public\..\admin\x`, "/public/%252e%252e/admin/x", "//admin/x", "/public/.%2e/admin/x",
		"/public/%EF%BC%8F../admin/x", "/public/x%00/../../admin/x",
	} {
		if c, err := router.Canonicalize(raw); err == nil {
			m, ok := tbl.Match("GET", c)
			t.Errorf("Canonicalize(%q) = %q (route %v, %v), want rejection", raw, c, m.Route, ok)
		}
	}
}
