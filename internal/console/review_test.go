package console_test

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// rvPetstoreDir is the PetStore example as `gatehouse apply` reads it.
func rvPetstoreDir(t *testing.T) *apply.Dir {
	t.Helper()
	d, err := apply.Load(filepath.Join("..", "..", "examples", "petstore"), func(name string) (string, bool) {
		return map[string]string{"POOL_ID": "us-east-1_Example01", "UPSTREAM": "http://127.0.0.1:9"}[name], true
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// employeesReadAdmin is the PetStore change under review: employees may also read the admin
// routes (one cell of the API's grid and one of the store's flips deny → allow).
const employeesReadAdmin = `permit (
    principal in PetStore::UserGroup::"us-east-1_Example01|employees",
    action in [PetStore::Action::"post /pets", PetStore::Action::"get /admin/{proxy+}"],
    resource
);`

// reviewNode starts a node holding the PetStore example (applied as `gatehouse apply` would)
// and returns it with the bundle of the change under review.
func reviewNode(t *testing.T) (*testNode, string) {
	t.Helper()
	n := startNode(t)
	d := rvPetstoreDir(t)
	body, _ := jsonMarshalT(t, apply.BundleInput(d))
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatalf("apply petstore: %v", err)
	}
	for i, p := range d.Policies {
		if p.Name == "employees" {
			d.Policies[i].Text = employeesReadAdmin
		}
	}
	b, _ := json.MarshalIndent(apply.BundleInput(d), "", "  ")
	return n, string(b)
}

var (
	rvRevisionField = regexp.MustCompile(`name="revision" value="(\d+)"`)
	rvDigestField   = regexp.MustCompile(`name="digest" value="([0-9a-f]+)"`)
	rvFlipItem      = regexp.MustCompile(`<li data-api="([^"]*)" data-route="([^"]*)" data-group="([^"]*)" data-before="([^"]*)" data-after="([^"]*)">`)
)

// flipsOf reads the review page's list of flipped cells as "api|route|group|before|after".
func flipsOf(body string) []string {
	var out []string
	for _, m := range rvFlipItem.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(strings.Join(m[1:], "|")))
	}
	return out
}

// reviewed posts a bundle for review and returns the apply form's fields.
func reviewed(t *testing.T, b *browser, bundle string, prune bool) (string, url.Values) {
	t.Helper()
	form := url.Values{"csrf": {b.csrf()}, "bundle": {bundle}}
	if prune {
		form.Set("prune", "1")
	}
	resp, body := b.post("/console/review", form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("review: %d\n%s", resp.StatusCode, body)
	}
	apply := url.Values{"csrf": form["csrf"], "bundle": {bundle}}
	if prune {
		apply.Set("prune", "1")
	}
	if m := rvRevisionField.FindStringSubmatch(body); m != nil {
		apply.Set("revision", m[1])
	}
	if m := rvDigestField.FindStringSubmatch(body); m != nil {
		apply.Set("digest", m[1])
	}
	return body, apply
}

