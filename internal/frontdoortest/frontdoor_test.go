package frontdoortest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// The gateway responses (API Gateway's defaults) that the scenario rows expect.
const (
	bodyUnauthorized = `{"message":"Unauthorized"}`
	bodyExpired      = `{"message":"The incoming token has expired"}`
	bodyExplicitDeny = `{"Message":"User is not authorized to access this resource with an explicit deny"}`
	bodyMissingToken = `{"message":"Missing Authentication Token"}`
	garbageToken     = "aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJl"
)

// Headers the test upstream answers with, so the proxy door shows what reached the upstream.
const (
	hdrReached = "X-Test-Upstream-Reached"
	hdrSawPrin = "X-Test-Upstream-Principal"
)

// scenario is one example directory with the users and variables it needs.
type scenario struct {
	name  string // the article
	dir   string // under examples/
	stage string
	vars  map[string]string
	rows  []row
}

// row is one request and the answer every door must give.
type row struct {
	name         string
	method, path string // path with the stage and an optional query
	token        string // bearer token, "" for none
	status       int
	body         string // deny body
	principal    string // on allow
	upstreamBody string // on allow through the proxy: a fragment of the upstream's (or mock's) body
	mock         bool   // the route is a mock: the proxy shows no principal
	needsNoToken bool   // decided without a token: no TOKEN event (API Gateway would not call one)
	requestBody  string // sent by the proxy door (the upstream needs it)
}

// answer is what a door said, normalized: allow, status, body (deny only) and principal (allow only).
type answer struct {
	allow     bool
	status    int
	body      string
	principal string
}

func (r row) want() answer {
	a := answer{allow: r.status == http.StatusOK, status: r.status}
	if a.allow {
		a.principal = r.principal
	} else {
		a.body = r.body
	}
	return a
}

