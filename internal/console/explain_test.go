package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// explainStore creates a store with a forbid and three permits and returns its id and the
// policy ids by name.
func explainStore(t *testing.T, n *testNode, extra int) (string, map[string]string) {
	t.Helper()
	ctx := context.Background()
	ps, err := n.Policies.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for name, text := range map[string]string{
		"no-interns": `forbid (principal in App::Group::"interns", action, resource);`,
		"staff-read": `permit (principal in App::Group::"staff", action == App::Action::"read", resource);`,
		"admins":     `permit (principal in App::Group::"admins", action, resource);`,
		"owner":      `permit (principal, action, resource is App::Doc) when { resource.owner == principal };`,
	} {
		p, err := n.Policies.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: text}})
		if err != nil {
			t.Fatal(err)
		}
		ids[name] = p.ID
	}
	for i := range extra {
		if _, err := n.Policies.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{
			Statement: fmt.Sprintf(`permit (principal == App::User::"u%d", action == App::Action::"read", resource);`, i)}}); err != nil {
			t.Fatal(err)
		}
	}
	return ps.ID, ids
}

// benchRequest is alice (staff and intern) reading her own doc.
func benchRequest(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "principal": {`App::User::"alice"`}, "action": {`App::Action::"read"`}, "resource": {`App::Doc::"d1"`},
		"context": {"{}"}, "entities": {`[{"uid": {"type": "App::User", "id": "alice"}, "attrs": {}, "parents": [{"type": "App::Group", "id": "staff"}, {"type": "App::Group", "id": "interns"}]},
 {"uid": {"type": "App::Doc", "id": "d1"}, "attrs": {"owner": {"__entity": {"type": "App::User", "id": "alice"}}}, "parents": []}]`}}
}

// policyItem returns the explanation list item of one policy.
func policyItem(t *testing.T, page, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<li class="explain-policy[^"]*" id="explain-` + regexp.QuoteMeta(id) + `">.*?</li>`).FindString(page)
	if m == "" {
		t.Fatalf("policy %s not explained:\n%s", id, page)
	}
	return m
}

