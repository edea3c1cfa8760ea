package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestLoadCountsOutcomes sends a fixed number of requests (rate × duration) to a real server
// and checks every one arrived with its header and was classified by status.
func TestLoadCountsOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		wantNon2xx bool
	}{
		{"ok", http.StatusOK, false},
		{"forbidden", http.StatusForbidden, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits, withHeader atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				if r.Header.Get("Authorization") == "Bearer x.y.z" {
					withHeader.Add(1)
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			var out bytes.Buffer
			args := []string{"-url", srv.URL + "/pets", "-rate", "400", "-d", "250ms", "-c", "4", "-H", "Authorization: Bearer x.y.z"}
			if err := run(context.Background(), args, &out, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			if hits.Load() != 100 || withHeader.Load() != 100 {
				t.Fatalf("server saw %d requests, %d with the header; want 100", hits.Load(), withHeader.Load())
			}
			non2xx := "non2xx=0 "
			if tt.wantNon2xx {
				non2xx = "non2xx=100 "
			}
			res := out.String()
			if !strings.Contains(res, "RESULT target_rps=400 ") || !strings.Contains(res, " n=100 errors=0 "+non2xx) {
				t.Fatalf("result line: %s", res)
			}
		})
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-url", "ftp://x"},
		{"-url", "http://127.0.0.1:1", "-rate", "0"},
		{"-url", "http://127.0.0.1:1", "-d", "2m"},
		{"-url", "http://127.0.0.1:1", "-c", "0"},
		{"-url", "http://127.0.0.1:1", "-H", "no colon"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var out bytes.Buffer
			if err := run(context.Background(), args, &out, &out); err == nil {
				t.Fatal("run succeeded, want an error")
			}
		})
	}
}
