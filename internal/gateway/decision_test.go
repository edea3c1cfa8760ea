package gateway_test

import (
	"context"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Every decision reaches Deps.OnDecision with the facts an audit record and the metrics need,
// and never the token itself.
func TestOnDecision(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []gateway.Decision
	)
	e := newEnv(t, storetest.Open(t, "sqlite"), func(d *gateway.Deps, _ *[]gateway.Option) {
		d.OnDecision = func(_ context.Context, d gateway.Decision) {
			mu.Lock()
			seen = append(seen, d)
			mu.Unlock()
		}
	})
	p := newPetStoreIn(t, e, petPool, "petclient")
	fa := httptest.NewServer(p.gw.ForwardAuthHandler())
	t.Cleanup(fa.Close)
	emp, cust := p.idp.access(t, employee), p.idp.access(t, customer)
	last := func() gateway.Decision {
		mu.Lock()
		defer mu.Unlock()
		return seen[len(seen)-1]
	}
	r := p.do(t, "POST", "/demo/pets", emp)
	d := last()
	if !d.Allowed || d.ID != r.header.Get("X-Gatehouse-Decision-Id") || d.Source != gateway.SourceGateway || d.API != "PetStore" ||
		d.Route != "POST /pets" || d.AuthorizerType != "cedar" || d.Authorizer != "avp" || d.Path != "/demo/pets" ||
		d.PolicyStoreID != p.storeID || d.Revision == 0 || !slices.Contains(d.DeterminingPolicies, p.employeePolicy) ||
		d.Principal != petPool+"|sub-employee" || d.TokenHash != audit.TokenHash(emp) || d.Cached || d.Status != 0 || d.ClientIP != "127.0.0.1" {
		t.Fatalf("allowed decision %+v", d)
	}
	p.do(t, "POST", "/demo/pets", emp)
	if d := last(); !d.Cached || !d.Allowed {
		t.Fatalf("repeat decision %+v", d)
	}
	p.do(t, "POST", "/demo/pets", cust)
	if d := last(); d.Allowed || d.Status != 403 || d.Reason != "policy_deny" || d.TokenHash != audit.TokenHash(cust) {
		t.Fatalf("denied decision %+v", d)
	}
	p.do(t, "GET", "/demo/nowhere", "")
	if d := last(); d.Allowed || d.Status != 403 || d.Reason != "no_route" || d.API != "PetStore" || d.Route != "" {
		t.Fatalf("no-route decision %+v", d)
	}
	p.raw(t, "GET /demo/../etc HTTP/1.1")
	if d := last(); d.Allowed || d.Status != 400 || d.Reason != "bad_path" || d.Path != "" {
		t.Fatalf("bad-path decision %+v", d)
	}
	doURL(t, fa.URL, "GET", "/apis/PetStore", cust, "X-Original-Method", "GET", "X-Original-URI", "/demo/pets", "X-Real-IP", "203.0.113.5")
	if d := last(); !d.Allowed || d.Source != gateway.SourceForwardAuth || d.ClientIP != "203.0.113.5" || d.AuthorizerType != "jwt" || d.Method != "GET" {
		t.Fatalf("forward-auth decision %+v", d)
	}
	mu.Lock()
	n := len(seen)
	mu.Unlock()
	if n != 6 {
		t.Fatalf("%d decisions for 6 requests", n)
	}
}