// TestExplainBench: a test-bench decision comes with the explanation of each candidate
// policy — the determining forbid, the permit it overrides, the owner permit also
// overridden, each scope check and clause — and the explain page lists the store's other
// policies with why they do not apply, pages through a large store, and refuses bad input
// (400 naming the field), a missing csrf token and a role the console store forbids.
func TestExplainBench(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	store, ids := explainStore(t, n, 120)
	b := newBrowser(t, n.base)
	b.signIn(viewerID, viewerSecret)
	tok := b.csrf()

	resp, page := b.post("/console/stores/"+store+"/test", benchRequest(tok))
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, `id="decision">DENY`) {
		t.Fatalf("bench: %d\n%s", resp.StatusCode, page)
	}
	for _, tc := range []struct{ name, want string }{
		{"no-interns", `determining forbid`},
		{"no-interns", `principal App::User::&#34;alice&#34; is in App::Group::&#34;interns&#34; (a parent)`},
		{"staff-read", `overridden`},
		{"staff-read", `but forbid ` + ids["no-interns"] + ` overrides it`},
		{"owner", `<span class="check-outcome">true</span> <code>when { resource.owner == principal }</code>`},
		{"owner", `resource App::Doc::&#34;d1&#34; is a App::Doc`},
	} {
		if item := policyItem(t, page, ids[tc.name]); !strings.Contains(item, tc.want) {
			t.Errorf("%s: want %q in\n%s", tc.name, tc.want, item)
		}
	}
	if strings.Contains(page, `id="explain-`+ids["admins"]+`"`) {
		t.Error("the candidates list shows a policy whose scope does not match")
	}
	if !strings.Contains(page, "3 policies' scopes match") {
		t.Errorf("summary:\n%s", page)
	}

	// Every policy, paged: the admins permit says why it does not apply.
	form := benchRequest(tok)
	form.Set("explain", "all")
	resp, page = b.post("/console/stores/"+store+"/explain", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Policies 1–50 of 124.") {
		t.Fatalf("explain all: %d\n%s", resp.StatusCode, page)
	}
	if all := page + nextPages(t, b, store, form, page); !strings.Contains(policyItem(t, all, ids["admins"]),
		`Its scope does not match: principal App::User::&#34;alice&#34; is not in App::Group::&#34;admins&#34;.`) {
		t.Errorf("admins:\n%s", policyItem(t, all, ids["admins"]))
	}
	form.Set("explain", "action")
	if resp, page = b.post("/console/stores/"+store+"/explain", form); resp.StatusCode != http.StatusOK || !strings.Contains(page, "of 124.") {
		t.Fatalf("explain action: %d\n%s", resp.StatusCode, page)
	}

	// Bad input names its field; nothing is explained.
	for field, bad := range map[string]url.Values{
		"principal": {"principal": {"alice"}},
		"explain":   {"explain": {"everything"}},
		"entities":  {"entities": {"{"}},
		"context":   {"context": {"[1]"}},
	} {
		form := benchRequest(tok)
		for k, v := range bad {
			form[k] = v
		}
		resp, page := b.post("/console/stores/"+store+"/explain", form)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="bench-error">`+field) || strings.Contains(page, `id="explanation"`) {
			t.Errorf("%s: %d\n%s", field, resp.StatusCode, page)
		}
	}
	// No csrf token: refused.
	form = benchRequest("")
	form.Del("csrf")
	if resp, page := b.post("/console/stores/"+store+"/explain", form); resp.StatusCode != http.StatusForbidden || strings.Contains(page, `id="explanation"`) {
		t.Fatalf("without csrf: %d\n%s", resp.StatusCode, page)
	}

	// An administrator forbids viewers the test bench: the explanation is refused too.
	admin := newBrowser(t, n.base)
	admin.signIn(apptest.KeyID, apptest.Secret)
	if resp, body := admin.post("/console/stores/"+console.ConsoleStoreID+"/policies", url.Values{"csrf": {admin.csrf()},
		"statement": {`forbid (principal in Console::Role::"viewer", action == Console::Action::"TestBench", resource);`}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin forbids the bench: %d\n%s", resp.StatusCode, body)
	}
	if resp, page := b.post("/console/stores/"+store+"/explain", benchRequest(tok)); resp.StatusCode != http.StatusForbidden ||
		!strings.Contains(page, "may not TestBench") || strings.Contains(page, `id="explanation"`) {
		t.Fatalf("forbidden viewer: %d\n%s", resp.StatusCode, page)
	}

	// The trail holds the bench's one decision, with the person; explaining is read-only and
	// added none.
	n.stop()
	var decisions []audit.Record
	for _, r := range auditRecords(t, n.auditFile) {
		if r.Kind == audit.KindDecision && r.PolicyStoreID == store {
			decisions = append(decisions, r)
		}
	}
	if len(decisions) != 1 || decisions[0].Actor != "console:"+viewerID || decisions[0].Decision != "DENY" ||
		!slices.Equal(decisions[0].DeterminingPolicies, []string{ids["no-interns"]}) {
		t.Fatalf("decisions on the trail: %+v", decisions)
	}
}

// TestExplainWithToken: the explanation of a request decided with a real token from the
// store's identity source (the built-in IdP) concerns the token's principal; a forged token
// is refused with a 400 naming the token.
func TestExplainWithToken(t *testing.T) {
	t.Parallel()
	n, base, pool, client := idpConsoleIDs(t)
	in := avpapi.ApplyBundleInput{PolicyStore: &avpapi.BundleStore{PolicyStoreID: "tokens", ValidationMode: "OFF",
		Policies: []avpapi.BundleStatement{{Name: "readers", Statement: `permit (principal, action == App::Action::"read", resource);`}},
		IdentitySources: []avpapi.BundleIdentitySource{{PrincipalEntityType: "App::User", Configuration: &avpapi.Configuration{
			CognitoUserPoolConfiguration: &avpapi.CognitoUserPoolConfiguration{UserPoolArn: "arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + pool}}}}}}
	body, _ := json.Marshal(in)
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatal(err)
	}
	tok, err := n.IdP.IssueTokens(context.Background(), pool, client, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.signIn(apptest.KeyID, apptest.Secret)
	form := url.Values{"csrf": {b.csrf()}, "action": {`App::Action::"read"`}, "resource": {`App::Doc::"d1"`}, "tokenType": {"accessToken"},
		"token": {tok.AccessToken}, "explain": {"all"}}
	resp, page := b.post("/console/stores/tokens/explain", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Principal App::User::&#34;"+pool+"|") ||
		!strings.Contains(page, "determining permit") || !strings.Contains(page, `name="token" value="`+tok.AccessToken+`"`) {
		t.Fatalf("explanation with a token: %d\n%s", resp.StatusCode, page)
	}
	form.Set("token", tok.AccessToken[:len(tok.AccessToken)-4]+"AAAA")
	resp, page = b.post("/console/stores/tokens/explain", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `id="bench-error">token: `) || !strings.Contains(page, `id="token"`) ||
		strings.Contains(page, `id="explanation"`) {
		t.Fatalf("forged token: %d\n%s", resp.StatusCode, page)
	}
}

var afterField = regexp.MustCompile(`name="after" value="([^"]+)"`)

// nextPages follows the explanation's next-page buttons and returns the pages after page.
func nextPages(t *testing.T, b *browser, store string, form url.Values, page string) string {
	t.Helper()
	var out strings.Builder
	for i := 0; ; i++ {
		m := afterField.FindStringSubmatch(page)
		if m == nil {
			return out.String()
		}
		if i > 5 {
			t.Fatal("too many pages")
		}
		form.Set("after", m[1])
		var resp *http.Response
		resp, page = b.post("/console/stores/"+store+"/explain", form)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("next page: %d\n%s", resp.StatusCode, page)
		}
		out.WriteString(page)
	}
}
