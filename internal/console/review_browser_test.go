package console_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

// TestReviewBrowser: an administrator uploads the bundle of a pending change, sees the cells
// that flip marked in the grids, applies it, and the access matrix then shows the new state;
// the page has labels on every field and fits a phone. With GATEHOUSE_SCREENSHOTS set it
// saves console-review.png.
func TestReviewBrowser(t *testing.T) {
	ctx := newChromium(t)
	n, bundle := reviewNode(t)
	file := filepath.Join(t.TempDir(), "bundle.json")
	if err := os.WriteFile(file, []byte(bundle), 0o644); err != nil {
		t.Fatal(err)
	}
	base := n.base
	run(t, ctx, "sign in", chromedp.Navigate(base+"/console/review"), chromedp.WaitVisible(chromedp.ID("accessKeyId")),
		chromedp.SendKeys(chromedp.ID("accessKeyId"), apptest.KeyID),
		chromedp.SendKeys(chromedp.ID("secretAccessKey"), apptest.Secret),
		chromedp.Click(chromedp.ID("signin")),
		chromedp.WaitVisible(chromedp.ID("bundle")))
	checkAccessible(t, ctx, "review form")

	// Before: employees are denied the admin routes.
	cell := `(() => { const t = document.querySelector("#matrix"); const hs = Array.from(t.querySelectorAll("thead th")).map(h => h.textContent.trim());
		const r = Array.from(t.querySelectorAll("tbody tr")).find(r => r.querySelector("th").textContent.trim() === "GET /admin/{proxy+}");
		return r.children[hs.indexOf("employees")].textContent.trim(); })()`
	run(t, ctx, "matrix before", chromedp.Navigate(base+"/console/matrix?api=PetStore"), chromedp.WaitVisible(chromedp.ID("matrix")))
	if v := read(t, ctx, "cell before", chromedp.Evaluate[string](cell)); v != "deny" {
		t.Fatalf("employees × GET /admin before the change: %q", v)
	}

	run(t, ctx, "upload and review", chromedp.Navigate(base+"/console/review"), chromedp.WaitVisible(chromedp.ID("bundle")),
		chromedp.SetUploadFiles(chromedp.ID("bundle-file"), []string{file}),
		chromedp.Click(chromedp.ID("review-bundle")),
		chromedp.WaitVisible(chromedp.ID("review-result")))
	if n := read(t, ctx, "flips", chromedp.Evaluate[int](`document.querySelectorAll("#flips li").length`)); n != 2 {
		t.Errorf("%d flips listed, want 2", n)
	}
	flipped := read(t, ctx, "flipped cells", chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("td.cell.flip")).map(c => c.className + ": " + c.textContent.trim())`))
	if len(flipped) != 2 {
		t.Errorf("flipped cells %q, want the employees cell of the API grid and of the store grid", flipped)
	}
	for _, f := range flipped {
		if !strings.Contains(f, "to-allow") || !strings.Contains(f, "deny → allow") {
			t.Errorf("flipped cell %q: want class to-allow and the text deny → allow", f)
		}
	}
	if c := read(t, ctx, "flip color", chromedp.Evaluate[string](`getComputedStyle(document.querySelector("td.cell.flip.to-allow")).outlineStyle`)); c != "solid" {
		t.Errorf("a flipped cell has no outline: %q", c)
	}
	checkAccessible(t, ctx, "review")
	shot(t, ctx, "review")
	run(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.WaitVisible(chromedp.ID("apply-bundle")))
	if read(t, ctx, "phone width", chromedp.Evaluate[bool](overflow)) {
		t.Error("the review page is wider than a phone screen")
	}
	run(t, ctx, "desktop", chromedp.EmulateViewport(1280, 900))

	run(t, ctx, "apply", chromedp.Click(chromedp.ID("apply-bundle")), chromedp.WaitVisible(chromedp.ID("review-applied")))
	if msg := read(t, ctx, "applied", chromedp.Text(chromedp.ID("review-applied"))); !strings.Contains(msg, "policy store petstore") {
		t.Errorf("applied message: %q", msg)
	}
	run(t, ctx, "matrix after", chromedp.Click(chromedp.CSS("#review-applied a")), chromedp.WaitVisible(chromedp.ID("matrix")))
	if v := read(t, ctx, "cell after", chromedp.Evaluate[string](cell)); v != "allow" {
		t.Fatalf("employees × GET /admin after applying: %q", v)
	}
}
