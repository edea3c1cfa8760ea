package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// chromiumPath finds Debian's chromium (GATEHOUSE_CHROMIUM overrides). With CI set a
// missing browser fails the test: CI installs it (.ci/run).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("GATEHOUSE_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium); CI must run the browser tests")
	}
	t.Skip("chromium is not installed; the browser tests run where it is (CI fails without it)")
	return ""
}

// newChromium starts a headless Chromium with a fresh profile. The flags keep it from
// reaching out to Google's services, which the closed test network refuses.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// screenshots is where page screenshots go (GATEHOUSE_SCREENSHOTS, relative to the module
// root), "" when none are wanted.
func screenshots() string {
	dir := os.Getenv("GATEHOUSE_SCREENSHOTS")
	if dir == "" || filepath.IsAbs(dir) {
		return dir
	}
	return filepath.Join("..", "..", dir)
}

func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := screenshots()
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "console-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// run runs browser actions and fails the test with the page's URL and text on error.
func run(t *testing.T, ctx context.Context, step string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		fail(t, ctx, step, err)
	}
}

// stepTimeout bounds one step: generous, as the machine is shared, but a step that hangs
// fails rather than blocks the run.
const stepTimeout = 60 * time.Second

func fail(t *testing.T, ctx context.Context, step string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	t.Fatalf("%s: %v\nat %s:\n%s", step, err, loc, text)
}

// read runs one browser action that returns a value.
func read[T any](t *testing.T, ctx context.Context, step string, a chromedp.Action[T]) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, a)
	if err != nil {
		fail(t, ctx, step, err)
	}
	return v
}

// jsReady matches once console.js has attached its listeners (typing earlier is lost to it).
var jsReady = chromedp.CSS(`html[data-ready="1"]`)

// unlabeled counts form fields that have no label and no aria-label: each must have one.
const unlabeled = `Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea"))
  .filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).length`

// overflow reports whether the page is wider than the viewport (it must not be, on a phone).
const overflow = `document.documentElement.scrollWidth > window.innerWidth + 1`

func checkAccessible(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	n := read(t, ctx, page+": labels", chromedp.Evaluate[int](unlabeled))
	if n != 0 {
		t.Errorf("%s: %d form fields without a label", page, n)
	}
}

const photoSchemaBad = `namespace PhotoApp {
  entity User in [Group];
  entity Group;
  entity Photo;
  action view appliesTo { principal: [User], resource: [Photo] }
}`

const photoSchema = `namespace PhotoApp {
  entity User in [Group];
  entity Group;
  entity Photo;
  action view appliesTo { principal: [User], resource: [Photo] };
}`

