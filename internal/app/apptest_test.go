package app_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

// startNode runs a full node on loopback ports with a fresh store on backend.
func startNode(t *testing.T, backend string) *app.Node {
	t.Helper()
	return apptest.Start(t, apptest.Config(t, backend))
}

const (
	testKeyID  = apptest.KeyID
	testSecret = apptest.Secret
)

// avpClient is the real AWS SDK client pointed at the node.
func avpClient(t *testing.T, node *app.Node, keyID, secret string) *verifiedpermissions.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(keyID, secret, "")),
		// Only connection errors are retried, so every API error a test expects arrives on the
		// first answer. The SDK itself can fail reading a good answer on a connection it closed
		// (aws/aws-sdk-go-v2#2737); it treats that as a retryable connection error.
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = 3
				o.Retryables = []retry.IsErrorRetryable{retry.RetryableConnectionError{}}
			})
		}),
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
