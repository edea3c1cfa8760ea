// Package apptest starts complete Gatehouse nodes on loopback ports for end-to-end tests.
package apptest

import (
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Management credentials of test nodes.
const (
	KeyID  = "AKIDGATEHOUSETEST"
	Secret = "test-secret-0123456789"
)

// Config returns settings for a test node: loopback port-0 listeners, a fresh store on
// backend, test credentials.
func Config(t testing.TB, backend string) config.Config {
	cfg := config.Defaults()
	cfg.DB = storetest.DSN(t, backend)
	cfg.Listen = "127.0.0.1:0"
	cfg.AdminListen = "127.0.0.1:0"
	cfg.IdPListen = "off"
	cfg.ForwardAuthListen = "off"
	cfg.AccessKeyID, cfg.SecretAccessKey = KeyID, Secret
	cfg.ShutdownTimeout = config.Duration(5 * time.Second)
	cfg.ShutdownDelay = 0
	return cfg
}

// WithIdP enables the built-in IdP on a free loopback port (its issuer base must be known
// before the node starts, so the port is picked here).
func WithIdP(t testing.TB, cfg config.Config) config.Config {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg.IdPListen = addr
	cfg.IdPIssuerBase = "http://" + addr
	return cfg
}

// Start runs a node with cfg until the test ends.
func Start(t testing.TB, cfg config.Config) *app.Node {
	t.Helper()
	node, _ := StartStoppable(t, cfg)
	return node
}

// StartStoppable runs a node with cfg; stop ends it (flushing its audit trail) and runs when
// the test ends in any case.
func StartStoppable(t testing.TB, cfg config.Config) (node *app.Node, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	node, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if err := node.Listen(); err != nil {
		cancel()
		node.Close()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- node.Serve(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("node did not stop")
			}
			node.Close()
		})
	}
	t.Cleanup(stop)
	// Tests begin once the node would be ready: its policy stores are loaded.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if r, _ := node.Readiness(ctx); r.Status != "starting" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the node is still starting after 30 s")
		}
	}
	return node, stop
}

// Client returns a management client for node.
func Client(node *app.Node) *mgmtclient.Client {
	return &mgmtclient.Client{Endpoint: "http://" + node.Addr("admin"), AccessKeyID: KeyID, SecretAccessKey: Secret}
}
