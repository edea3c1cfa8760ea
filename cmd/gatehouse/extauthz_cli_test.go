package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestExtAuthzListenFlag: serve takes --ext-authz-listen, a busy port fails the start naming
// the setting before the database is created, and the demo keeps the listener on loopback.
func TestExtAuthzListenFlag(t *testing.T) {
	out, err := runCLI(t, "serve", "--help")
	if err != nil || !strings.Contains(out, "--ext-authz-listen ") || !strings.Contains(out, "GATEHOUSE_EXT_AUTHZ_LISTEN") {
		t.Fatalf("serve --help does not list --ext-authz-listen (%v):\n%s", err, out)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	db := filepath.Join(t.TempDir(), "gatehouse.db")
	_, err = runCLI(t, "serve", "--db", db, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--idp-listen", "off",
		"--forward-auth-listen", "off", "--ext-authz-listen", busy.Addr().String())
	if err == nil || !strings.Contains(err.Error(), "extAuthzListen") || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("--ext-authz-listen on a busy port: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(db)); len(entries) != 0 {
		t.Fatalf("a failed start left %v behind", entries)
	}
	c := config.Defaults()
	c.ExtAuthzListen = "0.0.0.0:8183"
	if err := loopbackOnly(&c); err == nil || !strings.Contains(err.Error(), "ext-authz-listen") {
		t.Fatalf("demo with a public ext_authz listener: %v", err)
	}
	c.ExtAuthzListen = ":8183"
	if err := loopbackOnly(&c); err != nil || c.ExtAuthzListen != "127.0.0.1:8183" {
		t.Fatalf("demo ext_authz listener %q: %v", c.ExtAuthzListen, err)
	}
}
