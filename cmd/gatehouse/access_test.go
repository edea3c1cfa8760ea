package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
)

// TestAccessCommands asks a running node, through the CLI and the management API, what a
// principal may access, on both backends.
func TestAccessCommands(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		_, flags, _ := startNode(t, backend, "")
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "policies"), 0o755)
		write(t, dir, "gatehouse.yaml", "policyStoreId: photos\nvalidationMode: STRICT\n")
		write(t, dir, "schema.cedarschema", `namespace App {
  entity User;
  entity Album;
  entity Photo in [Album] { owner: User, public: Bool };
  action view, edit appliesTo { principal: User, resource: Photo };
}`)
		write(t, dir, "policies/owner.cedar", `@id("owner")
permit (principal, action, resource is App::Photo) when { resource.owner == principal };`)
		write(t, dir, "policies/public.cedar", `@id("public")
permit (principal, action == App::Action::"view", resource) when { resource.public };`)
		write(t, dir, "policies/frozen.cedar", `@id("frozen")
forbid (principal, action == App::Action::"edit", resource in App::Album::"frozen");`)
		write(t, dir, "entities.json", `[
 {"uid":{"type":"App::User","id":"alice"},"attrs":{},"parents":[]},
 {"uid":{"type":"App::User","id":"bob"},"attrs":{},"parents":[]},
 {"uid":{"type":"App::Album","id":"frozen"},"attrs":{},"parents":[]},
 {"uid":{"type":"App::Photo","id":"a1"},"attrs":{"owner":{"__entity":{"type":"App::User","id":"alice"}},"public":false},"parents":[]},
 {"uid":{"type":"App::Photo","id":"a2"},"attrs":{"owner":{"__entity":{"type":"App::User","id":"alice"}},"public":false},"parents":[{"type":"App::Album","id":"frozen"}]},
 {"uid":{"type":"App::Photo","id":"b1"},"attrs":{"owner":{"__entity":{"type":"App::User","id":"bob"}},"public":true},"parents":[]}
]`)
		if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
			t.Fatalf("apply: %d %s", code, out)
		}

		out, code := run(t, append([]string{"access", "actions", "--store", "photos", "--principal", `App::User::"alice"`, "--resource", `App::Photo::"a2"`}, flags...)...)
		if code != 0 || !strings.Contains(out, `App::Action::"view"`) || strings.Contains(out, `"edit"`) {
			t.Fatalf("alice on a2 (frozen): exit %d\n%s", code, out)
		}
		out, code = run(t, append([]string{"access", "actions", "--store", "photos", "--principal", `App::User::"alice"`, "--resource", `App::Photo::"a2"`, "--all", "-o", "json"}, flags...)...)
		var acts avpapi.ListAllowedActionsOutput
		if code != 0 || json.Unmarshal([]byte(out), &acts) != nil {
			t.Fatalf("json: exit %d\n%s", code, out)
		}
		got := map[string]string{}
		for _, a := range acts.Actions {
			got[a.Action.ActionID] = fmt.Sprint(a.Decision, " ", len(a.DeterminingPolicies))
		}
		// view: allowed by the owner policy alone (a2 is not public); edit: denied by the
		// frozen forbid.
		if got["view"] != "ALLOW 1" || got["edit"] != "DENY 1" || len(got) != 2 {
			t.Fatalf("alice on a2 with --all: %v", got)
		}

		out, code = run(t, append([]string{"access", "resources", "--store", "photos", "--principal", `App::User::"bob"`,
			"--action", `App::Action::"view"`, "--type", "App::Photo", "-o", "json"}, flags...)...)
		var res avpapi.ListAllowedResourcesOutput
		if code != 0 || json.Unmarshal([]byte(out), &res) != nil {
			t.Fatalf("resources json: exit %d\n%s", code, out)
		}
		if len(res.Resources) != 1 || res.Resources[0].Resource.EntityID != "b1" || res.ResourcesChecked != 3 {
			t.Fatalf("bob may view %+v of %d", res.Resources, res.ResourcesChecked)
		}
		var residual []string
		for _, r := range res.ResidualPolicies {
			residual = append(residual, strings.Join(strings.Fields(r.Policy), " "))
		}
		slices.Sort(residual)
		want := []string{
			`@id("owner") permit ( principal, action, resource is App::Photo ) when { resource.owner == App::User::"bob" };`,
			`@id("public") permit ( principal, action, resource ) when { resource.public };`,
		}
		if strings.Join(residual, "\n") != strings.Join(want, "\n") {
			t.Fatalf("residuals:\n%s\nwant:\n%s", strings.Join(residual, "\n"), strings.Join(want, "\n"))
		}
		out, code = run(t, append([]string{"access", "resources", "--store", "photos", "--principal", `App::User::"bob"`,
			"--action", `App::Action::"edit"`, "--type", "App::Photo"}, flags...)...)
		if code != 0 || !strings.Contains(out, "allowed: 1 of 3") || !strings.Contains(out, "frozen") {
			t.Fatalf("bob edit text: exit %d\n%s", code, out)
		}

		// Bad input names the flag or the field.
		if out, code := run(t, append([]string{"access", "actions", "--store", "photos", "--principal", "alice", "--resource", `App::Photo::"a1"`}, flags...)...); code != 1 || !strings.Contains(out, "--principal") {
			t.Fatalf("bad principal: exit %d %s", code, out)
		}
		if out, code := run(t, append([]string{"access", "actions", "--store", "nope", "--principal", `App::User::"a"`, "--resource", `App::Photo::"a1"`}, flags...)...); code != 1 || !strings.Contains(out, "ResourceNotFound") {
			t.Fatalf("unknown store: exit %d %s", code, out)
		}
		if out, code := run(t, append([]string{"access", "resources", "--store", "photos", "--principal", `App::User::"bob"`,
			"--action", `App::Action::"view"`, "--type", "App::Photo", "--context", `{"x": 1}`}, flags...)...); code != 1 || !strings.Contains(out, "context") {
			t.Fatalf("context not in the schema: exit %d %s", code, out)
		}
	})
}

