package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func forEachBackend(t *testing.T, fn func(t *testing.T, backend string)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b, func(t *testing.T) { fn(t, b) })
	}
}

// startNode runs a node and points the CLI's client at it; stop ends it (flushing the audit
// trail) and runs at the end of the test in any case.
func startNode(t *testing.T, backend string, auditFile string) (*app.Node, []string, func()) {
	t.Helper()
	return startNodeWith(t, apptest.Config(t, backend), auditFile)
}

func startNodeWith(t *testing.T, cfg config.Config, auditFile string) (*app.Node, []string, func()) {
	t.Helper()
	cfg.AuditFile = auditFile
	node, stop := apptest.StartStoppable(t, cfg)
	t.Setenv("GATEHOUSE_ACCESS_KEY_ID", apptest.KeyID)
	t.Setenv("GATEHOUSE_SECRET_ACCESS_KEY", apptest.Secret)
	return node, []string{"--endpoint", "http://" + node.Addr("admin"), "--db", filepath.Join(t.TempDir(), "unused.db")}, stop
}

func decideCall(t *testing.T, c *mgmtclient.Client, store, principal, group, action string) string {
	t.Helper()
	in := avpapi.IsAuthorizedInput{PolicyStoreID: store,
		Principal: &avpapi.EntityIdentifier{EntityType: "PetStore::User", EntityID: principal},
		Action:    &avpapi.ActionIdentifier{ActionType: "PetStore::Action", ActionID: action},
		Resource:  &avpapi.EntityIdentifier{EntityType: "PetStore::Application", EntityID: "PetStore"},
		Entities: &avpapi.EntitiesDefinition{EntityList: []avpapi.EntityItem{{
			Identifier: &avpapi.EntityIdentifier{EntityType: "PetStore::User", EntityID: principal},
			Parents:    []avpapi.EntityIdentifier{{EntityType: "PetStore::UserGroup", EntityID: group}}}}},
	}
	var out avpapi.IsAuthorizedOutput
	err := c.Call(context.Background(), "VerifiedPermissions.IsAuthorized", in, &out)
	if errors.Is(err, mgmtclient.NotFound) {
		return "NOT_FOUND"
	}
	if err != nil {
		return "ERROR " + err.Error()
	}
	return out.Decision
}

// storeState is everything observable about a store's policies, with ids.
func storeState(t *testing.T, c *mgmtclient.Client, store string) string {
	t.Helper()
	var list avpapi.ListPoliciesOutput
	if err := c.Call(context.Background(), "VerifiedPermissions.ListPolicies", avpapi.ListPoliciesInput{PolicyStoreID: store}, &list); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range list.Policies {
		var got avpapi.GetPolicyOutput
		if err := c.Call(context.Background(), "VerifiedPermissions.GetPolicy", avpapi.GetPolicyInput{PolicyStoreID: store, PolicyID: p.PolicyID}, &got); err != nil {
			t.Fatal(err)
		}
		js, _ := json.Marshal(got.Definition)
		fmt.Fprintf(&b, "%s %s %s\n", p.PolicyID, p.Name, js)
	}
	return b.String()
}

const shopPolicies = `permit (principal in PetStore::UserGroup::"staff", action, resource);`
const shopForbid = `forbid (principal == PetStore::User::"bob", action, resource);`

func shopDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "policies"), 0o755)
	write(t, dir, "gatehouse.yaml", "policyStoreId: shop\nvalidationMode: STRICT\n")
	write(t, dir, "schema.cedarschema", cliSchema)
	write(t, dir, "policies/staff.cedar", shopPolicies)
	write(t, dir, "policies/deny-bob.cedar", shopForbid)
	return dir
}

