package wizard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// largeOperations is the size of the generated document testdata/corpus/large.json: as many
// routes as one API may have.
const largeOperations = 1000

// largeDocument is an API with n operations (n/4 resources, each with list, create, get and
// delete), the shape of the big public APIs: its schema is several times AVP's 100,000-byte
// quota.
func largeDocument(n int) []byte {
	paths := map[string]any{}
	op := func(id string, params ...map[string]any) map[string]any {
		o := map[string]any{"operationId": id, "responses": map[string]any{"200": map[string]any{"description": "ok"}}}
		if len(params) > 0 {
			o["parameters"] = params
		}
		return o
	}
	q := func(name string) map[string]any {
		return map[string]any{"name": name, "in": "query", "schema": map[string]any{"type": "integer", "default": "10", "pattern": `^(\d)\1$`}}
	}
	for i := range n / 4 {
		r := fmt.Sprintf("resource%04d", i)
		paths["/"+r] = map[string]any{"get": op("list_"+r, q("limit"), q("offset")), "post": op("create_" + r)}
		paths["/"+r+"/{id}"] = map[string]any{
			"parameters": []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}},
			"get":        op("get_" + r), "delete": op("delete_" + r)}
	}
	b, err := json.MarshalIndent(map[string]any{"openapi": "3.0.3", "info": map[string]any{"title": "Large API (generated)", "version": "1"},
		"servers": []any{map[string]any{"url": "https://large.example/v2"}},
		"paths":   paths}, "", " ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// TestLargeDocumentFile keeps testdata/corpus/large.json the output of largeDocument (the
// end-to-end test reads the file); -update rewrites it.
func TestLargeDocumentFile(t *testing.T) {
	t.Parallel()
	want := largeDocument(largeOperations)
	path := filepath.Join("testdata", "corpus", "large.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != string(want) {
		t.Fatalf("%s is not largeDocument(%d) (%v): run go test -run TestLargeDocumentFile -update", path, largeOperations, err)
	}
	r := generate(t, "corpus/large.json", wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"list_resource0000", "GET /resource0249/{id}"}}}})
	if len(r.Routes) != largeOperations || len(r.Actions) != largeOperations {
		t.Errorf("%d routes, %d actions", len(r.Routes), len(r.Actions))
	}
	if n := len(r.Files["schema.cedarschema"]); n <= 100000 {
		t.Errorf("schema of %d bytes is within AVP's quota: the document does not test the limit", n)
	}
	if r.APIName != "Large-API-generated" || r.Namespace != "LargeAPIgenerated" {
		t.Errorf("names %q %q", r.APIName, r.Namespace)
	}
}

// corpusCase is one document of testdata/corpus and what init makes of it.
type corpusCase struct {
	file  string
	opts  wizard.Options
	api   string
	warns []string          // substrings, each in some warning
	notes []string          // substrings, each in some note
	route map[string]string // route → authorizer ("action=…" is checked too)
}

