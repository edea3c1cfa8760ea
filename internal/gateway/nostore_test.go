package gateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// downStore is a store that has never answered: every read fails as a refused connection does.
type downStore struct{ store.Store }

var errRefused = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (downStore) Revision(context.Context, string) (int64, error) { return 0, errRefused }
func (downStore) List(context.Context, store.Query) ([]store.Object, string, error) {
	return nil, "", errRefused
}

// A node that never reached its store has no data to decide with: every front door answers
// 503 store_unavailable with Retry-After, as a node whose data went stale does and as its
// readiness says — not 500, which tells clients (and API Gateway) that the authorizer failed.
func TestNoStoreAnswers503(t *testing.T) {
	t.Parallel()
	gw := gateway.New(gateway.Deps{Store: downStore{storetest.Open(t, "sqlite")}})
	const body = `{"message":"Service Unavailable","reason":"store_unavailable"}`
	for _, src := range []string{gateway.SourceExtAuthz, gateway.SourceLambda} {
		v := gw.Check(context.Background(), gateway.Input{Source: src, Method: "GET", RawPath: "/demo/pets", Header: http.Header{}, ContentLength: -1})
		if v.Allow || v.Status != http.StatusServiceUnavailable || string(v.Body) != body ||
			v.Reason != gateway.ReasonStoreUnavailable || v.Header.Get("Retry-After") == "" {
			t.Errorf("Check (%s): %d %s %q %v", src, v.Status, v.Body, v.Reason, v.Header)
		}
	}
	for name, h := range map[string]http.Handler{"proxy": gw.Handler(), "forward-auth": gw.ForwardAuthHandler()} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		req, _ := http.NewRequest("GET", srv.URL+"/demo/pets", nil)
		if name == "forward-auth" {
			req, _ = http.NewRequest("GET", srv.URL+"/apis/PetStore", nil)
			req.Header.Set("X-Original-Method", "GET")
			req.Header.Set("X-Original-URI", "/demo/pets")
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || strings.TrimSpace(string(b)) != body || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s: %d %s Retry-After %q", name, res.StatusCode, b, res.Header.Get("Retry-After"))
		}
	}
}
