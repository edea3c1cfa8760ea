package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run executes the CLI in-process and returns its output and exit status.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := newRootCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	var ec exitCode
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ec):
		return out.String(), int(ec)
	default:
		return out.String() + err.Error(), 1
	}
}

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const cliSchema = `namespace PetStore {
  entity UserGroup;
  entity User in [UserGroup];
  entity Application;
  action "get /pets", "post /pets" appliesTo { principal: [User], resource: [Application], context: {} };
}`

func TestValidateAndAuthorizeOffline(t *testing.T) {
	dir := t.TempDir()
	schema := write(t, dir, "schema.cedarschema", cliSchema)
	good := write(t, dir, "good.cedar", `@id("employees")
permit (principal in PetStore::UserGroup::"pool|employees", action in [PetStore::Action::"post /pets"], resource);`)
	bad := write(t, dir, "bad.cedar", "\n\npermit (principal, action == PetStore::Action::\"fly\", resource);")
	ents := write(t, dir, "entities.json", `[{"uid":{"type":"PetStore::User","id":"alice"},"attrs":{},"parents":[{"type":"PetStore::UserGroup","id":"pool|employees"}]}]`)

	if out, code := run(t, "validate", "--schema", schema, good); code != 0 || !strings.Contains(out, "1 policies valid") {
		t.Fatalf("valid policy: %d %s", code, out)
	}
	out, code := run(t, "validate", "--schema", schema, good, bad)
	if code != 1 || !strings.Contains(out, "bad.cedar:3:1") || !strings.Contains(out, "fly") {
		t.Fatalf("invalid policy report: %d %s", code, out)
	}

	args := []string{"authorize", "--entities", ents, "--action", `PetStore::Action::"post /pets"`, "--resource", `PetStore::Application::"PetStore"`}
	out, code = run(t, append(args, "--principal", `PetStore::User::"alice"`, good)...)
	if code != 0 || !strings.HasPrefix(out, "ALLOW") || !strings.Contains(out, "employees") {
		t.Fatalf("allow: %d %s", code, out)
	}
	out, code = run(t, append(args, "--principal", `PetStore::User::"bob"`, "-o", "json", good)...)
	var res struct {
		Decision            string   `json:"decision"`
		DeterminingPolicies []string `json:"determiningPolicies"`
	}
	if code != 2 || json.Unmarshal([]byte(out), &res) != nil || res.Decision != "DENY" || len(res.DeterminingPolicies) != 0 {
		t.Fatalf("deny: %d %s", code, out)
	}
	if out, code := run(t, append(args, "--principal", `not an entity`, good)...); code != 1 || !strings.Contains(out, "--principal") {
		t.Fatalf("bad principal: %d %s", code, out)
	}

	// The offline decision corrects cedar-go where it differs from Cedar, as the server does:
	// before 1970 toDate() floors (Cedar), where cedar-go alone truncates toward zero.
	dated := write(t, dir, "dated.cedar", `permit (principal, action, resource) when { datetime("1969-12-31T12:00:00Z").toDate() == datetime("1969-12-31") };`)
	if out, code := run(t, append(args, "--principal", `PetStore::User::"alice"`, dated)...); code != 0 || !strings.HasPrefix(out, "ALLOW") {
		t.Fatalf("toDate before 1970 (Cedar: ALLOW): %d %s", code, out)
	}
}

func TestIdPCommandsIssueTokens(t *testing.T) {
	db := filepath.Join(t.TempDir(), "g.db")
	out, code := run(t, "idp", "create-pool", "--name", "pets", "--db", db)
	var pool struct{ PoolID string }
	if code != 0 || json.Unmarshal([]byte(out), &pool) != nil || !strings.HasPrefix(pool.PoolID, "us-east-1_") {
		t.Fatalf("create-pool: %d %s", code, out)
	}
	out, code = run(t, "idp", "create-client", "--pool", pool.PoolID, "--name", "cli", "--db", db)
	var client struct{ ClientID string }
	if code != 0 || json.Unmarshal([]byte(out), &client) != nil || client.ClientID == "" {
		t.Fatalf("create-client: %d %s", code, out)
	}
	for _, args := range [][]string{
		{"idp", "create-group", "--pool", pool.PoolID, "--name", "owners"},
		{"idp", "create-user", "--pool", pool.PoolID, "--username", "olga", "--password", "Passw0rd!x", "--attr", "email=olga@example.com"},
		{"idp", "add-user-to-group", "--pool", pool.PoolID, "--username", "olga", "--group", "owners"},
	} {
		if out, code := run(t, append(args, "--db", db)...); code != 0 {
			t.Fatalf("%v: %d %s", args, code, out)
		}
	}
	out, code = run(t, "idp", "token", "--pool", pool.PoolID, "--client", client.ClientID, "--user", "olga", "--db", db)
	var tok struct{ AccessToken, IdToken string }
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || strings.Count(tok.AccessToken, ".") != 2 || tok.IdToken == "" {
		t.Fatalf("token: %d %s", code, out)
	}
	if out, code := run(t, "idp", "token", "--pool", pool.PoolID, "--client", client.ClientID, "--user", "nobody", "--db", db); code == 0 {
		t.Fatalf("token for an unknown user: %s", out)
	}
}

func TestVersionAndSettings(t *testing.T) {
	if out, code := run(t, "version"); code != 0 || !strings.HasPrefix(out, "gatehouse ") {
		t.Fatalf("version: %d %s", code, out)
	}
	if out, code := run(t, "serve", "--listen", "not-an-address"); code != 1 || !strings.Contains(out, "listen") {
		t.Fatalf("bad listen address: %d %s", code, out)
	}
	cfg := write(t, t.TempDir(), "g.yaml", "listen: \":9\"\nbogus: 1\n")
	if out, code := run(t, "serve", "--config", cfg); code != 1 || !strings.Contains(out, "bogus") {
		t.Fatalf("unknown config key: %d %s", code, out)
	}
}
