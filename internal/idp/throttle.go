package idp

import (
	"net/netip"
	"sync"
	"time"
)

// Throttle is the sign-in throttling policy. Failures are counted at three levels:
//
//   - per user and client address: FreeFailures failures are allowed, then every further
//     attempt must wait a delay that starts at BaseDelay and doubles with each failure, up to
//     MaxDelay (Cognito's lockout, but per address, so guessing from one address cannot lock
//     the user out from another). A success from that address clears its count.
//   - per user from all addresses: MaxFailures failures within Window lock the user out for
//     Lockout everywhere, the ceiling against guessing spread over many addresses. Keep it far
//     above FreeFailures: reaching it takes that many addresses or that much patience.
//   - per client address across users: MaxFailuresPerIP failures within Window lock the
//     address out for Lockout (password spraying).
//
// A zero limit disables its level.
type Throttle struct {
	FreeFailures     int           // per user and address, before delays start
	BaseDelay        time.Duration // first delay after FreeFailures failures
	MaxDelay         time.Duration // cap of the doubling delay
	MaxFailures      int           // per user from all addresses within Window
	MaxFailuresPerIP int           // per client address within Window
	Window           time.Duration // counts older than this (since the last failure, per address) are forgotten
	Lockout          time.Duration // of the per-user ceiling and the per-address limit
	// MaxTracked bounds the memory used for counters; idle and unlocked entries go first.
	MaxTracked int
	// CountLoopback applies the per-IP limit to loopback peers too. Off by default: on the
	// loopback address the peer is a local reverse proxy (every user shares its address, so one
	// attacker could lock everybody out) or the developer.
	CountLoopback bool
}

// DefaultThrottle: per user and address 5 free failures, then 1 s doubling up to 15 minutes
// (Cognito's schedule); 100 failures per user or 20 per address within 15 minutes lock out for
// 15 minutes.
var DefaultThrottle = Throttle{FreeFailures: 5, BaseDelay: time.Second, MaxDelay: 15 * time.Minute,
	MaxFailures: 100, MaxFailuresPerIP: 20, Window: 15 * time.Minute, Lockout: 15 * time.Minute,
	MaxTracked: 100_000}

// Refusals returned by throttler.begin.
const (
	refusedNone = ""
	refusedPair = "user_address_delay" // this user from this address must wait
	refusedUser = "user_locked_out"    // the per-user ceiling was reached
	refusedIP   = "ip_locked_out"      // the per-address limit was reached
)

// throttler keeps failure counters in memory, per node. A multi-node deployment throttles
// per node, which bounds a guessing rate at nodes × limit.
//
// An attempt is registered (begin) before the password is checked and finished after, so
// concurrent attempts cannot all pass the check before any failure is counted: past the free
// budget only one attempt per user and address is in flight at a time, and the ceilings count
// attempts in flight.
type throttler struct {
	cfg     Throttle
	mu      sync.Mutex
	entries map[throttleKey]*throttleEntry
	// observe, when set, is told of each attempt's result (WithSignInObserver), under mu.
	observe func(pool, result string)
}

type level uint8

const (
	levelPair level = iota // user and address
	levelUser              // user, all addresses
	levelIP                // address, all users
)

type throttleKey struct {
	kind                 level
	pool, username, addr string
}

type throttleEntry struct {
	failures    int
	inflight    int
	first, last time.Time // first and last failure of the current count
	lockedUntil time.Time
}

// attempt is a registered sign-in attempt. Finish it with failed or succeeded; abandoned
// (deferred) releases it if neither ran, so a panic cannot leave it in flight for ever.
type attempt struct {
	pool     string
	keys     []throttleKey
	finished bool // guarded by throttler.mu
}

