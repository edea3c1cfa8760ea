package identity

import (
	"testing"
	"time"
)

func TestCacheMaxAge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []string
		want time.Duration
	}{
		{nil, -1},
		{[]string{""}, -1},
		{[]string{"public, max-age=300"}, 300 * time.Second},
		{[]string{"MAX-AGE=60"}, 60 * time.Second},
		{[]string{`max-age="120"`}, 120 * time.Second},
		{[]string{"public", "max-age=30"}, 30 * time.Second},
		{[]string{"max-age=30, no-cache"}, 0},
		{[]string{"no-store"}, 0},
		{[]string{"max-age=30, max-age=3000"}, -1}, // duplicated: ignored
		{[]string{"max-age=-5"}, -1},
		{[]string{"max-age=abc"}, -1},
		{[]string{"max-age"}, -1},
		{[]string{"max-age=99999999999"}, -1},
		{[]string{"s-maxage=10"}, -1},
	}
	for _, tc := range tests {
		if got := cacheMaxAge(tc.in); got != tc.want {
			t.Errorf("cacheMaxAge(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRefreshAfterBounds(t *testing.T) {
	t.Parallel()
	r := &Registry{refreshInterval: 10 * time.Minute}
	for _, tc := range []struct{ maxAge, want time.Duration }{
		{-1, 10 * time.Minute},
		{0, minRefresh},
		{time.Second, minRefresh},
		{5 * time.Minute, 5 * time.Minute},
		{24 * time.Hour, 10 * time.Minute},
	} {
		if got := r.refreshAfter(tc.maxAge); got != tc.want {
			t.Errorf("refreshAfter(%v) = %v, want %v", tc.maxAge, got, tc.want)
		}
	}
}

// FuzzCacheMaxAge: any header value yields -1 or a duration within uint32 seconds, never a panic.
func FuzzCacheMaxAge(f *testing.F) {
	f.Fuzz(func(t *testing.T, v string) {
		got := cacheMaxAge([]string{v})
		if got < -1 || got > time.Duration(1<<32)*time.Second {
			t.Fatalf("cacheMaxAge(%q) = %v", v, got)
		}
	})
}
