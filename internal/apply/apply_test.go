package apply_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func vars(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func decide(t *testing.T, c *mgmtclient.Client, principal string, groups []string, action, rtype, rid string) string {
	t.Helper()
	var parents []avpapi.EntityIdentifier
	for _, g := range groups {
		parents = append(parents, avpapi.EntityIdentifier{EntityType: "PetStore::UserGroup", EntityID: g})
	}
	in := avpapi.IsAuthorizedInput{PolicyStoreID: "petstore",
		Principal: &avpapi.EntityIdentifier{EntityType: "PetStore::User", EntityID: principal},
		Action:    &avpapi.ActionIdentifier{ActionType: "PetStore::Action", ActionID: action},
		Resource:  &avpapi.EntityIdentifier{EntityType: rtype, EntityID: rid},
		Entities: &avpapi.EntitiesDefinition{EntityList: []avpapi.EntityItem{{
			Identifier: &avpapi.EntityIdentifier{EntityType: "PetStore::User", EntityID: principal}, Parents: parents}}},
	}
	var out avpapi.IsAuthorizedOutput
	if err := c.Call(context.Background(), "VerifiedPermissions.IsAuthorized", in, &out); err != nil {
		t.Fatal(err)
	}
	return out.Decision
}

func TestApplyIsIdempotentAndConverges(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			node := apptest.Start(t, apptest.Config(t, backend))
			c := apptest.Client(node)
			dir := copyDir(t, "testdata/petstore")
			env := vars(map[string]string{"POOL_ID": "us-east-1_Test"})

			load := func() *apply.Dir {
				d, err := apply.Load(dir, env)
				if err != nil {
					t.Fatal(err)
				}
				return d
			}
			rep, err := apply.Apply(ctx, c, load())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Changes) != 7 { // store, schema, template, 2 policies, link, entity
				t.Fatalf("first apply: %v", rep.Changes)
			}
			rep, err = apply.Apply(ctx, c, load())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Changes) != 0 {
				t.Fatalf("second apply changed %v", rep.Changes)
			}

			if d := decide(t, c, "eve", []string{"us-east-1_Test|employees"}, "post /pets", "PetStore::Application", "PetStore"); d != "ALLOW" {
				t.Fatalf("employees post: %s", d)
			}
			if d := decide(t, c, "carl", []string{"us-east-1_Test|customers"}, "get /pets", "PetStore::Application", "PetStore"); d != "ALLOW" {
				t.Fatalf("linked customers read: %s", d)
			}
			if d := decide(t, c, "alice", nil, "delete /pets/{petId}", "PetStore::Pet", "rex"); d != "ALLOW" {
				t.Fatalf("owner delete via stored entity: %s", d)
			}
			if d := decide(t, c, "bob", nil, "delete /pets/{petId}", "PetStore::Pet", "rex"); d != "DENY" {
				t.Fatalf("non-owner delete: %s", d)
			}

			// Edit the directory: change a policy's head (replace), drop the link and the
			// entities file's pet owner, and re-apply.
			os.WriteFile(filepath.Join(dir, "policies", "employees.cedar"), []byte(`permit (principal in PetStore::UserGroup::"${POOL_ID}|staff", action in [PetStore::Action::"post /pets"], resource);`), 0o644)
			os.Remove(filepath.Join(dir, "links.yaml"))
			os.WriteFile(filepath.Join(dir, "entities.json"), []byte(`[{"uid":{"type":"PetStore::Pet","id":"rex"},"attrs":{"owner":{"__entity":{"type":"PetStore::User","id":"bob"}}},"parents":[]}]`), 0o644)
			rep, err = apply.Run(ctx, c, load(), apply.Options{Prune: true})
			if err != nil {
				t.Fatal(err)
			}
			joined := changeLines(rep)
			for _, want := range []string{"policy employees: replace", "link customers-read: delete", `entity PetStore::Pet::"rex": update`} {
				if !strings.Contains(joined, want) {
					t.Fatalf("changes %q lack %q", joined, want)
				}
			}
			if d := decide(t, c, "eve", []string{"us-east-1_Test|employees"}, "post /pets", "PetStore::Application", "PetStore"); d != "DENY" {
				t.Fatalf("old policy head still enforced: %s", d)
			}
			if d := decide(t, c, "bob", nil, "delete /pets/{petId}", "PetStore::Pet", "rex"); d != "ALLOW" {
				t.Fatalf("entity change not applied: %s", d)
			}
		})
	}
}

func changeLines(r *apply.Report) string {
	var lines []string
	for _, c := range append(append([]policystore.Change{}, r.Changes...), r.Kept...) {
		lines = append(lines, c.Kind+" "+c.Name+": "+c.Action)
	}
	return strings.Join(lines, "\n")
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := copyDir(t, "testdata/petstore")
	if _, err := apply.Load(dir, vars(nil)); err == nil || !strings.Contains(err.Error(), "POOL_ID") {
		t.Fatalf("undefined variable: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "policies", "broken.cedar"), []byte("permit(principal, action, resource) when {"), 0o644)
	_, err := apply.Load(dir, vars(map[string]string{"POOL_ID": "x"}))
	if err == nil || !strings.Contains(err.Error(), "broken.cedar") {
		t.Fatalf("broken policy: %v", err)
	}
}