// The fail-open sequence of issue 11: a STRICT store, a forbid edited into a policy that fails
// validation. Before the bundle, apply deleted the forbid, failed to create its replacement
// and left bob allowed. Now nothing changes, whether the CLI catches it locally or the server
// gets the bundle.
func TestApplyFailedEditLeavesStoreAsBefore(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		node, flags, _ := startNode(t, backend, "")
		c := apptest.Client(node)
		dir := shopDir(t)
		if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
			t.Fatalf("first apply: %d %s", code, out)
		}
		if d := decideCall(t, c, "shop", "bob", "staff", "get /pets"); d != "DENY" {
			t.Fatalf("bob before the edit: %s", d)
		}
		before := storeState(t, c, "shop")
		rev, err := node.Policies.Store().Revision(context.Background(), "shop")
		if err != nil {
			t.Fatal(err)
		}

		// Through the CLI: refused before anything is sent.
		write(t, dir, "policies/deny-bob.cedar", `forbid (principal == PetStore::User::"bob", action, resource) when { principal.nickname == "b" };`)
		out, code := run(t, append([]string{"apply", dir}, flags...)...)
		if code != 1 || !strings.Contains(out, "deny-bob") {
			t.Fatalf("apply of an invalid edit: exit %d, %s", code, out)
		}
		// Through the management API, skipping local validation: refused as a whole.
		write(t, dir, "policies/deny-bob.cedar", shopForbid)
		d, err := apply.Load(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range d.Policies {
			if d.Policies[i].Name == "deny-bob" {
				d.Policies[i].Text = `forbid (principal == PetStore::User::"bob", action, resource) when { principal.nickname == "b" };`
			}
		}
		d.Policies = append(d.Policies, apply.NamedText{Name: "new-one", Text: `permit (principal, action == PetStore::Action::"get /pets", resource);`})
		_, err = apply.Run(context.Background(), c, d, apply.Options{Prune: true})
		var ae *mgmtclient.Error
		if !errors.As(err, &ae) || ae.Type != "ValidationException" || !strings.Contains(ae.Message, "deny-bob") {
			t.Fatalf("bundle with an invalid policy: %v", err)
		}

		if d := decideCall(t, c, "shop", "bob", "staff", "get /pets"); d != "DENY" {
			t.Fatalf("bob after the failed edit: %s (fail open)", d)
		}
		if after := storeState(t, c, "shop"); after != before {
			t.Fatalf("store changed:\n%s\nwas\n%s", after, before)
		}
		if now, _ := node.Policies.Store().Revision(context.Background(), "shop"); now != rev {
			t.Fatalf("revision %d → %d", rev, now)
		}
	})
}

// A request loop running while examples/petstore is applied to a fresh node sees the
// before-answer (no store) or the after-answer, never a state in between.
func TestApplyIsAtomicUnderLoad(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		node, flags, _ := startNode(t, backend, "")
		c := apptest.Client(node)
		t.Setenv("POOL_ID", "us-east-1_Test")
		t.Setenv("UPSTREAM", "http://127.0.0.1:9")
		type probe struct{ principal, group, action, after string }
		probes := []probe{
			{"eve", "us-east-1_Test|employees", "post /pets", "ALLOW"},
			{"olga", "us-east-1_Test|owners", "get /admin/{proxy+}", "ALLOW"},
			{"carl", "us-east-1_Test|customers", "post /pets", "DENY"},
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var bad []string
		seen := map[string]int{}
		for _, p := range probes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5000; i++ { // bounded even if stop never comes
					select {
					case <-stop:
						return
					default:
					}
					got := decideCall(t, c, "petstore", p.principal, p.group, p.action)
					mu.Lock()
					seen[got]++
					if got != "NOT_FOUND" && got != p.after {
						bad = append(bad, fmt.Sprintf("%s %s: %s", p.principal, p.action, got))
					}
					mu.Unlock()
				}
			}()
		}
		out, code := run(t, append([]string{"apply", "../../examples/petstore"}, flags...)...)
		// Let the loop observe the after-state too.
		for _, p := range probes {
			if got := decideCall(t, c, "petstore", p.principal, p.group, p.action); got != p.after {
				t.Errorf("%s %s after apply: %s", p.principal, p.action, got)
			}
		}
		close(stop)
		wg.Wait()
		if code != 0 {
			t.Fatalf("apply: %d %s", code, out)
		}
		if len(bad) > 0 {
			t.Fatalf("intermediate states served (%d), e.g. %q; answers %v", len(bad), bad[0], seen)
		}
	})
}

