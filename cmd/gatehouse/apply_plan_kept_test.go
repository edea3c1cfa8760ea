package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A directory without entities.json leaves the stored entities alone, so a plan decides the
// proposed state with them: no access change is reported when nothing changes.
func TestPlanKeepsStoredEntitiesWhenTheDirectoryHasNone(t *testing.T) {
	_, flags, _ := startNode(t, "sqlite", "")
	dir := shopDir(t)
	write(t, dir, "schema.cedarschema", strings.Replace(cliSchema, "entity UserGroup;", "entity UserGroup in [UserGroup];", 1))
	write(t, dir, "policies/staff.cedar", `permit (principal in PetStore::UserGroup::"staff", action == PetStore::Action::"post /pets", resource);`)
	write(t, dir, "policies/everyone.cedar", `permit (principal in PetStore::UserGroup::"everyone", action == PetStore::Action::"get /pets", resource);`)
	write(t, dir, "entities.json", `[{"uid":{"type":"PetStore::UserGroup","id":"staff"},"attrs":{},"parents":[{"type":"PetStore::UserGroup","id":"everyone"}]}]`)
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("first apply: %d %s", code, out)
	}
	os.Remove(filepath.Join(dir, "entities.json"))
	out, code := run(t, append([]string{"plan", dir}, flags...)...)
	if code != 0 || strings.Contains(out, "access changes") {
		t.Fatalf("plan of a directory that changes nothing: exit %d\n%s", code, out)
	}
}

// Without --prune an identity source the directory no longer lists is kept, and with it the
// pool whose groups the policies name: the plan of such a directory changes no access.
func TestPlanKeepsStoredIdentitySources(t *testing.T) {
	_, flags, _ := startNode(t, "sqlite", "")
	t.Setenv("POOL_ID", "us-east-1_Test")
	t.Setenv("UPSTREAM", "http://127.0.0.1:9")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/petstore")); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("first apply: %d %s", code, out)
	}
	os.Remove(filepath.Join(dir, "identity-sources.yaml"))
	out, code := run(t, append([]string{"plan", dir}, flags...)...)
	if code != 0 || strings.Contains(out, "access changes") || !strings.Contains(out, "identity-source https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test: kept") {
		t.Fatalf("plan of a directory that dropped its identity source: exit %d\n%s", code, out)
	}
}
