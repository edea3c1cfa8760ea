package idp

import (
	"testing"
	"time"
)

func TestThrottler(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	cfg := Throttle{MaxFailures: 2, MaxFailuresPerIP: 3, Window: time.Minute, Lockout: 10 * time.Minute}
	for _, tc := range []struct {
		name  string
		steps func(th *throttler) string
		want  string
	}{
		{"user locks after max failures", func(th *throttler) string {
			th.fail(t0, "p", "alice", "")
			th.fail(t0, "p", "alice", "")
			return th.locked(t0, "p", "alice", "")
		}, "user"},
		{"lockout ends", func(th *throttler) string {
			th.fail(t0, "p", "alice", "")
			th.fail(t0, "p", "alice", "")
			return th.locked(t0.Add(10*time.Minute), "p", "alice", "")
		}, ""},
		{"failures outside the window are forgotten", func(th *throttler) string {
			th.fail(t0, "p", "alice", "")
			th.fail(t0.Add(2*time.Minute), "p", "alice", "")
			return th.locked(t0.Add(2*time.Minute), "p", "alice", "")
		}, ""},
		{"pools are separate", func(th *throttler) string {
			th.fail(t0, "p1", "alice", "")
			th.fail(t0, "p1", "alice", "")
			return th.locked(t0, "p2", "alice", "")
		}, ""},
		{"success resets the user count", func(th *throttler) string {
			th.fail(t0, "p", "alice", "")
			th.succeed(t0, "p", "alice")
			th.fail(t0, "p", "alice", "")
			return th.locked(t0, "p", "alice", "")
		}, ""},
		{"ip locks across users", func(th *throttler) string {
			for _, u := range []string{"a", "b", "c"} {
				th.fail(t0, "p", u, "203.0.113.9")
			}
			return th.locked(t0, "p", "d", "203.0.113.9")
		}, "ip"},
		{"loopback is not counted by default", func(th *throttler) string {
			for _, u := range []string{"a", "b", "c"} {
				th.fail(t0, "p", u, "127.0.0.1")
			}
			return th.locked(t0, "p", "d", "127.0.0.1")
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.steps(newThrottler(cfg)); got != tc.want {
				t.Fatalf("locked = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestThrottlerBoundedMemory(t *testing.T) {
	th := newThrottler(Throttle{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute, MaxTracked: 100})
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 1000 {
		th.fail(t0, "p", string(rune('a'+i%26))+string(rune(i)), "")
	}
	if n := len(th.entries); n > 100 {
		t.Fatalf("%d entries tracked", n)
	}
}