// The same through the gateway with real tokens of the built-in IdP: while examples/petstore
// is applied, every gateway answer is the before-answer (no API: 404) or the after-answer.
func TestApplyIsAtomicAtTheGateway(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		node, flags, _ := startNodeWith(t, apptest.WithIdP(t, apptest.Config(t, backend)), "")
		pool, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: "PetStorePool"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := node.IdP.CreateResourceServer(ctx, pool.ID, "petstore", "petstore", []idp.ScopeInfo{{Name: "api", Description: "api"}}); err != nil {
			t.Fatal(err)
		}
		client, err := node.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "app", AllowedOAuthScopes: []string{"petstore/api"}})
		if err != nil {
			t.Fatal(err)
		}
		tokens := map[string]string{}
		for user, group := range map[string]string{"carol": "customers", "erin": "employees", "oscar": "owners"} {
			if _, err := node.IdP.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: group}); err != nil {
				t.Fatal(err)
			}
			if _, err := node.IdP.CreateUser(ctx, pool.ID, user, "Passw0rd!"+user, map[string]string{"email": user + "@example.com"}); err != nil {
				t.Fatal(err)
			}
			if err := node.IdP.AddUserToGroup(ctx, pool.ID, user, group); err != nil {
				t.Fatal(err)
			}
			tok, err := node.IdP.IssueTokens(ctx, pool.ID, client.ID, user)
			if err != nil {
				t.Fatal(err)
			}
			tokens[user] = tok.AccessToken
		}
		upstream := httptest.NewServer(sampleapi.PetStore())
		defer upstream.Close()
		t.Setenv("POOL_ID", pool.ID)
		t.Setenv("UPSTREAM", upstream.URL)

		type probe struct {
			user, method, path string
			after              int
		}
		probes := []probe{
			{"oscar", "GET", "/demo/admin/x", http.StatusOK},
			{"erin", "GET", "/demo/admin/x", http.StatusForbidden},
			{"carol", "POST", "/demo/pets", http.StatusForbidden},
			{"carol", "GET", "/demo/pets", http.StatusOK},
		}
		hc := &http.Client{Timeout: 10 * time.Second}
		status := func(p probe) int {
			req, _ := http.NewRequest(p.method, "http://"+node.Addr("gateway")+p.path, nil)
			req.Header.Set("Authorization", "Bearer "+tokens[p.user])
			resp, err := hc.Do(req)
			if err != nil {
				return -1
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		// loop runs the probes while apply runs and reports answers that are neither the
		// before- nor the after-answer.
		loop := func(dir string, before map[probe]int) {
			t.Helper()
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var bad []string
			for _, p := range probes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < 5000; i++ {
						select {
						case <-stop:
							return
						default:
						}
						if got := status(p); got != before[p] && got != p.after {
							mu.Lock()
							bad = append(bad, fmt.Sprintf("%s %s %s: %d", p.user, p.method, p.path, got))
							mu.Unlock()
						}
					}
				}()
			}
			out, code := run(t, append([]string{"apply", dir}, flags...)...)
			for _, p := range probes {
				if got := status(p); got != p.after {
					t.Errorf("%s %s %s after apply: %d", p.user, p.method, p.path, got)
				}
			}
			close(stop)
			wg.Wait()
			if code != 0 {
				t.Fatalf("apply: %d %s", code, out)
			}
			if len(bad) > 0 {
				t.Fatalf("intermediate states served at the gateway (%d, before %v), e.g. %q", len(bad), before, bad[0])
			}
		}
		dir := t.TempDir()
		if err := os.CopyFS(dir, os.DirFS("../../examples/petstore")); err != nil {
			t.Fatal(err)
		}
		fresh := map[probe]int{}
		for _, p := range probes {
			fresh[p] = status(p) // no API yet
		}
		loop(dir, fresh)

		// A head change (the owners' resource scope) replaces the policy: the owners keep
		// their access before, during and after.
		owners := filepath.Join(dir, "policies", "owners.cedar")
		text, err := os.ReadFile(owners)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(text), "    resource\n", "    resource in PetStore::Application::\"PetStore\"\n", 1)
		if edited == string(text) {
			t.Fatal("owners.cedar: resource scope not found")
		}
		write(t, dir, "policies/owners.cedar", edited)
		same := map[probe]int{}
		for _, p := range probes {
			same[p] = p.after
		}
		loop(dir, same)
	})
}

