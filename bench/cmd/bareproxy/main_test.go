package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestProxiesToUpstream checks the baseline proxy forwards method, path and headers and
// relays the answer.
func TestProxiesToUpstream(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	}))
	defer up.Close()
	target, _ := url.Parse(up.URL)
	for _, pool := range []bool{false, true} {
		t.Run(fmt.Sprintf("pool=%t", pool), func(t *testing.T) {
			px := httptest.NewServer(newProxy(target, pool))
			defer px.Close()
			for range 3 {
				req, _ := http.NewRequest(http.MethodGet, px.URL+"/pets", nil)
				req.Header.Set("Authorization", "Bearer t")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(b) != "GET /pets Bearer t" {
					t.Fatalf("HTTP %d %q", resp.StatusCode, b)
				}
			}
		})
	}
}
