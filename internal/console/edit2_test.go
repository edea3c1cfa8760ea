package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

var entitySetRevision = regexp.MustCompile(`name="revision" value="(\d+)"`)

// TestEditEntities: the whole set is saved through ApplyBundle with the page's revision
// (a non-conforming entity refused naming it, nothing written; a stale page refused with
// 409), removed entities are deleted; one entity is added or replaced and deleted; a viewer
// writes nothing; the writes are audited with the person.
func TestEditEntities(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	id := editStore(t, n)
	ctx := context.Background()
	path := "/console/stores/" + id + "/entities"
	author, at := signedIn(t, n, authorID, authorSecret)
	viewer, vt := signedIn(t, n, viewerID, viewerSecret)
	uids := func() string {
		list, _, err := n.Policies.ListEntities(ctx, id, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range list {
			out = append(out, e.UID.String())
		}
		return strings.Join(out, " ")
	}
	revision := func(b *browser) string {
		_, body := b.get(path + "/edit")
		m := entitySetRevision.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no revision on the editor:\n%s", body)
		}
		return m[1]
	}
	resp, body := viewer.get(path + "/edit")
	wantStatus(t, "viewer opens the editor", resp, body, http.StatusForbidden, "may not EditStore")
	resp, body = viewer.post(path+"/put", url.Values{"csrf": {vt}, "entity": {`{"uid": {"type": "PhotoApp::User", "id": "eve"}, "attrs": {}, "parents": []}`}})
	wantStatus(t, "viewer puts", resp, body, http.StatusForbidden)
	resp, body = author.post(path+"/put", url.Values{"entity": {`{"uid": {"type": "PhotoApp::User", "id": "eve"}, "attrs": {}, "parents": []}`}})
	wantStatus(t, "no csrf", resp, body, http.StatusForbidden)

	set := `[
  {"uid": {"type": "PhotoApp::User", "id": "alice"}, "attrs": {}, "parents": [{"type": "PhotoApp::Group", "id": "friends"}]},
  {"uid": {"type": "PhotoApp::Group", "id": "friends"}, "attrs": {}, "parents": []},
  {"uid": {"type": "PhotoApp::User", "id": "bob"}, "attrs": {}, "parents": [{"type": "PhotoApp::Photo", "id": "x"}]}
]`
	rev := revision(author)
	resp, body = author.post(path+"/edit", url.Values{"csrf": {at}, "revision": {rev}, "entities": {set}})
	wantStatus(t, "non-conforming set", resp, body, http.StatusBadRequest, `id="set-error"`, "entities[2]", "PhotoApp::User::&#34;bob&#34;")
	if u := uids(); u != "" {
		t.Fatalf("a refused set wrote entities: %s", u)
	}
	resp, body = author.post(path+"/edit", url.Values{"csrf": {at}, "revision": {rev}, "entities": {"[\n  {\"uid\": }\n]"}})
	wantStatus(t, "JSON syntax", resp, body, http.StatusBadRequest, "JSON syntax error", "line 2")
	resp, body = author.post(path+"/edit", url.Values{"csrf": {at}, "entities": {"[]"}})
	wantStatus(t, "no revision", resp, body, http.StatusBadRequest, "revision:")
	fixed := strings.Replace(set, `[{"type": "PhotoApp::Photo", "id": "x"}]`, `[{"type": "PhotoApp::Group", "id": "friends"}]`, 1)
	resp, body = author.post(path+"/edit", url.Values{"csrf": {at}, "revision": {rev}, "entities": {fixed}})
	wantStatus(t, "good set", resp, body, http.StatusSeeOther)
	if u := uids(); u != `PhotoApp::Group::"friends" PhotoApp::User::"alice" PhotoApp::User::"bob"` {
		t.Fatalf("after the set: %s", u)
	}
	// A page read before that save is stale: refused, nothing written.
	resp, body = author.post(path+"/edit", url.Values{"csrf": {at}, "revision": {rev}, "entities": {"[]"}})
	wantStatus(t, "stale revision", resp, body, http.StatusConflict, "changed since this page was opened")
	// Removing an entity from the set deletes it, in the same commit as the set's other
	// changes (alice leaves friends).
	rev = revision(author)
	without := `[{"uid": {"type": "PhotoApp::Group", "id": "friends"}, "attrs": {}, "parents": []},
 {"uid": {"type": "PhotoApp::User", "id": "alice"}, "attrs": {}, "parents": []}]`
	resp, body = author.post(path+"/edit", url.Values{"csrf": {at}, "revision": {rev}, "entities": {without}})
	wantStatus(t, "set without bob", resp, body, http.StatusSeeOther)
	if u := uids(); u != `PhotoApp::Group::"friends" PhotoApp::User::"alice"` {
		t.Fatalf("after removing bob: %s", u)
	}
	// Changed and removed entities land in one commit: one revision, no state in between.
	if after, _ := strconv.ParseInt(revision(author), 10, 64); after != mustInt(t, rev)+1 {
		t.Fatalf("saving the set took the store from revision %s to %d, want one commit", rev, after)
	}

	// One entity: refused naming it, then added; opened by ?uid=; deleted.
	resp, body = author.post(path+"/put", url.Values{"csrf": {at}, "entity": {`{"uid": {"type": "PhotoApp::Nope", "id": "eve"}, "attrs": {}, "parents": []}`}})
	wantStatus(t, "unknown type", resp, body, http.StatusBadRequest, `id="one-error"`, "PhotoApp::Nope")
	resp, body = author.post(path+"/put", url.Values{"csrf": {at}, "entity": {`{"uid": {"type": "PhotoApp::User", "id": "eve"}, "attrs": {}, "parents": [{"type": "PhotoApp::Group", "id": "friends"}]}`}})
	wantStatus(t, "put eve", resp, body, http.StatusSeeOther)
	resp, body = author.get(path + "/edit?uid=" + url.QueryEscape(`PhotoApp::User::"eve"`))
	wantStatus(t, "open eve", resp, body, http.StatusOK, `&#34;id&#34;: &#34;eve&#34;`)
	resp, body = author.post(path+"/delete", url.Values{"csrf": {at}, "uid": {"eve"}})
	wantStatus(t, "bad uid", resp, body, http.StatusBadRequest, `id="uid-error"`, "uid: write an entity as")
	resp, body = author.post(path+"/delete", url.Values{"csrf": {at}, "uid": {`PhotoApp::User::"eve"`}})
	wantStatus(t, "delete eve", resp, body, http.StatusSeeOther)
	if u := uids(); strings.Contains(u, "eve") {
		t.Fatalf("eve not deleted: %s", u)
	}
	auditActors(t, n, map[string]string{
		"Gatehouse.ApplyBundle":    "console:" + authorID,
		"Gatehouse.DeleteEntities": "console:" + authorID,
		"Gatehouse.PutEntities":    "console:" + authorID,
	})
}

