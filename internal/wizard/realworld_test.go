package wizard_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// TestLoadWhatAuthorizationNeeds: documents kin-openapi cannot load as a whole, for reasons
// that do not concern authorization (YAML numbers where strings belong, schema $refs to
// nothing or to other files, a path item that is not an object), are read again reduced to
// paths, methods, parameters and security: init goes on with a warning that says what failed.
// What authorization needs stays an error.
func TestLoadWhatAuthorizationNeeds(t *testing.T) {
	t.Parallel()
	const ok = `responses: {'200': {description: ok}}`
	for _, c := range []struct {
		name, doc string
		routes    []string
		warns     []string // substrings, each in some warning
		err       string   // substring of the error; "" when it must succeed
	}{
		{"info.version a number", "openapi: 3.0.0\ninfo: {title: V, version: 1.0}\npaths:\n  /a: {get: {operationId: a, " + ok + "}}\n",
			[]string{"GET /a"}, []string{"the document does not load as a whole (openapi document: json: cannot unmarshal number into field Info.version"}, ""},
		{"swagger 2.0 unquoted", "swagger: 2.0\ninfo: {title: V, version: 1.0}\nbasePath: /v2\npaths:\n  /a: {get: {operationId: a, " + ok + "}}\n",
			[]string{"GET /a"}, []string{`swagger: 2 is a number (YAML); read as "2.0"`, "cannot unmarshal number into field Info.version"}, ""},
		{"openapi 3.0 unquoted", "openapi: 3.0\ninfo: {title: V, version: '1'}\npaths:\n  /a: {get: {operationId: a, " + ok + "}}\n",
			[]string{"GET /a"}, []string{`openapi: 3 is a number (YAML); read as "3.0.0"`}, ""},
		{"description a number", "openapi: 3.0.0\ninfo: {title: V, version: '1'}\npaths:\n  /a: {get: {operationId: a, responses: {'404': {description: 404}}}}\n",
			[]string{"GET /a"}, []string{"cannot unmarshal number into field Response.description"}, ""},
		{"operationId a YAML boolean", "openapi: 3.0.0\ninfo: {title: V, version: '1'}\npaths:\n  /a: {get: {operationId: on, " + ok + "}}\n",
			[]string{"GET /a"}, []string{"cannot unmarshal bool into field Operation.operationId"}, ""},
		{"schema $ref to nothing", "openapi: 3.0.0\ninfo: {title: V, version: '1'}\npaths:\n  /a: {get: {responses: {'200': {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Nope'}}}}}}}\n  /b/{id}: {delete: {parameters: [{name: id, in: path, required: true, schema: {$ref: '#/components/schemas/Id'}}], " + ok + "}}\n",
			[]string{"GET /a", "DELETE /b/{id}"}, []string{`#/components/schemas/Nope`}, ""},
		{"swagger 2 definition $ref to nothing", "swagger: '2.0'\ninfo: {title: V, version: '1'}\npaths:\n  /a: {get: {responses: {'200': {description: ok, schema: {$ref: '#/definitions/Nope'}}}}}\n",
			[]string{"GET /a"}, []string{"convert swagger 2 document", "Nope"}, ""},
		{"response $ref into another file", "openapi: 3.0.0\ninfo: {title: V, version: '1'}\npaths:\n  /a: {get: {responses: {'200': {$ref: 'responses.yaml#/Ok'}}}}\n",
			[]string{"GET /a"}, []string{`disallowed external reference: "responses.yaml#/Ok"`}, ""},
		{"parameter $ref into another file", "openapi: 3.0.0\ninfo: {title: V, version: '1'}\npaths:\n  /a: {get: {parameters: [{$ref: 'params.yaml#/Limit'}], " + ok + "}}\n",
			[]string{"GET /a"}, []string{`paths./a.get.parameters[0]: $ref "params.yaml#/Limit" is in another file, which init does not read; ignored`}, ""},
		{"parameter $ref to nothing", "openapi: 3.0.0\ninfo: {title: V, version: 1.0}\npaths:\n  /a: {get: {parameters: [{$ref: '#/components/parameters/Limit'}], " + ok + "}}\n",
			nil, nil, `openapi document: paths./a.get.parameters[0]: $ref "#/components/parameters/Limit" names no parameter of the document`},
		{"path item in another file", "openapi: 3.0.0\ninfo: {title: V, version: '1'}\npaths:\n  /a: {$ref: 'a.yaml'}\n  /b: {get: {" + ok + "}}\n",
			[]string{"GET /b"}, []string{`paths./a: skipped: its $ref "a.yaml" is in another file`}, ""},
		{"swagger 2 null path item", "swagger: '2.0'\ninfo: {title: V, version: '1'}\npaths:\n  /a:\n  /b: {get: {" + ok + "}}\n",
			[]string{"GET /b"}, []string{"paths./a: not a path item; skipped"}, ""},
		{"security scheme of the wrong type", "openapi: 3.0.0\ninfo: {title: V, version: 1}\ncomponents: {securitySchemes: {o: {type: [oauth2]}}}\npaths:\n  /a: {get: {" + ok + "}}\n",
			nil, nil, "read again with only paths, methods, parameters and security"},
		{"paths not an object", "openapi: 3.0.0\ninfo: {title: V, version: 1}\npaths: [a, b]\n",
			nil, nil, "no operations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := wizard.Parse(context.Background(), []byte(c.doc))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r, err := wizard.Generate(d, wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Routes, c.routes) {
				t.Errorf("routes %q, want %q", r.Routes, c.routes)
			}
			for _, w := range c.warns {
				if !slices.ContainsFunc(r.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no warning contains %q:\n%s", w, strings.Join(r.Warnings, "\n"))
				}
			}
		})
	}
}