// Two applies that both expect the current revision: exactly one wins, the other conflicts
// and changes nothing.
func TestConcurrentAppliesWithExpectedRevision(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		node, _, _ := startNode(t, backend, "")
		c := apptest.Client(node)
		dir := shopDir(t)
		d, err := apply.Load(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		first, err := apply.Run(context.Background(), c, d, apply.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rev := first.RevisionAfter
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				di, err := apply.Load(dir, nil)
				if err != nil {
					errs[i] = err
					return
				}
				di.Policies = append(di.Policies, apply.NamedText{Name: fmt.Sprintf("extra-%d", i), Text: shopPolicies})
				_, errs[i] = apply.Run(context.Background(), c, di, apply.Options{ExpectedRevision: &rev})
			}()
		}
		wg.Wait()
		won, conflicts := 0, 0
		for _, err := range errs {
			var ae *mgmtclient.Error
			switch {
			case err == nil:
				won++
			case errors.As(err, &ae) && ae.Type == "ConflictException":
				conflicts++
			default:
				t.Fatal(err)
			}
		}
		if won != 1 || conflicts != 1 {
			t.Fatalf("won %d, conflicts %d: %v", won, conflicts, errs)
		}
		if now, _ := node.Policies.Store().Revision(context.Background(), "shop"); now != rev+1 {
			t.Fatalf("revision %d → %d, want one bump", rev, now)
		}
	})
}

// plan shows additions, edits, deletions (kept without --prune) and the access flips they
// cause; apply without --prune keeps what the directory dropped; one audit record per bundle.
func TestPlanGolden(t *testing.T) {
	auditFile := filepath.Join(t.TempDir(), "audit.log")
	node, flags, stop := startNode(t, "sqlite", auditFile)
	c := apptest.Client(node)
	t.Setenv("POOL_ID", "us-east-1_Test")
	t.Setenv("UPSTREAM", "http://127.0.0.1:9")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/petstore")); err != nil {
		t.Fatal(err)
	}
	golden := func(name, got string) {
		t.Helper()
		path := filepath.Join("testdata", name+".golden")
		if *update {
			os.MkdirAll("testdata", 0o755)
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("%s differs (go test -run TestPlanGolden -update):\n%s", path, got)
		}
	}
	out, code := run(t, append([]string{"plan", dir}, flags...)...)
	if code != 2 {
		t.Fatalf("plan on an empty node: %d %s", code, out)
	}
	golden("plan-create", out)
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("apply: %d %s", code, out)
	}
	if out, code := run(t, append([]string{"plan", dir}, flags...)...); code != 0 || !strings.Contains(out, "plan: 0 to create, 0 to update, 0 to replace, 0 to delete") {
		t.Fatalf("plan after apply: %d %s", code, out)
	}

	// Edit: employees may also read the admin routes (update, access flip), a new policy for customers
	// (create), owners dropped (delete only with --prune).
	write(t, dir, "policies/employees.cedar", `permit (
    principal in PetStore::UserGroup::"${POOL_ID}|employees",
    action in [PetStore::Action::"post /pets", PetStore::Action::"get /admin/{proxy+}"],
    resource
);`)
	write(t, dir, "policies/customers.cedar", `permit (principal in PetStore::UserGroup::"${POOL_ID}|customers", action in [PetStore::Action::"get /pets"], resource);`)
	os.Remove(filepath.Join(dir, "policies", "owners.cedar"))
	out, code = run(t, append([]string{"plan", dir}, flags...)...)
	if code != 2 {
		t.Fatalf("plan of the edit: %d %s", code, out)
	}
	golden("plan-edit", out)
	out, code = run(t, append([]string{"plan", dir, "--prune"}, flags...)...)
	if code != 2 {
		t.Fatalf("plan --prune: %d %s", code, out)
	}
	golden("plan-edit-prune", out)
	out, code = run(t, append([]string{"plan", dir, "--prune", "-o", "json"}, flags...)...)
	var rep apply.Report
	if err := json.Unmarshal([]byte(out), &rep); code != 2 || err != nil || len(rep.Access) == 0 {
		t.Fatalf("plan -o json: %d %v %s", code, err, out)
	}

	// apply without --prune keeps the owners policy.
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 || !strings.Contains(out, "policy owners: kept") {
		t.Fatalf("apply without --prune: %d %s", code, out)
	}
	if d := decideCall(t, c, "petstore", "olga", "us-east-1_Test|owners", "post /pets"); d != "ALLOW" {
		t.Fatalf("owners policy was deleted without --prune: %s", d)
	}
	if out, code := run(t, append([]string{"apply", dir, "--prune"}, flags...)...); code != 0 || !strings.Contains(out, "policy owners: delete") {
		t.Fatalf("apply --prune: %d %s", code, out)
	}
	if d := decideCall(t, c, "petstore", "olga", "us-east-1_Test|owners", "post /pets"); d != "DENY" {
		t.Fatalf("owners policy survived --prune: %s", d)
	}

	// Three bundles committed: three audit records with revisions before and after.
	stop()
	f, err := os.Open(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var records []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r map[string]any
		if json.Unmarshal(sc.Bytes(), &r) == nil && r["operation"] == "Gatehouse.ApplyBundle" {
			records = append(records, r)
		}
	}
	if len(records) != 3 {
		t.Fatalf("%d ApplyBundle audit records, want 3: %v", len(records), records)
	}
	for _, r := range records {
		before, _ := r["revisionBefore"].(float64) // absent when 0
		after, _ := r["revision"].(float64)
		if r["actor"] != apptest.KeyID || after != before+1 || !strings.HasPrefix(fmt.Sprint(r["change"]), "sha256:") {
			t.Fatalf("audit record lacks actor, revisions or digest: %v", r)
		}
	}
}

