package extauthz_test

import (
	"context"
	"crypto/tls"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// serve runs an ext_authz listener on a loopback port, as the node runs it (server.Bind, h2c
// when there is no TLS), until the test ends; it returns the bound address.
func serve(t testing.TB, c extauthz.Checker, tlsCfg *tls.Config) string {
	t.Helper()
	s := extauthz.New(c)
	g, err := server.Bind(slog.New(slog.DiscardHandler), []server.Listener{
		{Name: "ext-authz", Addr: "127.0.0.1:0", Handler: s.Handler(), TLS: tlsCfg, H2C: tlsCfg == nil}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return g.Addr("ext-authz")
}

// grpcClient is a real gRPC client of the Authorization service on addr (plaintext h2c, as
// Envoy's cluster without transport_socket connects).
func grpcClient(t testing.TB, addr string, creds credentials.TransportCredentials) authv3.AuthorizationClient {
	t.Helper()
	return authv3.NewAuthorizationClient(connWith(t, addr, creds))
}

// conn is a plaintext gRPC client connection to addr, closed when the test ends.
func conn(t testing.TB, addr string) *grpc.ClientConn { return connWith(t, addr, nil) }

func connWith(t testing.TB, addr string, creds credentials.TransportCredentials) *grpc.ClientConn {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// envoyRequest is a CheckRequest shaped as Envoy's ext_authz filter sends it (gRPC mode,
// encode_raw_headers off): the pseudo-headers among the headers, path with the query, the
// downstream address as the source.
func envoyRequest(method, path string, headers map[string]string) *authv3.CheckRequest {
	h := map[string]string{":method": method, ":path": path, ":authority": "api.example.com", ":scheme": "http",
		"x-forwarded-proto": "http", "x-request-id": "7f1c0a4e-7d0e-4c1a-9c43-3f0d7f0e0b1a"}
	for k, v := range headers {
		h[k] = v
	}
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "203.0.113.7", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 51234}}}}},
		Destination: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "10.0.0.2", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 8000}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Id: "7f1c0a4e-7d0e-4c1a-9c43-3f0d7f0e0b1a", Method: method, Path: path, Host: "api.example.com",
			Scheme: "http", Protocol: "HTTP/1.1", Headers: h, Size: -1,
		}},
	}}
}

// withHeaderMap turns a request into the encode_raw_headers form: header_map with raw values,
// repeated names as separate entries, no headers map.
func withHeaderMap(req *authv3.CheckRequest, extra ...[2]string) *authv3.CheckRequest {
	h := req.Attributes.Request.Http
	hm := &corev3.HeaderMap{}
	for k, v := range h.Headers {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: k, RawValue: []byte(v)})
	}
	for _, kv := range extra {
		hm.Headers = append(hm.Headers, &corev3.HeaderValue{Key: kv[0], RawValue: []byte(kv[1])})
	}
	h.Headers, h.HeaderMap = nil, hm
	return req
}

// recordingChecker is a stand-in decision for the protocol tests: it records each Input and
// answers with verdict.
type recordingChecker struct {
	mu      sync.Mutex
	inputs  []gateway.Input
	verdict func(gateway.Input) gateway.Verdict
}

func (c *recordingChecker) Check(_ context.Context, in gateway.Input) gateway.Verdict {
	c.mu.Lock()
	c.inputs = append(c.inputs, in)
	c.mu.Unlock()
	return c.verdict(in)
}

func (c *recordingChecker) last(t testing.TB) gateway.Input {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.inputs) == 0 {
		t.Fatal("the checker was not asked")
	}
	return c.inputs[len(c.inputs)-1]
}

// headerOf finds a header of Envoy's HeaderValueOption list (its value and whether it
// overwrites).
func headerOf(opts []*corev3.HeaderValueOption, name string) (string, bool, bool) {
	for _, o := range opts {
		if o.GetHeader().GetKey() == name {
			return o.GetHeader().GetValue(), o.GetAppendAction() == corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD, true
		}
	}
	return "", false, false
}

// httpCheck sends an HTTP-service check as Envoy does: the original method, PathPrefix and the
// original path, the allowed headers.
func httpCheck(t testing.TB, addr, method, path string, hdr http.Header) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+extauthz.PathPrefix+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	return res
}

func (c *recordingChecker) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.inputs)
}
