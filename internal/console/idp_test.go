package console_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/console"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// TestIdPPages: a viewer reads the pools, a pool's users a page at a time (55 users, 50 per
// page), its groups with their members and its app clients, all through the IdP's own
// Cognito operations; nothing of it is served without a session; an unknown pool is 404.
func TestIdPPages(t *testing.T) {
	t.Parallel()
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.ConsoleKeys = []string{"viewer:" + viewerID + ":" + viewerSecret}
	node, stop := apptest.StartStoppable(t, cfg)
	n := &testNode{Node: node, base: "http://" + node.Addr("admin"), stop: stop}
	ctx := context.Background()
	pool, err := n.IdP.CreatePool(ctx, idp.PoolInput{Name: "staff-pool"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web-app"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.IdP.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: "admins", Description: "the on-call admins"}); err != nil {
		t.Fatal(err)
	}
	for i := range 55 {
		u := fmt.Sprintf("user%02d", i)
		if _, err := n.IdP.CreateUser(ctx, pool.ID, u, "Correct-Horse-9", map[string]string{"email": u + "@example.com"}); err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			if err := n.IdP.AddUserToGroup(ctx, pool.ID, u, "admins"); err != nil {
				t.Fatal(err)
			}
		}
	}

	anon := newBrowser(t, n.base)
	for _, p := range []string{"/console/idp", "/console/idp/" + pool.ID, "/console/idp/" + pool.ID + "?page=x"} {
		if resp, body := anon.get(p); resp.StatusCode != http.StatusSeeOther || strings.Contains(body, "user00") {
			t.Errorf("GET %s without a session: %d", p, resp.StatusCode)
		}
	}

	b := newBrowser(t, n.base)
	b.signIn(viewerID, viewerSecret)
	resp, body := b.get("/console/idp")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="/console/idp/`+pool.ID+`"`) || !strings.Contains(body, "staff-pool") {
		t.Fatalf("pools page: %d\n%s", resp.StatusCode, body)
	}
	resp, body = b.get("/console/idp/" + pool.ID)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("pool page: %d\n%s", resp.StatusCode, body)
	}
	users := regexp.MustCompile(`<td>(user\d\d)</td><td>user\d\d@example.com</td>`)
	first := users.FindAllStringSubmatch(body, -1)
	if len(first) != 50 {
		t.Errorf("first page has %d users, want 50", len(first))
	}
	for _, want := range []string{"web-app", "admins", "the on-call admins", "user00, user01"} {
		if !strings.Contains(body, want) {
			t.Errorf("pool page lacks %q", want)
		}
	}
	next := regexp.MustCompile(`id="next" href="([^"]+)"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatalf("no next page link")
	}
	resp, body = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	second := users.FindAllStringSubmatch(body, -1)
	if resp.StatusCode != http.StatusOK || len(second) != 5 || strings.Contains(body, `id="next"`) {
		t.Errorf("second page: %d, %d users", resp.StatusCode, len(second))
	}
	seen := map[string]bool{}
	for _, m := range append(first, second...) {
		seen[m[1]] = true
	}
	if len(seen) != 55 {
		t.Errorf("two pages show %d distinct users, want 55", len(seen))
	}
	if resp, _ := b.get("/console/idp/us-east-1_Nope00000"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown pool: %d, want 404", resp.StatusCode)
	}
	if resp, body := b.get("/console/idp/" + pool.ID + "?page=garbage"); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("forged page token: %d, want 400\n%s", resp.StatusCode, body)
	}
}

// oldConsoleSchema is the console store's schema as nodes before ViewIdP seeded it.
const oldConsoleSchema = `namespace Console {
  entity Role;
  entity User in [Role];
  entity Node;
  entity Store;
  action View appliesTo { principal: [User], resource: [Node, Store] };
  action CreateStore, ViewMatrix, ViewAudit appliesTo { principal: [User], resource: [Node] };
  action EditSchema, EditPolicy, TestBench appliesTo { principal: [User], resource: [Store] };
}
`

// TestConsoleStoreUpgradedOnce: a console store seeded before ViewIdP existed (its schema
// without the action, no view-idp policy, and an administrator's own extra policy) gains the
// action and the view-idp policy when a newer node starts, keeping that extra policy; a
// further start changes nothing.
func TestConsoleStoreUpgradedOnce(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, "sqlite")
	cfg.ConsoleKeys = []string{"viewer:" + viewerID + ":" + viewerSecret}
	node, stop := apptest.StartStoppable(t, cfg)
	n := &testNode{Node: node, stop: stop}
	old := avpapi.ApplyBundleInput{Prune: true, PolicyStore: &avpapi.BundleStore{PolicyStoreID: console.ConsoleStoreID, ValidationMode: policystore.ModeStrict,
		Schema: oldConsoleSchema, Policies: []avpapi.BundleStatement{
			{Name: "viewer", Statement: `permit (principal in Console::Role::"viewer", action == Console::Action::"View", resource);`},
			{Name: "ops-extra", Statement: `permit (principal == Console::User::"ops", action == Console::Action::"ViewAudit", resource);`},
		}}}
	body, _ := jsonMarshalT(t, old)
	op, _ := consoleOps(n)("Gatehouse.ApplyBundle")
	if _, err := op(awsjson.WithCaller(context.Background(), apptest.KeyID), body); err != nil {
		t.Fatalf("apply the old console store: %v", err)
	}
	n.stop()

	names := func(n *testNode) []string {
		t.Helper()
		rows, _, err := n.Policies.ListPolicies(context.Background(), console.ConsoleStoreID, policyFilter(), "", 50)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range rows {
			out = append(out, p.Name)
		}
		slices.Sort(out)
		return out
	}
	for round := range 2 {
		node, stop := apptest.StartStoppable(t, cfg)
		n := &testNode{Node: node, base: "http://" + node.Addr("admin"), stop: stop}
		b := newBrowser(t, n.base)
		b.signIn(viewerID, viewerSecret)
		if resp, body := b.get("/console/idp"); resp.StatusCode != http.StatusOK {
			t.Errorf("round %d: viewer's IdP page: %d\n%s", round, resp.StatusCode, body)
		}
		if got, want := names(n), []string{"name/edit-store", "name/ops-extra", "name/protect-console-store-objects", "name/view-idp", "name/viewer"}; !slices.Equal(got, want) {
			t.Errorf("round %d: policies %v, want %v", round, got, want)
		}
		sc, err := n.Policies.GetSchema(context.Background(), console.ConsoleStoreID)
		if err != nil || !strings.Contains(sc.JSON, `"ViewIdP"`) || !strings.Contains(sc.JSON, `"ViewAudit"`) {
			t.Errorf("round %d: schema %v %s", round, err, sc.JSON)
		}
		n.stop()
	}
}
