package console

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// Failed sign-ins are limited per client address: secrets are long and random, but a
// console key's secret may be as short as 16 characters, and nothing else slows guessing.
const (
	maxFailures    = 10
	failureWindow  = 10 * time.Minute
	maxTrackedAddr = 10000
)

type failures struct {
	mu sync.Mutex
	m  map[string][]time.Time
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// blocked reports how long addr must wait before its next attempt (0: it may try).
func (f *failures) blocked(addr string, now time.Time) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	ts := recent(f.m[addr], now)
	if len(ts) < maxFailures {
		return 0
	}
	return ts[0].Add(failureWindow).Sub(now)
}

func (f *failures) add(addr string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = map[string][]time.Time{}
	}
	if len(f.m) >= maxTrackedAddr { // bounded memory: forget the addresses that went quiet
		for k, ts := range f.m {
			if len(recent(ts, now)) == 0 {
				delete(f.m, k)
			}
		}
	}
	f.m[addr] = append(recent(f.m[addr], now), now)
}

func (f *failures) clear(addr string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.m, addr)
}

func recent(ts []time.Time, now time.Time) []time.Time {
	i := 0
	for i < len(ts) && now.Sub(ts[i]) >= failureWindow {
		i++
	}
	return ts[i:]
}