func newThrottler(t Throttle) *throttler {
	if t.Window <= 0 {
		t.Window = DefaultThrottle.Window
	}
	if t.Lockout <= 0 {
		t.Lockout = DefaultThrottle.Lockout
	}
	if t.BaseDelay <= 0 {
		t.BaseDelay = DefaultThrottle.BaseDelay
	}
	if t.MaxDelay <= 0 {
		t.MaxDelay = DefaultThrottle.MaxDelay
	}
	if t.MaxTracked <= 0 {
		t.MaxTracked = DefaultThrottle.MaxTracked
	}
	return &throttler{cfg: t, entries: map[throttleKey]*throttleEntry{}}
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

// limit is the failure count at which an entry of kind refuses attempts.
func (t *throttler) limit(k level) int {
	switch k {
	case levelPair:
		return t.cfg.FreeFailures
	case levelUser:
		return t.cfg.MaxFailures
	}
	return t.cfg.MaxFailuresPerIP
}

// expired reports whether e no longer holds anything worth keeping at now.
func (t *throttler) expired(k level, e *throttleEntry, now time.Time) bool {
	if e.inflight > 0 || now.Before(e.lockedUntil) {
		return false
	}
	since := e.first // fixed window for the ceilings
	if k == levelPair {
		since = e.last // the delays reset after Window without failures, as Cognito's do
	}
	return now.Sub(since) > t.cfg.Window
}

// begin registers an attempt by username of poolID from ip, or returns why it is refused
// without checking the password.
func (t *throttler) begin(now time.Time, poolID, username, ip string) (*attempt, string) {
	a := &attempt{pool: poolID}
	if t.cfg.FreeFailures > 0 {
		a.keys = append(a.keys, throttleKey{levelPair, poolID, username, ip})
	}
	if t.cfg.MaxFailures > 0 {
		a.keys = append(a.keys, throttleKey{kind: levelUser, pool: poolID, username: username})
	}
	if t.ipCounted(ip) {
		a.keys = append(a.keys, throttleKey{kind: levelIP, addr: ip})
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range a.keys {
		e := t.entries[k]
		if e == nil {
			continue
		}
		if t.expired(k.kind, e, now) {
			delete(t.entries, k)
			continue
		}
		if now.Before(e.lockedUntil) || t.full(k.kind, e) {
			t.note(poolID, SignInThrottled)
			return nil, refusal(k.kind)
		}
	}
	for _, k := range a.keys {
		t.entry(now, k).inflight++
	}
	return a, refusedNone
}

// full reports whether e's attempts in flight would, if they all failed, exceed its limit.
func (t *throttler) full(k level, e *throttleEntry) bool {
	n := e.failures + e.inflight
	if k == levelPair {
		// Past the free budget, one attempt at a time: each waits for the delay the failure of
		// the previous one sets.
		return n >= t.cfg.FreeFailures && e.inflight > 0
	}
	return n >= t.limit(k)
}

func refusal(k level) string {
	switch k {
	case levelPair:
		return refusedPair
	case levelUser:
		return refusedUser
	}
	return refusedIP
}

// entry returns the entry for k, creating it (and making room) if needed.
func (t *throttler) entry(now time.Time, k throttleKey) *throttleEntry {
	e := t.entries[k]
	if e == nil {
		if len(t.entries) >= t.cfg.MaxTracked {
			t.evict(now)
		}
		e = &throttleEntry{}
		t.entries[k] = e
	}
	return e
}

// failed finishes a with a wrong password (or unknown user).
func (t *throttler) failed(now time.Time, a *attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.finished {
		return
	}
	a.finished = true
	t.note(a.pool, SignInFailure)
	for _, k := range a.keys {
		e := t.entry(now, k)
		e.inflight = max(e.inflight-1, 0)
		if e.failures == 0 || (k.kind != levelPair && now.Sub(e.first) > t.cfg.Window) {
			e.failures, e.first = 0, now
		}
		e.failures++
		e.last = now
		switch {
		case k.kind == levelPair && e.failures >= t.cfg.FreeFailures:
			e.lockedUntil = now.Add(t.delay(e.failures - t.cfg.FreeFailures))
		case k.kind != levelPair && e.failures >= t.limit(k.kind):
			e.lockedUntil = now.Add(t.cfg.Lockout)
			e.failures, e.first = 0, now
		}
	}
}

// delay is BaseDelay doubled n times, at most MaxDelay.
func (t *throttler) delay(n int) time.Duration {
	d := t.cfg.BaseDelay
	for range n {
		if d >= t.cfg.MaxDelay/2 {
			return t.cfg.MaxDelay
		}
		d *= 2
	}
	return min(d, t.cfg.MaxDelay)
}

// succeeded finishes a with the right password: the user's count from this address is
// cleared; the per-user and per-address counts are not, so one good password does not reset a
// distributed or spraying guesser's budget.
func (t *throttler) succeeded(a *attempt) {
	t.finish(a, true)
}

// abandoned finishes a, unless already finished, as ended before the password was judged
// (store error, cancelled request, panic).
func (t *throttler) abandoned(a *attempt) {
	t.finish(a, false)
}

func (t *throttler) finish(a *attempt, clearPair bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if a.finished {
		return
	}
	a.finished = true
	if clearPair {
		t.note(a.pool, SignInSuccess)
	}
	for _, k := range a.keys {
		e := t.entries[k]
		if e == nil {
			continue
		}
		e.inflight = max(e.inflight-1, 0)
		if clearPair && k.kind == levelPair {
			e.failures, e.lockedUntil = 0, time.Time{}
		}
		if e.inflight == 0 && e.failures == 0 && e.lockedUntil.IsZero() {
			delete(t.entries, k)
		}
	}
}

// evict makes room: it drops expired entries, then, while more than half the budget is used,
// idle unlocked per-address-and-user entries (the cheapest for an attacker to create), then
// other idle unlocked entries, and only then anything.
func (t *throttler) evict(now time.Time) {
	for k, e := range t.entries {
		if t.expired(k.kind, e, now) {
			delete(t.entries, k)
		}
	}
	target := t.cfg.MaxTracked / 2
	passes := []func(throttleKey, *throttleEntry) bool{
		func(k throttleKey, e *throttleEntry) bool {
			return k.kind == levelPair && e.inflight == 0 && !now.Before(e.lockedUntil)
		},
		func(_ throttleKey, e *throttleEntry) bool { return e.inflight == 0 && !now.Before(e.lockedUntil) },
		func(throttleKey, *throttleEntry) bool { return true },
	}
	for _, drop := range passes {
		for k, e := range t.entries {
			if len(t.entries) <= target {
				return
			}
			if drop(k, e) {
				delete(t.entries, k)
			}
		}
	}
}

func (t *throttler) note(pool, result string) {
	if t.observe != nil {
		t.observe(pool, result)
	}
}
