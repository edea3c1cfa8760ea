package app_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// A node reports ready only once it holds the snapshot of every policy store, so the first
// request to a ready node never waits for a store to load. Before, /readyz said ready at once
// and each store was loaded by its first request (on 100,000 policies, seconds).
func TestReadyMeansEveryStoreLoaded(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			cfg := apptest.Config(t, backend)
			first, stop := apptest.StartStoppable(t, cfg)
			var ids []string
			for range 3 {
				var out avpapi.CreatePolicyStoreOutput
				if err := apptest.Client(first).Call(ctx, "VerifiedPermissions.CreatePolicyStore",
					avpapi.CreatePolicyStoreInput{ValidationSettings: &avpapi.ValidationSettings{Mode: "OFF"}}, &out); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, out.PolicyStoreID)
			}
			stop()

			node := apptest.Start(t, cfg)
			r, code := node.Readiness(ctx)
			if code != http.StatusOK || r.Status != "ready" {
				t.Fatalf("readiness after start: %d %+v", code, r)
			}
			var held []string
			for _, s := range r.Snapshots {
				held = append(held, s.PolicyStoreID)
			}
			for _, id := range ids {
				if !slices.Contains(held, id) {
					t.Fatalf("ready while policy store %s is not loaded (snapshots held: %v)", id, held)
				}
			}
		})
	}
}
