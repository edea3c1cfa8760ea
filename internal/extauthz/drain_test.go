package extauthz_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestChecksDuringShutdownDelay: the gRPC health service follows readiness (SERVING, then
// NOT_SERVING once the node is told to stop), and the node keeps answering checks for
// shutdownDelay (with GOAWAY, so Envoy moves to other nodes) without a failed call on Envoy's
// long-lived gRPC connection.
func TestChecksDuringShutdownDelay(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, "sqlite")
	cfg.ExtAuthzListen = "127.0.0.1:0"
	cfg.ShutdownDelay = config.Duration(10 * time.Second)
	node, stop := apptest.StartStoppable(t, cfg)
	client := grpcClient(t, node.Addr("ext-authz"), nil)
	check := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := client.Check(ctx, envoyRequest("GET", "/nowhere", nil))
		if err == nil && codes.Code(res.GetStatus().GetCode()) == codes.OK {
			t.Error("allowed a request no API serves")
		}
		return err
	}
	if err := check(); err != nil {
		t.Fatal(err)
	}
	health := healthgrpc.NewHealthClient(conn(t, node.Addr("ext-authz")))
	serving := func(service string) healthgrpc.HealthCheckResponse_ServingStatus {
		t.Helper()
		res, err := health.Check(context.Background(), &healthgrpc.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("health of %q: %v", service, err)
		}
		return res.GetStatus()
	}
	for _, svc := range []string{"", "envoy.service.auth.v3.Authorization"} {
		if got := serving(svc); got != healthgrpc.HealthCheckResponse_SERVING {
			t.Fatalf("ready node, health of %q: %v", svc, got)
		}
	}
	if _, err := health.Check(context.Background(), &healthgrpc.HealthCheckRequest{Service: "other"}); status.Code(err) != codes.NotFound {
		t.Errorf("unknown service: %v", err)
	}
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	waitFor(t, 10*time.Second, "shutting_down", func() bool {
		r, _ := node.Readiness(context.Background())
		return r.Status == "shutting_down"
	})
	if got := serving(""); got != healthgrpc.HealthCheckResponse_NOT_SERVING {
		t.Errorf("shutting down, health %v: Envoy's health checker would keep sending here", got)
	}
	// Well inside the 10 s delay: the checks, not the clock, are what is asserted.
	for n := range 10 {
		if err := check(); err != nil {
			t.Fatalf("check %d during the shutdown delay: %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	<-stopped
}
