package policystore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// BenchmarkLoad100k measures compiling a store of 100,000 per-group policies from the
// database into a snapshot (read, parse, index): what a node pays on start or on a change
// it did not see coming. Run: go test -run x -bench Load100k -benchtime 1x ./internal/policystore/
func BenchmarkLoad100k(b *testing.B) {
	for _, backend := range storetest.Backends(b) {
		b.Run(backend, func(b *testing.B) {
			ctx := context.Background()
			s := storetest.Open(b, backend)
			svc := policystore.New(s)
			ps, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
			if err != nil {
				b.Fatal(err)
			}
			const n = 100000
			err = s.Update(ctx, func(tx store.Tx) error {
				for i := range n {
					p := policystore.Policy{ID: fmt.Sprintf("SP%08d", i), Type: policystore.TypeStatic, Effect: "Permit",
						Statement: fmt.Sprintf(`permit(principal in PetStore::UserGroup::"pool|group%d", action in [PetStore::Action::"post /pets"], resource);`, i)}
					data, _ := json.Marshal(p)
					if err := tx.Create(ctx, store.Object{Scope: ps.ID, Kind: policystore.KindPolicy, ID: p.ID, Data: data}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				runtime.GC()
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				snap, err := policystore.Load(ctx, s, ps.ID, nil)
				if err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				runtime.GC()
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				if snap.Engine.Len() != n {
					b.Fatalf("loaded %d policies", snap.Engine.Len())
				}
				b.ReportMetric(elapsed.Seconds(), "s/load")
				b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heapMB")
				runtime.KeepAlive(snap)
			}
		})
	}
}
