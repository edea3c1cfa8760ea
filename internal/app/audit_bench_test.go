package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

// BenchmarkDecisionsWithAudit compares gateway decision throughput with the audit trail off
// and on (a file), in one run; the goal is ≥ 90% with it on.
//
//	go test -run x -bench DecisionsWithAudit -benchmem -count 5 ./internal/app/
func BenchmarkDecisionsWithAudit(b *testing.B) {
	for _, mode := range []string{"audit-off", "audit-on"} {
		b.Run(mode, func(b *testing.B) {
			cfg := apptest.Config(b, "sqlite")
			if mode == "audit-on" {
				cfg.AuditFile = filepath.Join(b.TempDir(), "audit.log")
			}
			node := apptest.Start(b, cfg)
			def, err := apidef.Parse([]byte("name: Bench\nstage: v1\nroutes:\n  - {route: \"GET /x/{id}\", authorizer: none, mock: {status: 200, body: ok}}\n"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := node.APIs.Put(context.Background(), def); err != nil {
				b.Fatal(err)
			}
			h := node.Gateway.Handler()
			req := httptest.NewRequest(http.MethodGet, "/v1/x/42", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
			if node.Audit != nil {
				if s := node.Audit.Stats(); s.Dropped > 0 {
					b.Logf("dropped %d records", s.Dropped)
				}
			}
		})
	}
}
