package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	gcfg "github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

const (
	testKeyID  = "AKIDGATEHOUSETEST"
	testSecret = "test-secret-0123456789"
)

// startNode runs a full node on loopback ports with a fresh store on backend.
func startNode(t *testing.T, backend string) *app.Node {
	t.Helper()
	cfg := gcfg.Defaults()
	cfg.DB = storetest.DSN(t, backend)
	cfg.Listen = "127.0.0.1:0"
	cfg.AdminListen = "127.0.0.1:0"
	cfg.IdPListen = "off"
	cfg.ForwardAuthListen = "off"
	cfg.AccessKeyID, cfg.SecretAccessKey = testKeyID, testSecret
	ctx, cancel := context.WithCancel(context.Background())
	node, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- node.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("node did not stop")
		}
		node.Close()
	})
	return node
}

// avpClient is the real AWS SDK client pointed at the node.
func avpClient(t *testing.T, node *app.Node, keyID, secret string) *verifiedpermissions.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(keyID, secret, "")),
		config.WithRetryMaxAttempts(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	return verifiedpermissions.NewFromConfig(cfg, func(o *verifiedpermissions.Options) {
		o.BaseEndpoint = aws.String("http://" + node.Addr("admin"))
	})
}

func asAPIError[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("want %T, got %v", target, err)
	}
	return target
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