// TestBrowserFlows drives the console in headless Chromium as a person would: sign in,
// create a store, a schema error shown with its position and fixed, a policy refused by
// STRICT validation next to its editor and fixed, a test-bench ALLOW with the determining
// policy's text, the access matrix grid, the audit page's chain check, the layout on a
// phone, and a viewer's forbidden write answered by a 403 page. With GATEHOUSE_SCREENSHOTS
// set it saves each page into that directory (see docs/console.md).
func TestBrowserFlows(t *testing.T) {
	ctx := newChromium(t)
	n := startNode(t)

	// An API with a cedar authorizer for the matrix: the PetStore example, applied as
	// `gatehouse apply` would.
	d, err := apply.Load(filepath.Join("..", "..", "examples", "petstore"), func(name string) (string, bool) {
		return map[string]string{"POOL_ID": "us-east-1_Example01", "UPSTREAM": "http://127.0.0.1:9"}[name], true
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := jsonMarshalT(t, apply.BundleInput(d))
	op, ok := consoleOps(n)("Gatehouse.ApplyBundle")
	if !ok {
		t.Fatal("no ApplyBundle operation")
	}
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatalf("apply petstore: %v", err)
	}

	base := n.base
	run(t, ctx, "open console", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("accessKeyId")))
	checkAccessible(t, ctx, "sign-in")
	shot(t, ctx, "signin")
	run(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("accessKeyId"), apptest.KeyID),
		chromedp.SendKeys(chromedp.ID("secretAccessKey"), apptest.Secret),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("stores")))
	checkAccessible(t, ctx, "stores")
	shot(t, ctx, "stores")

	// Create a STRICT store.
	run(t, ctx, "create store",
		chromedp.SendKeys(chromedp.ID("description"), "Photo sharing"),
		chromedp.SetValue(chromedp.ID("validationMode"), "STRICT"),
		chromedp.Click(chromedp.ID("create-store")),
		chromedp.WaitVisible(chromedp.ID("schema")))
	storeURL := read(t, ctx, "store url", chromedp.Location())
	storePath := strings.TrimPrefix(storeURL, base)
	if !strings.HasPrefix(storePath, "/console/stores/PS") {
		t.Fatalf("after create: %s", storeURL)
	}
	checkAccessible(t, ctx, "store")

	// Validation as you type: the editor reports the error before saving.
	run(t, ctx, "typing a schema",
		chromedp.WaitVisible(jsReady),
		chromedp.SetValue(chromedp.ID("schema"), photoSchemaBad),
		chromedp.SendKeys(chromedp.ID("schema"), "\n"),
		chromedp.WaitVisible(chromedp.CSS("#schema-live.error")))
	if msg := read(t, ctx, "live schema check", chromedp.Text(chromedp.ID("schema-live"))); !strings.Contains(msg, "line 6") {
		t.Errorf("live schema check: %q", msg)
	}

	// A schema error names its line and column; the fix saves.
	run(t, ctx, "bad schema",
		chromedp.SetValue(chromedp.ID("schema"), photoSchemaBad),
		chromedp.Click(chromedp.ID("save-schema")),
		chromedp.WaitVisible(chromedp.ID("schema-error")))
	msg := read(t, ctx, "schema error", chromedp.Text(chromedp.ID("schema-error")))
	if !strings.Contains(msg, "line 6") {
		t.Errorf("schema error does not give the position: %q", msg)
	}
	shot(t, ctx, "schema-error")
	run(t, ctx, "good schema",
		chromedp.SetValue(chromedp.ID("schema"), photoSchema),
		chromedp.Click(chromedp.ID("save-schema")),
		chromedp.WaitNotPresent(chromedp.ID("schema-error")),
		chromedp.WaitVisible(chromedp.ID("schema")))
	if v := read(t, ctx, "schema saved", chromedp.Value(chromedp.ID("schema"))); !strings.Contains(v, "PhotoApp") {
		t.Fatalf("saved schema not shown: %q", v)
	}
	if js := read(t, ctx, "schema as JSON", chromedp.TextContent(chromedp.ID("schema-json"))); !strings.Contains(js, `"PhotoApp"`) || !strings.Contains(js, `"appliesTo"`) {
		t.Errorf("schema JSON view: %q", js)
	}
	shot(t, ctx, "store")

	// A policy naming an action the schema lacks is refused next to the editor: while
	// typing, and when saved.
	run(t, ctx, "new policy",
		chromedp.Navigate(base+storePath+"/policies"),
		chromedp.Click(chromedp.ID("new-policy")),
		chromedp.WaitVisible(chromedp.ID("statement")),
		chromedp.WaitVisible(jsReady),
		chromedp.SendKeys(chromedp.ID("statement"), `permit (principal, action == PhotoApp::Action::"veiw", resource);`),
		chromedp.WaitVisible(chromedp.CSS("#policy-live.error")))
	if msg := read(t, ctx, "live policy check", chromedp.Text(chromedp.ID("policy-live"))); !strings.Contains(msg, "veiw") {
		t.Errorf("live policy check: %q", msg)
	}
	run(t, ctx, "typing the fix",
		chromedp.SetValue(chromedp.ID("statement"), `permit (principal, action == PhotoApp::Action::"view", resource)`),
		chromedp.SendKeys(chromedp.ID("statement"), ";"),
		chromedp.WaitVisible(chromedp.CSS("#policy-live.ok")))
	run(t, ctx, "refused on save",
		chromedp.SetValue(chromedp.ID("statement"), `permit (principal in PhotoApp::Group::"friends", action == PhotoApp::Action::"veiw", resource);`),
		chromedp.SendKeys(chromedp.ID("name"), "friends-view"),
		chromedp.Click(chromedp.ID("save-policy")),
		chromedp.WaitVisible(chromedp.ID("policy-error")))
	if msg := read(t, ctx, "policy error", chromedp.Text(chromedp.ID("policy-error"))); !strings.Contains(msg, "veiw") {
		t.Errorf("validation error does not name the unknown action: %q", msg)
	}
	if a := read(t, ctx, "error marks editor", chromedp.AttributeValue(chromedp.ID("statement"), "aria-invalid")); a.Value != "true" {
		t.Errorf("editor not marked invalid: %+v", a)
	}
	shot(t, ctx, "policy-error")
	run(t, ctx, "fixed policy",
		chromedp.SetValue(chromedp.ID("statement"), `permit (principal in PhotoApp::Group::"friends", action == PhotoApp::Action::"view", resource);`),
		chromedp.Click(chromedp.ID("save-policy")),
		chromedp.WaitNotPresent(chromedp.ID("policy-error")),
		chromedp.WaitVisible(chromedp.ID("policy-heading")))
	if h := read(t, ctx, "policy heading", chromedp.Text(chromedp.ID("policy-heading"))); !strings.HasPrefix(h, "Policy SP") {
		t.Errorf("after saving: heading %q", h)
	}
	run(t, ctx, "policy list",
		chromedp.Navigate(base+storePath+"/policies?q=friends"),
		chromedp.WaitVisible(chromedp.ID("policies")))
	if msg := read(t, ctx, "policy total", chromedp.Text(chromedp.ID("policy-total"))); !strings.HasPrefix(msg, "1 matching") {
		t.Errorf("search for friends: %q", msg)
	}
	checkAccessible(t, ctx, "policies")
	shot(t, ctx, "policies")

	// The test bench: ALLOW, with the determining policy's text.
	run(t, ctx, "test bench",
		chromedp.Navigate(base+storePath+"/test"),
		chromedp.WaitVisible(chromedp.ID("principal")),
		chromedp.SendKeys(chromedp.ID("principal"), `PhotoApp::User::"alice"`),
		chromedp.SendKeys(chromedp.ID("action"), `PhotoApp::Action::"view"`),
		chromedp.SendKeys(chromedp.ID("resource"), `PhotoApp::Photo::"beach.jpg"`),
		chromedp.SetValue(chromedp.ID("entities"), `[{"uid": {"type": "PhotoApp::User", "id": "alice"}, "attrs": {}, "parents": [{"type": "PhotoApp::Group", "id": "friends"}]}]`),
		chromedp.Click(chromedp.ID("run-test")),
		chromedp.WaitVisible(chromedp.ID("decision")))
	if msg := read(t, ctx, "decision", chromedp.Text(chromedp.ID("decision"))); msg != "ALLOW" {
		t.Fatalf("decision %q, want ALLOW", msg)
	}
	if det := read(t, ctx, "determining", chromedp.Text(chromedp.CSS(".determining"))); !strings.Contains(det, `PhotoApp::Group::"friends"`) {
		t.Errorf("determining policy text missing: %q", det)
	}
	checkAccessible(t, ctx, "test bench")
	shot(t, ctx, "test-bench")

	// The access matrix grid of the PetStore API: colored allow and deny cells.
	run(t, ctx, "matrix", chromedp.Navigate(base+"/console/matrix?api=PetStore"), chromedp.WaitVisible(chromedp.ID("matrix")))
	allow := read(t, ctx, "allow cells", chromedp.Evaluate[int](`document.querySelectorAll("#matrix td.cell.allow").length`))
	deny := read(t, ctx, "deny cells", chromedp.Evaluate[int](`document.querySelectorAll("#matrix td.cell.deny").length`))
	if allow == 0 || deny == 0 {
		t.Errorf("matrix has %d allow and %d deny cells", allow, deny)
	}
	if c := read(t, ctx, "cell color", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("#matrix td.cell.allow")).backgroundColor`)); c == "rgba(0, 0, 0, 0)" || c == "" {
		t.Errorf("allow cells are not colored: %q", c)
	}
	row := read(t, ctx, "matrix row", chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#matrix tbody tr")).filter(r => r.querySelector("th").textContent.trim() === "POST /pets").map(r => r.textContent).join("|")`))
	if !strings.Contains(row, "allow") {
		t.Errorf("POST /pets row: %q", row)
	}
	shot(t, ctx, "matrix")

	// Each policy-decided cell links to its determining policy: following the employees
	// column's POST /pets cell, then the owners column's GET /admin/{proxy+} cell, lands on
	// the policy that grants exactly that group; default-deny cells have no link.
	for _, tc := range []struct{ route, group, want string }{
		{"POST /pets", "employees", `|employees"`},
		{"GET /admin/{proxy+}", "owners", `|owners"`},
	} {
		run(t, ctx, "matrix for "+tc.group, chromedp.Navigate(base+"/console/matrix?api=PetStore"), chromedp.WaitVisible(chromedp.ID("matrix")))
		sel := fmt.Sprintf(`(() => { const hs = Array.from(document.querySelectorAll("#matrix thead th")).map(h => h.textContent.trim());
			const i = hs.indexOf(%q); const r = Array.from(document.querySelectorAll("#matrix tbody tr")).find(r => r.querySelector("th").textContent.trim() === %q);
			if (i < 0 || !r) return "";
			const a = r.children[i].querySelector("a"); if (!a) return ""; a.id = "celllink"; return a.getAttribute("href"); })()`, tc.group, tc.route)
		href := read(t, ctx, "cell link "+tc.group, chromedp.Evaluate[string](sel))
		if !strings.Contains(href, "/policies/") {
			t.Fatalf("%s cell of %s has no policy link: %q", tc.group, tc.route, href)
		}
		run(t, ctx, "follow cell "+tc.group, chromedp.Click(chromedp.ID("celllink")), chromedp.WaitVisible(chromedp.ID("statement")))
		if text := read(t, ctx, "cell policy "+tc.group, chromedp.Value(chromedp.ID("statement"))); !strings.Contains(text, tc.want) || !strings.Contains(text, "permit") {
			t.Errorf("%s cell of %s leads to %q", tc.group, tc.route, text)
		}
	}
	run(t, ctx, "matrix again", chromedp.Navigate(base+"/console/matrix?api=PetStore"), chromedp.WaitVisible(chromedp.ID("matrix")))
	if n := read(t, ctx, "deny links", chromedp.Evaluate[int](`document.querySelectorAll("#matrix td.cell.deny a").length`)); n != 0 {
		t.Errorf("%d default-deny cells link to a policy", n)
	}

	// The APIs with their routes, and a store's identity sources and entities.
	run(t, ctx, "apis", chromedp.Navigate(base+"/console/apis"), chromedp.WaitVisible(chromedp.CSS("section.api")))
	if text := read(t, ctx, "apis text", chromedp.Text(chromedp.CSS("main"))); !strings.Contains(text, "PetStore") || !strings.Contains(text, "POST /pets") || !strings.Contains(text, "petstore") {
		t.Errorf("APIs page: %q", text)
	}
	checkAccessible(t, ctx, "apis")
	shot(t, ctx, "apis")
	run(t, ctx, "identity sources", chromedp.Navigate(base+"/console/stores/petstore/sources"), chromedp.WaitVisible(chromedp.ID("sources")))
	if text := read(t, ctx, "sources text", chromedp.Text(chromedp.ID("sources"))); !strings.Contains(text, "us-east-1_Example01") || !strings.Contains(text, "PetStore::User") {
		t.Errorf("identity sources page: %q", text)
	}
	run(t, ctx, "entities", chromedp.Navigate(base+"/console/stores/petstore/entities"), chromedp.WaitVisible(chromedp.ID("entities")))
	checkAccessible(t, ctx, "entities")

	// The audit page lists the console's writes with the person and verifies the chain.
	run(t, ctx, "audit", chromedp.Navigate(base+"/console/audit?verify=1"), chromedp.WaitVisible(chromedp.ID("chain-status")))
	if msg := read(t, ctx, "chain status", chromedp.Text(chromedp.ID("chain-status"))); !strings.Contains(msg, "Chain intact") {
		t.Errorf("chain status: %q", msg)
	}
	// Records reach the file asynchronously: poll for the policy write by this person.
	deadline := time.Now().Add(time.Minute)
	for {
		run(t, ctx, "audit table", chromedp.Navigate(base+"/console/audit?q=CreatePolicy"), chromedp.WaitVisible(chromedp.ID("audit")))
		table := read(t, ctx, "audit rows", chromedp.Text(chromedp.ID("audit")))
		if strings.Contains(table, "console:"+apptest.KeyID) && strings.Contains(table, "VerifiedPermissions.CreatePolicy") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("console write not on the audit page:\n%s", table)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkAccessible(t, ctx, "audit")
	shot(t, ctx, "audit")

	// A phone: nothing wider than the screen.
	for _, p := range []string{"/console/stores", storePath, storePath + "/policies", storePath + "/test", "/console/audit"} {
		run(t, ctx, "phone "+p,
			chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile),
			chromedp.Navigate(base+p),
			chromedp.WaitVisible(chromedp.CSS("main")))
		if read(t, ctx, "phone width", chromedp.Evaluate[bool](overflow)) {
			t.Errorf("%s is wider than a phone screen", p)
		}
	}
	run(t, ctx, "phone store", chromedp.Navigate(base+storePath+"/test"), chromedp.WaitVisible(chromedp.CSS("main")))
	shot(t, ctx, "phone")
	run(t, ctx, "desktop again", chromedp.EmulateViewport(1280, 900))

	// A viewer signs in and tries to write: 403, nothing written.
	run(t, ctx, "sign out", chromedp.Navigate(base+"/console/stores"), chromedp.Click(chromedp.CSS(".signout button")),
		chromedp.WaitVisible(chromedp.ID("accessKeyId")))
	run(t, ctx, "viewer signs in",
		chromedp.SendKeys(chromedp.ID("accessKeyId"), viewerID),
		chromedp.SendKeys(chromedp.ID("secretAccessKey"), viewerSecret),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("stores")),
		chromedp.Navigate(base+storePath+"/policies/new"),
		chromedp.WaitVisible(chromedp.ID("statement")),
		chromedp.SetValue(chromedp.ID("statement"), `permit (principal, action, resource);`),
		chromedp.Click(chromedp.ID("save-policy")),
		chromedp.WaitVisible(chromedp.ID("error-message")))
	msg = read(t, ctx, "403 message", chromedp.Text(chromedp.ID("error-message")))
	h1 := read(t, ctx, "403 heading", chromedp.Text(chromedp.CSS("h1")))
	if !strings.HasPrefix(h1, "403") || !strings.Contains(msg, "may not EditPolicy") {
		t.Errorf("viewer's write: %q / %q", h1, msg)
	}
	shot(t, ctx, "forbidden")
	rows, _, err := n.Policies.ListPolicies(context.Background(), strings.TrimPrefix(storePath, "/console/stores/"), policyFilter(), "", 50)
	if err != nil || len(rows) != 1 {
		t.Fatalf("policies after the viewer's attempt: %d %v", len(rows), err)
	}
}