// TestAccessRoutes lists an API's routes for a caller through the CLI and the management API.
func TestAccessRoutes(t *testing.T) {
	_, flags, _ := startNode(t, "sqlite", "")
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "apis"), 0o755)
	write(t, dir, "apis/shop.yaml", `name: Shop
basePath: /shop
upstream: http://127.0.0.1:9
authorizers:
  oidc:
    type: jwt
    identitySources:
      - configuration: {openIdConnectConfiguration: {issuer: "https://issuer.example.com", tokenSelection: {accessTokenOnly: {audiences: [shop]}}}}
routes:
  - {route: "GET /items", authorizer: none}
  - {route: "GET /items/{id}", authorizer: oidc}
`)
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("apply: %d %s", code, out)
	}
	out, code := run(t, append([]string{"access", "routes", "--api", "Shop", "-o", "json"}, flags...)...)
	var got avpapi.ListAllowedRoutesOutput
	if code != 0 || json.Unmarshal([]byte(out), &got) != nil {
		t.Fatalf("routes: exit %d %s", code, out)
	}
	var rows []string
	for _, r := range got.Routes {
		rows = append(rows, fmt.Sprintf("%s %s %v %d %s %v", r.Method, r.Route, r.Allowed, r.Status, r.Reason, r.Assumed))
	}
	want := "GET /items true 0  []|GET /items/{id} false 401 missing_token [id]"
	if strings.Join(rows, "|") != want {
		t.Fatalf("routes without a token:\n%s\nwant\n%s", strings.Join(rows, "\n"), want)
	}
	if out, code := run(t, append([]string{"access", "routes", "--api", "Nope"}, flags...)...); code != 1 || !strings.Contains(out, "ResourceNotFound") {
		t.Fatalf("unknown API: exit %d %s", code, out)
	}
	if out, code := run(t, append([]string{"access", "routes", "--api", "Shop", "--param", "novalue"}, flags...)...); code != 1 || !strings.Contains(out, "--param") {
		t.Fatalf("bad --param: exit %d %s", code, out)
	}
}