// TestEditIdentitySources: create a Cognito source, a refused one naming its field, update
// it to an OIDC issuer, delete it; a viewer writes nothing.
func TestEditIdentitySources(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	id := editStore(t, n)
	ctx := context.Background()
	path := "/console/stores/" + id + "/sources"
	author, at := signedIn(t, n, authorID, authorSecret)
	viewer, vt := signedIn(t, n, viewerID, viewerSecret)
	count := func() int {
		list, _, err := n.Policies.ListIdentitySources(ctx, id, "", 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}
	cognito := url.Values{"csrf": {at}, "kind": {"cognito"}, "principalEntityType": {"PhotoApp::User"},
		"userPoolArn": {"arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Example01"}, "clientIds": {"client-a\nclient-b"},
		"groupEntityType": {"PhotoApp::Group"}}
	v := url.Values{}
	for k, x := range cognito {
		v[k] = x
	}
	v.Set("csrf", vt)
	resp, body := viewer.post(path, v)
	wantStatus(t, "viewer creates", resp, body, http.StatusForbidden)
	resp, body = viewer.get(path + "/new")
	wantStatus(t, "viewer opens", resp, body, http.StatusForbidden)

	bad := url.Values{"csrf": {at}, "kind": {"cognito"}, "principalEntityType": {"PhotoApp::User"}, "userPoolArn": {"not-an-arn"}}
	resp, body = author.post(path, bad)
	wantStatus(t, "bad arn", resp, body, http.StatusBadRequest, `id="source-error"`, "userPoolArn")
	if !regexp.MustCompile(`id="userPoolArn"[^>]*aria-invalid="true"`).MatchString(body) {
		t.Errorf("the ARN field is not marked invalid:\n%s", body)
	}
	resp, body = author.post(path, url.Values{"csrf": {at}, "kind": {"saml"}})
	wantStatus(t, "bad kind", resp, body, http.StatusBadRequest, "kind: choose")
	if count() != 0 {
		t.Fatal("a refused write created a source")
	}
	resp, body = author.post(path, cognito)
	wantStatus(t, "create cognito", resp, body, http.StatusSeeOther)
	sid := strings.TrimSuffix(strings.TrimPrefix(resp.Header.Get("Location"), path+"/"), "?saved=1")
	is, err := n.Policies.GetIdentitySource(ctx, id, sid)
	if err != nil || is.Configuration.CognitoUserPoolConfiguration == nil || len(is.Configuration.CognitoUserPoolConfiguration.ClientIDs) != 2 ||
		is.Configuration.CognitoUserPoolConfiguration.GroupConfiguration.GroupEntityType != "PhotoApp::Group" {
		t.Fatalf("stored source %s: %+v %v", sid, is, err)
	}
	resp, body = author.get(path + "/" + sid)
	wantStatus(t, "open source", resp, body, http.StatusOK, "us-east-1_Example01", "client-b")

	oidc := url.Values{"csrf": {at}, "kind": {"oidc"}, "principalEntityType": {"PhotoApp::User"}, "issuer": {"https://idp.example.com"},
		"token": {"access"}, "clientIds": {"photos-api"}, "groupClaim": {"groups"}, "groupEntityType": {"PhotoApp::Group"}}
	resp, body = author.post(path+"/"+sid, oidc)
	wantStatus(t, "update to oidc", resp, body, http.StatusSeeOther)
	is, err = n.Policies.GetIdentitySource(ctx, id, sid)
	if err != nil || is.Configuration.OpenIDConnectConfiguration == nil || is.Configuration.OpenIDConnectConfiguration.TokenSelection.AccessTokenOnly == nil ||
		is.Configuration.OpenIDConnectConfiguration.TokenSelection.AccessTokenOnly.Audiences[0] != "photos-api" {
		t.Fatalf("updated source: %+v %v", is, err)
	}
	resp, body = author.post(path+"/"+sid+"/delete", url.Values{"csrf": {at}})
	wantStatus(t, "delete", resp, body, http.StatusSeeOther)
	if count() != 0 {
		t.Fatal("source not deleted")
	}
	auditActors(t, n, map[string]string{
		"VerifiedPermissions.CreateIdentitySource": "console:" + authorID,
		"VerifiedPermissions.UpdateIdentitySource": "console:" + authorID,
		"VerifiedPermissions.DeleteIdentitySource": "console:" + authorID,
	})
}

const editAPIGood = `name: Photos
basePath: /photos
upstream: http://127.0.0.1:9
authorizers: {}
routes:
  - route: GET /albums
    authorizer: none
`

// TestEditAPIs: only an administrator (EditAPIs) writes API definitions and group policies;
// a bad definition is refused with the line or field the API names, then fixed; group
// policies are added, refused when not JSON, deleted; the API is deleted.
func TestEditAPIs(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	ctx := context.Background()
	admin, adt := signedIn(t, n, apptest.KeyID, apptest.Secret)
	author, at := signedIn(t, n, authorID, authorSecret)

	resp, body := author.post("/console/apis/edit", url.Values{"csrf": {at}, "definition": {editAPIGood}})
	wantStatus(t, "author writes an API", resp, body, http.StatusForbidden, "may not EditAPIs")
	resp, body = author.get("/console/apis/edit")
	wantStatus(t, "author opens the editor", resp, body, http.StatusForbidden)
	resp, body = admin.post("/console/apis/edit", url.Values{"definition": {editAPIGood}})
	wantStatus(t, "no csrf", resp, body, http.StatusForbidden)
	if list, _ := n.APIs.List(ctx); len(list) != 0 {
		t.Fatal("a refused write stored an API")
	}

	resp, body = admin.post("/console/apis/edit", url.Values{"csrf": {adt}, "definition": {"name: Photos\nroutes:\n  - route: GET /albums\n   authorizer: none\n"}})
	wantStatus(t, "YAML error", resp, body, http.StatusBadRequest, `id="definition-error"`, "yaml: line 3")
	resp, body = admin.post("/console/apis/edit", url.Values{"csrf": {adt}, "definition": {strings.Replace(editAPIGood, "authorizer: none", "authorizer: nosuch", 1)}})
	wantStatus(t, "field error", resp, body, http.StatusBadRequest, `id="definition-error"`, "routes[0].authorizer")
	if !strings.Contains(body, "authorizer: nosuch") {
		t.Errorf("the refused text is not kept in the editor")
	}
	resp, body = admin.post("/console/apis/edit", url.Values{"csrf": {adt}, "definition": {editAPIGood}})
	wantStatus(t, "good API", resp, body, http.StatusSeeOther)
	d, err := n.APIs.Get(ctx, "Photos")
	if err != nil || d.BasePath != "/photos" || len(d.Routes) != 1 {
		t.Fatalf("stored API: %+v %v", d, err)
	}
	resp, body = admin.get("/console/apis/edit?api=Photos")
	wantStatus(t, "edit page", resp, body, http.StatusOK, "name: Photos", "GET /albums")

	// Group policies: viewable by anyone who may view, written by administrators.
	g := "/console/apis/groups"
	resp, body = author.get(g + "?api=Photos")
	wantStatus(t, "author reads group policies", resp, body, http.StatusOK, "No group policies")
	if strings.Contains(body, `id="add-group-policy"`) {
		t.Error("author is offered the group policy form")
	}
	doc := `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}`
	resp, body = author.post(g, url.Values{"csrf": {at}, "api": {"Photos"}, "group": {"staff"}, "policyDocument": {doc}})
	wantStatus(t, "author writes a group policy", resp, body, http.StatusForbidden)
	resp, body = admin.post(g, url.Values{"csrf": {adt}, "api": {"Photos"}, "group": {"staff"}, "policyDocument": {"{\n \"Version\": \n}"}})
	wantStatus(t, "bad document", resp, body, http.StatusBadRequest, `id="new-gp-error"`, "policyDocument", "line 3")
	resp, body = admin.post(g, url.Values{"csrf": {adt}, "api": {"Photos"}, "group": {""}, "policyDocument": {doc}})
	wantStatus(t, "no group", resp, body, http.StatusBadRequest, "group: name the group")
	resp, body = admin.post(g, url.Values{"csrf": {adt}, "api": {"Photos"}, "group": {"staff"}, "policyDocument": {doc}})
	wantStatus(t, "group policy", resp, body, http.StatusSeeOther)
	if gp, err := n.APIs.GetGroupPolicy(ctx, "Photos", "staff"); err != nil || !strings.Contains(string(gp.Document), "execute-api:Invoke") {
		t.Fatalf("stored group policy: %+v %v", gp, err)
	}
	resp, body = admin.get(g + "?api=Photos")
	wantStatus(t, "group policies page", resp, body, http.StatusOK, "staff", "execute-api:Invoke", `id="save-group-0"`)
	resp, body = admin.post(g+"/delete", url.Values{"csrf": {adt}, "api": {"Photos"}, "group": {"staff"}})
	wantStatus(t, "delete group policy", resp, body, http.StatusSeeOther)
	if _, err := n.APIs.GetGroupPolicy(ctx, "Photos", "staff"); err == nil {
		t.Fatal("group policy not deleted")
	}
	resp, body = author.post("/console/apis/delete", url.Values{"csrf": {at}, "api": {"Photos"}})
	wantStatus(t, "author deletes", resp, body, http.StatusForbidden)
	resp, body = admin.post("/console/apis/delete", url.Values{"csrf": {adt}, "api": {"Photos"}})
	wantStatus(t, "delete API", resp, body, http.StatusSeeOther)
	if _, err := n.APIs.Get(ctx, "Photos"); err == nil {
		t.Fatal("API not deleted")
	}
	auditActors(t, n, map[string]string{
		"Gatehouse.PutApi":            "console:" + apptest.KeyID,
		"Gatehouse.PutGroupPolicy":    "console:" + apptest.KeyID,
		"Gatehouse.DeleteGroupPolicy": "console:" + apptest.KeyID,
		"Gatehouse.DeleteApi":         "console:" + apptest.KeyID,
	})
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
