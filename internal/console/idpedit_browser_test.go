package console_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// TestIdPEditBrowser: in headless Chromium an administrator creates a user, gives them a
// permanent password (by keyboard), adds them to the console's viewer group; the user signs
// in to the console through the IdP's hosted login page; the administrator disables them, and
// the user's next sign-in there is refused by the IdP. Every page passes the label check and
// fits a phone. The node is the real one (its own console, configured to sign in through the
// pool, which the first start creates).
func TestIdPEditBrowser(t *testing.T) {
	adminCtx := newChromium(t)
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AdminListen = ln.Addr().String()
	ln.Close()
	base := "http://" + cfg.AdminListen

	// First start: the pool, its console client and the viewer group; then the node starts
	// again with the console signing in through that pool.
	node, stop := apptest.StartStoppable(t, cfg)
	ctx := context.Background()
	pool, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := node.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "console", AllowedOAuthFlows: []string{"code"},
		AllowedOAuthScopes: []string{"openid"}, CallbackURLs: []string{base + "/console/oauth2/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.IdP.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: "viewer", Description: "console viewers"}); err != nil {
		t.Fatal(err)
	}
	stop()
	cfg.ConsolePool, cfg.ConsoleClientID = pool.ID, client.ID
	apptest.StartStoppable(t, cfg)

	phoneFits := func(ctx context.Context, page string) {
		t.Helper()
		run(t, ctx, page+" on a phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if read(t, ctx, page+" phone width", chromedp.Evaluate[bool](overflow)) {
			t.Errorf("%s is wider than a phone screen", page)
		}
		run(t, ctx, "desktop again", chromedp.EmulateViewport(1280, 900), chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("main h1")))
	}

	run(t, adminCtx, "admin signs in",
		chromedp.Navigate(base+"/console/"),
		chromedp.WaitVisible(chromedp.ID("accessKeyId")),
		chromedp.SendKeys(chromedp.ID("accessKeyId"), apptest.KeyID),
		chromedp.SendKeys(chromedp.ID("secretAccessKey"), apptest.Secret),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("stores")))
	run(t, adminCtx, "pool page",
		chromedp.Click(chromedp.CSS(`nav a[href="/console/idp"]`)),
		chromedp.WaitVisible(chromedp.ID("pools")),
		chromedp.Click(chromedp.CSS(`#pools a[href="/console/idp/`+pool.ID+`"]`)),
		chromedp.WaitVisible(chromedp.ID("new-user")))
	run(t, adminCtx, "new-user form", chromedp.Click(chromedp.ID("new-user")), chromedp.WaitVisible(chromedp.ID("username")))
	checkAccessible(t, adminCtx, "new user")
	phoneFits(adminCtx, "new user")
	// A weak password first: refused next to its field, which gets the focus.
	run(t, adminCtx, "weak password",
		chromedp.SendKeys(chromedp.ID("username"), "erin"),
		chromedp.SendKeys(chromedp.ID("email"), "erin@example.com"),
		chromedp.SendKeys(chromedp.ID("password"), "weak"),
		chromedp.Click(chromedp.ID("create-user")),
		chromedp.WaitVisible(chromedp.ID("password-error")),
		chromedp.WaitVisible(jsReady))
	if msg := read(t, adminCtx, "password error", chromedp.Text(chromedp.ID("password-error"))); !strings.Contains(msg, "InvalidPasswordException") {
		t.Fatalf("weak password: %q", msg)
	}
	if id := read(t, adminCtx, "focus on the refused field", chromedp.Evaluate[string](`document.activeElement.id`)); id != "password" {
		t.Errorf("focus after the refusal is on %q, want the password field", id)
	}
	shot(t, adminCtx, "idp-new-user")
	run(t, adminCtx, "create user",
		chromedp.SendKeys(chromedp.ID("password"), "Temp-Horse-9"),
		chromedp.Click(chromedp.ID("create-user")),
		chromedp.WaitVisible(chromedp.CSS(`#done[data-done="created"]`)))
	if st := read(t, adminCtx, "status", chromedp.Text(chromedp.ID("status"))); st != "FORCE_CHANGE_PASSWORD" {
		t.Fatalf("new user's status %q", st)
	}
	// A permanent password, typed and submitted with the keyboard alone.
	run(t, adminCtx, "permanent password",
		chromedp.Focus(chromedp.ID("permanent")),
		chromedp.KeyEvent(" "),
		chromedp.Focus(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("password"), "Correct-Horse-9\r"),
		chromedp.WaitVisible(chromedp.CSS(`#done[data-done="password"]`)))
	if st := read(t, adminCtx, "status", chromedp.Text(chromedp.ID("status"))); st != "CONFIRMED" {
		t.Fatalf("status after a permanent password: %q", st)
	}
	run(t, adminCtx, "add to group",
		chromedp.SetValue(chromedp.ID("group"), "viewer"),
		chromedp.Click(chromedp.ID("add-group")),
		chromedp.WaitVisible(chromedp.CSS(`#done[data-done="added"]`)))
	if g := read(t, adminCtx, "groups", chromedp.Text(chromedp.ID("user-groups"))); !strings.Contains(g, "viewer") {
		t.Fatalf("user's groups: %q", g)
	}
	checkAccessible(t, adminCtx, "user")
	phoneFits(adminCtx, "user")
	shot(t, adminCtx, "idp-user")
	userURL := read(t, adminCtx, "user url", chromedp.Location())
	run(t, adminCtx, "group page", chromedp.Click(chromedp.CSS(`#user-groups a`)), chromedp.WaitVisible(chromedp.ID("members")))
	if m := read(t, adminCtx, "members", chromedp.Text(chromedp.ID("members"))); !strings.Contains(m, "erin") {
		t.Fatalf("group members: %q", m)
	}
	checkAccessible(t, adminCtx, "group")
	phoneFits(adminCtx, "group")
	shot(t, adminCtx, "idp-group")

	// The user signs in to the console through the IdP's hosted page, in their own browser.
	userCtx := newChromium(t)
	signIn := func() {
		t.Helper()
		run(t, userCtx, "erin's IdP sign-in",
			chromedp.Navigate(base+"/console/signin"),
			chromedp.Click(chromedp.ID("signin-idp")),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), "erin"),
			chromedp.SendKeys(chromedp.ID("password"), "Correct-Horse-9"),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("main h1, .err")))
	}
	signIn()
	if who := read(t, userCtx, "who", chromedp.Text(chromedp.CSS(".who"))); !strings.Contains(who, "idp:erin") || !strings.Contains(who, "viewer") {
		t.Fatalf("erin signed in as %q", who)
	}
	run(t, userCtx, "erin signs out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("signin-idp")))

	// The administrator disables erin: the IdP refuses her next sign-in.
	run(t, adminCtx, "disable", chromedp.Navigate(userURL), chromedp.WaitVisible(chromedp.ID("disable")),
		chromedp.Click(chromedp.ID("disable")), chromedp.WaitVisible(chromedp.ID("enable")))
	if e := read(t, adminCtx, "enabled", chromedp.Text(chromedp.ID("enabled"))); e != "no" {
		t.Fatalf("enabled after disabling: %q", e)
	}
	signIn()
	msg := read(t, userCtx, "refusal", chromedp.Text(chromedp.CSS(".err")))
	if !strings.Contains(msg, "User is disabled") {
		t.Fatalf("disabled erin's sign-in: %q", msg)
	}
	if loc := read(t, userCtx, "erin's page", chromedp.Location()); strings.Contains(loc, "/console/stores") {
		t.Fatalf("disabled erin reached %s", loc)
	}
}