// scenarios are articles 000 and 004 as their example directories play them (plus an expired and a garbage token, a missing route and a
// query on §2.1), with users of identitytest's issuer standing in for the Cognito pools.
func scenarios(t testing.TB, iss *identitytest.Issuer, upstream string) []scenario {
	const petPool, vetsPool, clientsPool = "us-east-1_PetStore1", "us-east-1_Vets0001", "us-east-1_Clients1"
	petUser := func(name, sub, group string) identitytest.User {
		return identitytest.User{Pool: petPool, Client: "petstoreclient", Sub: sub, Username: name,
			Groups: []string{group}, Scopes: []string{"petstore/api"}}
	}
	customer, employee, owner := petUser("carol", "sub-carol", "customers"), petUser("erin", "sub-erin", "employees"), petUser("oscar", "sub-oscar", "owners")
	vet := func(name, sub string) identitytest.User {
		return identitytest.User{Pool: vetsPool, Client: "vetsclient", Sub: sub, Username: name, Groups: []string{"AllVeterinarians"}}
	}
	client := func(name, sub string) identitytest.User {
		return identitytest.User{Pool: clientsPool, Client: "clientsclient", Sub: sub, Username: name, Groups: []string{"AllClients"}}
	}
	jane, adam, dave, joy := vet("Jane", "sub-jane"), vet("Adam", "sub-adam"), client("Dave", "sub-dave"), client("Joy", "sub-joy")
	pp := func(u identitytest.User) string { return u.Pool + "|" + u.Sub }
	cust, emp, own := iss.Access(t, customer), iss.Access(t, employee), iss.Access(t, owner)
	newPet := `{"type":"dog","price":249.99}`
	pet := scenario{name: "article-000", dir: "petstore", stage: "demo",
		vars: map[string]string{"POOL_ID": petPool, "UPSTREAM": upstream},
		rows: []row{
			{name: "GET / no token", method: "GET", path: "/demo/", status: 200, upstreamBody: "Welcome to your Pet Store API", needsNoToken: true},
			{name: "GET /pets no token", method: "GET", path: "/demo/pets", status: 401, body: bodyUnauthorized, needsNoToken: true},
			{name: "GET /pets customer", method: "GET", path: "/demo/pets", token: cust, status: 200, principal: pp(customer), upstreamBody: `"type"`},
			{name: "POST /pets customer", method: "POST", path: "/demo/pets", token: cust, status: 403, body: bodyExplicitDeny, requestBody: newPet},
			{name: "POST /pets employee", method: "POST", path: "/demo/pets", token: emp, status: 200, principal: pp(employee), upstreamBody: `"success"`, requestBody: newPet},
			{name: "admin employee", method: "GET", path: "/demo/admin/curltest1", token: emp, status: 403, body: bodyExplicitDeny},
			{name: "admin owner", method: "GET", path: "/demo/admin/curltest1", token: own, status: 200, principal: pp(owner), mock: true,
				upstreamBody: `{"Message": "User authorized for /demo/admin/curltest1"}`},
			{name: "expired", method: "GET", path: "/demo/pets", token: iss.ExpiredAccess(t, customer), status: 401, body: bodyExpired},
			{name: "garbage", method: "GET", path: "/demo/pets", token: garbageToken, status: 401, body: bodyUnauthorized},
			{name: "no route", method: "GET", path: "/demo/nothing", token: cust, status: 403, body: bodyMissingToken},
			{name: "query", method: "GET", path: "/demo/pets?limit=2", token: cust, status: 200, principal: pp(customer), upstreamBody: `"type"`},
		}}
	clinic := scenario{name: "article-004", dir: "vet-clinic", stage: "dev",
		vars: map[string]string{"VETS_POOL_ID": vetsPool, "VETS_CLIENT_ID": "vetsclient", "CLIENTS_POOL_ID": clientsPool,
			"CLIENTS_CLIENT_ID": "clientsclient", "UPSTREAM": upstream,
			"JANE_SUB": jane.Sub, "ADAM_SUB": adam.Sub, "DAVE_SUB": dave.Sub, "JOY_SUB": joy.Sub},
		rows: []row{
			{name: "none", method: "GET", path: "/dev/appointment/PI-T123", status: 401, body: bodyUnauthorized, needsNoToken: true},
			{name: "garbage", method: "GET", path: "/dev/appointment/PI-T123", token: garbageToken, status: 403, body: bodyExplicitDeny},
		}}
	for _, c := range []struct {
		who   identitytest.User
		appt  string
		allow bool
	}{
		{jane, "PI-T123", true}, {adam, "PI-T123", false}, {adam, "PI-T125", true}, {dave, "PI-T123", true},
		{joy, "PI-T123", false}, {joy, "PI-T124", true}, {jane, "PI-T124", true},
	} {
		r := row{name: c.who.Username + " " + c.appt, method: "GET", path: "/dev/appointment/" + c.appt, token: iss.ID(t, c.who),
			status: 403, body: bodyExplicitDeny}
		if c.allow {
			r.status, r.body, r.principal, r.upstreamBody = 200, "", pp(c.who), `"`+c.appt+`"`
		}
		clinic.rows = append(clinic.rows, r)
	}
	return []scenario{pet, clinic}
}

