package extauthz_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestChecksDuringShutdownDelay: once a node is told to stop it keeps answering checks for
// shutdownDelay (answering with GOAWAY, so Envoy moves to other nodes), and Envoy's long-lived
// gRPC connection sees no failed call meanwhile.
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
	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	waitFor(t, 10*time.Second, "shutting_down", func() bool {
		r, _ := node.Readiness(context.Background())
		return r.Status == "shutting_down"
	})
	// Well inside the 10 s delay: the checks, not the clock, are what is asserted.
	for n := range 10 {
		if err := check(); err != nil {
			t.Fatalf("check %d during the shutdown delay: %v", n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	<-stopped
}
