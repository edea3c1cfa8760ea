// Command soak runs a real `gatehouse serve` for a long time at a constant share of its
// maximum throughput while policies change every few seconds, and samples the process's
// resident memory, goroutines and open file descriptors at a fixed interval, so leaks show
// as growth between the first and the last samples. It is not run in CI.
//
//	go build -o /tmp/gatehouse ./cmd/gatehouse
//	go run ./bench/cmd/soak -bin /tmp/gatehouse -d 30m -change-every 5s -sample-every 1m
//
// The load is the Verified Permissions API's IsAuthorized (SigV4-signed per request, as SDKs
// do), decided against a policy store whose policies are replaced every -change-every, so
// every few seconds the node rebuilds a snapshot under load. With -rate 0 the maximum
// throughput is measured first (closed loop, -c connections, 10 s) and half of it is used.
// Each sample is one CSV line on stdout:
//
//	minute,rss_kib,goroutines,fds,requests,errors,late,changes
//
// errors are failed calls (the last one is printed at the end); late are requests not sent
// because -c were already in flight: the node fell behind the rate.
//
// and a summary follows. The node runs on a fresh SQLite file in a temporary directory and is
// killed when the run ends (it never outlives -d by more than a minute).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
)

const (
	keyID  = "AKIDSOAK"
	secret = "soak-secret-0123456789abcdef"
)

type options struct {
	bin         string
	duration    time.Duration
	rate        float64
	share       float64
	conns       int
	changeEvery time.Duration
	sampleEvery time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "gatehouse binary (required)")
	flag.DurationVar(&o.duration, "d", 30*time.Minute, "duration of the soak")
	flag.Float64Var(&o.rate, "rate", 0, "requests per second; 0 measures the maximum and uses -share of it")
	flag.Float64Var(&o.share, "share", 0.5, "share of the measured maximum to run at when -rate is 0")
	flag.IntVar(&o.conns, "c", 32, "concurrent requests")
	flag.DurationVar(&o.changeEvery, "change-every", 5*time.Second, "interval between policy changes")
	flag.DurationVar(&o.sampleEvery, "sample-every", time.Minute, "interval between samples")
	flag.Parse()
	if o.bin == "" {
		fmt.Fprintln(os.Stderr, "soak: -bin is required")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "gatehouse-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	admin, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, o.bin, "serve")
	cmd.Env = append(os.Environ(),
		"GATEHOUSE_DB="+filepath.Join(dir, "gatehouse.db"), "GATEHOUSE_ADMIN_LISTEN="+admin,
		"GATEHOUSE_LISTEN=127.0.0.1:0", "GATEHOUSE_IDP_LISTEN=off", "GATEHOUSE_FORWARD_AUTH_LISTEN=off",
		"GATEHOUSE_ACCESS_KEY_ID="+keyID, "GATEHOUSE_SECRET_ACCESS_KEY="+secret,
		"GATEHOUSE_SHUTDOWN_DELAY=0s", "GATEHOUSE_LOG_LEVEL=warn")
	logf, err := os.Create(filepath.Join(dir, "node.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.conns}}
	client := &mgmtclient.Client{Endpoint: "http://" + admin, AccessKeyID: keyID, SecretAccessKey: secret, HTTP: hc}
	if err := waitReady(ctx, hc, "http://"+admin+"/readyz"); err != nil {
		return err
	}
	var ps avpapi.CreatePolicyStoreOutput
	if err := client.Call(ctx, "VerifiedPermissions.CreatePolicyStore",
		avpapi.CreatePolicyStoreInput{ValidationSettings: &avpapi.ValidationSettings{Mode: avpapi.ValidationModeOff}}, &ps); err != nil {
		return err
	}
	req := avpapi.IsAuthorizedInput{PolicyStoreID: ps.PolicyStoreID,
		Principal: &avpapi.EntityIdentifier{EntityType: "User", EntityID: "alice"},
		Action:    &avpapi.ActionIdentifier{ActionType: "Action", ActionID: "view"},
		Resource:  &avpapi.EntityIdentifier{EntityType: "Doc", EntityID: "d1"}}
	decide := func(ctx context.Context) error {
		var out avpapi.IsAuthorizedOutput
		return client.Call(ctx, "VerifiedPermissions.IsAuthorized", req, &out)
	}

	rate := o.rate
	if rate <= 0 {
		max := closedLoop(ctx, decide, o.conns, 10*time.Second)
		rate = max * o.share
		fmt.Fprintf(os.Stderr, "soak: maximum %.0f req/s; running at %.0f req/s for %v\n", max, rate, o.duration)
	}

	var requests, failures, late, changes atomic.Int64
	var lastErr atomic.Value
	fail := func(err error) {
		failures.Add(1)
		lastErr.Store(err.Error())
	}
	lctx, stop := context.WithTimeout(ctx, o.duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Go(func() { openLoop(lctx, decide, rate, o.conns, &requests, &late, fail) })
	wg.Go(func() { changePolicies(lctx, client, ps.PolicyStoreID, o.changeEvery, &changes, fail) })

	fmt.Println("minute,rss_kib,goroutines,fds,requests,errors,late,changes")
	var first, last sample
	t := time.NewTicker(o.sampleEvery)
	defer t.Stop()
	start := time.Now()
	for n := 0; ; n++ {
		s, err := take(hc, "http://"+admin+"/metrics", cmd.Process.Pid)
		if err != nil {
			return err
		}
		s.requests, s.errors, s.late, s.changes = requests.Load(), failures.Load(), late.Load(), changes.Load()
		if n == 0 {
			first = s
		}
		last = s
		fmt.Printf("%.1f,%d,%d,%d,%d,%d,%d,%d\n", time.Since(start).Minutes(), s.rss, s.goroutines, s.fds, s.requests, s.errors, s.late, s.changes)
		select {
		case <-lctx.Done():
			wg.Wait()
			fmt.Printf("# %v at %.0f req/s: rss %d -> %d KiB, goroutines %d -> %d, fds %d -> %d, %d requests, %d errors, %d late, %d policy changes\n",
				time.Since(start).Round(time.Second), rate, first.rss, last.rss, first.goroutines, last.goroutines, first.fds, last.fds,
				requests.Load(), failures.Load(), late.Load(), changes.Load())
			if e, ok := lastErr.Load().(string); ok {
				fmt.Printf("# last error: %s\n", e)
			}
			return nil
		case <-t.C:
		}
	}
}

type sample struct {
	rss, goroutines, fds            int64
	requests, errors, late, changes int64
}

// take reads the node's resident set and descriptors from /proc and its goroutines from
// /metrics.
func take(hc *http.Client, metrics string, pid int) (sample, error) {
	var s sample
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, err
	}
	for _, l := range strings.Split(string(status), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			s.rss, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return s, err
	}
	s.fds = int64(len(fds))
	resp, err := hc.Get(metrics)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			s.goroutines = int64(f)
		}
	}
	return s, sc.Err()
}

