package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

// A node started while its database is unreachable has no data: its gateway and forward-auth
// listeners answer 503 store_unavailable with Retry-After — what its readiness (not ready)
// says — rather than 500, which would blame an authorizer.
func TestNodeWithoutStoreAnswers503(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String() // nothing listens here once closed
	ln.Close()
	cfg := apptest.Config(t, "sqlite")
	cfg.DB = "postgres://postgres@" + closed + "/test?sslmode=disable&connect_timeout=2"
	cfg.ForwardAuthListen = "127.0.0.1:0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	node, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	if err := node.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- node.Serve(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	const body = `{"message":"Service Unavailable","reason":"store_unavailable"}`
	for name, req := range map[string]func() *http.Request{
		"gateway": func() *http.Request {
			r, _ := http.NewRequest("GET", "http://"+node.Addr("gateway")+"/demo/pets", nil)
			return r
		},
		"forward-auth": func() *http.Request {
			r, _ := http.NewRequest("GET", "http://"+node.Addr("forward-auth")+"/apis/PetStore", nil)
			r.Header.Set("X-Original-Method", "GET")
			r.Header.Set("X-Original-URI", "/demo/pets")
			return r
		},
	} {
		res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(string(b)) != body || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %s Retry-After %q; want 503 %s with Retry-After", name, res.StatusCode, b, res.Header.Get("Retry-After"), body)
		}
	}
	if r, code := node.Readiness(ctx); code != http.StatusServiceUnavailable {
		t.Errorf("readiness %d %+v, want 503", code, r)
	}
}
