package gateway_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// rotatingIssuer is a Cognito-shaped issuer on 127.0.0.1 whose published key set the test
// changes: it serves /<pool>/.well-known/jwks.json with the keys currently published.
type rotatingIssuer struct {
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey // kid -> key; all sign, only published ones verify
	publish []string
	fetches atomic.Int64
}

func newRotatingIssuer(t testing.TB, kids ...string) *rotatingIssuer {
	t.Helper()
	ri := &rotatingIssuer{keys: map[string]*rsa.PrivateKey{}}
	for _, kid := range kids {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		ri.keys[kid] = k
	}
	ri.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ri.fetches.Add(1)
		ri.mu.Lock()
		var jwks []any
		for _, kid := range ri.publish {
			pub := ri.keys[kid].PublicKey
			jwks = append(jwks, map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
				"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())})
		}
		ri.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": jwks})
	}))
	t.Cleanup(ri.srv.Close)
	return ri
}

func (ri *rotatingIssuer) setPublished(kids ...string) {
	ri.mu.Lock()
	defer ri.mu.Unlock()
	ri.publish = kids
}

// sign mints a token of pool signed by kid's key, whether or not kid is published.
func (ri *rotatingIssuer) sign(t testing.TB, pool, kid string, claims jwt.MapClaims) string {
	t.Helper()
	claims["iss"] = ri.srv.URL + "/" + pool
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(ri.keys[kid])
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// stepClock is the identity registry's clock, moved by the test instead of sleeping.
type stepClock struct{ ns atomic.Int64 }

func (c *stepClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *stepClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestRemovedSigningKeyNotHonouredFromCache is issue 10 item 4: once an issuer drops a key from
// its JWKS and Gatehouse has loaded the new set, a token signed with that key is refused on jwt,
// iam and cedar routes at once, although each route cached a decision for it moments before.
func TestRemovedSigningKeyNotHonouredFromCache(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) { testRemovedSigningKey(t, s) })
}

func testRemovedSigningKey(t *testing.T, st *sqldb.DB) {
	ri := newRotatingIssuer(t, "k1", "k2", "k3")
	ri.setPublished("k1", "k2")
	clk := &stepClock{}
	clk.ns.Store(time.Now().UnixNano())
	tokens := identity.New(identity.WithClock(clk.now))
	t.Cleanup(tokens.Close)
	e := newEnv(t, st, func(d *gateway.Deps, _ *[]gateway.Option) { d.Tokens = tokens })
	e.cognitoURL = ri.srv.URL
	p := newPetStoreIn(t, e, petPool, "petclient") // jwt: GET /demo/pets; cedar: POST /demo/pets
	e.putAPI(t, fmt.Sprintf(`
name: PetApi
stage: dev
upstream: %s
authorizers:
  groups:
    type: iam
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [petclient]}}
    cacheTtl: 3600s
routes:
  - {route: "ANY /{api+}", authorizer: groups}
`, e.up.srv.URL, poolARN(petPool)))
	if _, err := e.apis.PutGroupPolicy(context.Background(), "PetApi", "employees", []byte(vetPolicy(""))); err != nil {
		t.Fatal(err)
	}

	mint := func(kid string) string {
		return ri.sign(t, petPool, kid, e.idp.claims(employee, "access", time.Now().Add(time.Hour)))
	}
	old, fresh := mint("k1"), mint("k2")
	routes := []struct {
		name, method, path string
		denied             int
		body               string
	}{
		{"jwt", "GET", "/demo/pets", 401, bodyUnauthorized},
		{"cedar", "POST", "/demo/pets", 403, bodyExplicitDeny},
		{"iam", "GET", "/dev/petstore/v1/pets", 403, bodyImplicitDeny},
	}
	for _, rt := range routes {
		p.do(t, rt.method, rt.path, old).want(t, rt.name+" k1 token while k1 is published", 200, "")
		p.do(t, rt.method, rt.path, old).want(t, rt.name+" k1 token again (cached)", 200, "")
	}

	// The issuer drops k1; a k2 token after the refetch interval makes Gatehouse load the new set.
	ri.setPublished("k2")
	clk.advance(time.Minute)
	before := ri.fetches.Load()
	trigger := mint("k3") // an unknown kid forces the refetch
	p.do(t, "GET", "/demo/pets", trigger).want(t, "unknown kid", 401, bodyUnauthorized)
	if ri.fetches.Load() == before {
		t.Fatal("the new key set was not fetched")
	}

	for _, rt := range routes {
		p.do(t, rt.method, rt.path, old).want(t, rt.name+" k1 token after k1 was removed", rt.denied, rt.body)
		p.do(t, rt.method, rt.path, fresh).want(t, rt.name+" k2 token", 200, "")
	}
}

