package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestCacheMemoryMeasurement feeds GATEHOUSE_MEASURE_TOKENS distinct valid tokens through one
// jwt route (each token is validated, cached by the identity registry and by the decision
// cache) and reports the live heap growth. It is a measurement, skipped unless asked for:
//
//	GATEHOUSE_MEASURE_TOKENS=200000 go test ./internal/gateway/ -run TestCacheMemoryMeasurement -count=1 -v
//
// With the default cache budget (64 MiB) the growth must stay near the budget whatever the token
// count; before the caches were weighed by bytes, 200k tokens grew the heap by 130 MiB.
func TestCacheMemoryMeasurement(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("GATEHOUSE_MEASURE_TOKENS"))
	if n <= 0 {
		t.Skip("set GATEHOUSE_MEASURE_TOKENS to measure")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]byte, 32), make([]byte, 32)
	key.X.FillBytes(x)
	key.Y.FillBytes(y)
	jwks, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{"kty": "EC", "kid": "ec1", "use": "sig",
		"crv": "P-256", "alg": "ES256", "x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y)}}})
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(jwks) }))
	t.Cleanup(issuer.Close)

	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.cognitoURL = issuer.URL
	e.putAPI(t, fmt.Sprintf(`
name: Mem
stage: m
upstream: %s
authorizers:
  cognito:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [memclient]}}
    cacheTtl: 3600s
routes:
  - {route: "GET /", authorizer: cognito, scopes: [mem/api], mock: {status: 200, body: '{}'}}
identityHeaders: {claims: [username, scope]}
`, e.up.srv.URL, poolARN(petPool)))
	h := e.gw.Handler()
	u := user{pool: petPool, client: "memclient", username: "user", groups: []string{"readers", "writers"}, scopes: []string{"mem/api"}}
	exp := time.Now().Add(time.Hour)
	mint := func(i int) string {
		u.sub, u.username = fmt.Sprintf("%08d-1111-2222-3333-444444444444", i), fmt.Sprintf("user%d", i)
		cl := e.idp.claims(u, "access", exp)
		cl["iss"] = issuer.URL + "/" + petPool
		tok := jwt.NewWithClaims(jwt.SigningMethodES256, cl)
		tok.Header["kid"] = "ec1"
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	serve := func(tok string) int {
		req := httptest.NewRequest("GET", "/m/", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if c := serve(mint(-1)); c != 200 {
		t.Fatalf("status %d", c)
	}
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.GC()
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	var tokLen int
	for i := range n {
		tok := mint(i)
		tokLen += len(tok)
		if c := serve(tok); c != 200 {
			t.Fatalf("token %d: status %d", i, c)
		}
	}
	after := heap()
	growth := float64(after) - float64(before)
	t.Logf("%d distinct tokens (mean %d bytes): live heap %.1f MiB -> %.1f MiB, growth %.1f MiB (%.0f bytes/token)",
		n, tokLen/n, float64(before)/(1<<20), float64(after)/(1<<20), growth/(1<<20), growth/float64(n))
	// The default cacheMemory (64 MiB) bounds both caches; allow for estimate error and otter's
	// own structures.
	if limit := 1.25 * 64 * (1 << 20); growth > limit {
		t.Errorf("heap grew %.1f MiB, above %.0f MiB", growth/(1<<20), limit/(1<<20))
	}
	runtime.KeepAlive(e)
}