// TestSharedOperationID: an operationId two operations share (pasted, or a path item $ref to
// another path) names neither: init goes on with a warning, and an answer naming it says
// which operations it could mean; "METHOD /path" still names each.
func TestSharedOperationID(t *testing.T) {
	t.Parallel()
	doc := []byte(`openapi: 3.0.0
info: {title: Shared, version: '1'}
paths:
  /a: {get: {operationId: fetch, responses: {'200': {description: ok}}}}
  /b: {get: {operationId: fetch, responses: {'200': {description: ok}}}}
  /c: {$ref: '#/paths/~1d'}
  /d: {get: {operationId: d, responses: {'200': {description: ok}}}}
`)
	d, err := wizard.Parse(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	opts := wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{{Group: "g", Operations: []string{"GET /a", "GET /c"}}}}
	r, err := wizard.Generate(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`operationId "fetch" is used by paths./a.get and paths./b.get`, `operationId "d" is used by paths./c.get and paths./d.get`} {
		if !slices.ContainsFunc(r.Warnings, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("no warning starts with %q: %q", w, r.Warnings)
		}
	}
	if want := []string{"GET /a", "GET /b", "GET /c", "GET /d"}; !slices.Equal(r.Routes, want) {
		t.Errorf("routes %q, want %q", r.Routes, want)
	}
	ops, err := wizard.ListOperations(d)
	if err != nil || !slices.Equal(ops, []string{"GET /a", "GET /b", "GET /c", "GET /d"}) {
		t.Errorf("ListOperations: %q %v (a shared operationId names no operation)", ops, err)
	}
	opts.Allow[0].Operations = []string{"fetch"}
	if _, err := wizard.Generate(d, opts); err == nil || !strings.Contains(err.Error(), `operationId "fetch" names several operations (paths./a.get, paths./b.get)`) {
		t.Errorf("granting a shared operationId: %v", err)
	}
}

