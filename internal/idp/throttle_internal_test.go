package idp

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestThrottler(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1_700_000_000, 0)
	cfg := Throttle{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: 8 * time.Second,
		MaxFailures: 5, MaxFailuresPerIP: 4, Window: time.Minute, Lockout: 10 * time.Minute}
	const a, b = "203.0.113.9", "198.51.100.7"
	// fail registers and fails one attempt, which must be allowed.
	fail := func(t *testing.T, th *throttler, at time.Time, user, ip string) {
		t.Helper()
		att, why := th.begin(at, "p", user, ip)
		if why != refusedNone {
			t.Fatalf("attempt by %s from %s at %v refused: %s", user, ip, at.Sub(t0), why)
		}
		th.failed(at, att)
	}
	try := func(th *throttler, at time.Time, user, ip string) string {
		att, why := th.begin(at, "p", user, ip)
		if att != nil {
			th.abandoned(att)
		}
		return why
	}
	for _, tc := range []struct {
		name  string
		steps func(t *testing.T, th *throttler) string
		want  string
	}{
		{"free failures then a delay", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			fail(t, th, t0, "alice", a)
			return try(th, t0.Add(999*time.Millisecond), "alice", a)
		}, refusedPair},
		{"delay ends", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			fail(t, th, t0, "alice", a)
			return try(th, t0.Add(time.Second), "alice", a)
		}, refusedNone},
		{"delay doubles", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			fail(t, th, t0, "alice", a)
			fail(t, th, t0.Add(time.Second), "alice", a) // now 2 s
			return try(th, t0.Add(2999*time.Millisecond), "alice", a)
		}, refusedPair},
		{"delay is capped", func(t *testing.T, th *throttler) string {
			return fmt.Sprint(th.delay(0), th.delay(2), th.delay(3), th.delay(20), th.delay(1000))
		}, "1s 4s 8s 8s 8s"},
		{"another address is not delayed", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			fail(t, th, t0, "alice", a)
			return try(th, t0, "alice", b)
		}, refusedNone},
		{"another user from the address is not delayed", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			fail(t, th, t0, "alice", a)
			return try(th, t0, "bob", a)
		}, refusedNone},
		{"delays reset after a quiet window", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			fail(t, th, t0, "alice", a)
			fail(t, th, t0.Add(2*time.Minute), "alice", a)
			return try(th, t0.Add(2*time.Minute), "alice", a)
		}, refusedNone},
		{"success clears the address's count", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			att, _ := th.begin(t0, "p", "alice", a)
			th.succeeded(att)
			fail(t, th, t0, "alice", a)
			return try(th, t0, "alice", a)
		}, refusedNone},
		{"distributed guessing hits the per-user ceiling", func(t *testing.T, th *throttler) string {
			for i := range 5 {
				fail(t, th, t0, "alice", fmt.Sprintf("192.0.2.%d", i+1))
			}
			return try(th, t0, "alice", "192.0.2.200")
		}, refusedUser},
		{"ceiling lockout ends", func(t *testing.T, th *throttler) string {
			for i := range 5 {
				fail(t, th, t0, "alice", fmt.Sprintf("192.0.2.%d", i+1))
			}
			return try(th, t0.Add(10*time.Minute), "alice", "192.0.2.200")
		}, refusedNone},
		{"pools are separate", func(t *testing.T, th *throttler) string {
			for i := range 5 {
				fail(t, th, t0, "alice", fmt.Sprintf("192.0.2.%d", i+1))
			}
			att, why := th.begin(t0, "other", "alice", "192.0.2.200")
			if att != nil {
				th.abandoned(att)
			}
			return why
		}, refusedNone},
		{"address locks across users", func(t *testing.T, th *throttler) string {
			for _, u := range []string{"a", "b", "c", "d"} {
				fail(t, th, t0, u, a)
			}
			return try(th, t0, "e", a)
		}, refusedIP},
		{"loopback is not counted across users by default", func(t *testing.T, th *throttler) string {
			for _, u := range []string{"a", "b", "c", "d"} {
				fail(t, th, t0, u, "127.0.0.1")
			}
			return try(th, t0, "e", "127.0.0.1")
		}, refusedNone},
		{"past the free budget one attempt at a time", func(t *testing.T, th *throttler) string {
			fail(t, th, t0, "alice", a)
			first, why := th.begin(t0, "p", "alice", a)
			if why != refusedNone {
				t.Fatal(why)
			}
			defer th.abandoned(first)
			return try(th, t0, "alice", a)
		}, refusedPair},
		{"attempts in flight count against the ceiling", func(t *testing.T, th *throttler) string {
			for i := range 5 {
				if _, why := th.begin(t0, "p", "alice", fmt.Sprintf("192.0.2.%d", i+1)); why != refusedNone {
					t.Fatal(why)
				}
			}
			return try(th, t0, "alice", "192.0.2.200")
		}, refusedUser},
		{"abandoned attempts count nothing", func(t *testing.T, th *throttler) string {
			for range 10 {
				att, why := th.begin(t0, "p", "alice", a)
				if why != refusedNone {
					t.Fatal(why)
				}
				th.abandoned(att)
				th.failed(t0, att) // already finished: ignored
			}
			return try(th, t0, "alice", a) + fmt.Sprint(len(th.entries))
		}, refusedNone + "0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := tc.steps(t, newThrottler(cfg)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// An attacker creating entries from many addresses cannot evict a user's ceiling count.
func TestThrottlerBoundedMemory(t *testing.T) {
	t.Parallel()
	th := newThrottler(Throttle{FreeFailures: 5, MaxFailures: 50, Window: time.Minute, Lockout: time.Minute, MaxTracked: 100})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		att, why := th.begin(t0, "p", "alice", fmt.Sprintf("10.0.%d.%d", i/256, i%256))
		if why != refusedNone {
			if i < 50 {
				t.Fatalf("attempt %d refused: %s", i, why)
			}
			continue
		}
		th.failed(t0, att)
		if n := len(th.entries); n > 100 {
			t.Fatalf("%d entries tracked", n)
		}
	}
	if _, why := th.begin(t0, "p", "alice", "192.0.2.1"); why != refusedUser {
		t.Fatalf("after 1000 distributed failures: %q, want the ceiling", why)
	}
}

// FuzzClientAddr: the address sign-ins are throttled under is the peer unless the peer is a
// trusted proxy, and then an address that appears in X-Forwarded-For or the peer itself.
func FuzzClientAddr(f *testing.F) {
	p := &IdP{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := p.clientAddr(r)
		peer := parseAddr(remote)
		if !p.isTrusted(peer) {
			if got != addrString(peer, remote) {
				t.Fatalf("untrusted peer %q: got %q", remote, got)
			}
			return
		}
		if got == peer.String() {
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil || p.isTrusted(a) || !strings.Contains(xff, strings.TrimPrefix(got, "::ffff:")) && !strings.Contains(xff, a.String()) {
			t.Fatalf("peer %q, X-Forwarded-For %q: got %q", remote, xff, got)
		}
	})
}
