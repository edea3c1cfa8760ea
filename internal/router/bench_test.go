package router_test

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// BenchmarkCanonicalize measures the policy against a baseline of what a gateway would
// otherwise do: decode the path and clean it (url.PathUnescape + path.Clean).
func BenchmarkCanonicalize(b *testing.B) {
	inputs := []struct{ name, path string }{
		{"canonical", "/demo/admin/curltest1/a-b_c/PI-T123"},
		{"normalize", "/demo/admin/%7ecurltest1/caf%c3%a9"},
		{"reject", "/demo/public/%2e%2e/admin/curltest1"},
	}
	for _, in := range inputs {
		b.Run(in.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = router.Canonicalize(in.path)
			}
		})
		b.Run(in.name+"/baseline-unescape-clean", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p, _ := url.PathUnescape(in.path)
				_ = path.Clean(p)
			}
		})
	}
}

// table200 is 50 services × 4 routes.
func table200() []router.Route {
	var routes []router.Route
	for i := range 50 {
		svc := fmt.Sprintf("/svc%02d", i)
		routes = append(routes,
			router.Route{Method: "GET", Path: svc + "/items", Value: i},
			router.Route{Method: "GET", Path: svc + "/items/{id}", Value: i},
			router.Route{Method: "PUT", Path: svc + "/items/{id}/parts/{partId}", Value: i},
			router.Route{Method: "ANY", Path: svc + "/admin/{proxy+}", Value: i},
		)
	}
	return routes
}

// BenchmarkMatch compares Match with net/http.ServeMux's pattern matching on the same
// routes ({name+} written as {name...}, ANY as no method) as a baseline.
func BenchmarkMatch(b *testing.B) {
	cases := []struct {
		name   string
		routes []router.Route
		method string
		path   string
	}{
		{"petstore/literal", petStore, "GET", "/pets"},
		{"petstore/param", petStore, "GET", "/pets/42"},
		{"petstore/greedy", petStore, "GET", "/admin/curltest1/x"},
		{"petstore/miss", petStore, "GET", "/nope/x"},
		{"200/literal", table200(), "GET", "/svc37/items"},
		{"200/two-params", table200(), "PUT", "/svc37/items/42/parts/7"},
		{"200/greedy", table200(), "DELETE", "/svc37/admin/a/b/c"},
	}
	for _, tc := range cases {
		tbl := mustNew(b, tc.routes)
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				tbl.Match(tc.method, tc.path)
			}
		})
		mux := http.NewServeMux()
		for _, r := range tc.routes {
			p := strings.ReplaceAll(r.Path, "+}", "...}")
			if p == "/" {
				p = "/{$}"
			}
			if r.Method != "ANY" {
				p = r.Method + " " + p
			}
			mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
		}
		req, err := http.NewRequest(tc.method, "http://x"+tc.path, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/baseline-servemux", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mux.Handler(req)
			}
		})
	}
}
