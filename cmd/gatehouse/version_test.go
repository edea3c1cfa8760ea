package main

import (
	"strings"
	"testing"
)

// TestVersionStamps: release builds stamp version, commit and date with -ldflags; both
// `gatehouse version` and `gatehouse --version` print them.
func TestVersionStamps(t *testing.T) {
	old := [3]string{version, commit, date}
	t.Cleanup(func() { version, commit, date = old[0], old[1], old[2] })
	version, commit, date = "v1.2.3", "0123456789abcdef0123", "2026-12-02T00:00:00Z"

	want := "gatehouse v1.2.3 commit 0123456789ab built 2026-12-02T00:00:00Z "
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, code := run(t, args...)
		if code != 0 || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
			t.Errorf("%v: %d %q, want prefix %q", args, code, out, want)
		}
	}
}
