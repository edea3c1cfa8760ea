// Package identitytest is the one fake token issuer of Gatehouse's tests: a real HTTP server on
// 127.0.0.1 serving OIDC discovery and a JWKS, and real RS256 tokens shaped like Cognito's.
//
// Every path prefix is an issuer of its own, so one server stands in for any number of Cognito
// user pools (issuer <URL>/<poolId>, the shape identity derives from a pool ARN when given
// URL as its Cognito endpoint) or OIDC providers (issuer <URL>/<name>, found by discovery).
// All issuers of one server sign with the same key; tests that need issuers with distinct
// keys start one server each.
//
// Invariants: the server answers only <issuer>/.well-known/openid-configuration and
// <issuer>/.well-known/jwks.json (404 otherwise); the discovery document names the issuer
// exactly as tokens carry it in iss; minted tokens carry the key id the JWKS publishes.
package identitytest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// KeyID is the kid of the key every Issuer signs with.
const KeyID = "test-kid-1"

// sharedKey is generated once per test binary: a 2048-bit RSA key costs tens of milliseconds
// on a busy machine, and no test needs its issuers' keys to differ between test functions.
var sharedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// Issuer is a running fake issuer.
type Issuer struct {
	srv         *httptest.Server
	key         *rsa.PrivateKey
	jwksFetches atomic.Int64
}

// New starts an issuer that lives until the test ends.
func New(tb testing.TB) *Issuer {
	tb.Helper()
	i := &Issuer{key: sharedKey()}
	jwks := jwksOf(&i.key.PublicKey, KeyID)
	i.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if prefix, ok := strings.CutSuffix(r.URL.Path, "/.well-known/openid-configuration"); ok {
			iss := "http://" + r.Host + prefix
			_ = json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": iss + "/.well-known/jwks.json"})
			return
		}
		if !strings.HasSuffix(r.URL.Path, "/.well-known/jwks.json") {
			http.NotFound(w, r)
			return
		}
		i.jwksFetches.Add(1)
		_, _ = w.Write(jwks)
	}))
	tb.Cleanup(i.srv.Close)
	return i
}

// jwksOf is the JSON Web Key Set publishing pub under kid for RS256.
func jwksOf(pub *rsa.PublicKey, kid string) []byte {
	b, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return b
}

// URL is the server's base URL: the Cognito endpoint under which every pool id is an issuer.
func (i *Issuer) URL() string { return i.srv.URL }

// Issuer is the issuer named pool (a Cognito pool id or any OIDC provider name).
func (i *Issuer) Issuer(pool string) string { return i.srv.URL + "/" + pool }

// JWKSFetches counts the JWKS documents served so far, over all issuers.
func (i *Issuer) JWKSFetches() int64 { return i.jwksFetches.Load() }

// PoolARN is the ARN of a Cognito user pool in us-east-1.
func PoolARN(pool string) string {
	return "arn:aws:cognito-idp:us-east-1:123456789012:userpool/" + pool
}

// User is a user of an issuer.
type User struct {
	Pool, Client, Sub, Username string
	Groups                      []string       // cognito:groups
	Scopes                      []string       // access tokens' scope, after aws.cognito.signin.user.admin
	Extra                       map[string]any // claims added last (they replace the standard ones)
}

// Sign signs claims with the issuer's key and KeyID.
func (i *Issuer) Sign(tb testing.TB, claims jwt.Claims) string {
	tb.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = KeyID
	s, err := tok.SignedString(i.key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// SignRaw signs the given header and payload JSON byte for byte (with the issuer's key; the
// header should name RS256 and KeyID), for tokens no JSON encoder would produce: invalid UTF-8,
// lone surrogate escapes, duplicate keys.
func (i *Issuer) SignRaw(tb testing.TB, header, payload string) string {
	tb.Helper()
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodRS256.Sign(in, i.key)
	if err != nil {
		tb.Fatal(err)
	}
	return in + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Claims are the claims Cognito puts in u's token of use ("access" or "id") expiring at exp.
func (i *Issuer) Claims(u User, use string, exp time.Time) jwt.MapClaims {
	now := time.Now()
	m := jwt.MapClaims{
		"sub": u.Sub, "iss": i.Issuer(u.Pool), "token_use": use, "auth_time": now.Unix(),
		"iat": now.Unix(), "exp": exp.Unix(), "jti": randHex(), "origin_jti": randHex(), "event_id": randHex(),
	}
	if len(u.Groups) > 0 {
		m["cognito:groups"] = u.Groups
	}
	if use == "access" {
		m["client_id"] = u.Client
		m["username"] = u.Username
		m["scope"] = strings.Join(append([]string{"aws.cognito.signin.user.admin"}, u.Scopes...), " ")
	} else {
		m["aud"] = u.Client
		m["cognito:username"] = u.Username
		m["email"] = u.Username + "@example.com"
		m["email_verified"] = true
	}
	for k, v := range u.Extra {
		m[k] = v
	}
	return m
}

// Access is u's access token, valid for an hour.
func (i *Issuer) Access(tb testing.TB, u User) string {
	return i.Sign(tb, i.Claims(u, "access", time.Now().Add(time.Hour)))
}

// ID is u's ID token, valid for an hour.
func (i *Issuer) ID(tb testing.TB, u User) string {
	return i.Sign(tb, i.Claims(u, "id", time.Now().Add(time.Hour)))
}

// ExpiredAccess is u's access token that expired ten minutes ago (beyond any leeway).
func (i *Issuer) ExpiredAccess(tb testing.TB, u User) string {
	c := i.Claims(u, "access", time.Now().Add(-10*time.Minute))
	c["iat"] = time.Now().Add(-70 * time.Minute).Unix()
	c["auth_time"] = c["iat"]
	return i.Sign(tb, c)
}

func randHex() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
