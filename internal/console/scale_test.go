package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

var policyRow = regexp.MustCompile(`<tr><td><a href="/console/stores/big/policies/`)

// TestPolicyListAt100k pages and searches a store of 100,000 policies through the console:
// the list is served from the console's in-memory index, caught up with store.Changes after
// a write (the new policy is found at once). Figures are logged, not asserted (shared
// machine).
func TestPolicyListAt100k(t *testing.T) {
	t.Parallel()
	n := startNode(t)
	const count = 100_000
	in := avpapi.ApplyBundleInput{PolicyStore: &avpapi.BundleStore{PolicyStoreID: "big", ValidationMode: "OFF"}}
	for i := range count {
		in.PolicyStore.Policies = append(in.PolicyStore.Policies, avpapi.BundleStatement{Name: fmt.Sprintf("p%06d", i),
			Statement: fmt.Sprintf(`permit (principal == User::"u%06d", action == Action::"read", resource == Doc::"d%06d");`, i, i)})
	}
	body, _ := jsonMarshalT(t, in)
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	start := time.Now()
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatal(err)
	}
	t.Logf("apply %d policies: %v", count, time.Since(start))

	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	timed := func(what, path string) string {
		t.Helper()
		start := time.Now()
		resp, body := b.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%s", what, resp.StatusCode, body)
		}
		t.Logf("%s: %v", what, time.Since(start))
		return body
	}
	page := timed("first page (builds the index)", "/console/stores/big/policies")
	if !strings.Contains(page, "100000 policies") || len(policyRow.FindAllString(page, -1)) != 50 {
		t.Fatalf("first page: %d rows", len(policyRow.FindAllString(page, -1)))
	}
	next := regexp.MustCompile(`after=([A-Za-z0-9]+)" id="next-page"`).FindStringSubmatch(page)
	if next == nil {
		t.Fatal("no next page link")
	}
	page = timed("next page", "/console/stores/big/policies?after="+next[1])
	if len(policyRow.FindAllString(page, -1)) != 50 || !strings.Contains(page, "continuing after "+next[1]) {
		t.Fatal("second page")
	}
	page = timed("search one", "/console/stores/big/policies?q="+url.QueryEscape(`u099999`))
	if !strings.Contains(page, "1 matching policies") || !strings.Contains(page, `d099999`) {
		t.Fatalf("search for u099999:\n%s", page)
	}
	page = timed("search two words", "/console/stores/big/policies?q="+url.QueryEscape(`permit d0500`))
	if !strings.Contains(page, "100 matching policies") {
		t.Fatal("search for two words")
	}

	// A write through the console shows in the next list without a full reload.
	resp, _ := b.post("/console/stores/big/policies", url.Values{"csrf": {b.csrf()}, "statement": {`forbid (principal == User::"mallory", action, resource);`}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	page = timed("search after a write (catches up with the change)", "/console/stores/big/policies?q=mallory")
	if !strings.Contains(page, "1 matching policies") {
		t.Fatal("new policy not found")
	}
	page = timed("first page again", "/console/stores/big/policies")
	if !strings.Contains(page, "100001 policies") {
		t.Fatal("count after the write")
	}
}