func corpusCases() []corpusCase {
	id := wizard.IdentitySource{PoolID: articlePool}
	up := "http://127.0.0.1:9"
	return []corpusCase{
		{file: "incidents.yaml", opts: wizard.Options{Upstream: up, Identity: id, Authenticated: []string{"listIncidents", "getIncident"},
			Allow: []wizard.Assignment{{Group: "writers", Operations: []string{"createIncident", "updateIncident"}}, {Group: "readers", Operations: []string{"listNotes"}}}},
			api:   "Incidents-API-PagerDuty-like",
			warns: []string{"openapi validation (ignored", "paths./incidents/{incident_id}/notes.get: routed as GET /incidents/{id}/notes"},
			notes: []string{"security: []", "GET /status", "have OAuth2 scopes in the document, which the policies do not check"},
			route: map[string]string{"GET /status": "none", "GET /incidents": "cognito scopes=incidents/read", "POST /incidents": "avp",
				"GET /incidents/{id}/notes": "avp action=get /incidents/{incident_id}/notes"}},
		{file: "calls.yaml", opts: wizard.Options{Upstream: up, Identity: id,
			Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"FetchAccount", "FetchCall"}}}},
			api: "Calls-Voice-SMS-Twilio-like",
			warns: []string{"paths./2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.xml.get: skipped: the gateway cannot tell its requests from those of paths./2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json.get",
				"paths./2010-04-01/Accounts/{Sid}.json.get: routed as GET /2010-04-01/Accounts/{AccountSid}"},
			route: map[string]string{"GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}": "avp action=get /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json",
				"GET /2010-04-01/Accounts.json": "avp"}},
		{file: "messaging.yaml", opts: wizard.Options{Upstream: up, Identity: id},
			api:   "Messaging-v1-Twilio-like",
			warns: []string{"paths./Services/{Sid}.get: routed as GET /Services/{ServiceSid}", "no group was given"},
			notes: []string{"upstream http://127.0.0.1:9/v1"},
			route: map[string]string{"DELETE /Services/{ServiceSid}": "avp action=delete /Services/{Sid}"}},
		{file: "files.yaml", opts: wizard.Options{Upstream: up, Identity: id, Authenticated: []string{"get_groups"},
			Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"get_files_id#get_shared_link", "GET /shared_items#folders"}}}},
			api:   "Files-Box-like",
			warns: []string{"paths./files/{file_id}#get_shared_link.get: the same request as paths./files/{file_id}.get"},
			route: map[string]string{"GET /files/{file_id}": "avp", "GET /files/{file_id}/{extension}": "avp action=get /files/{file_id}/thumbnail.{extension}",
				"GET /shared_items": "avp", "GET /groups": "cognito scopes=files/groups"}},
		{file: "sites.yaml", opts: wizard.Options{Upstream: up, Identity: id},
			api:   "Sites-Netlify-like",
			warns: []string{"paths./sites/{site_id}.get: routed as GET /sites/{siteId}"},
			notes: []string{"upstream http://127.0.0.1:9/api/v1"},
			route: map[string]string{"GET /sites/{siteId}/deploys/{deploy_id}": "avp action=get /sites/{site_id}/deploys/{deploy_id}"}},
		{file: "aws-petstore.yaml", opts: wizard.Options{Upstream: up, Identity: id},
			api: "PetStore-AWS-example",
			warns: []string{`basePath: "/${base_path}"`, "x-amazon-apigateway-integration uri: stage variables ${stageVariables.petstoreHost} have no value in the document",
				`API Gateway calls the operations under "/petstore" on the integrations' host (upstream path prefix taken: "")`},
			route: map[string]string{"OPTIONS /pets": "none", "GET /pets": "avp", "GET /pets/{petId}": "avp"}},
		{file: "workspaces.yaml", opts: wizard.Options{Upstream: up, Identity: id, Authenticated: []string{"getTasks", "createTask"}},
			api:   "Workspaces-API-Asana-like",
			warns: []string{"paths./tasks.post.security: needs several scopes at once"},
			notes: []string{"upstream http://127.0.0.1:9/api/1.0"},
			route: map[string]string{"OPTIONS /tasks": "none", "OPTIONS /users/me": "none", "GET /tasks": "cognito scopes=tasks/read", "POST /tasks": "cognito",
				"GET /tasks/{task_gid}": "avp"}},
		{file: "reports.yaml", opts: wizard.Options{Upstream: up, Identity: id,
			Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"listReports", "exportCsv"}}, {Group: "writers", Operations: []string{"DELETE /reports/{id}"}}}},
			api: "Reports-hand-written",
			warns: []string{`swagger: 2 is a number (YAML); read as "2.0"`, "the document does not load as a whole (swagger 2 document: json: cannot unmarshal number into field Info.version",
				`operationId "getReport" is used by paths./reports/{id}.delete and paths./reports/{id}.get`,
				"paths./exports/{id}.pdf.get: skipped: the gateway cannot tell its requests from those of paths./exports/{id}.csv.get"},
			notes: []string{"upstream http://127.0.0.1:9/v1"},
			route: map[string]string{"GET /exports/{id}": "avp action=get /exports/{id}.csv", "DELETE /reports/{id}": "avp", "GET /reports": "avp"}},
	}
}

