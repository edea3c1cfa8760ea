package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

// TestEditBrowser drives the editors in headless Chromium: an author creates a template
// (its error shown while typing, then fixed), links it, and edits the store's entities (a
// non-conforming entity refused next to the editor, then fixed); an administrator's bad API
// definition is refused with the line, then fixed. Every editor has labels and fits a phone.
// With GATEHOUSE_SCREENSHOTS set it saves the editors' pages.
func TestEditBrowser(t *testing.T) {
	ctx := newChromium(t)
	n := startNode(t)
	id := editStore(t, n)
	base := n.base
	store := base + "/console/stores/" + id
	signIn := func(key, secret string) {
		run(t, ctx, "sign in as "+key,
			chromedp.Navigate(base+"/console/signin"),
			chromedp.WaitVisible(chromedp.ID("accessKeyId")),
			chromedp.SendKeys(chromedp.ID("accessKeyId"), key),
			chromedp.SendKeys(chromedp.ID("secretAccessKey"), secret),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.ID("stores")))
	}
	signIn(authorID, authorSecret)

	// A template: the live check names the unknown action, the fix is valid, it saves.
	run(t, ctx, "new template",
		chromedp.Navigate(store+"/templates"),
		chromedp.Click(chromedp.ID("new-template")),
		chromedp.WaitVisible(chromedp.ID("statement")),
		chromedp.WaitVisible(jsReady),
		chromedp.SendKeys(chromedp.ID("statement"), photoTemplateBad),
		chromedp.WaitVisible(chromedp.CSS("#template-live.error")))
	if msg := read(t, ctx, "live template check", chromedp.Text(chromedp.ID("template-live"))); !strings.Contains(msg, "veiw") {
		t.Errorf("live template check: %q", msg)
	}
	checkAccessible(t, ctx, "new template")
	run(t, ctx, "fixed template",
		chromedp.SetValue(chromedp.ID("statement"), strings.TrimSuffix(photoTemplate, ";")),
		chromedp.SendKeys(chromedp.ID("statement"), ";"),
		chromedp.WaitVisible(chromedp.CSS("#template-live.ok")),
		chromedp.SendKeys(chromedp.ID("name"), "viewer-of"),
		chromedp.Click(chromedp.ID("save-template")),
		chromedp.WaitVisible(chromedp.ID("links")))
	if h := read(t, ctx, "template heading", chromedp.Text(chromedp.ID("template-heading"))); !strings.HasPrefix(h, "Template ") {
		t.Errorf("after saving: heading %q", h)
	}
	// Link it: alice may view beach.jpg.
	run(t, ctx, "link",
		chromedp.SendKeys(chromedp.ID("principal"), `PhotoApp::User::"alice"`),
		chromedp.SendKeys(chromedp.ID("resource"), `PhotoApp::Photo::"beach.jpg"`),
		chromedp.Click(chromedp.ID("create-link")),
		// The table is on the page before the post too: wait for the new row's button.
		chromedp.WaitVisible(chromedp.CSS("#link-table tbody button.delete")))
	if rows := read(t, ctx, "links", chromedp.Text(chromedp.ID("link-table"))); !strings.Contains(rows, `PhotoApp::User::"alice"`) {
		t.Errorf("link table: %q", rows)
	}
	checkAccessible(t, ctx, "template")
	shot(t, ctx, "edit-template")

	// Entities: bob's parent is a photo, which the schema does not allow.
	bad := `[{"uid": {"type": "PhotoApp::Group", "id": "friends"}, "attrs": {}, "parents": []},
 {"uid": {"type": "PhotoApp::User", "id": "bob"}, "attrs": {}, "parents": [{"type": "PhotoApp::Photo", "id": "beach.jpg"}]}]`
	run(t, ctx, "bad entities",
		chromedp.Navigate(store+"/entities"),
		chromedp.Click(chromedp.ID("edit-entities")),
		chromedp.WaitVisible(chromedp.ID("entity-set")),
		chromedp.SetValue(chromedp.ID("entity-set"), bad),
		chromedp.Click(chromedp.ID("save-entities")),
		chromedp.WaitVisible(chromedp.ID("set-error")))
	if msg := read(t, ctx, "entity error", chromedp.Text(chromedp.ID("set-error"))); !strings.Contains(msg, `PhotoApp::User::"bob"`) {
		t.Errorf("entity error does not name bob: %q", msg)
	}
	if a := read(t, ctx, "set marked", chromedp.AttributeValue(chromedp.ID("entity-set"), "aria-invalid")); a.Value != "true" {
		t.Errorf("entity editor not marked invalid: %+v", a)
	}
	checkAccessible(t, ctx, "entities editor")
	shot(t, ctx, "edit-entities-error")
	run(t, ctx, "fixed entities",
		chromedp.SetValue(chromedp.ID("entity-set"), strings.Replace(bad, `{"type": "PhotoApp::Photo", "id": "beach.jpg"}`, `{"type": "PhotoApp::Group", "id": "friends"}`, 1)),
		chromedp.Click(chromedp.ID("save-entities")),
		chromedp.WaitVisible(chromedp.ID("entities")))
	if rows := read(t, ctx, "entities", chromedp.Text(chromedp.ID("entities"))); !strings.Contains(rows, `PhotoApp::User::"bob"`) {
		t.Errorf("entities after the fix: %q", rows)
	}
	// The identity source form shows only the chosen issuer's fields.
	run(t, ctx, "new source", chromedp.Navigate(store+"/sources/new"), chromedp.WaitVisible(chromedp.ID("userPoolArn")))
	if read(t, ctx, "oidc hidden", chromedp.Evaluate[bool](`getComputedStyle(document.getElementById("issuer")).display !== "none" && document.getElementById("issuer").offsetParent !== null`)) {
		t.Error("the OIDC fields show for a Cognito source")
	}
	run(t, ctx, "choose oidc", chromedp.Click(chromedp.ID("kind-oidc")), chromedp.WaitVisible(chromedp.ID("issuer")))
	checkAccessible(t, ctx, "identity source")
	shot(t, ctx, "edit-source")
	run(t, ctx, "sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("accessKeyId")))

	// An administrator's API definition: a YAML error names its line; the fix saves.
	signIn(apptest.KeyID, apptest.Secret)
	run(t, ctx, "bad API",
		chromedp.Navigate(base+"/console/apis"),
		chromedp.Click(chromedp.ID("new-api")),
		chromedp.WaitVisible(chromedp.ID("definition")),
		chromedp.SetValue(chromedp.ID("definition"), strings.Replace(editAPIGood, "    authorizer: none", "   authorizer: none", 1)),
		chromedp.Click(chromedp.ID("save-api")),
		chromedp.WaitVisible(chromedp.ID("definition-error")))
	if msg := read(t, ctx, "API error", chromedp.Text(chromedp.ID("definition-error"))); !strings.Contains(msg, "line 6") {
		t.Errorf("API error does not name the line: %q", msg)
	}
	checkAccessible(t, ctx, "API editor")
	shot(t, ctx, "edit-api-error")
	run(t, ctx, "fixed API",
		chromedp.SetValue(chromedp.ID("definition"), editAPIGood),
		chromedp.Click(chromedp.ID("save-api")),
		chromedp.WaitNotPresent(chromedp.ID("definition-error")),
		chromedp.WaitVisible(chromedp.ID("delete-api")))
	if h := read(t, ctx, "API heading", chromedp.Text(chromedp.ID("api-heading"))); h != "API Photos" {
		t.Errorf("after saving: heading %q", h)
	}
	run(t, ctx, "group policies", chromedp.Navigate(base+"/console/apis/groups?api=Photos"), chromedp.WaitVisible(chromedp.ID("add-group-policy")),
		chromedp.SendKeys(chromedp.ID("group"), "staff"),
		chromedp.Click(chromedp.ID("add-group-policy")),
		chromedp.WaitVisible(chromedp.ID("save-group-0")))
	checkAccessible(t, ctx, "group policies")
	shot(t, ctx, "edit-groups")

	// A phone: no editor is wider than the screen.
	for _, p := range []string{"/console/stores/" + id + "/templates/new", "/console/stores/" + id + "/entities/edit",
		"/console/stores/" + id + "/sources/new", "/console/apis/edit?api=Photos", "/console/apis/groups?api=Photos"} {
		run(t, ctx, "phone "+p,
			chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(base+p),
			chromedp.WaitVisible(chromedp.CSS("main")))
		if read(t, ctx, "phone width", chromedp.Evaluate[bool](overflow)) {
			t.Errorf("%s is wider than a phone screen", p)
		}
	}
}