func jsonMarshalT(t *testing.T, v any) ([]byte, error) {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b, nil
}

// consoleOps are n's management operations (unaudited: test setup).
func consoleOps(n *testNode) func(string) (awsjson.Op, bool) {
	return avpapi.New(n.Policies, n.Decider).Operation
}

func policyFilter() policystore.PolicyFilter { return policystore.PolicyFilter{} }

// idpConsole starts a node with the built-in IdP, a pool with a public code-flow client
// whose callback is a console served over the node's parts, alice in group author and bob
// in no console group. It returns the console's base URL.
func idpConsole(t *testing.T) (*testNode, string) {
	n, base, _, _ := idpConsoleIDs(t)
	return n, base
}

// idpConsoleIDs is idpConsole, also returning the pool and client ids. The management key
// pair signs in too (administrator).
func idpConsoleIDs(t *testing.T) (*testNode, string, string, string) {
	t.Helper()
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	node, stop := apptest.StartStoppable(t, cfg)
	n := &testNode{Node: node, base: "http://" + node.Addr("admin"), stop: stop}
	ctx := context.Background()
	pool, err := n.IdP.CreatePool(ctx, idp.PoolInput{Name: "staff"})
	if err != nil {
		t.Fatal(err)
	}
	// The console's address must be known for the client's callback: bind first, serve later.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	client, err := n.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "console", AllowedOAuthFlows: []string{"code"},
		AllowedOAuthScopes: []string{"openid"}, CallbackURLs: []string{base + "/console/oauth2/callback"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"author", "staff"} {
		if _, err := n.IdP.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: g}); err != nil {
			t.Fatal(err)
		}
	}
	for user, group := range map[string]string{"alice": "author", "bob": "staff"} {
		if _, err := n.IdP.CreateUser(ctx, pool.ID, user, "Correct-Horse-9", nil); err != nil {
			t.Fatal(err)
		}
		if err := n.IdP.SetUserPassword(ctx, pool.ID, user, "Correct-Horse-9", true); err != nil {
			t.Fatal(err)
		}
		if err := n.IdP.AddUserToGroup(ctx, pool.ID, user, group); err != nil {
			t.Fatal(err)
		}
	}
	api := avpapi.New(n.Policies, n.Decider)
	c, err := console.New(console.Deps{Operation: api.Operation, Policies: n.Policies, Decider: n.Decider, APIs: n.APIs, Store: n.Store,
		Keys: func(id string) (console.Key, bool) {
			return console.Key{Secret: apptest.Secret, Roles: []string{console.RoleAdministrator}}, id == apptest.KeyID
		},
		IdP: &console.IdPSignIn{Issuer: n.IdP.Issuer(pool.ID), PoolID: pool.ID, ClientID: client.ID, Token: n.IdP.Handler(),
			Revoked: n.IdP.Revoked},
		IdPDirectory: console.NewIdPDirectory(n.IdP.Handler(), cfg.Region, apptest.KeyID, apptest.Secret)})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return n, base, pool.ID, client.ID
}

