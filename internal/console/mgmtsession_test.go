package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// api calls the management API as a script on a console page would: the session cookie (from
// b's jar), the session's X-CSRF-Token and the console's Origin, no AWS signature.
func (b *browser) api(target, body string, edit func(*http.Request)) (int, string, map[string]any) {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", target)
	req.Header.Set("Origin", b.origin)
	_, page := b.get("/console/stores")
	if m := csrfField.FindStringSubmatch(page); m != nil {
		req.Header.Set("X-CSRF-Token", m[1])
	}
	if edit != nil {
		edit(req)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	errType, _ := out["__type"].(string)
	return resp.StatusCode, errType, out
}

// TestManagementAPIWithConsoleSession: a signed-in person calls the management API with the
// console session instead of a signature; each operation is decided by the console store as
// the console page doing the same would be, the CSRF token and origin are required, a
// request with a (bad) signature is decided by the signature alone, and writes are audited
// with the person.
func TestManagementAPIWithConsoleSession(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	viewer := newBrowser(t, n.base)
	viewer.signIn(viewerID, viewerSecret)
	author := newBrowser(t, n.base)
	author.signIn(authorID, authorSecret)
	admin := newBrowser(t, n.base)
	admin.signIn(apptest.KeyID, apptest.Secret)

	countStores := func() int {
		t.Helper()
		st, _, err := n.Policies.ListPolicyStores(context.Background(), "", 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(st)
	}

	// An administrator creates a store; the author writes a policy in it.
	code, typ, out := admin.api("VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`, nil)
	if code != http.StatusOK {
		t.Fatalf("administrator CreatePolicyStore: %d %s %v", code, typ, out)
	}
	storeID, _ := out["policyStoreId"].(string)
	code, typ, out = author.api("VerifiedPermissions.CreatePolicy",
		`{"policyStoreId":"`+storeID+`","definition":{"static":{"statement":"permit(principal, action, resource);"}}}`, nil)
	if code != http.StatusOK {
		t.Fatalf("author CreatePolicy: %d %s %v", code, typ, out)
	}
	if code, typ, _ := viewer.api("VerifiedPermissions.ListPolicies", `{"policyStoreId":"`+storeID+`"}`, nil); code != http.StatusOK {
		t.Fatalf("viewer ListPolicies: %d %s", code, typ)
	}

	before := countStores()
	refusals := []struct {
		name   string
		b      *browser
		target string
		body   string
		edit   func(*http.Request)
		status int
		typ    string
	}{
		{"viewer creates a store", viewer, "VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`, nil, 403, "AccessDeniedException"},
		{"author deletes a store", author, "VerifiedPermissions.DeletePolicyStore", `{"policyStoreId":"` + storeID + `"}`, nil, 403, "AccessDeniedException"},
		{"author edits an API", author, "Gatehouse.PutApi", `{"definition":"name: x"}`, nil, 403, "AccessDeniedException"},
		{"author edits the console store", author, "VerifiedPermissions.CreatePolicy",
			`{"policyStoreId":"gatehouse-console","definition":{"static":{"statement":"permit(principal, action, resource);"}}}`, nil, 403, "AccessDeniedException"},
		{"no csrf token", admin, "VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`,
			func(r *http.Request) { r.Header.Del("X-CSRF-Token") }, 403, "AccessDeniedException"},
		{"another session's csrf token", admin, "VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`,
			func(r *http.Request) { r.Header.Set("X-CSRF-Token", viewer.csrf()) }, 403, "AccessDeniedException"},
		{"cross-site origin", admin, "VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`,
			func(r *http.Request) { r.Header.Set("Origin", "http://evil.example") }, 403, "AccessDeniedException"},
		{"bad signature next to a session", admin, "VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`,
			func(r *http.Request) {
				r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+apptest.KeyID+"/20260101/us-east-1/verifiedpermissions/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature="+strings.Repeat("0", 64))
				r.Header.Set("X-Amz-Date", "20260101T000000Z")
			}, 400, "InvalidSignatureException"},
		{"presigned query next to a session", admin, "VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`,
			func(r *http.Request) { r.URL.RawQuery = "X-Amz-Signature=00" }, 400, "IncompleteSignatureException"},
		{"no session, no signature", newBrowser(t, n.base), "VerifiedPermissions.CreatePolicyStore", `{"validationSettings":{"mode":"OFF"}}`, nil, 403, "AccessDeniedException"},
	}
	for _, tc := range refusals {
		code, typ, out := tc.b.api(tc.target, tc.body, tc.edit)
		if code != tc.status || typ != tc.typ {
			t.Errorf("%s: %d %s %v, want %d %s", tc.name, code, typ, out, tc.status, tc.typ)
		}
	}
	if after := countStores(); after != before {
		t.Errorf("refused requests changed the stores: %d → %d", before, after)
	}
	// A store the author may not delete is still there.
	if _, err := n.Policies.GetPolicyStore(context.Background(), storeID); err != nil {
		t.Errorf("store after the refused delete: %v", err)
	}

	auditActors(t, n, map[string]string{"VerifiedPermissions.CreatePolicyStore": "console:" + apptest.KeyID, "VerifiedPermissions.CreatePolicy": "console:" + authorID})
}

// TestSessionsSharedAcrossNodes: two nodes on one store serve each other's console sessions
// (no sticky sessions), a sign-out on one ends the session on both, and a session outlives a
// restart of the node that created it.
func TestSessionsSharedAcrossNodes(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			cfg := apptest.Config(t, backend)
			cfg.ConsoleKeys = []string{"viewer:" + viewerID + ":" + viewerSecret}
			a, stopA := apptest.StartStoppable(t, cfg)
			bNode := apptest.Start(t, cfg)
			baseA, baseB := "http://"+a.Addr("admin"), "http://"+bNode.Addr("admin")

			br := newBrowser(t, baseA)
			br.signIn(viewerID, viewerSecret)
			at := func(base string) int {
				br.base, br.origin = base, base
				resp, _ := br.get("/console/stores")
				return resp.StatusCode
			}
			if got := at(baseB); got != http.StatusOK {
				t.Fatalf("session of node A on node B: %d", got)
			}
			stopA()
			a2 := apptest.Start(t, cfg)
			baseA2 := "http://" + a2.Addr("admin")
			if got := at(baseA2); got != http.StatusOK {
				t.Fatalf("session after node A restarted: %d", got)
			}
			br.base, br.origin = baseB, baseB
			u, _ := url.Parse(baseB)
			kept := br.c.Jar.Cookies(u) // the browser forgets the cookie at sign-out; an attacker who copied it would not
			if resp, body := br.post("/console/signout", url.Values{"csrf": {br.csrf()}}); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("sign-out on B: %d %s", resp.StatusCode, body)
			}
			br.c.Jar.SetCookies(u, kept)
			if got := at(baseA2); got != http.StatusSeeOther {
				t.Fatalf("session signed out on B still served by A: %d", got)
			}
		})
	}
}