func rvStoreRevision(t *testing.T, n *testNode, id string) int64 {
	t.Helper()
	rev, err := n.Policies.Store().Revision(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

func rvPolicyText(t *testing.T, n *testNode, store, name string) string {
	t.Helper()
	rows, _, err := n.Policies.ListPolicies(context.Background(), store, policystore.PolicyFilter{}, "", 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.TrimPrefix(r.Name, "name/") == name {
			p, err := n.Policies.GetPolicy(context.Background(), store, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			return p.Statement
		}
	}
	return ""
}

// An administrator reviews the change (nothing written), sees the flipped cells in the grid
// and in the list, applies it, and the store holds exactly the reviewed bundle at the next
// revision, audited with the person as actor.
func TestReviewFlipsAndApply(t *testing.T) {
	t.Parallel()
	n, bundle := reviewNode(t)
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	rev := rvStoreRevision(t, n, "petstore")

	body, form := reviewed(t, b, bundle, false)
	flips := flipsOf(body)
	want := []string{
		`policy store petstore|PetStore::Action::"get /admin/{proxy+}"|employees|deny|allow`,
		`PetStore|GET /admin/{proxy+}|employees|deny|allow`,
	}
	if strings.Join(flips, "\n") != strings.Join(want, "\n") {
		t.Errorf("flips:\n%s\nwant:\n%s", strings.Join(flips, "\n"), strings.Join(want, "\n"))
	}
	if c := strings.Count(body, `flip to-allow" data-group="employees"`); c != 2 {
		t.Errorf("%d grid cells marked flip to-allow for employees, want 2 (API and store grids)", c)
	}
	if strings.Contains(body, "flip to-deny\" data-group") {
		t.Error("a cell is marked to-deny")
	}
	if !strings.Contains(body, "deny → allow") || !strings.Contains(body, "<td>update</td><td>policy</td><td><code>employees</code>") {
		t.Errorf("review page lacks the flip text or the change list:\n%s", body)
	}
	if got := rvStoreRevision(t, n, "petstore"); got != rev {
		t.Fatalf("reviewing wrote: revision %d → %d", rev, got)
	}
	if form.Get("revision") == "" || form.Get("digest") == "" {
		t.Fatalf("no reviewed revision on the page")
	}

	resp, body := b.post("/console/review/apply", form)
	if resp.StatusCode != http.StatusSeeOther || !strings.Contains(resp.Header.Get("Location"), "applied=policy+store+petstore") {
		t.Fatalf("apply: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if got := rvStoreRevision(t, n, "petstore"); got != rev+1 {
		t.Fatalf("apply: revision %d → %d, want one bump", rev, got)
	}
	if got := rvPolicyText(t, n, "petstore", "employees"); strings.TrimSpace(got) != employeesReadAdmin {
		t.Fatalf("employees policy after apply: %q", got)
	}
	_, body = b.get(resp.Header.Get("Location"))
	if !strings.Contains(body, `id="review-applied"`) || !strings.Contains(body, "/console/matrix?api=PetStore") {
		t.Errorf("applied page:\n%s", body)
	}
	// Reviewing the same bundle again: nothing flips.
	if body, _ := reviewed(t, b, bundle, false); len(flipsOf(body)) != 0 || !strings.Contains(body, `id="no-flips"`) {
		t.Errorf("second review still flips: %v", flipsOf(body))
	}

	n.stop() // flushes the trail
	if actor := rvBundleActor(t, n.auditFile); actor != "console:"+apptest.KeyID {
		t.Fatalf("ApplyBundle audit actor %q", actor)
	}
}

// rvBundleActor returns the actor of the last committed bundle in the audit trail.
func rvBundleActor(t *testing.T, path string) string {
	t.Helper()
	actor := ""
	for _, r := range auditRecords(t, path) {
		if r.Operation == "Gatehouse.ApplyBundle" && r.Kind == audit.KindWrite {
			actor = r.Actor
		}
	}
	return actor
}

// A store that moved between review and apply: ConflictException shown, nothing written.
func TestReviewConflictWhenStoreMoved(t *testing.T) {
	t.Parallel()
	n, bundle := reviewNode(t)
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	_, form := reviewed(t, b, bundle, false)

	// Someone else edits the store meanwhile.
	op, _ := consoleOps(n)("VerifiedPermissions.CreatePolicy")
	in, _ := json.Marshal(avpapi.CreatePolicyInput{PolicyStoreID: "petstore", Definition: &avpapi.PolicyDefinition{Static: &avpapi.StaticPolicyDefinition{
		Statement: `permit (principal in PetStore::UserGroup::"us-east-1_Example01|owners", action == PetStore::Action::"get /pets", resource);`}}})
	if _, err := op(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	rev := rvStoreRevision(t, n, "petstore")
	resp, body := b.post("/console/review/apply", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, `id="review-conflict"`) || !strings.Contains(body, "expectedRevision") {
		t.Fatalf("apply on a moved store: %d\n%s", resp.StatusCode, body)
	}
	// The bundle is kept in the form for a second review.
	if !strings.Contains(body, html.EscapeString(`"policyStoreId": "petstore"`)) {
		t.Error("the bundle is not kept for reviewing again")
	}
	if got := rvStoreRevision(t, n, "petstore"); got != rev {
		t.Fatalf("a conflicting apply wrote: revision %d → %d", rev, got)
	}
	if got := rvPolicyText(t, n, "petstore", "employees"); strings.Contains(got, "get /admin") {
		t.Fatal("the reviewed change was applied over the moved store")
	}
}

// A viewer reviews but may not apply: the page says so, and a posted apply is a 403 with
// nothing written. An author may apply policy changes but not a bundle that creates a store
// or edits APIs: a bundle is no way around a page's action.
func TestReviewRoles(t *testing.T) {
	t.Parallel()
	n, bundle := reviewNode(t)
	admin := newBrowser(t, n.base)
	admin.signIn(apptest.KeyID, apptest.Secret)
	_, form := reviewed(t, admin, bundle, false)
	rev := rvStoreRevision(t, n, "petstore")

	viewer := newBrowser(t, n.base)
	viewer.signIn(viewerID, viewerSecret)
	body, _ := reviewed(t, viewer, bundle, false)
	if len(flipsOf(body)) != 2 || !strings.Contains(body, `id="review-denied"`) || strings.Contains(body, `id="apply-bundle"`) {
		t.Errorf("viewer's review: %d flips\n%s", len(flipsOf(body)), body)
	}
	form.Set("csrf", viewer.csrf())
	resp, body := viewer.post("/console/review/apply", form)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not EditPolicy") {
		t.Fatalf("viewer applies: %d\n%s", resp.StatusCode, body)
	}
	if got := rvStoreRevision(t, n, "petstore"); got != rev {
		t.Fatalf("viewer's apply wrote: revision %d → %d", rev, got)
	}

	author := newBrowser(t, n.base)
	author.signIn(authorID, authorSecret)
	// The PetStore bundle holds the API: EditAPIs, which authors lack.
	_, aform := reviewed(t, author, bundle, false)
	resp, body = author.post("/console/review/apply", aform)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not EditAPIs") {
		t.Fatalf("author applies a bundle with APIs: %d\n%s", resp.StatusCode, body)
	}
	// A bundle creating a new store takes CreateStore.
	d := rvPetstoreDir(t)
	d.APIs, d.GroupPolicies = nil, nil
	d.Manifest.PolicyStoreID = "petstore-copy"
	nb, _ := json.Marshal(apply.BundleInput(d))
	body, _ = reviewed(t, author, string(nb), false)
	if !strings.Contains(body, "CreateStore on Console::Node") || strings.Contains(body, `id="apply-bundle"`) {
		t.Errorf("review does not say the bundle takes CreateStore:\n%s", body)
	}
	// The fields an administrator's review of it gets, posted by the author.
	_, cform := reviewed(t, admin, string(nb), false)
	cform.Set("csrf", author.csrf())
	resp, body = author.post("/console/review/apply", cform)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not CreateStore") {
		t.Fatalf("author creates a store through a bundle: %d\n%s", resp.StatusCode, body)
	}
	if _, err := n.Policies.GetPolicyStore(context.Background(), "petstore-copy"); err == nil {
		t.Fatal("the store was created")
	}
	if got := rvStoreRevision(t, n, "petstore"); got != rev {
		t.Fatalf("author's refused applies wrote: revision %d → %d", rev, got)
	}
	// Policies only: the author applies them.
	d = rvPetstoreDir(t)
	d.APIs, d.GroupPolicies = nil, nil
	d.Policies = append(d.Policies, apply.NamedText{Name: "customers", Text: `permit (principal in PetStore::UserGroup::"us-east-1_Example01|customers", action == PetStore::Action::"post /pets", resource);`})
	pb, _ := json.Marshal(apply.BundleInput(d))
	body, pform := reviewed(t, author, string(pb), false)
	if !strings.Contains(body, `data-group="customers" data-before="deny" data-after="allow"`) {
		t.Errorf("customers flip missing:\n%s", body)
	}
	if resp, body := author.post("/console/review/apply", pform); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("author applies policies: %d\n%s", resp.StatusCode, body)
	}
	if rvPolicyText(t, n, "petstore", "customers") == "" {
		t.Fatal("customers policy not written")
	}
}

// Refusals: no csrf token, bad bundles (a 4xx naming the field), a missing revision. Nothing
// is written.
func TestReviewRefusals(t *testing.T) {
	t.Parallel()
	n, bundle := reviewNode(t)
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	_, form := reviewed(t, b, bundle, false)
	rev := rvStoreRevision(t, n, "petstore")

	noCSRF := url.Values{}
	for k, v := range form {
		if k != "csrf" {
			noCSRF[k] = v
		}
	}
	for _, path := range []string{"/console/review", "/console/review/apply"} {
		if resp, body := b.post(path, noCSRF); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "csrf") {
			t.Errorf("%s without csrf: %d", path, resp.StatusCode)
		}
	}
	tok := form.Get("csrf")
	for _, tc := range []struct {
		name, path string
		form       url.Values
		status     int
		want       string
	}{
		{"empty", "/console/review", url.Values{"bundle": {"  "}}, 400, "bundle: paste the bundle"},
		{"not json", "/console/review", url.Values{"bundle": {"{nope"}}, 400, "bundle: not a JSON object"},
		{"plan report", "/console/review", url.Values{"bundle": {`{"applied":false,"changes":[],"accessChanges":[]}`}}, 400, "plan report"},
		{"unknown member", "/console/review", url.Values{"bundle": {`{"policyStore":{"policyStoreId":"x","validationMode":"OFF"},"extra":1}`}}, 400, `bundle: json: unknown field "extra"`},
		{"names nothing", "/console/review", url.Values{"bundle": {`{}`}}, 400, "names no policy store"},
		{"bad policy", "/console/review", url.Values{"bundle": {`{"policyStore":{"policyStoreId":"petstore","validationMode":"STRICT","policies":[{"name":"p","statement":"permit (principal, action == PetStore::Action::\"nope\", resource);"}]}}`}}, 400, "bundle: "},
		{"no revision", "/console/review/apply", url.Values{"bundle": {bundle}, "digest": {"ab"}}, 400, "revision: the reviewed revision is missing"},
		{"no digest", "/console/review/apply", url.Values{"bundle": {bundle}, "revision": {"1"}}, 400, "digest: the reviewed changes are missing"},
		{"bad bundle on apply", "/console/review/apply", url.Values{"bundle": {"[]"}, "revision": {"1"}, "digest": {"ab"}}, 400, "bundle: "},
	} {
		tc.form.Set("csrf", tok)
		resp, body := b.post(tc.path, tc.form)
		if resp.StatusCode != tc.status || !strings.Contains(html.UnescapeString(body), tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", tc.name, resp.StatusCode, tc.status, tc.want, body)
		}
	}
	if got := rvStoreRevision(t, n, "petstore"); got != rev {
		t.Fatalf("refused requests wrote: revision %d → %d", rev, got)
	}
}

