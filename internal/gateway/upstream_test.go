package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// The upstream's own base path prefixes the canonical path under the API's base path; the
// query passes through unchanged.
func TestUpstreamBasePathAndQuery(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Prefixed
stage: v1
upstream: %s/backend/api
routes:
  - {route: "GET /items/{id}", authorizer: none}
  - {route: "GET /", authorizer: none}
`, e.up.srv.URL))
	e.raw(t, "GET /v1/items/a%7eb?x=1&y=%2F&x=2 HTTP/1.1").want(t, "item", 200, "")
	s := e.up.last(t)
	if s.Path != "/backend/api/items/a~b" || s.Query != "x=1&y=%2F&x=2" {
		t.Fatalf("upstream saw %s ? %s", s.Path, s.Query)
	}
	e.do(t, "GET", "/v1", "").want(t, "root", 200, "")
	if s := e.up.last(t); s.Path != "/backend/api/" {
		t.Fatalf("root went to %s", s.Path)
	}
}

// X-Forwarded-For from a trusted proxy gives the client address (used by IAM conditions) and
// is extended, not replaced; from anyone else it is dropped (TestHeaderSpoofing).
func TestTrustedProxies(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"), func(d *gateway.Deps, _ *[]gateway.Option) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	})
	e.putAPI(t, fmt.Sprintf(`
name: PetApi
stage: dev
upstream: %s
authorizers:
  groups:
    type: iam
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [vetclient]}}
routes:
  - {route: "ANY /{api+}", authorizer: groups}
`, e.up.srv.URL, poolARN(vetPool)))
	if _, err := e.apis.PutGroupPolicy(context.Background(), "PetApi", "pet-veterinarian",
		[]byte(vetPolicy(`,"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]},"Bool":{"aws:SecureTransport":"true"}}`))); err != nil {
		t.Fatal(err)
	}
	tok := e.idp.access(t, vet)
	e.do(t, "GET", "/dev/petstore/v1/pets", tok, "X-Forwarded-For", "203.0.113.9", "X-Forwarded-Proto", "https",
		"X-Forwarded-Host", "api.example").want(t, "client inside the CIDR via a trusted proxy", 200, "")
	s := e.up.last(t)
	if xff := s.Headers["X-Forwarded-For"]; len(xff) != 1 || xff[0] != "203.0.113.9, 127.0.0.1" {
		t.Fatalf("X-Forwarded-For %v", xff)
	}
	if s.Headers["X-Forwarded-Host"][0] != "api.example" || s.Headers["X-Forwarded-Proto"][0] != "https" {
		t.Fatalf("forwarded headers %v", s.Headers)
	}
	e.do(t, "GET", "/dev/petstore/v1/pets", tok, "X-Forwarded-For", "198.51.100.1", "X-Forwarded-Proto", "https").
		want(t, "client outside the CIDR", 403, bodyImplicitDeny)
	e.do(t, "GET", "/dev/petstore/v1/pets", tok, "X-Forwarded-For", "203.0.113.9").
		want(t, "not over TLS", 403, bodyImplicitDeny)
	// A forged entry left of the real client does not help: the right-most untrusted one counts.
	e.do(t, "GET", "/dev/petstore/v1/pets", tok, "X-Forwarded-For", "203.0.113.9, 198.51.100.1", "X-Forwarded-Proto", "https").
		want(t, "forged left-most entry", 403, bodyImplicitDeny)
}

func TestUpstreamTimeoutStreamingAndCancel(t *testing.T) {
	release := make(chan struct{})
	canceled := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: one\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
				canceled <- struct{}{}
				return
			}
			fmt.Fprint(w, "data: two\n\n")
		}
	}))
	t.Cleanup(up.Close)
	t.Cleanup(func() { close(release) })
	e := newEnv(t, storetest.Open(t, "sqlite"), func(_ *gateway.Deps, o *[]gateway.Option) {
		*o = append(*o, gateway.WithUpstreamTimeouts(time.Second, 300*time.Millisecond))
	})
	e.putAPI(t, fmt.Sprintf(`
name: Slow
basePath: /
upstream: %s
routes:
  - {route: "GET /slow", authorizer: none}
  - {route: "GET /stream", authorizer: none}
`, up.URL))
	e.do(t, "GET", "/slow", "").want(t, "upstream too slow", 504, `{"message":"Endpoint request timed out"}`)

	// Streaming: the first event arrives while the upstream is still holding the response,
	// and cancelling the client cancels the upstream request.
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/stream", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event %q %v", line, err)
	}
	cancel()
	res.Body.Close()
	select {
	case <-canceled: // the upstream saw the client's cancellation
	case <-time.After(time.Minute): // a safety net against a hang, not a timing assertion
		t.Fatal("the upstream request was not cancelled with the client's")
	}
}

// A policy store that no longer exists is an authorizer failure: 500 {"message": null}.
func TestPolicyStoreGone(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	if err := p.ps.DeletePolicyStore(context.Background(), p.storeID); err != nil {
		t.Fatal(err)
	}
	p.do(t, "POST", "/demo/pets", p.idp.access(t, employee)).want(t, "policy store deleted", 500, bodyNull)
	if !strings.Contains(p.logs.String(), `"reason":"policy_store_unavailable"`) {
		t.Fatal("reason not logged")
	}
}

// A stored API that does not compile (written behind the service's back) is disabled alone:
// its paths find no route, and every other API keeps being served and updated.
func TestBrokenAPIIsDisabledAlone(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	cust := p.idp.access(t, customer)
	p.do(t, "GET", "/demo/pets", cust).want(t, "before", 200, "")
	bad := apidef.Definition{Name: "Broken", BasePath: "/x", Upstream: p.up.srv.URL,
		Routes: []apidef.Route{{Route: "GET /{a+}/b", Authorizer: "none"}}}
	data, _ := json.Marshal(bad)
	err := p.st.Update(context.Background(), func(tx store.Tx) error {
		return tx.Put(context.Background(), store.Object{Scope: apidef.Scope, Kind: apidef.KindAPI, ID: "brokenapi1", Name: "Broken", Data: data})
	})
	if err != nil {
		t.Fatal(err)
	}
	p.do(t, "GET", "/x/a/b", "").want(t, "broken API", 403, bodyMissingToken)
	p.do(t, "GET", "/demo/pets", cust).want(t, "other API after a broken write", 200, "")
	p.putAPI(t, petStoreAPI(p.storeID, p.up.srv.URL, "GET /pets/list"))
	p.do(t, "GET", "/demo/pets", cust).want(t, "other API still updated", 403, bodyMissingToken)
	if !strings.Contains(p.logs.String(), "its routes are disabled") {
		t.Fatalf("compile failure not logged:\n%s", p.logs.String())
	}
}
