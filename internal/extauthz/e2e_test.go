package extauthz_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/clustertest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

const (
	bodyUnauthorized = `{"message":"Unauthorized"}`
	bodyExplicitDeny = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	bodyMissingToken = `{"message":"Missing Authentication Token"}`
	bodyBadPath      = `{"message":"Invalid request path"}`
	garbageToken     = "aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJl"
)

// petStore is a node with the ext_authz listener, the built-in IdP and the PetStore example
// (the pet-store scenario) applied from examples/petstore, its users' access tokens and subs.
type petStore struct {
	node   *app.Node
	pool   string
	tokens map[string]string // user → access token
	subs   map[string]string // user → sub
}

func examplesDir(t testing.TB) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples")
}

// startPetStore starts a real node (store, IdP, gateway, ext_authz listener) with edit applied
// to its settings and provisions the PetStore scenario on it.
func startPetStore(t testing.TB, backend string, edit func(*config.Config)) *petStore {
	t.Helper()
	cfg := apptest.WithIdP(t, apptest.Config(t, backend))
	cfg.ExtAuthzListen = "127.0.0.1:0"
	if edit != nil {
		edit(&cfg)
	}
	node := apptest.Start(t, cfg)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: "PetStorePool"})
	must(err)
	_, err = node.IdP.CreateResourceServer(ctx, p.ID, "petstore", "petstore", []idp.ScopeInfo{{Name: "api", Description: "api"}})
	must(err)
	c, err := node.IdP.CreateClient(ctx, p.ID, idp.ClientInput{Name: "petstore-app",
		ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH"}, AllowedOAuthScopes: []string{"petstore/api"}})
	must(err)
	for _, g := range []string{"customers", "employees", "owners"} {
		_, err := node.IdP.CreateGroup(ctx, p.ID, idp.GroupInput{Name: g})
		must(err)
	}
	ps := &petStore{node: node, pool: p.ID, tokens: map[string]string{}, subs: map[string]string{}}
	for user, group := range map[string]string{"carol": "customers", "erin": "employees", "oscar": "owners"} {
		u, err := node.IdP.CreateUser(ctx, p.ID, user, "Passw0rd!"+user, map[string]string{"email": user + "@example.com"})
		must(err)
		must(node.IdP.AddUserToGroup(ctx, p.ID, user, group))
		tok, err := node.IdP.IssueTokens(ctx, p.ID, c.ID, user)
		must(err)
		ps.tokens[user], ps.subs[user] = tok.AccessToken, u.Sub
	}
	upstream := httptest.NewServer(sampleapi.PetStore())
	t.Cleanup(upstream.Close)
	vars := map[string]string{"POOL_ID": p.ID, "UPSTREAM": upstream.URL}
	d, err := apply.Load(filepath.Join(examplesDir(t), "petstore"), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	must(err)
	_, err = apply.Apply(ctx, apptest.Client(node), d)
	must(err)
	return ps
}

// answer is one front door's answer to a request: allowed, or the status and body sent to the
// client.
type answer struct {
	allow  bool
	status int
	body   string
}

// viaProxy sends the request through the node's gateway listener (the proxy path).
func (p *petStore) viaProxy(t testing.TB, method, path, auth string) answer {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.node.Addr("gateway")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.Header.Get("X-Gatehouse-Decision-Id") == "" {
		t.Errorf("proxy %s %s: no decision id", method, path)
	}
	// A denial is the gateway's own answer (it carries x-amzn-ErrorType); the upstream or a mock
	// answers an allowed request.
	if res.Header.Get("X-Amzn-Errortype") == "" {
		return answer{allow: true}
	}
	return answer{status: res.StatusCode, body: string(b)}
}

func grpcAnswer(t testing.TB, res *authv3.CheckResponse) answer {
	t.Helper()
	if err := res.ValidateAll(); err != nil {
		t.Errorf("CheckResponse fails Envoy's proto validation: %v", err)
	}
	if codes.Code(res.GetStatus().GetCode()) == codes.OK {
		if res.GetOkResponse() == nil {
			t.Error("OK without an OkHttpResponse")
		}
		return answer{allow: true}
	}
	d := res.GetDeniedResponse()
	if id, _, _ := headerOf(d.GetHeaders(), "x-gatehouse-decision-id"); id == "" {
		t.Error("denial without a decision id")
	}
	want := codes.PermissionDenied
	switch d.GetStatus().GetCode() {
	case 401:
		want = codes.Unauthenticated
	case 503:
		want = codes.Unavailable
	}
	if got := codes.Code(res.GetStatus().GetCode()); got != want {
		t.Errorf("HTTP %d with gRPC status %v, want %v", d.GetStatus().GetCode(), got, want)
	}
	return answer{status: int(d.GetStatus().GetCode()), body: d.GetBody()}
}

func httpAnswer(t testing.TB, res *http.Response) answer {
	t.Helper()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode == 200 {
		return answer{allow: true}
	}
	if res.Header.Get("X-Gatehouse-Decision-Id") == "" {
		t.Error("denial without a decision id")
	}
	return answer{status: res.StatusCode, body: string(b)}
}

// TestSameDecisionAsTheProxy runs the pet-store scenario's rows, and the refusals around them, through the
// proxy, the gRPC service and the HTTP service of a real node: the same allow, and for a
// denial the same status and body.
func TestSameDecisionAsTheProxy(t *testing.T) {
	t.Parallel()
	p := startPetStore(t, "sqlite", nil)
	client := grpcClient(t, p.node.Addr("ext-authz"), nil)
	bearer := func(user string) string { return "Bearer " + p.tokens[user] }
	for _, row := range []struct {
		name, method, path, auth string
		want                     answer
	}{
		{"root, no token", "GET", "/demo/", "", answer{allow: true}},
		{"pets, no token", "GET", "/demo/pets", "", answer{status: 401, body: bodyUnauthorized}},
		{"pets, customer", "GET", "/demo/pets", bearer("carol"), answer{allow: true}},
		{"pet by id with a query, customer", "GET", "/demo/pets/2?fields=type", bearer("carol"), answer{allow: true}},
		{"add pet, customer", "POST", "/demo/pets", bearer("carol"), answer{status: 403, body: bodyExplicitDeny}},
		{"add pet, employee", "POST", "/demo/pets", bearer("erin"), answer{allow: true}},
		{"admin, employee", "GET", "/demo/admin/curltest1", bearer("erin"), answer{status: 403, body: bodyExplicitDeny}},
		{"admin, owner", "GET", "/demo/admin/curltest1", bearer("oscar"), answer{allow: true}},
		{"add pet, garbage token", "POST", "/demo/pets", "Bearer " + garbageToken, answer{status: 403, body: bodyExplicitDeny}},
		{"pets, garbage token", "GET", "/demo/pets", "Bearer " + garbageToken, answer{status: 401, body: bodyUnauthorized}},
		{"no route", "DELETE", "/demo/pets", bearer("oscar"), answer{status: 403, body: bodyMissingToken}},
		{"no API", "GET", "/elsewhere", "", answer{status: 403, body: bodyMissingToken}},
		{"bad path", "GET", "/demo/%2e%2e/admin/curltest1", bearer("oscar"), answer{status: 400, body: bodyBadPath}},
		{"encoded slash", "GET", "/demo/admin%2fcurltest1", bearer("oscar"), answer{status: 400, body: bodyBadPath}},
	} {
		t.Run(row.name, func(t *testing.T) {
			t.Parallel()
			proxy := p.viaProxy(t, row.method, row.path, row.auth)
			hdr := map[string]string{}
			if row.auth != "" {
				hdr["authorization"] = row.auth
			}
			res, err := client.Check(context.Background(), envoyRequest(row.method, row.path, hdr))
			if err != nil {
				t.Fatal(err)
			}
			viaGRPC := grpcAnswer(t, res)
			h := http.Header{}
			if row.auth != "" {
				h.Set("Authorization", row.auth)
			}
			viaHTTP := httpAnswer(t, httpCheck(t, p.node.Addr("ext-authz"), row.method, row.path, h))
			for door, got := range map[string]answer{"proxy": proxy, "gRPC": viaGRPC, "HTTP service": viaHTTP} {
				if got.allow != row.want.allow || (!row.want.allow && (got.status != row.want.status || got.body != row.want.body)) {
					t.Errorf("%s: %+v, want %+v", door, got, row.want)
				}
			}
		})
	}
}

// TestIdentityHeadersReplaceTheClients: an allowed request gets the identity headers set
// (overwriting) and every client X-Gatehouse-* spelling removed, in both modes; no value the
// client sent comes back.
func TestIdentityHeadersReplaceTheClients(t *testing.T) {
	t.Parallel()
	p := startPetStore(t, "sqlite", nil)
	addr := p.node.Addr("ext-authz")
	forged := map[string]string{"x-gatehouse-principal": "forged-admin", "x_gatehouse_groups": "forged-owners",
		"x-gatehouse-claim-email": "forged@example.com", "x-http-method-override": "DELETE"}
	hdr := map[string]string{"authorization": "Bearer " + p.tokens["oscar"]}
	for k, v := range forged {
		hdr[k] = v
	}
	for _, form := range []string{"headers", "header_map"} {
		req := envoyRequest("GET", "/demo/admin/curltest1", hdr)
		if form == "header_map" {
			req = withHeaderMap(req)
		}
		res, err := grpcClient(t, addr, nil).Check(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		ok := res.GetOkResponse()
		if codes.Code(res.GetStatus().GetCode()) != codes.OK || ok == nil {
			t.Fatalf("%s: owner denied: %v", form, res)
		}
		want := map[string]string{"x-gatehouse-principal": p.pool + "|" + p.subs["oscar"], "x-gatehouse-groups": "owners"}
		for name, v := range want {
			if got, over, _ := headerOf(ok.GetHeaders(), name); got != v || !over {
				t.Errorf("%s: %s = %q (overwrite %v), want %q", form, name, got, over, v)
			}
		}
		id, _, _ := headerOf(ok.GetHeaders(), "x-gatehouse-decision-id")
		if toClient, _, _ := headerOf(ok.GetResponseHeadersToAdd(), "x-gatehouse-decision-id"); id == "" || toClient != id {
			t.Errorf("%s: decision id upstream %q, to the client %q", form, id, toClient)
		}
		rm := ok.GetHeadersToRemove()
		for _, name := range []string{"x_gatehouse_groups", "x-gatehouse-claim-email", "x-http-method-override"} {
			if !slices.Contains(rm, name) {
				t.Errorf("%s: %s not removed: %q", form, name, rm)
			}
		}
		if slices.Contains(rm, "x-gatehouse-principal") || slices.Contains(rm, "x-gatehouse-groups") {
			t.Errorf("%s: removes a header it sets (Envoy may remove after setting): %q", form, rm)
		}
		for _, o := range append(ok.GetHeaders(), ok.GetResponseHeadersToAdd()...) {
			if strings.Contains(o.GetHeader().GetValue(), "forged") {
				t.Errorf("%s: client value sent back in %s", form, o.GetHeader().GetKey())
			}
		}
	}

	h := http.Header{"Authorization": {"Bearer " + p.tokens["oscar"]}}
	for k, v := range forged {
		h[k] = []string{v}
	}
	res := httpCheck(t, addr, "GET", "/demo/admin/curltest1", h)
	if res.StatusCode != 200 || res.Header.Get("X-Gatehouse-Principal") != p.pool+"|"+p.subs["oscar"] || res.Header.Get("X-Gatehouse-Groups") != "owners" {
		t.Fatalf("HTTP service: %d %v", res.StatusCode, res.Header)
	}
	if got := res.Header.Get("X-Envoy-Auth-Headers-To-Remove"); got != "x-gatehouse-claim-email, x-http-method-override, x_gatehouse_groups" {
		t.Errorf("HTTP service removals: %q", got)
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			if strings.Contains(v, "forged") {
				t.Errorf("HTTP service: client value sent back in %s", k)
			}
		}
	}
}

// TestRequestBodyAndHeaderMap: with_request_body on (the body and its size in the request, or
// the body in the HTTP-service request) and encode_raw_headers on (header_map) decide as the
// plain form does.
func TestRequestBodyAndHeaderMap(t *testing.T) {
	t.Parallel()
	p := startPetStore(t, "sqlite", nil)
	addr := p.node.Addr("ext-authz")
	client := grpcClient(t, addr, nil)
	body := `{"type":"parrot","price":12.5}`
	for _, tc := range []struct {
		name, method, path, user string
		rawHeaders               bool
		want                     answer
	}{
		{"employee with body", "POST", "/demo/pets", "erin", false, answer{allow: true}},
		{"customer with body", "POST", "/demo/pets", "carol", false, answer{status: 403, body: bodyExplicitDeny}},
		{"employee with body, header_map", "POST", "/demo/pets", "erin", true, answer{allow: true}},
		{"cedar route, no token, header_map", "PUT", "/demo/admin/x", "", true, answer{status: 401, body: bodyUnauthorized}},
		{"jwt route, no token, header_map", "GET", "/demo/pets/1", "", true, answer{status: 401, body: bodyUnauthorized}},
	} {
		hdr := map[string]string{"content-type": "application/json", "content-length": strconv.Itoa(len(body))}
		if tc.user != "" {
			hdr["authorization"] = "Bearer " + p.tokens[tc.user]
		}
		req := envoyRequest(tc.method, tc.path, hdr)
		req.Attributes.Request.Http.Size, req.Attributes.Request.Http.Body = int64(len(body)), body
		if tc.rawHeaders {
			req = withHeaderMap(req)
			req.Attributes.Request.Http.Body, req.Attributes.Request.Http.RawBody = "", []byte(body) // pack_as_bytes
		}
		res, err := client.Check(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if got := grpcAnswer(t, res); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	req, err := http.NewRequest("POST", "http://"+addr+"/ext-authz/demo/pets", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.tokens["erin"])
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if got := httpAnswer(t, res); !got.allow {
		t.Errorf("HTTP service with a body: %+v", got)
	}
}

// TestConcurrentChecks: many Envoy workers share the gRPC connection.
func TestConcurrentChecks(t *testing.T) {
	t.Parallel()
	p := startPetStore(t, "sqlite", nil)
	client := grpcClient(t, p.node.Addr("ext-authz"), nil)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			user, want := "erin", true
			if i%2 == 1 {
				user, want = "carol", false
			}
			res, err := client.Check(context.Background(), envoyRequest("POST", "/demo/pets", map[string]string{"authorization": "Bearer " + p.tokens[user]}))
			if err != nil {
				errs <- err.Error()
				return
			}
			if got := codes.Code(res.GetStatus().GetCode()) == codes.OK; got != want {
				errs <- user + ": wrong decision"
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestStaleNodeAnswers503: a node cut off PostgreSQL for longer than maxStaleness denies
// every ext_authz check with 503 store_unavailable (UNAVAILABLE over gRPC), in both modes, and
// decides again once the store is back.
func TestStaleNodeAnswers503(t *testing.T) {
	t.Parallel()
	var proxy *clustertest.Proxy
	p := startPetStore(t, "postgres", func(cfg *config.Config) {
		u, err := url.Parse(cfg.DB)
		if err != nil {
			t.Fatal(err)
		}
		if proxy, err = clustertest.NewProxy(u.Host); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { proxy.Close() })
		u.Host = proxy.Addr()
		cfg.DB = u.String()
		cfg.MaxStaleness = config.Duration(time.Second)
		cfg.PollInterval = config.Duration(100 * time.Millisecond)
		cfg.StoreTimeout = config.Duration(time.Second)
	})
	addr := p.node.Addr("ext-authz")
	client := grpcClient(t, addr, nil)
	check := func() (answer, answer) {
		t.Helper()
		res, err := client.Check(context.Background(), envoyRequest("GET", "/demo/", nil))
		if err != nil {
			t.Fatal(err)
		}
		return grpcAnswer(t, res), httpAnswer(t, httpCheck(t, addr, "GET", "/demo/", nil))
	}
	if g, h := check(); !g.allow || !h.allow {
		t.Fatalf("before the outage: gRPC %+v, HTTP %+v", g, h)
	}
	proxy.Cut()
	stale := answer{status: 503, body: `{"message":"Service Unavailable","reason":"store_unavailable"}`}
	waitFor(t, 20*time.Second, "503 past maxStaleness", func() bool {
		g, h := check()
		return g == stale && h == stale
	})
	proxy.Resume()
	waitFor(t, 20*time.Second, "allowed once the store is back", func() bool {
		g, h := check()
		return g.allow && h.allow
	})
}

// waitFor polls cond until it holds, failing the test after within.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
