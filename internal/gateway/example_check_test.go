package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/store/memstore"
)

// A front door hands Check the request as it received it and carries the verdict out in its
// own protocol: on allow, set Verdict.Set and drop Verdict.Remove on the upstream request; on
// deny, answer Verdict.Status, Verdict.Header and Verdict.Body.
func ExampleGateway_Check() {
	ctx := context.Background()
	st := memstore.New()
	d, err := apidef.Parse([]byte(`
name: Shop
stage: prod
upstream: http://shop.internal:8080
routes:
  - {route: "GET /health", authorizer: none}
`))
	if err != nil {
		panic(err)
	}
	if _, err := apidef.NewService(st).Put(ctx, d); err != nil {
		panic(err)
	}
	gw := gateway.New(gateway.Deps{Store: st})

	h := http.Header{"X-Gatehouse-Principal": {"forged"}}
	v := gw.Check(ctx, gateway.Input{Source: gateway.SourceExtAuthz, Method: "GET", RawPath: "/prod/health",
		Header: h, Peer: netip.MustParseAddr("192.0.2.10"), ContentLength: -1})
	fmt.Println(v.Allow, v.Status, v.APIName, v.RouteKey, v.Remove, v.Set.Get(gateway.HeaderDecisionID) == v.DecisionID)

	v = gw.Check(ctx, gateway.Input{Source: gateway.SourceExtAuthz, Method: "POST", RawPath: "/prod/health",
		Header: http.Header{}, ContentLength: -1})
	fmt.Println(v.Allow, v.Status, string(v.Body), v.Reason)

	v = gw.Check(ctx, gateway.Input{Source: gateway.SourceExtAuthz, Method: "GET", RawPath: "/prod/%2e%2e/admin",
		Header: http.Header{}, ContentLength: -1})
	fmt.Println(v.Allow, v.Status, string(v.Body), v.Reason)
	// Output:
	// true 200 Shop GET /health [X-Gatehouse-Principal] true
	// false 403 {"message":"Missing Authentication Token"} no_route
	// false 400 {"message":"Invalid request path"} bad_path
}
