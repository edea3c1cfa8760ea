package idp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/smithy-go"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

const (
	adminKey    = "AKIDGATEHOUSEIDP"
	adminSecret = "idp-admin-secret"
	password    = "Corr3ct-Horse!"
)

// cheapArgon keeps tests fast; production defaults are measured in the benchmarks.
var cheapArgon = idp.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

// clock is a settable test clock anchored at the real time (SigV4 checks skew against it).
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

type env struct {
	idp   *idp.IdP
	srv   *httptest.Server
	api   *cip.Client
	clock *clock
}

func newEnv(t testing.TB, st store.Store, opts ...idp.Option) *env {
	t.Helper()
	e := &env{clock: &clock{}}
	var h http.Handler
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	base := []idp.Option{
		idp.WithBaseURL(e.srv.URL),
		idp.WithClock(e.clock.Now),
		idp.WithArgon2(cheapArgon),
		idp.WithCredentials(func(id string) (string, bool) { return adminSecret, id == adminKey }),
	}
	e.idp = idp.New(st, append(base, opts...)...)
	h = e.idp.Handler()
	e.api = sdkClient(t, e.srv.URL, adminKey, adminSecret)
	return e
}

func sdkClient(t testing.TB, endpoint, key, secret string) *cip.Client {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion("us-east-1"),
		config.WithRetryMaxAttempts(1),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")))
	if err != nil {
		t.Fatal(err)
	}
	return cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// apiErr asserts err is an AWS API error with the given code and, when msg != "", message.
func apiErr(t testing.TB, err error, code, msg string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want %s, got %v", code, err)
	}
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("want %s %q, got %s %q", code, msg, ae.ErrorCode(), ae.ErrorMessage())
	}
}

func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// verify checks a token against the keys the pool serves, found through discovery, and
// returns its claims.
func (e *env) verify(t testing.TB, poolID, token string) jwt.MapClaims {
	t.Helper()
	c, err := e.verifyErr(poolID, token)
	if err != nil {
		t.Fatalf("verify token: %v", err)
	}
	return c
}

func (e *env) verifyErr(poolID, token string) (jwt.MapClaims, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	resp, err := http.Get(e.srv.URL + "/" + poolID + "/.well-known/openid-configuration")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&disc); err != nil {
		return nil, err
	}
	kr, err := http.Get(disc.JWKSURI)
	if err != nil {
		return nil, err
	}
	defer kr.Body.Close()
	raw, err := io.ReadAll(kr.Body)
	if err != nil {
		return nil, err
	}
	kf, err := keyfunc.NewJWKSetJSON(raw)
	if err != nil {
		return nil, err
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(token, claims, kf.Keyfunc,
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(disc.Issuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(e.clock.Now))
	return claims, err
}

func must[T any](t testing.TB) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
