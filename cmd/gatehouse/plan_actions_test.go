package main

import (
	"strings"
	"testing"
)

// A plan's policy-store access change decides every action on both sides. A permit with an
// open action scope grants every action of the schema: narrowing it to "get /pets" takes
// "post /pets" from staff (allow → deny) and leaves "get /pets" as it was.
func TestPlanStoreAccessWithOpenActionScope(t *testing.T) {
	_, flags, _ := startNode(t, "sqlite", "")
	dir := shopDir(t) // staff: permit (principal in staff, action, resource)
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("first apply: %d %s", code, out)
	}
	write(t, dir, "policies/staff.cedar", `permit (principal in PetStore::UserGroup::"staff", action == PetStore::Action::"get /pets", resource);`)
	out, code := run(t, append([]string{"plan", dir}, flags...)...)
	if code != 2 || !strings.Contains(out, `PetStore::Action::"post /pets", group staff: allow → deny`) || strings.Contains(out, `"get /pets", group staff`) {
		t.Fatalf("plan narrowing an open action scope: exit %d\n%s", code, out)
	}
}

// A permit that no longer holds (when { false }) takes every action from staff: the plan must say so.
func TestPlanStoreAccessOpenActionDeleted(t *testing.T) {
	_, flags, _ := startNode(t, "sqlite", "")
	dir := shopDir(t)
	if out, code := run(t, append([]string{"apply", dir}, flags...)...); code != 0 {
		t.Fatalf("first apply: %d %s", code, out)
	}
	write(t, dir, "policies/staff.cedar", `permit (principal in PetStore::UserGroup::"staff", action == PetStore::Action::"get /pets", resource) when { false };`)
	out, code := run(t, append([]string{"plan", dir}, flags...)...)
	if code != 2 || !strings.Contains(out, `PetStore::Action::"post /pets", group staff: allow → deny`) {
		t.Fatalf("plan removing staff's access: exit %d\n%s", code, out)
	}
}
