package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// runCLI runs the gatehouse command line in-process and returns its output and error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root := newRootCommand()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestClientCommandsListOnlyTheirFlags(t *testing.T) {
	t.Parallel()
	serverOnly := []string{"--listen", "--idp-listen", "--idp-issuer-base", "--forward-auth-listen", "--log-format", "--log-level", "--audit-file", "--cache-memory"}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"apply", "--help"}, []string{"--endpoint", "--config", "--admin-listen", "--region", "--db", "--prune"}},
		{[]string{"plan", "--help"}, []string{"--endpoint", "--db"}},
		{[]string{"credentials", "--help"}, []string{"--config", "--db"}},
		{[]string{"idp", "create-pool", "--help"}, []string{"--config", "--db", "--name"}},
		{[]string{"idp", "create-group", "--help"}, []string{"--config", "--db"}},
	} {
		out, err := runCLI(t, tc.args...)
		if err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, f := range tc.want {
			if !strings.Contains(out, f+" ") {
				t.Errorf("%v: %s not listed:\n%s", tc.args, f, out)
			}
		}
		for _, f := range serverOnly {
			if strings.Contains(out, f+" ") {
				t.Errorf("%v lists the server flag %s:\n%s", tc.args, f, out)
			}
		}
	}
	out, err := runCLI(t, "serve", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(serverOnly, "--admin-listen", "--db", "--config") {
		if !strings.Contains(out, f+" ") {
			t.Errorf("serve does not list %s", f)
		}
	}
}

func TestDBURLOfAnotherSchemeIsAnError(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"credentials", "--db", "mysql://root@127.0.0.1/gatehouse"},
		{"idp", "create-pool", "--name", "p", "--db", "mysql://root@127.0.0.1/gatehouse"},
		{"serve", "--db", "mysql://root@127.0.0.1/gatehouse", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--idp-listen", "off", "--forward-auth-listen", "off"},
	} {
		_, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), "db: mysql:// is not supported") {
			t.Errorf("%v: want the db setting refused, got %v", args, err)
		}
	}
	// Before, the URL was taken as a SQLite path under ./mysql:.
	if _, err := os.Stat("mysql:"); err == nil {
		t.Fatal("the URL was created as a SQLite path")
	}
}

// TestPortInUseLeavesNothingBehind: a start whose port is taken fails naming the listener and
// creates no database (and so no generated credentials).
func TestPortInUseLeavesNothingBehind(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, taken := range []string{"--listen", "--admin-listen", "--health-listen"} {
		db := filepath.Join(t.TempDir(), "gatehouse.db")
		args := []string{"serve", "--db", db, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--idp-listen", "off", "--forward-auth-listen", "off"}
		if taken == "--health-listen" {
			t.Setenv("GATEHOUSE_HEALTH_LISTEN", busy.Addr().String())
		} else {
			args = append(args, taken, busy.Addr().String())
		}
		_, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), "address already in use") {
			t.Fatalf("%s on a busy port: %v", taken, err)
		}
		if entries, _ := os.ReadDir(filepath.Dir(db)); len(entries) != 0 {
			t.Fatalf("%s on a busy port left %v behind", taken, entries)
		}
	}
}

func TestDemoListensOnLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		listen, want, err string
	}{
		{":8080", "127.0.0.1:8080", ""},
		{"127.0.0.1:8080", "127.0.0.1:8080", ""},
		{"[::1]:8080", "[::1]:8080", ""},
		{"localhost:8080", "localhost:8080", ""},
		{"0.0.0.0:8080", "", "loopback only"},
		{"[::]:8080", "", "loopback only"},
		{"192.0.2.1:8080", "", "loopback only"},
		{"gateway.example:8080", "", "loopback only"},
	} {
		c := config.Defaults()
		c.Listen, c.IdPListen = tc.listen, ":9229"
		c.IdPIssuerBase = "http://" + c.IdPListen
		err := loopbackOnly(&c)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "--listen") {
				t.Errorf("listen %s: want an error naming --listen, got %v", tc.listen, err)
			}
			continue
		}
		if err != nil || c.Listen != tc.want || c.IdPListen != "127.0.0.1:9229" || c.IdPIssuerBase != "http://127.0.0.1:9229" {
			t.Errorf("listen %s: got %q, idp %q, issuer %q, %v", tc.listen, c.Listen, c.IdPListen, c.IdPIssuerBase, err)
		}
	}
	// The default settings put the demo's gateway on loopback.
	c := config.Defaults()
	if err := loopbackOnly(&c); err != nil || !strings.HasPrefix(c.Listen, "127.0.0.1:") {
		t.Fatalf("default gateway address in the demo: %q, %v", c.Listen, err)
	}
}

func TestDemoTextNamesTheScenario(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	printDemo(&out, "http://127.0.0.1:8080/demo", map[string]string{"customer": "c", "employee": "e", "owner": "o"}, "us-east-1_X")
	cmd := newDemoCommand()
	for _, text := range []string{out.String(), cmd.Short, cmd.Long} {
		if strings.Contains(text, "article") {
			t.Errorf("demo text mentions an article: %q", text)
		}
	}
	if !strings.Contains(out.String(), "PetStore scenario of examples/petstore") {
		t.Errorf("demo header: %q", out.String())
	}
}