// TestCorpus: documents with the shapes that made init abort on real public APIs each give
// a schema, policies and an API definition, with a warning naming each operation that was
// skipped or routed differently from how the document writes it.
func TestCorpus(t *testing.T) {
	t.Parallel()
	for _, c := range corpusCases() {
		t.Run(c.file, func(t *testing.T) {
			t.Parallel()
			r := generate(t, "corpus/"+c.file, c.opts)
			if r.APIName != c.api {
				t.Errorf("api name %q, want %q", r.APIName, c.api)
			}
			for _, w := range c.warns {
				if !slices.ContainsFunc(r.Warnings, func(s string) bool { return strings.Contains(s, w) }) {
					t.Errorf("no warning contains %q:\n%s", w, strings.Join(r.Warnings, "\n"))
				}
			}
			for _, n := range c.notes {
				if !slices.ContainsFunc(r.Notes, func(s string) bool { return strings.Contains(s, n) }) {
					t.Errorf("no note contains %q:\n%s", n, strings.Join(r.Notes, "\n"))
				}
			}
			if _, err := policy.ParseSchema(r.Files["schema.cedarschema"]); err != nil {
				t.Fatal(err)
			}
			def, err := apidef.Parse(r.Files["apis/"+r.APIName+".yaml"])
			if err == nil {
				err = def.Validate()
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, rt := range def.Routes {
				s := rt.Authorizer
				if len(rt.Scopes) > 0 {
					s += " scopes=" + strings.Join(rt.Scopes, ",")
				}
				if rt.Action != "" {
					s += " action=" + rt.Action
				}
				got[rt.Route] = s
			}
			for rt, want := range c.route {
				if got[rt] != want {
					t.Errorf("route %s: %q, want %q (routes %v)", rt, got[rt], want, got)
				}
			}
		})
	}
}

// TestPartialSegmentPolicy: a group given {Sid}.json gets a policy of its own whose condition
// holds the literal part the whole-segment route does not check.
func TestPartialSegmentPolicy(t *testing.T) {
	t.Parallel()
	r := generate(t, "corpus/calls.yaml", wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"FetchCall", "ListCall"}}}})
	want := `permit (
    principal in CallsVoiceSMSTwiliolike::UserGroup::"us-west-2_iwWG5nyux|readers",
    action in [CallsVoiceSMSTwiliolike::Action::"get /2010-04-01/Accounts/{AccountSid}/Calls.json"],
    resource
);

permit (
    principal in CallsVoiceSMSTwiliolike::UserGroup::"us-west-2_iwWG5nyux|readers",
    action in [CallsVoiceSMSTwiliolike::Action::"get /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"],
    resource
)
when { context.pathParameters["Sid"] like "*.json" };
`
	if got := string(r.Files["policies/readers.cedar"]); got != want {
		t.Errorf("policy:\n%s\nwant:\n%s", got, want)
	}
}

// TestSkippedOperationNamed: an operation the gateway cannot route is skipped with a warning
// naming its place in the document, and naming it in an answer says why it is missing.
func TestSkippedOperationNamed(t *testing.T) {
	t.Parallel()
	doc := []byte(`openapi: 3.0.0
info: {title: Skips, version: '1'}
paths:
  /ok: {get: {operationId: ok, responses: {'200': {description: ok}}}}
  /a/{x}-{y}: {get: {operationId: two, responses: {'200': {description: ok}}}}
  /b/: {get: {operationId: slash, responses: {'200': {description: ok}}}}
  /c/{p+}/d: {get: {operationId: greedy, responses: {'200': {description: ok}}}}
  /e/{na.me}: {get: {operationId: dotted, responses: {'200': {description: ok}}}}
  /f/{a}/g: {get: {operationId: first, responses: {'200': {description: ok}}}}
  /f/{b}/g/{a}: {get: {operationId: twice, responses: {'200': {description: ok}}}}
`)
	d, err := wizard.Parse(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	opts := wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{{Group: "g", Operations: []string{"ok"}}}}
	r, err := wizard.Generate(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"paths./a/{x}-{y}.get: skipped", "paths./b/.get: skipped", "paths./c/{p+}/d.get: skipped", "paths./e/{na.me}.get: skipped",
		"paths./f/{b}/g/{a}.get: skipped: as GET /f/{a}/g/{a}"} {
		if !slices.ContainsFunc(r.Warnings, func(s string) bool { return strings.HasPrefix(s, ref) }) {
			t.Errorf("no warning starts with %q: %q", ref, r.Warnings)
		}
	}
	if !slices.Equal(r.Routes, []string{"GET /f/{a}/g", "GET /ok"}) {
		t.Errorf("routes %q", r.Routes)
	}
	opts.Allow[0].Operations = []string{"two"}
	if _, err := wizard.Generate(d, opts); err == nil || !strings.Contains(err.Error(), `operation "two"`) {
		t.Errorf("granting a skipped operation: %v", err)
	}
}

