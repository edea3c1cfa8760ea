// Command rateload sends HTTP GET requests at a constant rate (open loop, like wrk2) and prints
// latency percentiles measured from each request's scheduled start, so a stalled server is
// charged for the requests it delayed (no coordinated omission).
//
//	rateload -url http://127.0.0.1:8080/pets -rate 2000 -d 5s -c 32 -H 'Authorization: Bearer ...'
//
// The last line is machine-readable:
//
//	RESULT target_rps=2000 rps=1998.4 n=9992 errors=0 non2xx=0 p50_ms=0.31 p90_ms=0.52 p99_ms=1.10 p999_ms=2.40 max_ms=5.01
//
// rps counts completed requests over the run. A run whose rps falls short of target_rps by more
// than a few percent was overloaded, and its percentiles include queueing in this tool.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

type config struct {
	url      string
	rate     float64
	duration time.Duration
	conns    int
	timeout  time.Duration
	headers  http.Header
}

type result struct {
	latencies []time.Duration
	errors    int
	non2xx    int
	elapsed   time.Duration
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "rateload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("rateload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var hs headers
	fs.StringVar(&c.url, "url", "", "URL to GET (required)")
	fs.Float64Var(&c.rate, "rate", 1000, "requests per second")
	fs.DurationVar(&c.duration, "d", 5*time.Second, "how long to send (at most 60s)")
	fs.IntVar(&c.conns, "c", 32, "connections (and requests in flight) at most")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "per-request timeout")
	fs.Var(&hs, "H", "header 'Name: value' (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(c.url)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("-url %q: must be an http(s) URL", c.url)
	}
	if c.rate <= 0 || c.rate > 1e6 {
		return fmt.Errorf("-rate %v: must be in (0, 1e6]", c.rate)
	}
	if c.duration <= 0 || c.duration > time.Minute {
		return fmt.Errorf("-d %v: must be in (0, 1m]", c.duration)
	}
	if c.conns < 1 || c.conns > 1024 {
		return fmt.Errorf("-c %d: must be in [1, 1024]", c.conns)
	}
	c.headers = http.Header{}
	for _, h := range hs {
		k, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("-H %q: want 'Name: value'", h)
		}
		c.headers.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	res, err := load(ctx, c)
	if err != nil {
		return err
	}
	report(stdout, c, res)
	return nil
}

// load issues requests at c.rate for c.duration. A dispatcher hands out scheduled start times;
// c.conns workers take them in order, so when every worker is busy the schedule keeps running
// and the wait counts in the latency.
func load(ctx context.Context, c config) (result, error) {
	tr := &http.Transport{
		MaxIdleConns:        c.conns,
		MaxIdleConnsPerHost: c.conns,
		MaxConnsPerHost:     c.conns,
		IdleConnTimeout:     30 * time.Second,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: c.timeout}
	total := int(c.rate * c.duration.Seconds())
	if total < 1 {
		return result{}, errors.New("rate × duration is less than one request")
	}
	sched := make(chan time.Time, total)
	type outcome struct {
		lat    time.Duration
		err    bool
		non2xx bool
	}
	outs := make(chan outcome, total)
	var wg sync.WaitGroup
	for range c.conns {
		wg.Go(func() {
			for at := range sched {
				o := outcome{}
				if err := get(ctx, client, c); err != nil {
					var s statusError
					if errors.As(err, &s) {
						o.non2xx = true
					} else {
						o.err = true
					}
				}
				o.lat = time.Since(at)
				outs <- o
			}
		})
	}
	start := time.Now()
	interval := time.Duration(float64(time.Second) / c.rate)
	sent := 0
dispatch:
	for sent < total {
		due := min(total, int(time.Since(start)/interval)+1)
		for ; sent < due; sent++ {
			sched <- start.Add(time.Duration(sent) * interval)
		}
		select {
		case <-ctx.Done():
			break dispatch
		case <-time.After(time.Until(start.Add(time.Duration(sent) * interval))):
		}
	}
	close(sched)
	wg.Wait()
	elapsed := time.Since(start)
	close(outs)
	res := result{elapsed: elapsed, latencies: make([]time.Duration, 0, total)}
	for o := range outs {
		res.latencies = append(res.latencies, o.lat)
		if o.err {
			res.errors++
		}
		if o.non2xx {
			res.non2xx++
		}
	}
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	return res, nil
}

type statusError int

func (s statusError) Error() string { return fmt.Sprintf("HTTP %d", int(s)) }

func get(ctx context.Context, client *http.Client, c config) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return err
	}
	req.Header = c.headers.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return statusError(resp.StatusCode)
	}
	return nil
}

func report(w io.Writer, c config, r result) {
	slices.Sort(r.latencies)
	pct := func(p float64) float64 {
		if len(r.latencies) == 0 {
			return 0
		}
		i := min(len(r.latencies)-1, int(p*float64(len(r.latencies))))
		return float64(r.latencies[i].Microseconds()) / 1000
	}
	rps := float64(len(r.latencies)) / r.elapsed.Seconds()
	fmt.Fprintf(w, "%s: %d requests in %.2fs at target %.0f/s, %d connections; %d errors, %d non-2xx\n",
		c.url, len(r.latencies), r.elapsed.Seconds(), c.rate, c.conns, r.errors, r.non2xx)
	fmt.Fprintf(w, "latency from scheduled start: p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  p99.9 %.3f ms  max %.3f ms\n",
		pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1))
	fmt.Fprintf(w, "RESULT target_rps=%.0f rps=%.1f n=%d errors=%d non2xx=%d p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
		c.rate, rps, len(r.latencies), r.errors, r.non2xx, pct(0.50), pct(0.90), pct(0.99), pct(0.999), pct(1))
}
