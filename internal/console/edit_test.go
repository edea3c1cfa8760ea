package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// editStore creates the STRICT store "photos" with the PhotoApp schema (test setup, through
// the management API's ApplyBundle).
func editStore(t *testing.T, n *testNode) string {
	t.Helper()
	in := avpapi.ApplyBundleInput{PolicyStore: &avpapi.BundleStore{PolicyStoreID: "photos", ValidationMode: "STRICT", Schema: photoSchema}}
	body, _ := json.Marshal(in)
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatal(err)
	}
	return "photos"
}

// signedIn returns a browser signed in with the key pair, and its csrf token.
func signedIn(t *testing.T, n *testNode, id, secret string) (*browser, string) {
	t.Helper()
	b := newBrowser(t, n.base)
	b.signIn(id, secret)
	return b, b.csrf()
}

// auditRecords reads every record of the audit trail file path.
func auditRecords(t *testing.T, path string) []audit.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []audit.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, audit.MaxLineBytes)
	for sc.Scan() {
		var r audit.Record
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			out = append(out, r)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// auditActors stops n (flushing its trail) and checks that every operation of want was
// written with its actor.
func auditActors(t *testing.T, n *testNode, want map[string]string) {
	t.Helper()
	n.stop()
	for _, r := range auditRecords(t, n.auditFile) {
		if actor, ok := want[r.Operation]; ok && r.Kind == audit.KindWrite && r.Actor == actor {
			delete(want, r.Operation)
		}
	}
	if len(want) != 0 {
		t.Fatalf("writes missing from the audit trail with their person: %v", want)
	}
}

func wantStatus(t *testing.T, what string, resp *http.Response, body string, status int, contains ...string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("%s: status %d, want %d\n%s", what, resp.StatusCode, status, body)
	}
	for _, c := range contains {
		if !strings.Contains(body, c) {
			t.Fatalf("%s: body lacks %q\n%s", what, c, body)
		}
	}
}

const (
	photoTemplate    = `permit (principal == ?principal, action == PhotoApp::Action::"view", resource == ?resource);`
	photoTemplateBad = `permit (principal == ?principal, action == PhotoApp::Action::"veiw", resource == ?resource);`
)