// TestMatrixPartialSegments: the access matrix asks about a partial segment's route with a
// value that has its literal part, so the group given {Sid}.json shows allow.
func TestMatrixPartialSegments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := generate(t, "corpus/calls.yaml", wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool},
		Allow: []wizard.Assignment{{Group: "readers", Operations: []string{"FetchAccount", "FetchCall"}}, {Group: "writers", Operations: []string{"DeleteCall"}}}})
	if _, err := r.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	d, err := apply.Load(dir, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m, err := wizard.AccessMatrix(d, wizard.MatrixOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"GET /2010-04-01/Accounts/{AccountSid}":                {wizard.Allow, wizard.Deny},
		"GET /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}":    {wizard.Allow, wizard.Deny},
		"DELETE /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}": {wizard.Deny, wizard.Allow},
		"GET /2010-04-01/Accounts.json":                        {wizard.Deny, wizard.Deny},
	}
	for _, row := range m.Rows {
		if w, ok := want[row.Route]; ok && (row.Access["readers"] != w[0] || row.Access["writers"] != w[1]) {
			t.Errorf("%s: %v, want readers %s writers %s", row.Route, row.Access, w[0], w[1])
		}
	}
}

// TestDocumentPublic: only an operation's own security: [] makes it public; a document-wide
// optional requirement ({} among the alternatives) does not open every operation.
func TestDocumentPublic(t *testing.T) {
	t.Parallel()
	doc := []byte(`openapi: 3.0.0
info: {title: Optional, version: '1'}
security: [{}, {oauth: [api/read]}]
components:
  securitySchemes:
    oauth: {type: oauth2, flows: {clientCredentials: {tokenUrl: 'https://id.example/token', scopes: {api/read: read}}}}
paths:
  /open: {get: {security: [], responses: {'200': {description: ok}}}}
  /maybe: {get: {security: [{}, {oauth: [api/read]}], responses: {'200': {description: ok}}}}
  /closed: {get: {responses: {'200': {description: ok}}}}
`)
	d, err := wizard.Parse(context.Background(), doc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := wizard.Generate(d, wizard.Options{Upstream: "http://127.0.0.1:9", Identity: wizard.IdentitySource{PoolID: articlePool}})
	if err != nil {
		t.Fatal(err)
	}
	def, err := apidef.Parse(r.Files["apis/Optional.yaml"])
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rt := range def.Routes {
		got[rt.Route] = rt.Authorizer
	}
	if want := map[string]string{"GET /open": "none", "GET /maybe": "none", "GET /closed": wizard.CedarAuthorizer}; !maps.Equal(got, want) {
		t.Errorf("routes %v, want %v", got, want)
	}
}

func TestDocumentIssuer(t *testing.T) {
	t.Parallel()
	d, err := wizard.Parse(context.Background(), readDoc(t, "corpus/workspaces.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Issuer(); got != "https://app.workspaces.example" {
		t.Errorf("issuer %q", got)
	}
	d, err = wizard.Parse(context.Background(), readDoc(t, "corpus/files.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Issuer(); got != "" {
		t.Errorf("issuer of a document without openIdConnect: %q", got)
	}
}