// The matrix page's links come from the determining policies the matrix computed itself: a
// permitted cell links to its permit, a cell denied by a forbid to the forbid, a default deny
// to nothing, and a name whose stored policy is not the one evaluated is not linked.
func TestMatrixLinksFromDeterminingPolicies(t *testing.T) {
	t.Parallel()
	n, _ := reviewNode(t)
	op, _ := consoleOps(n)("VerifiedPermissions.CreatePolicy")
	in, _ := json.Marshal(avpapi.CreatePolicyInput{PolicyStoreID: "petstore", Name: "name/no-owner-deletes", Definition: &avpapi.PolicyDefinition{Static: &avpapi.StaticPolicyDefinition{
		Statement: `forbid (principal in PetStore::UserGroup::"us-east-1_Example01|owners", action == PetStore::Action::"delete /admin/{proxy+}", resource);`}}})
	out, err := op(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	forbidID := out.(*avpapi.PolicyOutput).PolicyID
	ids := map[string]string{}
	rows, _, _ := n.Policies.ListPolicies(context.Background(), "petstore", policystore.PolicyFilter{}, "", 50)
	for _, r := range rows {
		ids[strings.TrimPrefix(r.Name, "name/")] = r.ID
	}
	b := newBrowser(t, n.base)
	b.signIn(viewerID, viewerSecret)
	resp, body := b.get("/console/matrix?api=PetStore")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("matrix: %d", resp.StatusCode)
	}
	link := func(route, group string) string {
		re := regexp.MustCompile(`href="/console/stores/petstore/policies/([A-Za-z0-9]+)" aria-label="[a-z]+ for ` + regexp.QuoteMeta(group) + ` on ` + regexp.QuoteMeta(route) + `:`)
		if m := re.FindStringSubmatch(html.UnescapeString(body)); m != nil {
			return m[1]
		}
		return ""
	}
	for _, tc := range []struct{ route, group, want string }{
		{"POST /pets", "employees", ids["employees"]},
		{"POST /pets", "owners", ids["owners"]},
		{"GET /admin/{proxy+}", "owners", ids["owners"]},
		{"DELETE /admin/{proxy+}", "owners", forbidID},
		{"GET /admin/{proxy+}", "employees", ""}, // denied by default
	} {
		if got := link(tc.route, tc.group); got != tc.want {
			t.Errorf("%s × %s links to %q, want %q", tc.route, tc.group, got, tc.want)
		}
	}
	if ids["employees"] == "" || forbidID == "" || strings.Count(body, `td class="cell deny" title="employees: deny"><a`) != 0 {
		t.Errorf("ids %v; a default-deny cell is linked", ids)
	}
}

