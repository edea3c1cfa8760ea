package clustertest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
)

// propagationBound is the product promise (issue 7): a change made through one node is
// enforced by every node within a second.
const propagationBound = time.Second

// TestThreeNodesConverge makes 100 decision-changing writes through node 1 and measures how
// long nodes 2 and 3 take to enforce each one.
func TestThreeNodesConverge(t *testing.T) {
	dsn := postgresDSN(t)
	ctx := context.Background()
	nodes := []*node{startNode(t, "node1", dsn), startNode(t, "node2", dsn), startNode(t, "node3", dsn)}
	writer, readers := nodes[0], nodes[1:]

	storeID := createStore(t, writer.client)
	// An unrelated policy, so the store is not empty when alice's permit comes and goes.
	if _, err := createPolicy(ctx, writer.client, storeID, "name/bob", `permit(principal == User::"bob", action, resource);`); err != nil {
		t.Fatal(err)
	}
	for _, n := range readers {
		if _, err := waitDecision(ctx, n, storeID, avpapi.DecisionDeny, time.Now(), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	const changes = 100
	lat := make([][]time.Duration, len(readers)) // per reader node
	var writeLat []time.Duration
	permitID := ""
	for i := range changes {
		want := avpapi.DecisionAllow
		start := time.Now()
		if permitID == "" {
			p, err := createPolicy(ctx, writer.client, storeID, "", permitAlice)
			if err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
			permitID = p.PolicyID
		} else {
			if err := deletePolicy(ctx, writer.client, storeID, permitID); err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
			permitID, want = "", avpapi.DecisionDeny
		}
		// Propagation is measured from the acknowledgement: the change is committed then.
		acked := time.Now()
		writeLat = append(writeLat, acked.Sub(start))

		var wg sync.WaitGroup
		errs := make([]error, len(readers))
		for j, n := range readers {
			wg.Go(func() {
				// Keep polling past the bound so the distribution shows how late a miss is.
				d, err := waitDecision(ctx, n, storeID, want, acked, 5*time.Second)
				lat[j] = append(lat[j], d)
				errs[j] = err
			})
		}
		wg.Wait()
		for j, err := range errs {
			if err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
			if d := lat[j][i]; d > propagationBound {
				t.Errorf("change %d (%s) reached %s after %v, more than %v", i, want, readers[j].name, d, propagationBound)
			}
		}
	}

	var all []time.Duration
	for j, l := range lat {
		t.Logf("%s: %s", readers[j].name, distribution(l))
		all = append(all, l...)
	}
	t.Logf("propagation over %d changes × %d nodes: %s", changes, len(readers), distribution(all))
	t.Logf("write latency on node1: %s", distribution(writeLat))
}

// distribution summarizes durations as p50/p99/max.
func distribution(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no samples"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(p int) time.Duration {
		i := (len(s)*p + 99) / 100 // nearest rank
		return s[max(i-1, 0)]
	}
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	return fmt.Sprintf("n=%d p50=%v p90=%v p99=%v max=%v", len(s), r(pct(50)), r(pct(90)), r(pct(99)), r(s[len(s)-1]))
}
