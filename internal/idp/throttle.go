package idp

import (
	"net/netip"
	"sync"
	"time"
)

// Throttle is the login throttling policy: after MaxFailures failed sign-ins within Window for
// one user (or from one client IP, with MaxFailuresPerIP), further attempts are refused for
// Lockout without checking the password.
type Throttle struct {
	MaxFailures      int           // per pool user; 0 disables the per-user limit
	MaxFailuresPerIP int           // per client IP; 0 disables the per-IP limit
	Window           time.Duration // failures older than this are forgotten
	Lockout          time.Duration
	// MaxTracked bounds the memory used for counters; the oldest entries are dropped first.
	MaxTracked int
	// CountLoopback applies the per-IP limit to loopback peers too. Off by default: on the
	// loopback address the peer is a local reverse proxy (every user shares its address, so one
	// attacker could lock everybody out) or the developer.
	CountLoopback bool
}

// DefaultThrottle: 5 failures per user or 20 per IP within 15 minutes lock out for 15 minutes.
var DefaultThrottle = Throttle{MaxFailures: 5, MaxFailuresPerIP: 20, Window: 15 * time.Minute,
	Lockout: 15 * time.Minute, MaxTracked: 100_000}

// throttler keeps failure counters in memory, per node. A multi-node deployment throttles
// per node, which bounds a guessing rate at nodes × limit.
type throttler struct {
	cfg     Throttle
	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	failures    int
	first       time.Time
	lockedUntil time.Time
}

// ipCounted reports whether the per-IP limit applies to ip.
func (t *throttler) ipCounted(ip string) bool {
	if ip == "" || t.cfg.MaxFailuresPerIP <= 0 {
		return false
	}
	if a, err := netip.ParseAddr(ip); err == nil && a.IsLoopback() && !t.cfg.CountLoopback {
		return false
	}
	return true
}

func newThrottler(t Throttle) *throttler {
	if t.Window <= 0 {
		t.Window = DefaultThrottle.Window
	}
	if t.Lockout <= 0 {
		t.Lockout = DefaultThrottle.Lockout
	}
	if t.MaxTracked <= 0 {
		t.MaxTracked = DefaultThrottle.MaxTracked
	}
	return &throttler{cfg: t, entries: map[string]*throttleEntry{}}
}

func userKey(poolID, username string) string { return "u\x00" + poolID + "\x00" + username }
func ipKey(ip string) string                 { return "i\x00" + ip }

// locked reports which limit, if any, currently refuses an attempt: "user", "ip" or "".
func (t *throttler) locked(now time.Time, poolID, username, ip string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[userKey(poolID, username)]; e != nil && now.Before(e.lockedUntil) {
		return "user"
	}
	if t.ipCounted(ip) {
		if e := t.entries[ipKey(ip)]; e != nil && now.Before(e.lockedUntil) {
			return "ip"
		}
	}
	return ""
}

func (t *throttler) fail(now time.Time, poolID, username, ip string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.cfg.MaxFailures > 0 {
		t.bump(now, userKey(poolID, username), t.cfg.MaxFailures)
	}
	if t.ipCounted(ip) {
		t.bump(now, ipKey(ip), t.cfg.MaxFailuresPerIP)
	}
}

func (t *throttler) bump(now time.Time, key string, limit int) {
	e := t.entries[key]
	if e == nil || now.Sub(e.first) > t.cfg.Window {
		if e == nil && len(t.entries) >= t.cfg.MaxTracked {
			t.evict(now)
		}
		e = &throttleEntry{first: now}
		t.entries[key] = e
	}
	e.failures++
	if e.failures >= limit {
		e.lockedUntil = now.Add(t.cfg.Lockout)
		e.failures = 0
		e.first = now
	}
}

// evict drops expired entries, or, when none are expired, an arbitrary half.
func (t *throttler) evict(now time.Time) {
	for k, e := range t.entries {
		if now.Sub(e.first) > t.cfg.Window && !now.Before(e.lockedUntil) {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < t.cfg.MaxTracked {
		return
	}
	n := len(t.entries) / 2
	for k := range t.entries {
		if n == 0 {
			break
		}
		delete(t.entries, k)
		n--
	}
}

// succeed clears the user's failure count (not the IP's: one good password must not reset a
// spraying client's budget).
func (t *throttler) succeed(now time.Time, poolID, username string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[userKey(poolID, username)]; e != nil && !now.Before(e.lockedUntil) {
		delete(t.entries, userKey(poolID, username))
	}
}
