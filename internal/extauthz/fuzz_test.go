package extauthz_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// FuzzFromCheckRequest feeds arbitrary CheckRequest messages (protobuf wire bytes, as they
// arrive over gRPC) through the mapping and the Check method: no panic, an Input only with a
// request line, and an answer that is either OK or a denial with an HTTP status. Seeds:
// testdata/fuzz/FuzzFromCheckRequest (Envoy's shapes: headers, header_map, pseudo-headers
// only, bodies, TLS, pipes).
func FuzzFromCheckRequest(f *testing.F) {
	for _, req := range []*authv3.CheckRequest{
		envoyRequest("GET", "/demo/pets?limit=2", map[string]string{"authorization": "Bearer abc"}),
		withHeaderMap(envoyRequest("POST", "/demo/pets", nil), [2]string{"x_gatehouse_groups", "a"}),
	} {
		b, err := proto.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	s := extauthz.New(&recordingChecker{verdict: func(in gateway.Input) gateway.Verdict {
		if strings.Contains(in.RawPath, "deny") {
			return gateway.Verdict{Status: 403, Body: []byte(`{"message":"no"}`), Header: http.Header{"Content-Type": {"application/json"}}}
		}
		remove := make([]string, 0, len(in.Header))
		for k := range in.Header {
			remove = append(remove, k)
		}
		return gateway.Verdict{Allow: true, Status: 200, DecisionID: "d", Remove: remove,
			Set: http.Header{"X-Gatehouse-Decision-Id": {"d"}}}
	}})
	f.Fuzz(func(t *testing.T, b []byte) {
		req := &authv3.CheckRequest{}
		if err := proto.Unmarshal(b, req); err != nil {
			return
		}
		in, err := extauthz.FromCheckRequest(req)
		if err == nil {
			if in.Source != gateway.SourceExtAuthz || in.API != "" || strings.Contains(in.RawPath, "?") || in.ContentLength < -1 {
				t.Fatalf("input %+v", in)
			}
			for k := range in.Header {
				if strings.HasPrefix(k, ":") {
					t.Fatalf("pseudo-header %q passed on", k)
				}
			}
		}
		res, err := s.Check(context.Background(), req)
		if err != nil || res == nil || res.GetStatus() == nil {
			t.Fatalf("Check: %v %v", res, err)
		}
		if codes.Code(res.GetStatus().GetCode()) == codes.OK {
			if res.GetOkResponse() == nil {
				t.Fatal("OK without an OkHttpResponse")
			}
			for _, h := range res.GetOkResponse().GetHeadersToRemove() {
				if h == "x-gatehouse-decision-id" || h == "x-forwarded-for" {
					t.Fatalf("removes %s", h)
				}
			}
		} else if st := res.GetDeniedResponse().GetStatus().GetCode(); st < 400 || st > 599 {
			t.Fatalf("denial with status %d", st)
		}
	})
}
