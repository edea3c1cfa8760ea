package gateway_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Benchmarks run the handlers in process (httptest recorder) against a trivial upstream on
// loopback. BenchmarkBareReverseProxy is the baseline: the same upstream through a plain
// httputil.ReverseProxy with the same transport settings.
//
//	go test -run XXX -bench . -benchmem ./internal/gateway/
//
// The InMemory variants replace the upstream with an in-memory transport (for the baseline
// too), which removes loopback networking from the measurement.

func trivialUpstream(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	b.Cleanup(srv.Close)
	return srv
}

type benchEnv struct {
	*petStore
	emp string
}

func newBenchEnv(b *testing.B, cedarTTL string, edits ...func(*gateway.Deps, *[]gateway.Option)) *benchEnv {
	p := newPetStoreIn(b, newEnv(b, storetest.Open(b, "sqlite"), edits...), petPool, "petclient")
	up := trivialUpstream(b)
	p.putAPI(b, fmt.Sprintf(`
name: Bench
basePath: /b
upstream: %s
authorizers:
  cognito:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [petclient]}}
  avp: {type: cedar, policyStoreId: %s, cacheTtl: %s}
  groups:
    type: iam
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [petclient]}}
routes:
  - {route: "GET /none", authorizer: none}
  - {route: "GET /jwt", authorizer: cognito, scopes: [petstore/api]}
  - {route: "POST /cedar", authorizer: avp, action: "post /pets"}
  - {route: "GET /iam/{x+}", authorizer: groups}
`, up.URL, poolARN(petPool), p.storeID, cedarTTL, poolARN(petPool)))
	if _, err := p.apis.PutGroupPolicy(context.Background(), "Bench", "employees",
		[]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/iam/*"}]}`)); err != nil {
		b.Fatal(err)
	}
	return &benchEnv{petStore: p, emp: p.idp.access(b, employee)}
}

func run(b *testing.B, h http.Handler, method, path, token string) {
	b.Helper()
	serve := func() int {
		req := httptest.NewRequest(method, path, nil)
		req.RemoteAddr = "127.0.0.1:5555"
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if code := serve(); code != 200 {
		b.Fatalf("%s %s: %d", method, path, code)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if code := serve(); code != 200 {
			b.Fatalf("%s %s: %d", method, path, code)
		}
	}
}

func BenchmarkBareReverseProxy(b *testing.B) {
	up := trivialUpstream(b)
	target, _ := url.Parse(up.URL)
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			MaxIdleConns: 1024, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second},
	}
	run(b, rp, "GET", "/none", "")
}

func BenchmarkGatewayNoneRoute(b *testing.B) {
	e := newBenchEnv(b, "300s")
	run(b, e.gw.Handler(), "GET", "/b/none", "")
}

func BenchmarkGatewayJWTRoute(b *testing.B) {
	e := newBenchEnv(b, "300s")
	run(b, e.gw.Handler(), "GET", "/b/jwt", e.p().access(b, customer))
}

func BenchmarkGatewayCedarRoute(b *testing.B) {
	e := newBenchEnv(b, "300s")
	run(b, e.gw.Handler(), "POST", "/b/cedar", e.emp)
}

func BenchmarkGatewayCedarRouteNoCache(b *testing.B) {
	e := newBenchEnv(b, "0s")
	run(b, e.gw.Handler(), "POST", "/b/cedar", e.emp)
}

func BenchmarkGatewayIAMRoute(b *testing.B) {
	e := newBenchEnv(b, "300s")
	run(b, e.gw.Handler(), "GET", "/b/iam/pets/1", e.emp)
}

// BenchmarkForwardAuthCedar is the decision alone, as nginx's auth_request asks for it.
func BenchmarkForwardAuthCedar(b *testing.B) {
	e := newBenchEnv(b, "300s")
	h := e.gw.ForwardAuthHandler()
	serve := func() int {
		req := httptest.NewRequest("GET", "/apis/Bench", nil)
		req.Header.Set("Authorization", "Bearer "+e.emp)
		req.Header.Set("X-Original-Method", "POST")
		req.Header.Set("X-Original-URI", "/b/cedar")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if serve() != 200 {
		b.Fatal("forward-auth denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		if serve() != 200 {
			b.Fatal("forward-auth denied")
		}
	}
}

func (e *benchEnv) p() *fakeCognito { return e.idp }

// memTransport answers in memory, so the In-memory benchmarks measure the proxy and the
// gateway without loopback networking noise.
type memTransport struct{}

func (memTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	return &http.Response{StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}}, ContentLength: 11,
		Body: io.NopCloser(strings.NewReader(`{"ok":true}`)), Request: r}, nil
}

func inMemory(_ *gateway.Deps, o *[]gateway.Option) {
	*o = append(*o, gateway.WithTransport(memTransport{}))
}

func BenchmarkInMemoryBareReverseProxy(b *testing.B) {
	target, _ := url.Parse("http://upstream.invalid")
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport: memTransport{},
	}
	run(b, rp, "GET", "/none", "")
}

// BenchmarkInMemoryBareReverseProxyPooled is the fairer baseline: the gateway recycles
// ReverseProxy's copy buffers, so this one does too.
func BenchmarkInMemoryBareReverseProxyPooled(b *testing.B) {
	target, _ := url.Parse("http://upstream.invalid")
	rp := &httputil.ReverseProxy{
		Rewrite:    func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.SetXForwarded() },
		Transport:  memTransport{},
		BufferPool: &benchPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}},
	}
	run(b, rp, "GET", "/none", "")
}

type benchPool struct{ p sync.Pool }

func (bp *benchPool) Get() []byte  { return *bp.p.Get().(*[]byte) }
func (bp *benchPool) Put(b []byte) { bp.p.Put(&b) }

func BenchmarkInMemoryGatewayNone(b *testing.B) {
	e := newBenchEnv(b, "300s", inMemory)
	run(b, e.gw.Handler(), "GET", "/b/none", "")
}

func BenchmarkInMemoryGatewayJWT(b *testing.B) {
	e := newBenchEnv(b, "300s", inMemory)
	run(b, e.gw.Handler(), "GET", "/b/jwt", e.p().access(b, customer))
}

func BenchmarkInMemoryGatewayCedar(b *testing.B) {
	e := newBenchEnv(b, "300s", inMemory)
	run(b, e.gw.Handler(), "POST", "/b/cedar", e.emp)
}

func BenchmarkInMemoryGatewayCedarNoCache(b *testing.B) {
	e := newBenchEnv(b, "0s", inMemory)
	run(b, e.gw.Handler(), "POST", "/b/cedar", e.emp)
}

func BenchmarkInMemoryGatewayIAM(b *testing.B) {
	e := newBenchEnv(b, "300s", inMemory)
	run(b, e.gw.Handler(), "GET", "/b/iam/pets/1", e.emp)
}

// BenchmarkCheck is the decision alone, as the ext_authz and Lambda front doors ask for it:
// compare each sub-benchmark with BenchmarkInMemoryGateway* (the proxy path, same routes).
//
//	go test -run XXX -bench 'Check|InMemoryGateway' -benchmem ./internal/gateway/
func BenchmarkCheck(b *testing.B) {
	for _, c := range []struct {
		name, ttl, method, path string
		token                   func(e *benchEnv) string
	}{
		{"None", "300s", "GET", "/b/none", func(*benchEnv) string { return "" }},
		{"JWT", "300s", "GET", "/b/jwt", func(e *benchEnv) string { return e.p().access(b, customer) }},
		{"Cedar", "300s", "POST", "/b/cedar", func(e *benchEnv) string { return e.emp }},
		{"CedarNoCache", "0s", "POST", "/b/cedar", func(e *benchEnv) string { return e.emp }},
		{"IAM", "300s", "GET", "/b/iam/pets/1", func(e *benchEnv) string { return e.emp }},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newBenchEnv(b, c.ttl, inMemory)
			h := http.Header{}
			if tok := c.token(e); tok != "" {
				h.Set("Authorization", "Bearer "+tok)
			}
			in := gateway.Input{Source: gateway.SourceExtAuthz, Method: c.method, RawPath: c.path, Header: h,
				Peer: netip.MustParseAddr("127.0.0.1"), ContentLength: -1}
			ctx := context.Background()
			if v := e.gw.Check(ctx, in); !v.Allow {
				b.Fatalf("%s %s: %d %s", c.method, c.path, v.Status, v.Body)
			}
			b.ReportAllocs()
			for b.Loop() {
				if !e.gw.Check(ctx, in).Allow {
					b.Fatal("denied")
				}
			}
		})
	}
}
