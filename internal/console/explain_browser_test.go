package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

// aligned is true when the highlighted copy covers the editor exactly and shows the same
// part of the text.
const aligned = `(() => { const ta = document.getElementById("statement"), pre = document.querySelector(".cedar-hl");
  const a = ta.getBoundingClientRect(), b = pre.getBoundingClientRect();
  return Math.abs(a.left-b.left) < 1 && Math.abs(a.top-b.top) < 1 && Math.abs(a.width-b.width) < 1 && Math.abs(a.height-b.height) < 1 &&
    ta.clientWidth === pre.clientWidth && Math.abs(ta.scrollTop - pre.scrollTop) < 1; })()`

// TestBrowserExplain: in headless Chromium, a test-bench request on a store with a forbid
// and permits shows the determining forbid and the permit it overrides, with the reasons
// (scope checks and clauses), highlighted policy text, and the layout holds on a phone; the
// policy editor is highlighted (permit in a keyword span, entity types and ids classed),
// stays aligned while typing, scrolling and resizing, stays keyboard-reachable, and typing
// still validates live.
func TestBrowserExplain(t *testing.T) {
	ctx := newChromium(t)
	n := startNode(t)
	store, ids := explainStore(t, n, 0)
	base := n.base
	storePath := "/console/stores/" + store
	run(t, ctx, "sign in",
		chromedp.Navigate(base+"/console/signin"),
		chromedp.WaitVisible(chromedp.ID("accessKeyId")),
		chromedp.SendKeys(chromedp.ID("accessKeyId"), apptest.KeyID),
		chromedp.SendKeys(chromedp.ID("secretAccessKey"), apptest.Secret),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("stores")))

	bench := func() {
		req := benchRequest("")
		run(t, ctx, "test bench",
			chromedp.Navigate(base+storePath+"/test"),
			chromedp.WaitVisible(chromedp.ID("principal")),
			chromedp.SendKeys(chromedp.ID("principal"), req.Get("principal")),
			chromedp.SendKeys(chromedp.ID("action"), req.Get("action")),
			chromedp.SendKeys(chromedp.ID("resource"), req.Get("resource")),
			chromedp.SetValue(chromedp.ID("entities"), req.Get("entities")),
			chromedp.Click(chromedp.ID("run-test")),
			chromedp.WaitVisible(chromedp.ID("explanation")))
	}
	bench()
	if d := read(t, ctx, "decision", chromedp.Text(chromedp.ID("decision"))); d != "DENY" {
		t.Fatalf("decision %q", d)
	}
	forbid := read(t, ctx, "forbid", chromedp.Text(chromedp.ID("explain-"+ids["no-interns"])))
	if !strings.Contains(forbid, "determining forbid") || !strings.Contains(forbid, `principal App::User::"alice" is in App::Group::"interns"`) {
		t.Errorf("the forbid's explanation: %q", forbid)
	}
	permit := read(t, ctx, "permit", chromedp.Text(chromedp.ID("explain-"+ids["staff-read"])))
	if !strings.Contains(permit, "overridden") || !strings.Contains(permit, "forbid "+ids["no-interns"]+" overrides it") ||
		!strings.Contains(permit, `action App::Action::"read" is App::Action::"read"`) {
		t.Errorf("the overridden permit's explanation: %q", permit)
	}
	if k := read(t, ctx, "highlighted determining policy", chromedp.Evaluate[string](`(document.querySelector(".determining pre .tok-keyword") || {}).textContent || ""`)); k != "forbid" {
		t.Errorf("determining policy text not highlighted: %q", k)
	}
	checkAccessible(t, ctx, "explanation")
	shot(t, ctx, "explain")

	// The editor: highlighted, aligned, keyboard-reachable, validated live.
	run(t, ctx, "policy editor",
		chromedp.Navigate(base+storePath+"/policies/"+ids["staff-read"]),
		chromedp.WaitVisible(jsReady),
		chromedp.WaitVisible(chromedp.CSS(`html[data-cedar="1"] .cedar-hl`)))
	for sel, want := range map[string]string{".cedar-hl .tok-keyword": "permit", ".cedar-hl .tok-type": "App::Group", ".cedar-hl .tok-id": `"staff"`, ".cedar-hl .tok-var": "principal"} {
		if got := read(t, ctx, sel, chromedp.Evaluate[string](`document.querySelector(`+jsString(sel)+`).textContent`)); got != want {
			t.Errorf("%s: %q, want %q", sel, got, want)
		}
	}
	if c := read(t, ctx, "field text color", chromedp.Evaluate[string](`getComputedStyle(document.getElementById("statement")).color`)); c != "rgba(0, 0, 0, 0)" {
		t.Errorf("the field's own text is drawn over the copy: %q", c)
	}
	if !read(t, ctx, "aligned", chromedp.Evaluate[bool](aligned)) {
		t.Error("highlighting not aligned with the editor")
	}
	run(t, ctx, "tab into the editor", chromedp.Focus(chromedp.ID("description")), chromedp.KeyEvent("\t"))
	if id := read(t, ctx, "focus", chromedp.Evaluate[string](`document.activeElement.id`)); id != "statement" {
		t.Errorf("Tab from the description lands on %q", id)
	}
	run(t, ctx, "typing an error",
		chromedp.SetValue(chromedp.ID("statement"), `permit (principal, action, resource) when { 1 + }`),
		chromedp.SendKeys(chromedp.ID("statement"), ";"),
		chromedp.WaitVisible(chromedp.CSS("#policy-live.error")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".cedar-hl").textContent.includes("when { 1 + };")`))
	run(t, ctx, "typing the fix",
		chromedp.SetValue(chromedp.ID("statement"), "// the fix\n"+strings.Repeat("// line\n", 40)+`permit (principal, action == App::Action::"read", resource) when { context.n > 1 }`),
		chromedp.SendKeys(chromedp.ID("statement"), ";"),
		chromedp.WaitVisible(chromedp.CSS("#policy-live.ok")),
		chromedp.Poll[chromedp.Void](`document.querySelector(".cedar-hl .tok-comment").textContent === "// the fix"`))
	// Scrolled to the end (the caret is there after typing): the copy follows.
	run(t, ctx, "scrolled", chromedp.Evaluate[chromedp.Void](`document.getElementById("statement").scrollTop = 1e6`),
		chromedp.Poll[chromedp.Void](`document.getElementById("statement").scrollTop > 0 && `+aligned))
	// A phone: resized, still aligned, nothing wider than the screen.
	run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Poll[chromedp.Void](aligned))
	if read(t, ctx, "phone width", chromedp.Evaluate[bool](overflow)) {
		t.Error("the policy editor is wider than a phone screen")
	}
	shot(t, ctx, "cedar-editor-phone")
	bench()
	if read(t, ctx, "phone width", chromedp.Evaluate[bool](overflow)) {
		t.Error("the explanation is wider than a phone screen")
	}
	run(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900))
	run(t, ctx, "editor at desktop width", chromedp.Navigate(base+storePath+"/policies/"+ids["owner"]), chromedp.WaitVisible(chromedp.CSS(".cedar-hl")),
		chromedp.Poll[chromedp.Void](aligned))
	shot(t, ctx, "cedar-editor")
}

func jsString(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
