package clustertest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// pingAPI is a public mock route: load on it exercises the listener, not the decisions.
const pingAPI = `name: Restart
basePath: /
upstream: http://127.0.0.1:1
routes:
  - {route: "GET /ping", authorizer: none, mock: {status: 200, body: '{"ok":true}'}}
`

// TestRollingRestartUnderLoad is a Kubernetes rollout step: SIGTERM while wrk keeps
// connections busy. Readiness (on the separate health listener) fails at once, the gateway
// keeps answering every request for shutdownDelay, and the node then exits 0: wrk sees no
// socket error and no non-2xx answer. (Before shutdownDelay, 7 to 41 connections of such a
// run were closed without an answer.)
func TestRollingRestartUnderLoad(t *testing.T) {
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		t.Skip("wrk not installed (.ci/run installs it)")
	}
	const (
		delay   = 8 * time.Second
		load    = 4 * time.Second // ends well inside the delay, as a load balancer's traffic does
		termAt  = time.Second     // into the load
		timeout = 5 * time.Second
	)
	ctx := context.Background()
	n := startNode(t, "node", storetest.DSN(t, "sqlite"),
		fmt.Sprintf("GATEHOUSE_SHUTDOWN_DELAY=%v", delay), fmt.Sprintf("GATEHOUSE_SHUTDOWN_TIMEOUT=%v", timeout),
		"GATEHOUSE_HEALTH_LISTEN=127.0.0.1:0")
	if err := n.client.Call(ctx, "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: pingAPI}, nil); err != nil {
		t.Fatalf("put api: %v", err)
	}
	gw, health := "http://"+n.listener("gateway")+"/ping", "http://"+n.listener("health")
	if code, _ := get(t, gw); code != http.StatusOK {
		t.Fatalf("GET /ping before the restart: HTTP %d", code)
	}
	if code, body := get(t, health+"/readyz"); code != http.StatusOK {
		t.Fatalf("health listener /readyz before the restart: HTTP %d %s", code, body)
	}
	if code, _ := get(t, health+"/metrics"); code != http.StatusOK {
		t.Fatalf("health listener /metrics: HTTP %d", code)
	}
	if code, _ := get(t, health+"/"); code != http.StatusNotFound {
		t.Fatalf("health listener serves more than health and metrics: / answered %d", code)
	}

	cmd := exec.Command(wrk, "-t2", "-c32", fmt.Sprintf("-d%ds", int(load.Seconds())), gw)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wrkDone := make(chan error, 1)
	go func() { wrkDone <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	time.Sleep(termAt)
	if err := n.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Readiness fails at once, while the gateway still serves.
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, health+"/readyz")
		if code == http.StatusServiceUnavailable && bytes.Contains(body, []byte(`"shutting_down"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after SIGTERM: HTTP %d %s, want 503 shutting_down", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, _ := get(t, gw); code != http.StatusOK {
		t.Fatalf("GET /ping during the shutdown delay: HTTP %d", code)
	}

	select {
	case err := <-wrkDone:
		if err != nil {
			t.Fatalf("wrk: %v\n%s", err, out.String())
		}
	case <-time.After(load + 30*time.Second):
		t.Fatalf("wrk did not finish\n%s", out.String())
	}
	t.Logf("wrk across SIGTERM:\n%s", out.String())
	if !n.running() {
		t.Error("the node exited before its shutdown delay was over")
	}
	if m := regexp.MustCompile(`Socket errors:.*`).Find(out.Bytes()); m != nil {
		t.Errorf("connections failed across SIGTERM: %s", m)
	}
	if m := regexp.MustCompile(`Non-2xx or 3xx responses:.*`).Find(out.Bytes()); m != nil {
		t.Errorf("requests failed across SIGTERM: %s", m)
	}
	m := regexp.MustCompile(`(\d+) requests in`).FindSubmatch(out.Bytes())
	if m == nil {
		t.Fatalf("no request count in wrk's output")
	}
	if reqs, _ := strconv.Atoi(string(m[1])); reqs < 100 {
		t.Errorf("wrk sent only %d requests", reqs)
	}
	if code, err := n.exitCode(delay + timeout + 10*time.Second); err != nil || code != 0 {
		t.Fatalf("exit after SIGTERM: code %d, %v", code, err)
	}
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
