package frontdoortest_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// BenchmarkFrontDoors is one allowed, cached cedar decision — article 000's owner on the mock
// route GET /demo/admin/curltest1, so no upstream is called — through each front door, in one
// run so the ratios to the proxy path are comparable. The network doors are real loopback
// listeners with keep-alive clients (a real gRPC client for ext_authz gRPC); the Lambda doors
// are the handler's Invoke (event JSON in, answer JSON out), without the Runtime API's HTTP
// hop; "check" is gateway.Check in process, the decision alone.
//
//	go test -run XXX -bench FrontDoors -benchmem -count 5 ./internal/frontdoortest/
func BenchmarkFrontDoors(b *testing.B) {
	iss := identitytest.New(b)
	s := scenarios(b, iss, upstreamFor(b))[0]
	var owner row
	for _, r := range s.rows {
		if r.name == "admin owner" {
			owner = r
		}
	}
	core := coreOn(b, storetest.Open(b, "sqlite"), iss, s)
	d := openDoors(b, core.Gateway)
	lambda := lambdaauth.New(lambdaCore(b, iss, s).Gateway, lambdaauth.Options{Logger: slog.New(slog.DiscardHandler)})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(b *testing.B, url string, hdr ...string) {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+owner.token)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", url, res.StatusCode)
		}
	}
	native := nativeGRPC(b, core.Gateway)
	ctx := context.Background()
	reqEv, tokEv := requestEvent(s.stage, owner), tokenEvent(s.stage, owner)
	in := gateway.Input{Source: gateway.SourceExtAuthz, Method: owner.method, RawPath: owner.path,
		Header: http.Header{"Authorization": {"Bearer " + owner.token}}, Peer: netip.MustParseAddr("127.0.0.1"), ContentLength: -1}
	for _, door := range []struct {
		name string
		do   func(b *testing.B)
	}{
		{"proxy", func(b *testing.B) { get(b, d.proxy+owner.path) }},
		{"forward-auth", func(b *testing.B) {
			get(b, d.forwardAuth+"/apis/PetStore", "X-Original-Method", owner.method, "X-Original-URI", owner.path)
		}},
		{"ext_authz-grpc", func(b *testing.B) {
			if a := viaExtAuthzGRPC(b, d, owner); !a.allow {
				b.Fatalf("%+v", a)
			}
		}},
		{"ext_authz-http", func(b *testing.B) { get(b, d.extAuthz+extauthz.PathPrefix+owner.path) }},
		// The same service on grpc-go's own transport rather than net/http's (the listener
		// serves gRPC through grpc.Server.ServeHTTP to share a port with the HTTP mode): the
		// difference is the cost of that choice.
		{"ext_authz-grpc-native", func(b *testing.B) {
			if a := viaExtAuthzGRPC(b, native, owner); !a.allow {
				b.Fatalf("%+v", a)
			}
		}},
		{"lambda-request", func(b *testing.B) {
			if out, err := lambda.Invoke(ctx, reqEv); err != nil || !strings.Contains(string(out), `"Allow"`) {
				b.Fatalf("%s %v", out, err)
			}
		}},
		{"lambda-token", func(b *testing.B) {
			if out, err := lambda.Invoke(ctx, tokEv); err != nil || !strings.Contains(string(out), `"Allow"`) {
				b.Fatalf("%s %v", out, err)
			}
		}},
		{"check", func(b *testing.B) {
			if v := core.Gateway.Check(ctx, in); !v.Allow {
				b.Fatalf("%+v", v)
			}
		}},
	} {
		b.Run(door.name, func(b *testing.B) {
			door.do(b) // the first decision fills the caches
			b.ReportAllocs()
			for b.Loop() {
				door.do(b)
			}
		})
	}
}

// nativeGRPC serves the ext_authz service of gw on grpc-go's transport on a loopback port.
func nativeGRPC(b *testing.B, gw *gateway.Gateway) doors {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	gs := grpc.NewServer()
	authv3.RegisterAuthorizationServer(gs, extauthz.New(gw))
	go func() { _ = gs.Serve(ln) }()
	b.Cleanup(gs.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	return doors{grpc: authv3.NewAuthorizationClient(conn)}
}