// A missing, empty or unrecognisable directory, and one that fails validation, is refused
// with its own error before the server is contacted: credentials are set and the endpoint
// answers nothing, so an error about either would mean the CLI went to the server first.
// (The client-side reconcile applied ./no-such-dir as "0 changed".)
func TestApplyRefusesEmptyOrMissingDirectories(t *testing.T) {
	t.Setenv("GATEHOUSE_ACCESS_KEY_ID", apptest.KeyID)
	t.Setenv("GATEHOUSE_SECRET_ACCESS_KEY", apptest.Secret)
	unrecognised := t.TempDir()
	write(t, unrecognised, "README.md", "# policies\n")
	os.MkdirAll(filepath.Join(unrecognised, "policy"), 0o755) // not policies/
	write(t, unrecognised, "policy/staff.cedar", shopPolicies)
	invalid := shopDir(t)
	write(t, invalid, "policies/deny-bob.cedar", `forbid (principal == PetStore::User::"bob", action, resource) when { principal.nickname == "b" };`)
	for _, tc := range []struct{ name, dir, want string }{
		{"missing", filepath.Join(t.TempDir(), "no-such-dir"), "no such file or directory"},
		{"empty", t.TempDir(), "nothing to apply"},
		{"unrecognised", unrecognised, "nothing to apply"},
		{"STRICT-invalid", invalid, "deny-bob"},
	} {
		for _, cmd := range []string{"apply", "plan"} {
			out, code := run(t, cmd, tc.dir, "--endpoint", "http://127.0.0.1:9", "--db", filepath.Join(t.TempDir(), "x.db"))
			if code != 1 || !strings.Contains(out, tc.want) || strings.Contains(out, "127.0.0.1:9") || strings.Contains(out, "changed") {
				t.Errorf("%s of a %s directory with no server: exit %d, %q; want exit 1 naming %q", cmd, tc.name, code, out, tc.want)
			}
		}
	}
}

// --expected-revision reaches the server: a stale one is a ConflictException (exit 1) that
// changes nothing, the current one applies.
func TestApplyExpectedRevisionFlag(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		node, flags, _ := startNode(t, backend, "")
		c := apptest.Client(node)
		dir := shopDir(t)
		if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
			t.Fatalf("first apply: %d %s", code, out)
		}
		rev, err := node.Policies.Store().Revision(context.Background(), "shop")
		if err != nil {
			t.Fatal(err)
		}
		before := storeState(t, c, "shop")
		write(t, dir, "policies/deny-bob.cedar", `forbid (principal == PetStore::User::"bob", action == PetStore::Action::"post /pets", resource);`)
		stale := fmt.Sprint(rev - 1)
		for _, cmd := range []string{"plan", "apply"} {
			out, code := run(t, append([]string{cmd, dir, "--expected-revision", stale}, flags...)...)
			if code != 1 || !strings.Contains(out, "ConflictException") || !strings.Contains(out, "expectedRevision "+stale) {
				t.Fatalf("%s --expected-revision %s at revision %d: exit %d, %s", cmd, stale, rev, code, out)
			}
		}
		if after := storeState(t, c, "shop"); after != before {
			t.Fatalf("a conflicting apply changed the store:\n%s\nwas\n%s", after, before)
		}
		out, code := run(t, append([]string{"apply", dir, "--expected-revision", fmt.Sprint(rev)}, flags...)...)
		if code != 0 || !strings.Contains(out, fmt.Sprintf("revision %d → %d", rev, rev+1)) {
			t.Fatalf("apply --expected-revision %d: exit %d, %s", rev, code, out)
		}
	})
}

