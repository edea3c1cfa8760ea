package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// TestIdPCommandsAreAudited: CLI writes land in the node's trail (the auditFile setting) with
// the OS user as actor, while a node writer appends to the same file; the trail verifies.
// A trail that cannot be opened refuses the command before anything changes.
func TestIdPCommandsAreAudited(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "g.db")
	trail := filepath.Join(dir, "audit.log")
	t.Setenv("GATEHOUSE_AUDIT_FILE", trail)

	node, err := audit.Open(trail, audit.WithInstance("node-host:1"))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close(context.Background())
	nodeWrite := func() {
		t.Helper()
		if err := node.Write(audit.Record{Kind: "decision", Source: "gateway"}); err != nil {
			t.Fatal(err)
		}
	}
	nodeWrite()

	out, code := run(t, "idp", "create-pool", "--name", "pets", "--db", db)
	var pool struct{ PoolID string }
	if code != 0 || json.Unmarshal([]byte(out), &pool) != nil {
		t.Fatalf("create-pool: %d %s", code, out)
	}
	nodeWrite()
	for _, args := range [][]string{
		{"idp", "create-group", "--pool", pool.PoolID, "--name", "owners"},
		{"idp", "create-user", "--pool", pool.PoolID, "--username", "olga", "--password", "Passw0rd!x", "--attr", "email=olga@example.com"},
		{"idp", "add-user-to-group", "--pool", pool.PoolID, "--username", "olga", "--group", "owners"},
	} {
		if out, code := run(t, append(args, "--db", db)...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, out)
		}
	}
	nodeWrite()
	if err := node.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	var report bytes.Buffer
	if err := audit.VerifyFiles(&report, audit.VerifyOptions{}, []string{trail}); err != nil {
		t.Fatalf("trail does not verify: %v\n%s", err, report.String())
	}
	raw, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("Passw0rd!x")) || bytes.Contains(raw, []byte("olga@example.com")) {
		t.Fatal("the trail holds a password or attribute value")
	}
	actor := cliActor()
	var ops []string
	for sc := bufio.NewScanner(bytes.NewReader(raw)); sc.Scan(); {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Kind != "write" {
			continue
		}
		if r.Actor != actor || !strings.HasSuffix(r.Instance, ":cli") {
			t.Fatalf("record %+v: want actor %s from a CLI instance", r, actor)
		}
		ops = append(ops, strings.TrimPrefix(r.Operation, idp.TargetPrefix+".")+" "+r.Target)
	}
	want := []string{"CreateUserPool " + pool.PoolID, "CreateGroup " + pool.PoolID + "/owners",
		"AdminCreateUser " + pool.PoolID + "/olga", "AdminAddUserToGroup " + pool.PoolID + "/olga/owners"}
	if strings.Join(ops, "|") != strings.Join(want, "|") {
		t.Fatalf("audited writes:\n%s\nwant:\n%s", strings.Join(ops, "\n"), strings.Join(want, "\n"))
	}

	// An unreachable trail: the command fails and the user is not created.
	t.Setenv("GATEHOUSE_AUDIT_FILE", filepath.Join(dir, "missing", "audit.log"))
	if out, code := run(t, "idp", "create-user", "--pool", pool.PoolID, "--username", "ivan", "--password", "Passw0rd!x", "--db", db); code == 0 {
		t.Fatalf("create-user without a trail: %s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := sqldb.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := idp.New(st).GetUser(ctx, pool.PoolID, "ivan"); err == nil {
		t.Fatal("the user was created although its change could not be audited")
	}
}