// upstreamFor serves the pet store and the appointments as the examples' upstream, telling in
// response headers that it was reached and which principal it was sent.
func upstreamFor(t testing.TB) string {
	pets, appts := sampleapi.PetStore(), sampleapi.Appointments()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(hdrReached, "1")
		w.Header().Set(hdrSawPrin, strings.Join(r.Header.Values(gateway.HeaderPrincipal), ","))
		if strings.HasPrefix(r.URL.Path, "/appointment/") {
			appts.ServeHTTP(w, r)
			return
		}
		pets.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// opsCaller runs management operations in process, through their JSON decoding and validation.
type opsCaller map[string]awsjson.Op

func (c opsCaller) Call(ctx context.Context, target string, in, out any) error {
	name, _ := strings.CutPrefix(target, avpapi.GatehouseTargetPrefix+".")
	op, ok := c[name]
	if !ok {
		return fmt.Errorf("operation %s is not available in process", target)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	res, err := op(ctx, body)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}

func lookup(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

// doors are the running front doors of one core.
type doors struct {
	proxy, forwardAuth, extAuthz string // base URLs
	grpc                         authv3.AuthorizationClient
}

// coreOn builds a server core on st holding the example directory, as a node holding it after
// `gatehouse apply` does (same operation, same checks).
func coreOn(t testing.TB, st store.Store, iss *identitytest.Issuer, s scenario) *app.Core {
	t.Helper()
	ctx := context.Background()
	d, err := apply.Load(filepath.Join("..", "..", "examples", s.dir), lookup(s.vars))
	if err != nil {
		t.Fatal(err)
	}
	core, err := app.NewCore(st, config.Defaults(), slog.New(slog.DiscardHandler),
		app.CoreOptions{CognitoEndpoint: func(context.Context, string) string { return iss.URL() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Identity.Close)
	if _, err := apply.Apply(ctx, opsCaller(avpapi.New(core.Policies, core.Decider).GatehouseOps()), d); err != nil {
		t.Fatalf("apply %s: %v", s.dir, err)
	}
	return core
}

// lambdaCore is the read-only core `gatehouse lambda` builds from the same directory.
func lambdaCore(t testing.TB, iss *identitytest.Issuer, s scenario) *app.Core {
	t.Helper()
	core, err := app.NewReadOnly(context.Background(), config.Defaults(), slog.New(slog.DiscardHandler),
		filepath.Join("..", "..", "examples", s.dir), lookup(s.vars),
		app.CoreOptions{CognitoEndpoint: func(context.Context, string) string { return iss.URL() }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Identity.Close)
	return core
}

// openDoors starts the proxy, forward-auth and ext_authz listeners of gw on loopback ports.
func openDoors(t testing.TB, gw *gateway.Gateway) doors {
	t.Helper()
	ea := extauthz.New(gw)
	g, err := server.Bind(slog.New(slog.DiscardHandler), []server.Listener{
		{Name: "gateway", Addr: "127.0.0.1:0", Handler: gw.Handler()},
		{Name: "forward-auth", Addr: "127.0.0.1:0", Handler: gw.ForwardAuthHandler()},
		{Name: "ext-authz", Addr: "127.0.0.1:0", Handler: ea.Handler(), H2C: true}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, 5*time.Second) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	conn, err := grpc.NewClient(g.Addr("ext-authz"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return doors{proxy: "http://" + g.Addr("gateway"), forwardAuth: "http://" + g.Addr("forward-auth"),
		extAuthz: "http://" + g.Addr("ext-authz"), grpc: authv3.NewAuthorizationClient(conn)}
}

func send(t testing.TB, method, url, token, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, res.Header, strings.TrimSpace(string(b))
}

// viaProxy sends the request through the reverse proxy. The principal is the one the upstream
// received; a mock route has no upstream, so its body stands for it.
func viaProxy(t testing.TB, d doors, r row) answer {
	status, h, body := send(t, r.method, d.proxy+r.path, r.token, r.requestBody)
	a := answer{allow: status == http.StatusOK, status: status}
	if !a.allow {
		a.body = body
		return a
	}
	if !strings.Contains(body, r.upstreamBody) {
		t.Errorf("proxy: body %q, want it to contain %q", body, r.upstreamBody)
	}
	switch {
	case r.mock:
		a.principal = r.principal
	case h.Get(hdrReached) == "":
		t.Errorf("proxy: 200 without reaching the upstream: %q", body)
	default:
		a.principal = h.Get(hdrSawPrin)
	}
	return a
}

// viaForwardAuth asks forward-auth as nginx's auth_request does.
func viaForwardAuth(t testing.TB, d doors, api string, r row) answer {
	status, h, body := send(t, "GET", d.forwardAuth+"/apis/"+api, r.token, "",
		"X-Original-Method", r.method, "X-Original-URI", r.path, "X-Real-IP", "127.0.0.1")
	a := answer{allow: status == http.StatusOK, status: status}
	if a.allow {
		a.principal = h.Get(gateway.HeaderPrincipal)
	} else {
		a.body = body
	}
	return a
}

// viaExtAuthzHTTP asks the ext_authz HTTP service as Envoy's http_service does (path_prefix
// followed by the original path).
func viaExtAuthzHTTP(t testing.TB, d doors, r row) answer {
	status, h, body := send(t, r.method, d.extAuthz+extauthz.PathPrefix+r.path, r.token, "",
		"X-Forwarded-Proto", "http", "X-Forwarded-For", "198.51.100.4")
	a := answer{allow: status == http.StatusOK, status: status}
	if a.allow {
		a.principal = h.Get(gateway.HeaderPrincipal)
	} else {
		a.body = body
	}
	return a
}

// viaExtAuthzGRPC sends the CheckRequest Envoy's ext_authz filter sends, over a real gRPC client.
func viaExtAuthzGRPC(t testing.TB, d doors, r row) answer {
	h := map[string]string{":method": r.method, ":path": r.path, ":authority": "api.example.com", ":scheme": "http",
		"x-forwarded-proto": "http", "x-request-id": "0f1c0a4e-7d0e-4c1a-9c43-3f0d7f0e0b1a"}
	if r.token != "" {
		h["authorization"] = "Bearer " + r.token
	}
	req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
		Source: &authv3.AttributeContext_Peer{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
			SocketAddress: &corev3.SocketAddress{Address: "198.51.100.4", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: 51234}}}}},
		Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
			Method: r.method, Path: r.path, Host: "api.example.com", Scheme: "http", Protocol: "HTTP/1.1", Headers: h, Size: -1}},
	}}
	res, err := d.grpc.Check(context.Background(), req)
	if err != nil {
		t.Fatalf("ext_authz gRPC: %v", err)
	}
	if ok := res.GetOkResponse(); ok != nil && res.GetStatus().GetCode() == 0 {
		a := answer{allow: true, status: http.StatusOK}
		for _, hv := range ok.GetHeaders() {
			if http.CanonicalHeaderKey(hv.GetHeader().GetKey()) == gateway.HeaderPrincipal {
				a.principal = hv.GetHeader().GetValue()
			}
		}
		return a
	}
	den := res.GetDeniedResponse()
	if den == nil || res.GetStatus().GetCode() == 0 {
		t.Fatalf("ext_authz gRPC: neither an OK nor a denied answer: %v", res)
	}
	return answer{status: int(den.GetStatus().GetCode()), body: strings.TrimSpace(den.GetBody())}
}

// lambdaAnswer reads an authorizer's answer: Unauthorized ⇔ 401, Deny ⇔ 403, Allow ⇔ 200, any
// other error ⇔ 500 (what API Gateway makes of them). A deny carries no body.
func lambdaAnswer(t testing.TB, r row, out []byte, err error) answer {
	switch {
	case err != nil && err.Error() == "Unauthorized":
		return answer{status: http.StatusUnauthorized, body: r.want().body}
	case err != nil:
		return answer{status: http.StatusInternalServerError}
	}
	var resp struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument struct {
			Statement []struct{ Effect string } `json:"Statement"`
		} `json:"policyDocument"`
		Context map[string]any `json:"context"`
	}
	if err := json.Unmarshal(out, &resp); err != nil || len(resp.PolicyDocument.Statement) != 1 {
		t.Fatalf("lambda: %s (%v)", out, err)
	}
	if resp.PolicyDocument.Statement[0].Effect != "Allow" {
		// API Gateway answers a Deny with its own 403 body; the row's body is not the door's.
		return answer{status: http.StatusForbidden, body: r.want().body}
	}
	a := answer{allow: true, status: http.StatusOK, principal: resp.PrincipalID}
	if a.principal == lambdaauth.AnonymousPrincipal {
		a.principal = ""
	}
	if p, _ := resp.Context["principal"].(string); p != a.principal {
		t.Errorf("lambda: context principal %q, principalId %q", p, resp.PrincipalID)
	}
	return a
}

const arnPrefix = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/"

// requestEvent is API Gateway's REST REQUEST authorizer event for the row.
func requestEvent(stage string, r row) []byte {
	full, query, _ := strings.Cut(r.path, "?")
	path := strings.TrimPrefix(full, "/"+stage)
	ev := map[string]any{"type": "REQUEST", "methodArn": arnPrefix + stage + "/" + r.method + path,
		"resource": path, "path": path, "httpMethod": r.method,
		"headers":        map[string]string{"Host": "abcdef123.execute-api.us-east-1.amazonaws.com"},
		"requestContext": map[string]any{"stage": stage, "httpMethod": r.method, "identity": map[string]string{"sourceIp": "198.51.100.4"}}}
	if r.token != "" {
		ev["headers"].(map[string]string)["Authorization"] = "Bearer " + r.token
	}
	if query != "" {
		q := map[string]string{}
		for kv := range strings.SplitSeq(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			q[k] = v
		}
		ev["queryStringParameters"] = q
	}
	b, _ := json.Marshal(ev)
	return b
}

// v2Event is an HTTP API (payload 2.0) authorizer event for the row, on a stage named like the
// API's (rawPath starts with it).
func v2Event(stage string, r row) []byte {
	full, query, _ := strings.Cut(r.path, "?")
	h := map[string]string{"host": "abcdef123.execute-api.us-east-1.amazonaws.com"}
	if r.token != "" {
		h["authorization"] = "Bearer " + r.token
	}
	b, _ := json.Marshal(map[string]any{"version": "2.0", "type": "REQUEST",
		"routeArn": arnPrefix + stage + "/" + r.method + strings.TrimPrefix(full, "/"+stage),
		"rawPath":  full, "rawQueryString": query, "headers": h,
		"requestContext": map[string]any{"stage": stage, "http": map[string]string{"method": r.method, "path": full, "sourceIp": "198.51.100.4"}}})
	return b
}

// tokenEvent is API Gateway's REST TOKEN authorizer event for the row.
func tokenEvent(stage string, r row) []byte {
	full, _, _ := strings.Cut(r.path, "?")
	b, _ := json.Marshal(map[string]string{"type": "TOKEN", "authorizationToken": "Bearer " + r.token,
		"methodArn": arnPrefix + stage + "/" + r.method + strings.TrimPrefix(full, "/"+stage)})
	return b
}

// TestEveryFrontDoorAnswersAlike: every scenario row of articles
// 000 and 004 through every front door, on every store backend, gives the same allow or deny,
// status, principal and (where the door carries it) body.
func TestEveryFrontDoorAnswersAlike(t *testing.T) {
	t.Parallel()
	iss := identitytest.New(t)
	up := upstreamFor(t)
	for _, s := range scenarios(t, iss, up) {
		lambda := lambdaauth.New(lambdaCore(t, iss, s).Gateway, lambdaauth.Options{Logger: slog.New(slog.DiscardHandler)})
		api := map[string]string{"petstore": "PetStore", "vet-clinic": "VetClinic"}[s.dir]
		for _, backend := range storetest.Backends(t) {
			d := openDoors(t, coreOn(t, storetest.Open(t, backend), iss, s).Gateway)
			for _, r := range s.rows {
				t.Run(s.name+"/"+backend+"/"+r.name, func(t *testing.T) {
					want := r.want()
					type door struct {
						name string
						got  func() answer
					}
					ds := []door{
						{"proxy", func() answer { return viaProxy(t, d, r) }},
						{"forward-auth", func() answer { return viaForwardAuth(t, d, api, r) }},
						{"ext_authz gRPC", func() answer { return viaExtAuthzGRPC(t, d, r) }},
						{"ext_authz HTTP", func() answer { return viaExtAuthzHTTP(t, d, r) }},
						{"lambda REQUEST", func() answer {
							out, err := lambda.Invoke(context.Background(), requestEvent(s.stage, r))
							return lambdaAnswer(t, r, out, err)
						}},
					}
					ds = append(ds, door{"lambda HTTP API 2.0", func() answer {
						out, err := lambda.Invoke(context.Background(), v2Event(s.stage, r))
						return lambdaAnswer(t, r, out, err)
					}})
					if !r.needsNoToken {
						ds = append(ds, door{"lambda TOKEN", func() answer {
							out, err := lambda.Invoke(context.Background(), tokenEvent(s.stage, r))
							return lambdaAnswer(t, r, out, err)
						}})
					}
					for _, dr := range ds {
						if got := dr.got(); got != want {
							t.Errorf("%s: %+v, want %+v", dr.name, got, want)
						}
					}
				})
			}
		}
	}
}

// downStore is a store that has never answered: every read fails as a refused connection does.
type downStore struct{ store.Store }

var errRefused = errors.New("dial tcp 127.0.0.1:5432: connect: connection refused")

func (downStore) Revision(context.Context, string) (int64, error) { return 0, errRefused }
func (downStore) List(context.Context, store.Query) ([]store.Object, string, error) {
	return nil, "", errRefused
}

// A node whose store has never answered has no data: every door says so alike — 503
// store_unavailable with Retry-After (ext_authz gRPC: a denial with that status and the
// UNAVAILABLE code), and for the Lambda authorizer an error other than Unauthorized, which API
// Gateway answers 500 — never an allow, never a 401 or 403 that would blame the caller.
func TestEveryFrontDoorWithoutStore(t *testing.T) {
	t.Parallel()
	core, err := app.NewCore(downStore{storetest.Open(t, "sqlite")}, config.Defaults(), slog.New(slog.DiscardHandler), app.CoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(core.Identity.Close)
	d := openDoors(t, core.Gateway)
	r := row{method: "GET", path: "/demo/pets", token: garbageToken, status: http.StatusServiceUnavailable,
		body: `{"message":"Service Unavailable","reason":"store_unavailable"}`}
	want := r.want()
	for name, got := range map[string]answer{
		"proxy":          viaProxy(t, d, r),
		"forward-auth":   viaForwardAuth(t, d, "PetStore", r),
		"ext_authz HTTP": viaExtAuthzHTTP(t, d, r),
		"ext_authz gRPC": viaExtAuthzGRPC(t, d, r),
	} {
		if got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	res, err := d.grpc.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: r.method, Path: r.path, Host: "api.example.com", Headers: map[string]string{}}}}})
	if err != nil || codes.Code(res.GetStatus().GetCode()) != codes.Unavailable {
		t.Errorf("ext_authz gRPC status %v (%v), want UNAVAILABLE", res.GetStatus(), err)
	}
	if status, h, _ := send(t, r.method, d.proxy+r.path, "", ""); status != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Errorf("proxy: %d, Retry-After %q", status, h.Get("Retry-After"))
	}
	lambda := lambdaauth.New(core.Gateway, lambdaauth.Options{Logger: slog.New(slog.DiscardHandler)})
	for _, ev := range [][]byte{requestEvent("demo", r), tokenEvent("demo", r)} {
		if out, err := lambda.Invoke(context.Background(), ev); err == nil || err.Error() == "Unauthorized" {
			t.Errorf("lambda: %s %v, want an authorizer failure", out, err)
		}
	}
}