// apply --dry-run is plan: the same output and exit status, and nothing written.
func TestApplyDryRunIsPlan(t *testing.T) {
	node, flags, _ := startNode(t, "sqlite", "")
	dir := shopDir(t)
	write(t, dir, "policies/staff.cedar", `permit (principal in PetStore::UserGroup::"staff", action in [PetStore::Action::"get /pets", PetStore::Action::"post /pets"], resource);`)
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("first apply: %d %s", code, out)
	}
	rev, err := node.Policies.Store().Revision(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "policies/staff.cedar", `permit (principal in PetStore::UserGroup::"staff", action == PetStore::Action::"get /pets", resource);`)
	plan, planCode := run(t, append([]string{"plan", dir}, flags...)...)
	dry, dryCode := run(t, append([]string{"apply", "--dry-run", dir}, flags...)...)
	if planCode != 2 || dryCode != 2 || plan != dry || !strings.Contains(plan, "policy staff: update") ||
		!strings.Contains(plan, `PetStore::Action::"post /pets", group staff: allow → deny`) {
		t.Fatalf("plan (exit %d):\n%s\napply --dry-run (exit %d):\n%s", planCode, plan, dryCode, dry)
	}
	if now, _ := node.Policies.Store().Revision(context.Background(), "shop"); now != rev {
		t.Fatalf("a dry run moved the revision %d → %d", rev, now)
	}
}

// An oversized schema (the server's maxSchemaBytes, which local checks do not know) refuses
// the whole directory: no store is left behind without its schema, as the client-side
// reconcile left one.
func TestApplyOversizedSchemaCreatesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		cfg := apptest.Config(t, backend)
		cfg.MaxSchemaBytes = 64
		node, flags, _ := startNodeWith(t, cfg, "")
		c := apptest.Client(node)
		out, code := run(t, append([]string{"apply", shopDir(t)}, flags...)...)
		if code != 1 || !strings.Contains(out, "maxSchemaBytes") {
			t.Fatalf("apply with an oversized schema: exit %d, %s", code, out)
		}
		err := c.Call(context.Background(), "VerifiedPermissions.GetPolicyStore", avpapi.GetPolicyStoreInput{PolicyStoreID: "shop"}, nil)
		if !errors.Is(err, mgmtclient.NotFound) {
			t.Fatalf("store after the refused apply: %v, want not found", err)
		}
	})
}

// validate and authorize read files through apply's ${NAME} expansion, so they judge the
// text the server would get.
func TestOfflineToolsExpandVariablesAsApply(t *testing.T) {
	dir := t.TempDir()
	schema := write(t, dir, "schema.cedarschema", cliSchema)
	pol := write(t, dir, "employees.cedar", `permit (principal in PetStore::UserGroup::"${POOL_ID}|employees", action in [PetStore::Action::"post /pets"], resource);`)
	ents := write(t, dir, "entities.json", `[{"uid":{"type":"PetStore::User","id":"alice"},"attrs":{},"parents":[{"type":"PetStore::UserGroup","id":"${POOL_ID}|employees"}]}]`)
	authorize := []string{"authorize", "--schema", schema, "--entities", ents, "--principal", `PetStore::User::"alice"`,
		"--action", `PetStore::Action::"post /pets"`, "--resource", `PetStore::Application::"PetStore"`, pol}

	t.Setenv("POOL_ID", "") // restored after the test
	os.Unsetenv("POOL_ID")
	if out, code := run(t, "validate", "--schema", schema, pol); code != 1 || !strings.Contains(out, "POOL_ID") {
		t.Fatalf("validate with POOL_ID unset: %d %s", code, out)
	}
	if out, code := run(t, authorize...); code != 1 || !strings.Contains(out, "POOL_ID") {
		t.Fatalf("authorize with POOL_ID unset: %d %s", code, out)
	}
	t.Setenv("POOL_ID", "us-east-1_Test")
	if out, code := run(t, "validate", "--schema", schema, pol); code != 0 {
		t.Fatalf("validate: %d %s", code, out)
	}
	if out, code := run(t, authorize...); code != 0 || !strings.HasPrefix(out, "ALLOW") {
		t.Fatalf("authorize: %d %s", code, out)
	}
	t.Setenv("UPSTREAM", "http://127.0.0.1:9")
	d, err := apply.Load(filepath.Join("..", "..", "examples", "petstore"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Policies[0].Text, "us-east-1_Test|") {
		t.Fatalf("apply read %q", d.Policies[0].Text)
	}
}
