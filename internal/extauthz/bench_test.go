package extauthz_test

import (
	"context"
	"io"
	"net/http"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// BenchmarkExtAuthzCheck compares one decision through each way into a real node (PetStore,
// the jwt route GET /demo/pets with a customer's token, decision cached after the first):
// gateway.Check called directly, the gRPC service over loopback (one shared HTTP/2
// connection, as Envoy keeps), the HTTP service over loopback (keep-alive), and the proxy path
// with its upstream; the -parallel variants run GOMAXPROCS callers at once (Envoy multiplexes
// its workers' checks on one connection). Run: go test -run x -bench ExtAuthzCheck -benchmem ./internal/extauthz/
func BenchmarkExtAuthzCheck(b *testing.B) {
	p := startPetStore(b, "sqlite", nil)
	addr := p.node.Addr("ext-authz")
	auth := "Bearer " + p.tokens["carol"]
	ctx := context.Background()

	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			in := gateway.Input{Source: gateway.SourceExtAuthz, Method: "GET", RawPath: "/demo/pets", ContentLength: -1,
				Header: http.Header{"Authorization": {auth}}}
			if v := p.node.Gateway.Check(ctx, in); !v.Allow {
				b.Fatalf("denied: %d %s", v.Status, v.Body)
			}
		}
	})
	b.Run("grpc", func(b *testing.B) {
		client := grpcClient(b, addr, nil)
		req := envoyRequest("GET", "/demo/pets", map[string]string{"authorization": auth})
		b.ReportAllocs()
		for b.Loop() {
			res, err := client.Check(ctx, req)
			if err != nil || codes.Code(res.GetStatus().GetCode()) != codes.OK {
				b.Fatalf("%v %v", res, err)
			}
		}
	})
	b.Run("grpc-parallel", func(b *testing.B) {
		client := grpcClient(b, addr, nil)
		req := envoyRequest("GET", "/demo/pets", map[string]string{"authorization": auth})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				res, err := client.Check(ctx, req)
				if err != nil || codes.Code(res.GetStatus().GetCode()) != codes.OK {
					b.Errorf("%v %v", res, err)
					return
				}
			}
		})
	})
	b.Run("http-service", func(b *testing.B) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest("GET", "http://"+addr+extauthz.PathPrefix+"/demo/pets", nil)
			req.Header.Set("Authorization", auth)
			res, err := c.Do(req)
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("%v %v", res, err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
	b.Run("proxy-parallel", func(b *testing.B) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", "http://"+p.node.Addr("gateway")+"/demo/pets", nil)
				req.Header.Set("Authorization", auth)
				res, err := c.Do(req)
				if err != nil || res.StatusCode != 200 {
					b.Errorf("%v %v", res, err)
					return
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	})
	b.Run("proxy", func(b *testing.B) {
		c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		b.ReportAllocs()
		for b.Loop() {
			req, _ := http.NewRequest("GET", "http://"+p.node.Addr("gateway")+"/demo/pets", nil)
			req.Header.Set("Authorization", auth)
			res, err := c.Do(req)
			if err != nil || res.StatusCode != 200 {
				b.Fatalf("%v %v", res, err)
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	})
}
