package main

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
)

var (
	reviewCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	reviewFlip = regexp.MustCompile(`<li data-api="([^"]*)" data-route="([^"]*)" data-group="([^"]*)" data-before="([^"]*)" data-after="([^"]*)">`)
)

// The console's review of the bundle `gatehouse plan DIR -o bundle` prints flips exactly the
// cells `gatehouse plan DIR -o json` reports, with and without --prune; printing the bundle
// contacts no server.
func TestPlanBundleReviewMatchesPlan(t *testing.T) {
	node, flags, _ := startNode(t, "sqlite", filepath.Join(t.TempDir(), "audit.log"))
	t.Setenv("POOL_ID", "us-east-1_Test")
	t.Setenv("UPSTREAM", "http://127.0.0.1:9")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/petstore")); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("apply: %d %s", code, out)
	}
	write(t, dir, "policies/employees.cedar", `permit (
    principal in PetStore::UserGroup::"${POOL_ID}|employees",
    action in [PetStore::Action::"post /pets", PetStore::Action::"get /admin/{proxy+}"],
    resource
);`)
	write(t, dir, "policies/customers.cedar", `permit (principal in PetStore::UserGroup::"${POOL_ID}|customers", action in [PetStore::Action::"get /pets"], resource);`)
	os.Remove(filepath.Join(dir, "policies", "owners.cedar"))

	// No server needed for the bundle.
	out, code := run(t, "plan", dir, "-o", "bundle", "--endpoint", "http://127.0.0.1:9", "--db", filepath.Join(t.TempDir(), "x.db"))
	var offline avpapi.ApplyBundleInput
	if code != 0 || json.Unmarshal([]byte(out), &offline) != nil || offline.PolicyStore == nil || offline.DryRun {
		t.Fatalf("plan -o bundle without a server: %d %s", code, out)
	}

	c := signInConsole(t, "http://"+node.Addr("admin"))
	for _, prune := range []bool{false, true} {
		args := []string{"plan", dir}
		if prune {
			args = append(args, "--prune")
		}
		bundle, code := run(t, append(append(args, "-o", "bundle"), flags...)...)
		var in avpapi.ApplyBundleInput
		if code != 0 || json.Unmarshal([]byte(bundle), &in) != nil || in.Prune != prune {
			t.Fatalf("plan -o bundle (prune %v): %d %s", prune, code, bundle)
		}
		out, code := run(t, append(append(args, "-o", "json"), flags...)...)
		var rep apply.Report
		if code != 2 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Access) == 0 {
			t.Fatalf("plan -o json (prune %v): %d %s", prune, code, out)
		}
		var want []string
		for _, a := range rep.Access {
			want = append(want, strings.Join([]string{a.API, a.Route, a.Group, a.Before, a.After}, "|"))
		}
		form := url.Values{"bundle": {bundle}}
		if prune {
			form.Set("prune", "1")
		}
		body := c.post("/console/review", form)
		var got []string
		for _, m := range reviewFlip.FindAllStringSubmatch(body, -1) {
			got = append(got, html.UnescapeString(strings.Join(m[1:], "|")))
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("prune %v: review flips\n%s\nplan reports\n%s", prune, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

type consoleClient struct {
	t    *testing.T
	c    *http.Client
	base string
	csrf string
}

// signInConsole signs in to the node's console with the management key pair.
func signInConsole(t *testing.T, base string) *consoleClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &consoleClient{t: t, base: base, c: &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	c.post("/console/signin", url.Values{"accessKeyId": {apptest.KeyID}, "secretAccessKey": {apptest.Secret}})
	resp, err := c.c.Get(base + "/console/review")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := reviewCSRF.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("review page: %d\n%s", resp.StatusCode, b)
	}
	c.csrf = m[1]
	return c
}

func (c *consoleClient) post(path string, form url.Values) string {
	c.t.Helper()
	if c.csrf != "" {
		form.Set("csrf", c.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		c.t.Fatalf("POST %s: %d\n%s", path, resp.StatusCode, b)
	}
	return string(b)
}
