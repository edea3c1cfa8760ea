package app_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/tracing/tracingtest"
)

// BenchmarkObservedGateway measures what observation costs a decision on a public mock
// route: the bare gateway handler, the listener's handler with request metrics (tracing off,
// the default), and with every request traced and exported to an OTLP receiver.
//
//	go test -run x -bench ObservedGateway -benchmem -count 5 ./internal/app/
func BenchmarkObservedGateway(b *testing.B) {
	for _, mode := range []string{"bare", "metrics", "metrics+tracing"} {
		b.Run(mode, func(b *testing.B) {
			cfg := apptest.Config(b, "sqlite")
			if mode == "metrics+tracing" {
				cfg.TracingEndpoint = tracingtest.NewGRPC(b).Endpoint
			}
			node := apptest.Start(b, cfg)
			def, err := apidef.Parse([]byte("name: Bench\nstage: v1\nroutes:\n  - {route: \"GET /x/{id}\", authorizer: none, mock: {status: 200, body: ok}}\n"))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := node.APIs.Put(context.Background(), def); err != nil {
				b.Fatal(err)
			}
			h := node.GatewayHandler()
			if mode == "bare" {
				h = node.Gateway.Handler()
			}
			req := httptest.NewRequest(http.MethodGet, "/v1/x/42", nil)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != 200 {
						b.Fatalf("status %d", w.Code)
					}
				}
			})
		})
	}
}