// closedLoop measures the throughput of conns callers sending back to back for d.
func closedLoop(ctx context.Context, call func(context.Context) error, conns int, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				if call(ctx) == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// openLoop sends at rate per second whatever the answers' latency, with at most conns in
// flight; requests that find every connection busy are counted as errors.
func openLoop(ctx context.Context, call func(context.Context) error, rate float64, conns int, requests, late *atomic.Int64, fail func(error)) {
	slots := make(chan struct{}, conns)
	var wg sync.WaitGroup
	defer wg.Wait()
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for ctx.Err() == nil {
		next = next.Add(interval)
		if d := time.Until(next); d > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			late.Add(1)
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			err := call(context.WithoutCancel(ctx))
			requests.Add(1)
			if err != nil {
				fail(err)
			}
		})
	}
}

// changePolicies replaces the store's policy every interval: create the next, delete the last.
func changePolicies(ctx context.Context, c *mgmtclient.Client, storeID string, every time.Duration, changes *atomic.Int64, fail func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev := ""
	for i := 0; ; i++ {
		var out avpapi.PolicyOutput
		err := c.Call(ctx, "VerifiedPermissions.CreatePolicy", avpapi.CreatePolicyInput{PolicyStoreID: storeID,
			Definition: &avpapi.PolicyDefinition{Static: &avpapi.StaticPolicyDefinition{
				Statement: fmt.Sprintf(`permit(principal == User::"alice", action == Action::"view", resource) when { context has n%d || true };`, i)}}}, &out)
		if err == nil && prev != "" {
			err = c.Call(ctx, "VerifiedPermissions.DeletePolicy", avpapi.DeletePolicyInput{PolicyStoreID: storeID, PolicyID: prev}, nil)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			fail(err)
		} else {
			prev = out.PolicyID
			changes.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(ctx context.Context, hc *http.Client, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(url)
		if err == nil {
			var r struct{ Status string }
			_ = json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&r)
			resp.Body.Close()
			if r.Status == "ready" {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.New("the node did not become ready within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