// TestIdPSignIn: a person signs in through the built-in IdP's hosted login page
// (authorization code + PKCE) and gets the roles of their groups; a user in no console
// group is refused; a session opened through the IdP ends when the IdP disables its user.
func TestIdPSignIn(t *testing.T) {
	ctx := newChromium(t)
	n, base, pool, _ := idpConsoleIDs(t)
	signIn := func(user string) {
		run(t, ctx, "IdP sign-in as "+user,
			chromedp.Navigate(base+"/console/signin"),
			chromedp.Click(chromedp.ID("signin-idp")),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), user),
			chromedp.SendKeys(chromedp.ID("password"), "Correct-Horse-9"),
			chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
			chromedp.WaitVisible(chromedp.CSS("main h1")))
	}
	signIn("alice")
	run(t, ctx, "console after IdP sign-in", chromedp.WaitVisible(chromedp.ID("stores")))
	if who := read(t, ctx, "who", chromedp.Text(chromedp.CSS(".who"))); !strings.Contains(who, "idp:alice") || !strings.Contains(who, "author") {
		t.Fatalf("signed in as %q", who)
	}
	shot(t, ctx, "idp-signed-in")
	// The IdP pages: the pool list, then the pool's users, groups with members and clients.
	run(t, ctx, "IdP pools", chromedp.Click(chromedp.CSS(`nav a[href="/console/idp"]`)), chromedp.WaitVisible(chromedp.ID("pools")))
	checkAccessible(t, ctx, "IdP pools")
	shot(t, ctx, "idp")
	run(t, ctx, "IdP pool", chromedp.Click(chromedp.CSS("#pools a")), chromedp.WaitVisible(chromedp.ID("groups")))
	if g := read(t, ctx, "groups", chromedp.Text(chromedp.ID("groups"))); !strings.Contains(g, "author") || !strings.Contains(g, "alice") {
		t.Errorf("groups table: %q", g)
	}
	if c := read(t, ctx, "clients", chromedp.Text(chromedp.ID("clients"))); !strings.Contains(c, "console") {
		t.Errorf("clients table: %q", c)
	}
	checkAccessible(t, ctx, "IdP pool")
	shot(t, ctx, "idp-pool")
	// Disabled in the IdP: the console session it opened ends at the next request.
	if err := n.IdP.SetUserEnabled(context.Background(), pool, "alice", false); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "alice disabled", chromedp.Navigate(base+"/console/stores"), chromedp.WaitVisible(chromedp.ID("signin-idp")))
	signIn("bob")
	run(t, ctx, "bob refused", chromedp.WaitVisible(chromedp.CSS(".error")))
	if msg := read(t, ctx, "refusal", chromedp.Text(chromedp.CSS(".error"))); !strings.Contains(msg, "none of the console groups") {
		t.Fatalf("bob: %q", msg)
	}
	if loc := read(t, ctx, "bob's page", chromedp.Location()); strings.Contains(loc, "/console/stores") {
		t.Fatalf("bob reached %s", loc)
	}
}