// ApplyBundle's expectedRevision counts the policy store only: an API of the bundle changed
// meanwhile leaves it unchanged, but the dry run at the reviewed revision then yields other
// changes than the reviewed ones, and nothing is applied.
func TestReviewConflictWhenAPIMoved(t *testing.T) {
	t.Parallel()
	n, bundle := reviewNode(t)
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	_, form := reviewed(t, b, bundle, false)

	// Someone else changes the PetStore API (the gateway's scope, not the store's).
	d := rvPetstoreDir(t)
	other := apply.BundleInput(d)
	other.PolicyStore = nil
	other.APIs[0] = strings.Replace(other.APIs[0], "stage: demo", "stage: prod", 1)
	body, _ := json.Marshal(other)
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	out, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body)
	if err != nil || !out.(*avpapi.ApplyBundleOutput).Applied {
		t.Fatalf("moving the API: %v %+v", err, out)
	}
	rev := rvStoreRevision(t, n, "petstore")
	resp, page := b.post("/console/review/apply", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "no longer the ones you reviewed") {
		t.Fatalf("apply after the API moved: %d\n%s", resp.StatusCode, page)
	}
	if got := rvStoreRevision(t, n, "petstore"); got != rev {
		t.Fatalf("applied over a moved API: revision %d → %d", rev, got)
	}
}