// TestPartialSegmentPublic: a document-public {id}.csv is not made a public route, because
// the route (a whole {id} segment) also matches {id}.pdf, an operation of the document that
// takes a token (skipped: the gateway cannot tell the two apart). Without this, GET
// /exports/1.pdf passed without a token. An explicit --public or --authenticated answer is
// applied, with a warning that the literal part is unchecked.
func TestPartialSegmentPublic(t *testing.T) {
	t.Parallel()
	d, err := wizard.Parse(context.Background(), readDoc(t, "corpus/reports.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	authorizer := func(opts wizard.Options) (string, []string) {
		t.Helper()
		opts.Upstream, opts.Identity = "http://127.0.0.1:9", wizard.IdentitySource{PoolID: articlePool}
		r, err := wizard.Generate(d, opts)
		if err != nil {
			t.Fatal(err)
		}
		def, err := apidef.Parse(r.Files["apis/"+r.APIName+".yaml"])
		if err != nil {
			t.Fatal(err)
		}
		for _, rt := range def.Routes {
			if rt.Route == "GET /exports/{id}" {
				return rt.Authorizer, r.Warnings
			}
		}
		t.Fatalf("no route GET /exports/{id}: %v", r.Routes)
		return "", nil
	}
	if a, w := authorizer(wizard.Options{}); a != wizard.CedarAuthorizer ||
		!slices.ContainsFunc(w, func(s string) bool {
			return strings.HasPrefix(s, "paths./exports/{id}.csv.get: security: [] not applied")
		}) {
		t.Errorf("document-public partial segment: authorizer %q, warnings %q", a, w)
	}
	for _, c := range []struct {
		opts wizard.Options
		want string
	}{
		{wizard.Options{Public: []string{"exportCsv"}}, "none"},
		{wizard.Options{Authenticated: []string{"GET /exports/{id}.csv"}}, "cognito"},
	} {
		a, w := authorizer(c.opts)
		if a != c.want || !slices.ContainsFunc(w, func(s string) bool {
			return strings.HasPrefix(s, "paths./exports/{id}.csv.get: route GET /exports/{id} is") && strings.Contains(s, `nothing checks pathParameters.id like "*.csv"`)
		}) {
			t.Errorf("%+v: authorizer %q, warnings %q", c.opts, a, w)
		}
	}
}

// TestIntegrationBase: the http integrations of an API Gateway export name the path API
// Gateway calls the operations under; when it is not the one init takes (servers, basePath),
// a warning says so. Stage variables in them are named.
func TestIntegrationBase(t *testing.T) {
	t.Parallel()
	integ := func(uri string) string {
		return "{responses: {'200': {description: ok}}, x-amazon-apigateway-integration: {type: http_proxy, httpMethod: ANY, uri: '" + uri + "'}}"
	}
	for _, c := range []struct {
		name, doc, base string
		warn            string
	}{
		{"prefix other than basePath", "swagger: '2.0'\ninfo: {title: I, version: '1'}\nbasePath: /v1\npaths:\n  /pets: {get: " + integ("https://backend.example/api/pets") +
			"}\n  /pets/{id}: {get: " + integ("https://backend.example/api/pets/{id}") + "}\n  /{proxy+}: {get: " + integ("https://backend.example/api/{proxy}") + "}\n",
			"/v1", `API Gateway calls the operations under "/api" on the integrations' host (upstream path prefix taken: "/v1")`},
		{"no prefix", "openapi: 3.0.0\ninfo: {title: I, version: '1'}\npaths:\n  /pets: {get: " + integ("http://${stageVariables.host}/pets") + "}\n",
			"", "stage variables ${stageVariables.host} have no value in the document"},
		{"prefixes disagree", "swagger: '2.0'\ninfo: {title: I, version: '1'}\nbasePath: /v1\npaths:\n  /a: {get: " + integ("http://x.example/one/a") +
			"}\n  /b: {get: " + integ("http://x.example/two/b") + "}\n",
			"/v1", "the operations' integrations do not share one upstream path prefix"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := wizard.Parse(context.Background(), []byte(c.doc))
			if err != nil {
				t.Fatal(err)
			}
			if d.BasePath != c.base {
				t.Errorf("base path %q, want %q", d.BasePath, c.base)
			}
			if !slices.ContainsFunc(d.Warnings, func(s string) bool { return strings.Contains(s, c.warn) }) {
				t.Errorf("no warning contains %q: %q", c.warn, d.Warnings)
			}
		})
	}
}
