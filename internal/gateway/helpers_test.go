package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// ---- a Cognito-shaped issuer: identitytest's, with the gateway tests' user type ----

// fakeCognito serves every pool id as an issuer and mints tokens shaped like Cognito's.
type fakeCognito struct{ *identitytest.Issuer }

func newFakeCognito(t testing.TB) *fakeCognito {
	t.Helper()
	return &fakeCognito{identitytest.New(t)}
}

func (c *fakeCognito) issuer(pool string) string { return c.Issuer.Issuer(pool) }

func poolARN(pool string) string { return identitytest.PoolARN(pool) }

// user is a user of a fake pool.
type user struct {
	pool, client, sub, username string
	groups                      []string
	scopes                      []string
	extra                       map[string]any
}

func (u user) identity() identitytest.User {
	return identitytest.User{Pool: u.pool, Client: u.client, Sub: u.sub, Username: u.username,
		Groups: u.groups, Scopes: u.scopes, Extra: u.extra}
}

func (c *fakeCognito) claims(u user, use string, exp time.Time) jwt.MapClaims {
	return c.Claims(u.identity(), use, exp)
}

func (c *fakeCognito) access(t testing.TB, u user) string { return c.Access(t, u.identity()) }

func (c *fakeCognito) id(t testing.TB, u user) string { return c.ID(t, u.identity()) }

func (c *fakeCognito) expiredAccess(t testing.TB, u user) string {
	return c.ExpiredAccess(t, u.identity())
}

// ---- an upstream that records what it received ----

type seen struct {
	Method  string              `json:"method"`
	Path    string              `json:"path"` // exactly as on the wire
	Query   string              `json:"query"`
	Headers map[string][]string `json:"headers"`
}

type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []seen
}

// newUpstream answers "/" with a welcome, GET /pets with a pet list, and anything else with
// the echo of what it received.
func newUpstream(t testing.TB) *recorder {
	t.Helper()
	rec := &recorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, query, _ := strings.Cut(r.RequestURI, "?")
		s := seen{Method: r.Method, Path: path, Query: query, Headers: r.Header.Clone()}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, s)
		rec.mu.Unlock()
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set(gateway.HeaderDecisionID, "spoofed-by-upstream")
		switch {
		case path == "/":
			_, _ = w.Write([]byte(`{"message":"Welcome to the PetStore"}`))
		case path == "/pets" && r.Method == http.MethodGet:
			_, _ = w.Write([]byte(`[{"id":1,"type":"dog"},{"id":2,"type":"cat"}]`))
		default:
			_ = json.NewEncoder(w).Encode(s)
		}
	}))
	t.Cleanup(rec.srv.Close)
	return rec
}

func (r *recorder) all() []seen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]seen(nil), r.reqs...)
}

func (r *recorder) last(t testing.TB) seen {
	t.Helper()
	all := r.all()
	if len(all) == 0 {
		t.Fatal("upstream received nothing")
	}
	return all[len(all)-1]
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.reqs)
}

// ---- the assembled gateway ----

type env struct {
	st     store.Store
	ps     *policystore.Service
	snaps  *policystore.Snapshots
	apis   *apidef.Service
	tokens *identity.Registry
	gw     *gateway.Gateway
	srv    *httptest.Server
	idp    *fakeCognito
	up     *recorder
	logs   *syncBuffer
	// cognitoURL is the issuer base of every Cognito pool (the fake issuer unless a test
	// points it at the built-in IdP before creating identity sources).
	cognitoURL string
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv assembles a gateway over st; edits adjust its dependencies and options.
func newEnv(t testing.TB, st store.Store, edits ...func(*gateway.Deps, *[]gateway.Option)) *env {
	t.Helper()
	e := &env{st: st, idp: newFakeCognito(t), up: newUpstream(t), logs: &syncBuffer{}}
	e.cognitoURL = e.idp.URL()
	endpoint := func(context.Context, string) string { return e.cognitoURL }
	e.ps = policystore.New(st, policystore.WithCognitoEndpoint(endpoint))
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	if os.Getenv("GATEHOUSE_TEST_LOG") != "" {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	e.snaps = policystore.NewSnapshots(st, logger)
	e.apis = apidef.NewService(st)
	e.tokens = identity.New()
	t.Cleanup(e.tokens.Close)
	deps := gateway.Deps{Store: st, Snapshots: e.snaps, Tokens: e.tokens, Logger: logger,
		Region: "us-east-1", Account: "123456789012", CognitoEndpoint: endpoint}
	var opts []gateway.Option
	for _, edit := range edits {
		edit(&deps, &opts)
	}
	e.gw = gateway.New(deps, opts...)
	e.srv = httptest.NewServer(e.gw.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *env) putAPI(t testing.TB, yml string) apidef.Definition {
	t.Helper()
	d, err := apidef.Parse([]byte(yml))
	if err != nil {
		t.Fatalf("parse api: %v", err)
	}
	out, err := e.apis.Put(context.Background(), d)
	if err != nil {
		t.Fatalf("put api: %v", err)
	}
	return out
}

type resp struct {
	status int
	body   string
	header http.Header
}

// do sends a request through a real HTTP connection. Extra headers come in pairs.
func (e *env) do(t testing.TB, method, path, token string, hdrs ...string) resp {
	t.Helper()
	return doURL(t, e.srv.URL, method, path, token, hdrs...)
}

func doURL(t testing.TB, base, method, path, token string, hdrs ...string) resp {
	t.Helper()
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdrs); i += 2 {
		req.Header[hdrs[i]] = append(req.Header[hdrs[i]], hdrs[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: string(b), header: res.Header}
}

// raw sends a request line verbatim (for paths Go's client would not send as is).
func (e *env) raw(t testing.TB, requestLine string, hdrs ...string) resp {
	t.Helper()
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var b strings.Builder
	b.WriteString(requestLine + "\r\nHost: gateway.test\r\nConnection: close\r\n")
	for i := 0; i+1 < len(hdrs); i += 2 {
		b.WriteString(hdrs[i] + ": " + hdrs[i+1] + "\r\n")
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatal(err)
	}
	method, _, _ := strings.Cut(requestLine, " ")
	res, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		t.Fatalf("%s: %v", requestLine, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, body: string(body), header: res.Header}
}

func (r resp) want(t testing.TB, what string, status int, body string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d (body %s)", what, r.status, status, r.body)
		return
	}
	if body != "" && r.body != body {
		t.Errorf("%s: body %s, want %s", what, r.body, body)
	}
	if r.header.Get(gateway.HeaderDecisionID) == "" {
		t.Errorf("%s: no %s header", what, gateway.HeaderDecisionID)
	}
}

const (
	bodyUnauthorized = `{"message":"Unauthorized"}`
	bodyExpired      = `{"message":"The incoming token has expired"}`
	bodyExplicitDeny = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	bodyImplicitDeny = `{"Message":"User is not authorized to access this resource"}`
	bodyMissingToken = `{"message":"Missing Authentication Token"}`
	bodyNull         = `{"message": null}`
	garbageToken     = "aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJl"
)
