package identity_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/golang-jwt/jwt/v5"
)

var t0 = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// fakeClock is an injectable clock; tests move it instead of sleeping.
type fakeClock struct{ ns atomic.Int64 }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t0.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// Keys are expensive to generate; tests share a few.
var (
	keysOnce            sync.Once
	rsaA, rsaB, rsaWeak *rsa.PrivateKey
	ecA, ecB            *ecdsa.PrivateKey
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		must := func(e error) {
			if e != nil && err == nil {
				err = e
			}
		}
		var e error
		rsaA, e = rsa.GenerateKey(rand.Reader, 2048)
		must(e)
		rsaB, e = rsa.GenerateKey(rand.Reader, 2048)
		must(e)
		rsaWeak, e = rsa.GenerateKey(rand.Reader, 1024)
		must(e)
		ecA, e = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(e)
		ecB, e = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(e)
		if err != nil {
			panic(err)
		}
	})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid, alg string, pub *rsa.PublicKey) map[string]any {
	m := map[string]any{"kty": "RSA", "kid": kid, "use": "sig",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

func ecJWK(kid string, pub *ecdsa.PublicKey) map[string]any {
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	return map[string]any{"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256", "alg": "ES256", "x": b64(x), "y": b64(y)}
}

func jwksJSON(keys ...map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"keys": keys})
	return b
}

// idp is a JWKS (and discovery) server on 127.0.0.1 that counts hits and can misbehave.
type idp struct {
	srv       *httptest.Server
	mu        sync.Mutex
	jwks      []byte
	status    int           // non-200 to fail
	body      []byte        // raw body override (garbage, huge)
	block     chan struct{} // non-nil: hang until closed or the client gives up
	jwksHits  atomic.Int64
	discoHits atomic.Int64
	discoIss  string // issuer to claim in discovery; default the real one
	cacheCtl  string // Cache-Control of JWKS responses
}

const poolID = "us-east-1_TestPool"

func newIdP(t testing.TB, jwks []byte) *idp {
	t.Helper()
	// max-age=1 is below the floor: it must not make the registry fetch more often.
	p := &idp{jwks: jwks, status: http.StatusOK, cacheCtl: "max-age=1"}
	mux := http.NewServeMux()
	serveJWKS := func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		status, body, jwks, block, cacheCtl := p.status, p.body, p.jwks, p.block, p.cacheCtl
		p.mu.Unlock()
		if block != nil {
			select {
			case <-block:
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Cache-Control", cacheCtl)
		if status != http.StatusOK {
			http.Error(w, "down", status)
			return
		}
		if body != nil {
			w.Write(body)
			return
		}
		w.Write(jwks)
	}
	mux.HandleFunc("/"+poolID+"/.well-known/jwks.json", serveJWKS)
	mux.HandleFunc("/oidc/jwks", serveJWKS)
	mux.HandleFunc("/oidc/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.discoHits.Add(1)
		p.mu.Lock()
		iss := p.discoIss
		p.mu.Unlock()
		if iss == "" {
			iss = p.oidcIssuer()
		}
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": p.srv.URL + "/oidc/jwks"})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(func() {
		p.mu.Lock()
		if p.block != nil {
			select {
			case <-p.block:
			default:
				close(p.block)
			}
		}
		p.mu.Unlock()
		p.srv.Close()
	})
	return p
}

func (p *idp) cognitoIssuer() string { return p.srv.URL + "/" + poolID }
func (p *idp) oidcIssuer() string    { return p.srv.URL + "/oidc" }

func (p *idp) set(f func(p *idp)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func (p *idp) cognitoSource(t testing.TB, clientIDs ...string) *identity.Source {
	t.Helper()
	s := &identity.Source{ID: "cognito", Kind: identity.KindCognito, Issuer: p.cognitoIssuer(),
		ClientIDs: clientIDs, PrincipalEntityType: "App::User", GroupEntityType: "App::Group"}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func (p *idp) oidcSource(t testing.TB, sel identity.TokenSelection, ids []string, groupClaim string) *identity.Source {
	t.Helper()
	s := &identity.Source{ID: "oidc", Kind: identity.KindOIDC, Issuer: p.oidcIssuer(), TokenSelection: sel,
		PrincipalEntityType: "App::User"}
	if sel == identity.AccessTokenOnly {
		s.Audiences = ids
	} else {
		s.ClientIDs = ids
	}
	if groupClaim != "" {
		s.GroupClaim, s.GroupEntityType = groupClaim, "App::Group"
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// mintRaw signs headerJSON.payloadJSON exactly as given, so tests can forge duplicate keys and
// odd types. alg selects the golang-jwt signer; key is the private key (or []byte for HMAC).
func mintRaw(t testing.TB, headerJSON, payloadJSON, alg string, key crypto.PrivateKey) string {
	t.Helper()
	si := b64([]byte(headerJSON)) + "." + b64([]byte(payloadJSON))
	sig, err := jwt.GetSigningMethod(alg).Sign(si, key)
	if err != nil {
		t.Fatalf("sign %s: %v", alg, err)
	}
	return si + "." + b64(sig)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// claims is a Cognito-like claim set valid at clock time now.
func cognitoAccess(iss string, now time.Time) map[string]any {
	return map[string]any{
		"sub": "user-1", "iss": iss, "client_id": "client-1", "token_use": "access",
		"scope": "openid pets/read pets/write", "auth_time": now.Unix(), "iat": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "jti": "jti-1", "username": "alice",
		"cognito:groups": []string{"admins", "readers"}, "origin_jti": "o-1", "event_id": "e-1",
	}
}

func cognitoID(iss string, now time.Time) map[string]any {
	return map[string]any{
		"sub": "user-1", "iss": iss, "aud": "client-1", "token_use": "id",
		"cognito:username": "alice", "email": "alice@example.com", "email_verified": true,
		"custom:costCenter": "cc-42", "custom:level": json.Number("7"),
		"auth_time": now.Unix(), "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"cognito:groups": []string{"admins"}, "address": map[string]any{"country": "NZ"},
	}
}

func mint(t testing.TB, kid, alg string, key crypto.PrivateKey, claims map[string]any) string {
	t.Helper()
	h := map[string]any{"alg": alg}
	if kid != "" {
		h["kid"] = kid
	}
	return mintRaw(t, mustJSON(h), mustJSON(claims), alg, key)
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1]
	}
	return out
}

func newRegistry(t testing.TB, clk *fakeClock, opts ...identity.Option) *identity.Registry {
	t.Helper()
	r := identity.New(append([]identity.Option{identity.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(r.Close)
	return r
}
