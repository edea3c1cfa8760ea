package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// TestCreatePoolTakesTheNodesIssuer: `gatehouse idp create-pool` run on a node's database
// without the node's settings gives the pool the issuer the node serves (the base the node
// recorded in the store), not one guessed from defaults (http://127.0.0.1:9229), which the
// node's gateway would refuse as an unknown issuer.
func TestCreatePoolTakesTheNodesIssuer(t *testing.T) {
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.IdPIssuerBase = "https://login.example.test"
	n := apptest.Start(t, cfg)
	deadline := time.Now().Add(30 * time.Second)
	for {
		base, err := idp.StoredIssuerBase(context.Background(), n.Store)
		if err != nil {
			t.Fatal(err)
		}
		if base == cfg.IdPIssuerBase {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the node recorded %q, want %q", base, cfg.IdPIssuerBase)
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, code := run(t, "idp", "create-pool", "--name", "pets", "--db", cfg.DB)
	var pool struct{ PoolID, Issuer string }
	if code != 0 || json.Unmarshal([]byte(out), &pool) != nil {
		t.Fatalf("create-pool: %d %s", code, out)
	}
	if want := cfg.IdPIssuerBase + "/" + pool.PoolID; pool.Issuer != want {
		t.Fatalf("issuer %q, want the node's %q", pool.Issuer, want)
	}
}
