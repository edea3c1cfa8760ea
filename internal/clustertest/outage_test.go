package clustertest

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
)

// TestNodesSurviveStoreOutage cuts nodes 2 and 3 off PostgreSQL (node 1 keeps its direct
// connection): they keep deciding with their last snapshot and report degraded; a change
// made through node 1 meanwhile reaches them once the database is back.
func TestNodesSurviveStoreOutage(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	proxy, err := NewProxy(dbHost(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	proxied := viaHost(t, dsn, proxy.Addr())

	n1 := startNode(t, "node1", dsn)
	cut := []*node{startNode(t, "node2", proxied), startNode(t, "node3", proxied)}

	storeID := createStore(t, n1.client)
	permit, err := createPolicy(ctx, n1.client, storeID, "name/alice", permitAlice)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range cut {
		if _, err := waitDecision(ctx, n, storeID, avpapi.DecisionAllow, time.Now(), 5*time.Second); err != nil {
			t.Fatalf("warm-up: %v", err)
		}
	}

	proxy.Cut()
	for _, n := range cut {
		r := n.waitReady(t, "degraded", 10*time.Second)
		if len(r.Snapshots) != 1 || r.Snapshots[0].PolicyStoreID != storeID {
			t.Errorf("%s degraded /readyz lists snapshots %+v, want the one of %s", n.name, r.Snapshots, storeID)
		}
		if r.StoreUnreachableFor == "" {
			t.Errorf("%s degraded /readyz does not say for how long the store is unreachable", n.name)
		}
	}
	// The change is committed while nodes 2 and 3 cannot hear of it.
	if err := deletePolicy(ctx, n1.client, storeID, permit.PolicyID); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDecision(ctx, n1, storeID, avpapi.DecisionDeny, time.Now(), time.Second); err != nil {
		t.Fatalf("the writing node itself: %v", err)
	}
	for range 5 {
		for _, n := range cut {
			got, err := decide(ctx, n, storeID)
			if err != nil {
				t.Fatalf("%s stopped deciding during the outage: %v", n.name, err)
			}
			if got != avpapi.DecisionAllow {
				t.Fatalf("%s decided %s during the outage, want the last snapshot's ALLOW", n.name, got)
			}
			if _, code, err := n.readyz(); err != nil || code != http.StatusOK {
				t.Fatalf("%s /readyz during the outage: HTTP %d, %v", n.name, code, err)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}

	proxy.Resume()
	resumed := time.Now()
	for _, n := range cut {
		d, err := waitDecision(ctx, n, storeID, avpapi.DecisionDeny, resumed, 5*time.Second)
		if err != nil {
			t.Fatalf("after the outage: %v", err)
		}
		r := n.waitReady(t, "ready", 5*time.Second)
		rev := int64(0)
		for _, s := range r.Snapshots {
			if s.PolicyStoreID == storeID {
				rev = s.Revision
			}
		}
		if rev != 3 { // store creation, the permit, its deletion
			t.Errorf("%s serves revision %d after catching up, want 3", n.name, rev)
		}
		t.Logf("%s enforced the change made during the outage %v after the database came back", n.name, d.Round(time.Millisecond))
	}
}

// TestStaleSnapshotExpires cuts a node off PostgreSQL for longer than its maxStaleness: it
// turns not ready and stops allowing with the snapshot it can no longer check, then recovers.
func TestStaleSnapshotExpires(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	proxy, err := NewProxy(dbHost(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	n := startNode(t, "node", viaHost(t, dsn, proxy.Addr()), "GATEHOUSE_MAX_STALENESS=1s")
	storeID := createStore(t, n.client)
	if _, err := createPolicy(ctx, n.client, storeID, "", permitAlice); err != nil {
		t.Fatal(err)
	}
	if got, err := decide(ctx, n, storeID); err != nil || got != avpapi.DecisionAllow {
		t.Fatalf("before the outage: %s, %v", got, err)
	}

	proxy.Cut()
	n.waitReady(t, "not_ready", 10*time.Second)
	got, err := decide(ctx, n, storeID)
	if err == nil && got == avpapi.DecisionAllow {
		t.Errorf("a node cut off the store for longer than maxStaleness still allows with its old snapshot")
	}

	proxy.Resume()
	n.waitReady(t, "ready", 10*time.Second)
	if _, err := waitDecision(ctx, n, storeID, avpapi.DecisionAllow, time.Now(), 5*time.Second); err != nil {
		t.Fatalf("after the outage: %v", err)
	}
}

// TestNodeStartsWithoutStore starts a node whose database is unreachable: it runs, is not
// ready and decides nothing (fails closed) until the database answers, then serves.
func TestNodeStartsWithoutStore(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	seed := startNode(t, "seed", dsn) // creates the schema and a store
	storeID := createStore(t, seed.client)
	if _, err := createPolicy(ctx, seed.client, storeID, "", permitAlice); err != nil {
		t.Fatal(err)
	}

	proxy, err := NewProxy(dbHost(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	proxy.Cut()
	n := startNodeUnready(t, "cold", viaHost(t, dsn, proxy.Addr()))
	if r, code, err := n.readyz(); err != nil || code != http.StatusServiceUnavailable || r.Status != "not_ready" {
		t.Fatalf("/readyz without a store: HTTP %d %+v %v; want 503 not_ready", code, r, err)
	}
	if got, err := decide(ctx, n, storeID); err == nil && got == avpapi.DecisionAllow {
		t.Fatal("a node that never reached its store allowed a request")
	}
	proxy.Resume()
	n.waitReady(t, "ready", 10*time.Second)
	if _, err := waitDecision(ctx, n, storeID, avpapi.DecisionAllow, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
}