// TestCachedDecisionsFollowIdentitySources covers the siblings of issue 10 item 4 that change
// which issuers a route trusts rather than their keys: an identity source removed from a policy
// store (cedar) or an authorizer's identity source pointed at another client (jwt) is enforced
// on the next request, although each route cached a decision for the token.
func TestCachedDecisionsFollowIdentitySources(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		p := newPetStore(t, s)
		ctx := context.Background()
		tok := p.idp.access(t, employee)
		p.do(t, "POST", "/demo/pets", tok).want(t, "cedar before", 200, "")
		p.do(t, "POST", "/demo/pets", tok).want(t, "cedar before (cached)", 200, "")
		p.do(t, "GET", "/demo/pets", tok).want(t, "jwt before", 200, "")
		p.do(t, "GET", "/demo/pets", tok).want(t, "jwt before (cached)", 200, "")

		srcs, _, err := p.ps.ListIdentitySources(ctx, p.storeID, "", 10)
		if err != nil || len(srcs) != 1 {
			t.Fatalf("identity sources: %v %d", err, len(srcs))
		}
		if err := p.ps.DeleteIdentitySource(ctx, p.storeID, srcs[0].ID); err != nil {
			t.Fatal(err)
		}
		if r := p.do(t, "POST", "/demo/pets", tok); r.status == 200 {
			t.Errorf("cedar after the store's identity source was deleted: %d %s", r.status, r.body)
		}

		p.putAPI(t, petStoreAPIFor(p.storeID, p.up.srv.URL, "GET /pets", petPool, "otherclient"))
		p.do(t, "GET", "/demo/pets", tok).want(t, "jwt after the authorizer trusts another client", 401, bodyUnauthorized)
	})
}

// TestUnpublishedKeyAcceptedWithinFiveSeconds is issue 12 item 7 through the gateway: the issuer
// switches to a key it never pre-published just after Gatehouse fetched its keys; tokens signed
// with it are refused for less than the 5 s refetch interval, then pass on jwt, iam and cedar
// routes, with one JWKS fetch for the whole burst.
func TestUnpublishedKeyAcceptedWithinFiveSeconds(t *testing.T) {
	ri := newRotatingIssuer(t, "k1", "k2")
	ri.setPublished("k1")
	clk := &stepClock{}
	clk.ns.Store(time.Now().UnixNano())
	tokens := identity.New(identity.WithClock(clk.now))
	t.Cleanup(tokens.Close)
	e := newEnv(t, storetest.Open(t, "sqlite"), func(d *gateway.Deps, _ *[]gateway.Option) { d.Tokens = tokens })
	e.cognitoURL = ri.srv.URL
	p := newPetStoreIn(t, e, petPool, "petclient")
	e.putAPI(t, fmt.Sprintf(`
name: PetApi
stage: dev
upstream: %s
authorizers:
  groups:
    type: iam
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [petclient]}}
routes:
  - {route: "ANY /{api+}", authorizer: groups}
`, e.up.srv.URL, poolARN(petPool)))
	if _, err := e.apis.PutGroupPolicy(context.Background(), "PetApi", "employees", []byte(vetPolicy(""))); err != nil {
		t.Fatal(err)
	}
	mint := func(kid string) string {
		return ri.sign(t, petPool, kid, e.idp.claims(employee, "access", time.Now().Add(time.Hour)))
	}
	p.do(t, "GET", "/demo/pets", mint("k1")).want(t, "k1", 200, "")

	ri.setPublished("k2")
	clk.advance(time.Second)
	fresh := mint("k2")
	p.do(t, "GET", "/demo/pets", fresh).want(t, "k2 one second after the fetch", 401, bodyUnauthorized)
	fetches := ri.fetches.Load()
	clk.advance(4 * time.Second)
	for _, rt := range []struct{ name, method, path string }{
		{"jwt", "GET", "/demo/pets"}, {"cedar", "POST", "/demo/pets"}, {"iam", "GET", "/dev/petstore/v1/pets"},
	} {
		p.do(t, rt.method, rt.path, fresh).want(t, rt.name+" k2 five seconds after the fetch", 200, "")
	}
	if n := ri.fetches.Load() - fetches; n != 1 {
		t.Fatalf("%d JWKS fetches for the new key, want 1", n)
	}
}