// TestEditTemplatesAndLinks: an author creates, edits and deletes a template and links it
// (EditStore); errors name what is wrong; a viewer and a request without the csrf token
// write nothing; every write is in the audit trail with the person.
func TestEditTemplatesAndLinks(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	id := editStore(t, n)
	ctx := context.Background()
	base := "/console/stores/" + id + "/templates"
	author, at := signedIn(t, n, authorID, authorSecret)
	viewer, vt := signedIn(t, n, viewerID, viewerSecret)

	countTemplates := func() int {
		list, _, err := n.Policies.ListPolicyTemplates(ctx, id, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	// A viewer may not; without the csrf token nobody may.
	resp, body := viewer.post(base, url.Values{"csrf": {vt}, "statement": {photoTemplate}})
	wantStatus(t, "viewer creates a template", resp, body, http.StatusForbidden, "may not EditStore")
	resp, body = author.post(base, url.Values{"statement": {photoTemplate}})
	wantStatus(t, "no csrf", resp, body, http.StatusForbidden, "csrf")
	if resp, body := viewer.get(base + "/new"); resp.StatusCode != http.StatusOK || strings.Contains(body, `id="save-template"`) {
		t.Fatalf("viewer's template page: %d, has the save button: %v", resp.StatusCode, strings.Contains(body, `id="save-template"`))
	}
	if countTemplates() != 0 {
		t.Fatal("a refused write created a template")
	}
	// The console store's own templates, entities and identity sources are administrators' only.
	for _, p := range []string{"/templates", "/entities/put", "/sources"} {
		resp, body = author.post("/console/stores/"+console.ConsoleStoreID+p, url.Values{"csrf": {at}, "statement": {photoTemplate},
			"entity": {`{"uid": {"type": "Console::User", "id": "AKIDAUTHOR"}, "attrs": {}, "parents": [{"type": "Console::Role", "id": "administrator"}]}`},
			"kind":   {"cognito"}, "userPoolArn": {"arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example01"}})
		wantStatus(t, "author writes the console store"+p, resp, body, http.StatusForbidden, "forbidden by policy")
	}
	if ents, _, _ := n.Policies.ListEntities(ctx, console.ConsoleStoreID, "", 50); len(ents) != 0 {
		t.Fatalf("an author wrote the console store's entities: %v", ents)
	}

	// STRICT validation names the unknown action; the text stays in the editor.
	resp, body = author.post(base, url.Values{"csrf": {at}, "name": {"viewer-of"}, "statement": {photoTemplateBad}})
	wantStatus(t, "bad template", resp, body, http.StatusBadRequest, "veiw", `id="template-error"`, `aria-invalid="true"`, "PhotoApp::Action::&#34;veiw&#34;")
	resp, body = author.post(base, url.Values{"csrf": {at}, "name": {"viewer-of"}, "statement": {"permit (principal == ?principal, action"}})
	wantStatus(t, "syntax error", resp, body, http.StatusBadRequest, `id="template-error"`)
	resp, body = author.post(base, url.Values{"csrf": {at}, "name": {"viewer-of"}, "description": {"who sees a photo"}, "statement": {photoTemplate}})
	wantStatus(t, "good template", resp, body, http.StatusSeeOther)
	loc := resp.Header.Get("Location")
	tid := strings.TrimPrefix(strings.TrimSuffix(loc, "?saved=1"), base+"/")
	tpl, err := n.Policies.GetPolicyTemplate(ctx, id, tid)
	if err != nil || tpl.Statement != photoTemplate || tpl.Name != "name/viewer-of" || tpl.Description != "who sees a photo" {
		t.Fatalf("stored template %q: %+v %v", tid, tpl, err)
	}
	resp, body = author.get(loc)
	wantStatus(t, "template page", resp, body, http.StatusOK, `id="principal"`, `id="resource"`, "No policies are linked")

	// Links: a principal not written as an entity is refused naming the field; a good one links.
	resp, body = author.post(base+"/"+tid+"/links", url.Values{"csrf": {at}, "principal": {"alice"}, "resource": {`PhotoApp::Photo::"beach.jpg"`}})
	wantStatus(t, "bad principal", resp, body, http.StatusBadRequest, "principal: write an entity as", `id="link-error"`)
	resp, body = viewer.post(base+"/"+tid+"/links", url.Values{"csrf": {vt}, "principal": {`PhotoApp::User::"alice"`}, "resource": {`PhotoApp::Photo::"beach.jpg"`}})
	wantStatus(t, "viewer links", resp, body, http.StatusForbidden)
	resp, body = author.post(base+"/"+tid+"/links", url.Values{"csrf": {at}, "linkName": {"alice-beach"}, "principal": {`PhotoApp::User::"alice"`}, "resource": {`PhotoApp::Photo::"beach.jpg"`}})
	wantStatus(t, "link", resp, body, http.StatusSeeOther)
	links, _, err := n.Policies.ListPolicies(ctx, id, policystore.PolicyFilter{TemplateID: tid}, "", 50)
	if err != nil || len(links) != 1 || links[0].LinkPrincipal == nil || links[0].LinkPrincipal.ID != "alice" || links[0].Name != "name/alice-beach" {
		t.Fatalf("links: %+v %v", links, err)
	}
	lid := links[0].ID
	resp, body = author.get(base + "/" + tid)
	wantStatus(t, "links listed", resp, body, http.StatusOK, lid, "alice-beach", `PhotoApp::User::&#34;alice&#34;`)

	// Editing the template: refused text keeps the stored one; a good one replaces it.
	resp, body = author.post(base+"/"+tid, url.Values{"csrf": {at}, "name": {"viewer-of"}, "statement": {photoTemplateBad}})
	wantStatus(t, "bad update", resp, body, http.StatusBadRequest, "veiw")
	updated := `permit (principal == ?principal, action, resource == ?resource);`
	resp, body = author.post(base+"/"+tid, url.Values{"csrf": {at}, "name": {"viewer-of"}, "statement": {updated}})
	wantStatus(t, "update", resp, body, http.StatusSeeOther)
	if tpl, _ := n.Policies.GetPolicyTemplate(ctx, id, tid); tpl.Statement != updated {
		t.Fatalf("updated template: %q", tpl.Statement)
	}

	// A static policy cannot be deleted through a template's link route.
	static, err := n.Policies.CreatePolicy(ctx, id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: `permit (principal, action == PhotoApp::Action::"view", resource);`}})
	if err != nil {
		t.Fatal(err)
	}
	resp, body = author.post(base+"/"+tid+"/links/"+static.ID+"/delete", url.Values{"csrf": {at}})
	wantStatus(t, "static via link route", resp, body, http.StatusBadRequest, "is not a link of template")
	if _, err := n.Policies.GetPolicy(ctx, id, static.ID); err != nil {
		t.Fatalf("static policy deleted through the link route: %v", err)
	}
	resp, body = author.post(base+"/"+tid+"/links/"+lid+"/delete", url.Values{"csrf": {at}})
	wantStatus(t, "unlink", resp, body, http.StatusSeeOther)
	if _, err := n.Policies.GetPolicy(ctx, id, lid); err == nil {
		t.Fatal("link not deleted")
	}
	// Deleting the template deletes its links with it (as AVP does).
	resp, body = author.post(base+"/"+tid+"/links", url.Values{"csrf": {at}, "principal": {`PhotoApp::User::"bob"`}, "resource": {`PhotoApp::Photo::"beach.jpg"`}})
	wantStatus(t, "link again", resp, body, http.StatusSeeOther)
	resp, body = author.post(base+"/"+tid+"/delete", url.Values{"csrf": {at}})
	wantStatus(t, "delete template", resp, body, http.StatusSeeOther)
	if links, _, _ := n.Policies.ListPolicies(ctx, id, policystore.PolicyFilter{TemplateID: tid}, "", 50); len(links) != 0 {
		t.Fatalf("links left after the template: %+v", links)
	}
	if countTemplates() != 0 {
		t.Fatal("template not deleted")
	}
	auditActors(t, n, map[string]string{
		"VerifiedPermissions.CreatePolicyTemplate": "console:" + authorID,
		"VerifiedPermissions.UpdatePolicyTemplate": "console:" + authorID,
		"VerifiedPermissions.CreatePolicy":         "console:" + authorID,
		"VerifiedPermissions.DeletePolicy":         "console:" + authorID,
		"VerifiedPermissions.DeletePolicyTemplate": "console:" + authorID,
	})
}

// TestLiveValidationTemplate: the editor's live check accepts a template's slots and
// names an unknown action, as saving would.
func TestLiveValidationTemplate(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	id := editStore(t, n)
	b, tok := signedIn(t, n, authorID, authorSecret)
	check := func(text string) map[string]any {
		body, _ := json.Marshal(map[string]string{"kind": "template", "text": text})
		req, _ := http.NewRequest(http.MethodPost, n.base+"/console/stores/"+id+"/validate", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", tok)
		req.Header.Set("Origin", n.base)
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("validate: %d %v", resp.StatusCode, err)
		}
		return out
	}
	if out := check(photoTemplate); out["ok"] != true {
		t.Fatalf("good template: %v", out)
	}
	if out := check(photoTemplateBad); out["ok"] == true || !strings.Contains(out["message"].(string), "veiw") {
		t.Fatalf("bad template: %v", out)
	}
}
