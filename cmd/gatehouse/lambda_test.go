package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/lambdaauth"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

// lambdaChildEnv makes the test binary run `gatehouse lambda` instead of the tests (TestMain),
// so the end-to-end test runs the real command in its own process, as Lambda does.
const lambdaChildEnv = "GATEHOUSE_TEST_LAMBDA_CHILD"

// lambdaBinaryEnv, when set, names a built gatehouse binary to run instead (the cold-start
// figure of the real binary).
const lambdaBinaryEnv = "GATEHOUSE_TEST_LAMBDA_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(lambdaChildEnv) != "" {
		cmd := newRootCommand()
		cmd.SetArgs([]string{"lambda"})
		if err := cmd.ExecuteContext(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, "gatehouse:", err)
		}
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// ---- an in-test Lambda Runtime API ----

type invocation struct {
	id      string
	payload []byte
}

// outcome is what the function answered: a response body, or an error (errorMessage).
type outcome struct {
	body     []byte
	errMsg   string
	errType  string
	answered time.Time
}

type fakeRuntime struct {
	srv     *httptest.Server
	queue   chan invocation
	mu      sync.Mutex
	waiting map[string]chan outcome
	initErr chan string
}

func newFakeRuntime(t testing.TB) *fakeRuntime {
	rt := &fakeRuntime{queue: make(chan invocation, 16), waiting: map[string]chan outcome{}, initErr: make(chan string, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		select {
		case inv := <-rt.queue:
			w.Header().Set("Lambda-Runtime-Aws-Request-Id", inv.id)
			w.Header().Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(time.Minute).UnixMilli(), 10))
			w.Header().Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:gatehouse")
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(inv.payload)
		case <-r.Context().Done():
		}
	})
	answer := func(r *http.Request, o outcome) {
		rt.mu.Lock()
		ch := rt.waiting[r.PathValue("id")]
		delete(rt.waiting, r.PathValue("id"))
		rt.mu.Unlock()
		if ch != nil {
			ch <- o
		}
	}
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		answer(r, outcome{body: b, answered: time.Now()})
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/error", func(w http.ResponseWriter, r *http.Request) {
		var e struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &e); err != nil || e.Message == "" {
			e.Message = "unreadable error document: " + string(b)
		}
		answer(r, outcome{errMsg: e.Message, errType: e.Type, answered: time.Now()})
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/init/error", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case rt.initErr <- string(b):
		default:
		}
		w.WriteHeader(http.StatusAccepted)
	})
	rt.srv = httptest.NewServer(mux)
	t.Cleanup(rt.srv.Close)
	return rt
}

// send queues an event and returns the channel its outcome arrives on.
func (rt *fakeRuntime) send(payload []byte) <-chan outcome {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	id := hex.EncodeToString(b)
	ch := make(chan outcome, 1)
	rt.mu.Lock()
	rt.waiting[id] = ch
	rt.mu.Unlock()
	rt.queue <- invocation{id: id, payload: payload}
	return ch
}

// lambdaProcess is `gatehouse lambda` running against a fake runtime.
type lambdaProcess struct {
	rt      *fakeRuntime
	started time.Time
	stderr  *bytes.Buffer
	stderrM *sync.Mutex
	stop    func()
	dir     string // the process's working directory
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func startLambda(t testing.TB, env map[string]string) *lambdaProcess {
	t.Helper()
	rt := newFakeRuntime(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if bin := os.Getenv(lambdaBinaryEnv); bin != "" {
		cmd = exec.Command(bin, "lambda")
	}
	cmd.Env = append(os.Environ(), lambdaChildEnv+"=1", "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(rt.srv.URL, "http://"))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &lambdaProcess{rt: rt, stderr: &bytes.Buffer{}, stderrM: &sync.Mutex{}, dir: t.TempDir()}
	cmd.Stderr = lockedWriter{p.stderrM, p.stderr}
	// An empty working directory, where the default database (./gatehouse.db) would appear.
	cmd.Dir = p.dir
	p.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}
	t.Cleanup(p.stop)
	return p
}

func (p *lambdaProcess) log() string {
	p.stderrM.Lock()
	defer p.stderrM.Unlock()
	return p.stderr.String()
}

// invoke sends one event and waits (generously: the machine is shared) for the answer.
func (p *lambdaProcess) invoke(t testing.TB, payload []byte) outcome {
	t.Helper()
	select {
	case o := <-p.rt.send(payload):
		return o
	case msg := <-p.rt.initErr:
		t.Fatalf("init error: %s\n%s", msg, p.log())
	case <-time.After(2 * time.Minute):
		t.Fatalf("no answer within 2 minutes; process log:\n%s", p.log())
	}
	return outcome{}
}

// ---- events as API Gateway sends them ----

const (
	testAPIID   = "a1b2c3d4e5"
	testAccount = "123456789012"
)

func methodARN(stage, method, path string) string {
	return fmt.Sprintf("arn:aws:execute-api:us-east-1:%s:%s/%s/%s/%s", testAccount, testAPIID, stage, method, strings.TrimPrefix(path, "/"))
}

// restRequestEvent is a REST API REQUEST authorizer event; path is under the stage.
func restRequestEvent(stage, method, path, auth string) []byte {
	h := map[string]string{"Host": testAPIID + ".execute-api.us-east-1.amazonaws.com", "X-Forwarded-Proto": "https"}
	mh := map[string][]string{"Host": {h["Host"]}, "X-Forwarded-Proto": {"https"}}
	if auth != "" {
		h["Authorization"], mh["Authorization"] = auth, []string{auth}
	}
	b, _ := json.Marshal(map[string]any{
		"type": "REQUEST", "methodArn": methodARN(stage, method, path), "resource": path, "path": path, "httpMethod": method,
		"headers": h, "multiValueHeaders": mh, "queryStringParameters": map[string]string{}, "pathParameters": map[string]string{},
		"requestContext": map[string]any{"path": "/" + stage + path, "accountId": testAccount, "stage": stage, "requestId": "r-1",
			"identity": map[string]any{"sourceIp": "203.0.113.7"}, "resourcePath": path, "httpMethod": method, "apiId": testAPIID},
	})
	return b
}

func tokenEvent(stage, method, path, auth string) []byte {
	b, _ := json.Marshal(map[string]any{"type": "TOKEN", "authorizationToken": auth, "methodArn": methodARN(stage, method, path)})
	return b
}

// v2Event is an HTTP API payload 2.0 event on a named stage: rawPath starts with it.
func v2Event(stage, method, path, auth string) []byte {
	h := map[string]string{"host": testAPIID + ".execute-api.us-east-1.amazonaws.com"}
	if auth != "" {
		h["authorization"] = auth
	}
	b, _ := json.Marshal(map[string]any{
		"version": "2.0", "type": "REQUEST", "routeArn": methodARN(stage, method, path), "identitySource": []string{auth},
		"routeKey": method + " " + path, "rawPath": "/" + stage + path, "rawQueryString": "", "headers": h,
		"requestContext": map[string]any{"accountId": testAccount, "apiId": testAPIID, "stage": stage, "requestId": "r-2",
			"http": map[string]any{"method": method, "path": "/" + stage + path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7"}},
	})
	return b
}

// ---- the node the Lambda's answers are compared with ----

// issuerNode runs a node with the built-in IdP: it issues the tokens (standing in for Cognito,
// reached by the Lambda through GATEHOUSE_COGNITO_ENDPOINT) and, with the same directory
// applied, is the gateway whose decisions the Lambda must reproduce.
type issuerNode struct {
	t    testing.TB
	node *app.Node
	vars map[string]string
}

func newIssuerNode(t testing.TB) *issuerNode {
	return &issuerNode{t: t, node: apptest.Start(t, apptest.WithIdP(t, apptest.Config(t, "sqlite"))), vars: map[string]string{}}
}

func (n *issuerNode) must(err error) {
	n.t.Helper()
	if err != nil {
		n.t.Fatal(err)
	}
}

func (n *issuerNode) pool(name string, users map[string][]string, scopes ...string) (poolID, clientID string, subs map[string]string) {
	n.t.Helper()
	return apptest.Pool(n.t, n.node, name, users, scopes...)
}

func (n *issuerNode) token(poolID, clientID, user string, id bool) string {
	n.t.Helper()
	return apptest.Bearer(n.t, n.node, poolID, clientID, user, id)
}

func (n *issuerNode) upstream(h http.Handler) string {
	srv := httptest.NewServer(h)
	n.t.Cleanup(srv.Close)
	return srv.URL
}

func exampleDir(name string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "examples", name)
}

// applyExample applies an example directory to the node and returns the environment that
// gives the Lambda the same directory and variables.
func (n *issuerNode) applyExample(name string) map[string]string {
	n.t.Helper()
	d, err := apply.Load(exampleDir(name), func(k string) (string, bool) { v, ok := n.vars[k]; return v, ok })
	n.must(err)
	_, err = apply.Apply(context.Background(), apptest.Client(n.node), d)
	n.must(err)
	env := map[string]string{"GATEHOUSE_BUNDLE": exampleDir(name), "GATEHOUSE_COGNITO_ENDPOINT": n.node.Config.IdPIssuerBase,
		"GATEHOUSE_LOG_LEVEL": "warn"}
	for k, v := range n.vars {
		env[k] = v
	}
	return env
}

// ---- the scenarios ----

type want int

const (
	allow want = iota
	deny
	unauthorized
)

func (w want) String() string { return [...]string{"allow", "deny", "Unauthorized"}[w] }

type lambdaRow struct {
	name, method, path, auth string
	want                     want
	group                    string // a group the context must list (allow rows with a token)
}

// checkRows runs every row as a REST REQUEST, a TOKEN and an HTTP API 2.0 event and checks
// the Lambda's answer against the row and against the node's gateway.Check and proxy for
// the same request.
func checkRows(t *testing.T, n *issuerNode, p *lambdaProcess, stage string, rows []lambdaRow) {
	t.Helper()
	checkRowsOf(t, n, p, stage, []string{"REQUEST", "TOKEN", "v2"}, true, rows)
}

// checkRowsOf is checkRows with the event kinds to send and whether the node's proxy must
// agree (its client is 127.0.0.1, the events' 203.0.113.7).
func checkRowsOf(t *testing.T, n *issuerNode, p *lambdaProcess, stage string, kindNames []string, proxy bool, rows []lambdaRow) {
	t.Helper()
	events := map[string]func(stage, method, path, auth string) []byte{"REQUEST": restRequestEvent, "TOKEN": tokenEvent, "v2": v2Event}
	for _, r := range rows {
		for _, kind := range kindNames {
			payload := events[kind](stage, r.method, r.path, r.auth)
			got := p.invoke(t, payload)
			label := fmt.Sprintf("%s [%s]", r.name, kind)
			checkOutcome(t, label, stage, r, got)
			// The gateway's own decision on the request the event describes.
			ev, err := lambdaauth.ParseEvent(payload)
			if err != nil {
				t.Fatalf("%s: %v", label, err)
			}
			v := n.node.Gateway.Check(context.Background(), ev.Input)
			switch {
			case v.Status == http.StatusUnauthorized:
				if got.errMsg != "Unauthorized" {
					t.Errorf("%s: the gateway answers 401, the Lambda %s", label, describe(got))
				}
			case v.Allow != (got.errMsg == "" && effect(t, got.body) == "Allow"):
				t.Errorf("%s: gateway allow=%v (status %d, reason %s), Lambda %s", label, v.Allow, v.Status, v.Reason, describe(got))
			case got.errMsg == "":
				var resp struct {
					PrincipalID string            `json:"principalId"`
					Context     map[string]string `json:"context"`
				}
				n.must(json.Unmarshal(got.body, &resp))
				if resp.Context["principal"] != v.Principal || resp.Context["groups"] != strings.Join(v.Groups, ",") {
					t.Errorf("%s: context %v, gateway principal %q groups %v", label, resp.Context, v.Principal, v.Groups)
				}
			}
		}
		if !proxy {
			continue
		}
		// The proxy path of the same node: a denial answers the status Check decided.
		req, err := http.NewRequest(r.method, "http://"+n.node.Addr("gateway")+"/"+stage+r.path, nil)
		n.must(err)
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		n.must(err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if (r.want == unauthorized) != (resp.StatusCode == http.StatusUnauthorized) || (r.want == deny) != (resp.StatusCode == http.StatusForbidden) {
			t.Errorf("%s: the proxy answers %d, the Lambda %s", r.name, resp.StatusCode, r.want)
		}
	}
}

func describe(o outcome) string {
	if o.errMsg != "" {
		return "error " + strconv.Quote(o.errMsg)
	}
	return string(o.body)
}

func effect(t testing.TB, body []byte) string {
	var resp struct {
		PolicyDocument struct {
			Statement []struct {
				Action   []string
				Effect   string
				Resource []string
			}
		} `json:"policyDocument"`
	}
	if err := json.Unmarshal(body, &resp); err != nil || len(resp.PolicyDocument.Statement) != 1 {
		t.Fatalf("not a policy answer: %s (%v)", body, err)
	}
	return resp.PolicyDocument.Statement[0].Effect
}

func checkOutcome(t *testing.T, label, stage string, r lambdaRow, got outcome) {
	t.Helper()
	if r.want == unauthorized {
		if got.errMsg != "Unauthorized" {
			t.Errorf("%s: want the error Unauthorized, got %s", label, describe(got))
		}
		return
	}
	if got.errMsg != "" {
		t.Errorf("%s: want %s, got error %q (%s)", label, r.want, got.errMsg, got.errType)
		return
	}
	var resp struct {
		PrincipalID    string `json:"principalId"`
		PolicyDocument struct {
			Version   string
			Statement []struct {
				Action   []string
				Effect   string
				Resource []string
			}
		} `json:"policyDocument"`
		Context map[string]string `json:"context"`
	}
	if err := json.Unmarshal(got.body, &resp); err != nil {
		t.Fatalf("%s: %v: %s", label, err, got.body)
	}
	st := resp.PolicyDocument.Statement
	wantEffect := map[want]string{allow: "Allow", deny: "Deny"}[r.want]
	if len(st) != 1 || st[0].Effect != wantEffect || !slices.Equal(st[0].Action, []string{"execute-api:Invoke"}) ||
		!slices.Equal(st[0].Resource, []string{methodARN(stage, r.method, r.path)}) {
		t.Errorf("%s: want %s on the method ARN, got %s", label, wantEffect, got.body)
	}
	if resp.PrincipalID == "" || resp.Context["decisionId"] == "" {
		t.Errorf("%s: principalId or decisionId missing: %s", label, got.body)
	}
	if r.group != "" && !slices.Contains(strings.Split(resp.Context["groups"], ","), r.group) {
		t.Errorf("%s: groups %q lack %q", label, resp.Context["groups"], r.group)
	}
}

// TestLambdaPetStore runs the pet-store scenario (examples/petstore) through `gatehouse lambda`.
func TestLambdaPetStore(t *testing.T) {
	t.Parallel()
	n := newIssuerNode(t)
	pool, client, _ := n.pool("PetStorePool", map[string][]string{"carol": {"customers"}, "erin": {"employees"}, "oscar": {"owners"}}, "petstore/api")
	n.vars["POOL_ID"], n.vars["UPSTREAM"] = pool, n.upstream(sampleapi.PetStore())
	p := startLambda(t, n.applyExample("petstore"))
	// The first answer measures the cold start: process start to first answer.
	first := p.invoke(t, restRequestEvent("demo", "GET", "/", ""))
	t.Logf("cold start (process start → first answer): %v", first.answered.Sub(p.started))
	c, e, o := n.token(pool, client, "carol", false), n.token(pool, client, "erin", false), n.token(pool, client, "oscar", false)
	checkRows(t, n, p, "demo", []lambdaRow{
		{"root", "GET", "/", "", allow, ""},
		{"pets without token", "GET", "/pets", "", unauthorized, ""},
		{"customer lists pets", "GET", "/pets", c, allow, "customers"},
		{"customer adds pet", "POST", "/pets", c, deny, ""},
		{"employee adds pet", "POST", "/pets", e, allow, "employees"},
		{"employee admin", "GET", "/admin/curltest1", e, deny, ""},
		{"owner admin", "GET", "/admin/curltest1", o, allow, "owners"},
		{"garbage token", "POST", "/pets", garbage, deny, ""},
		{"no such route", "DELETE", "/pets", o, deny, ""},
	})
	// Read-only: nothing was written where a node keeps its database.
	if entries, err := os.ReadDir(p.dir); err != nil || len(entries) != 0 {
		t.Fatalf("the working directory holds %v (%v)", entries, err)
	}
}

const garbage = "Bearer aGVhZGVy.Y2xhaW1z.c2lnbmF0dXJl"

// TestLambdaVetClinic runs the vet-clinic scenario, examples/vet-clinic (two pools, the issuer picked from the token) through
// `gatehouse lambda` with examples/vet-clinic.
func TestLambdaVetClinic(t *testing.T) {
	t.Parallel()
	n := newIssuerNode(t)
	vets, vetsClient, vs := n.pool("vets", map[string][]string{"Jane": {"AllVeterinarians"}, "Adam": {"AllVeterinarians"}})
	clients, clientsClient, cs := n.pool("clients", map[string][]string{"Dave": {"AllClients"}, "Joy": {"AllClients"}})
	for k, v := range map[string]string{"VETS_POOL_ID": vets, "VETS_CLIENT_ID": vetsClient, "CLIENTS_POOL_ID": clients, "CLIENTS_CLIENT_ID": clientsClient,
		"JANE_SUB": vs["Jane"], "ADAM_SUB": vs["Adam"], "DAVE_SUB": cs["Dave"], "JOY_SUB": cs["Joy"], "UPSTREAM": n.upstream(sampleapi.Appointments())} {
		n.vars[k] = v
	}
	p := startLambda(t, n.applyExample("vet-clinic"))
	jane, adam := n.token(vets, vetsClient, "Jane", true), n.token(vets, vetsClient, "Adam", true)
	dave, joy := n.token(clients, clientsClient, "Dave", true), n.token(clients, clientsClient, "Joy", true)
	checkRows(t, n, p, "dev", []lambdaRow{
		{"none", "GET", "/appointment/PI-T123", "", unauthorized, ""},
		{"garbage", "GET", "/appointment/PI-T123", garbage, deny, ""},
		{"Jane T123", "GET", "/appointment/PI-T123", jane, allow, "AllVeterinarians"},
		{"Adam T123", "GET", "/appointment/PI-T123", adam, deny, ""},
		{"Adam T125", "GET", "/appointment/PI-T125", adam, allow, "AllVeterinarians"},
		{"Dave T123", "GET", "/appointment/PI-T123", dave, allow, "AllClients"},
		{"Joy T123", "GET", "/appointment/PI-T123", joy, deny, ""},
		{"Joy T124", "GET", "/appointment/PI-T124", joy, allow, "AllClients"},
		{"Jane T124", "GET", "/appointment/PI-T124", jane, allow, "AllVeterinarians"},
		{"Dave T124", "GET", "/appointment/PI-T124", dave, deny, ""},
	})
}

// BenchmarkLambdaColdStart: `gatehouse lambda` from process start to its first answer (the
// examples/petstore bundle loaded, applied and compiled, the Runtime API polled, one REQUEST
// event on the public route decided). The child is this test binary re-executed (TestMain).
//
//	go test -run x -bench LambdaColdStart -benchtime 20x ./cmd/gatehouse/
func BenchmarkLambdaColdStart(b *testing.B) {
	n := newIssuerNode(b)
	pool, client, _ := n.pool("PetStorePool", map[string][]string{"oscar": {"owners"}}, "petstore/api")
	n.vars["POOL_ID"], n.vars["UPSTREAM"] = pool, n.upstream(sampleapi.PetStore())
	env := n.applyExample("petstore")
	public := restRequestEvent("demo", "GET", "/", "")
	// Then the first token: its issuer's keys are fetched (from the node, on loopback).
	withToken := restRequestEvent("demo", "GET", "/admin/curltest1", n.token(pool, client, "oscar", false))
	var first, token time.Duration
	for b.Loop() {
		p := startLambda(b, env)
		o := p.invoke(b, public)
		o2 := p.invoke(b, withToken)
		if o.errMsg != "" || o2.errMsg != "" || effect(b, o2.body) != "Allow" {
			b.Fatalf("%s %s\n%s", describe(o), describe(o2), p.log())
		}
		first += o.answered.Sub(p.started)
		token += o2.answered.Sub(o.answered)
		p.stop()
	}
	b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1000, "ms/start")
	b.ReportMetric(float64(token.Microseconds())/float64(b.N)/1000, "ms/first-token")
}

func TestBootstrapArgs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		argv0 string
		args  []string
		want  []string
	}{
		{"/var/task/bootstrap", nil, []string{"lambda"}},
		{"bootstrap", []string{}, []string{"lambda"}},
		{"/var/task/bootstrap", []string{"version"}, nil},
		{"/usr/bin/gatehouse", nil, nil},
		{"/opt/bootstrap.d/gatehouse", nil, nil},
	} {
		if got := bootstrapArgs(tc.argv0, tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("bootstrapArgs(%q, %q) = %q, want %q", tc.argv0, tc.args, got, tc.want)
		}
	}
}

// Without the Runtime API or the bundle the command says what is missing instead of starting.
func TestLambdaCommandNeedsItsSettings(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	t.Setenv("GATEHOUSE_BUNDLE", "")
	if out, code := run(t, "lambda"); code != 1 || !strings.Contains(out, "GATEHOUSE_BUNDLE") {
		t.Fatalf("no bundle: %d %s", code, out)
	}
	if out, code := run(t, "lambda", "--bundle", exampleDir("petstore")); code != 1 || !strings.Contains(out, "AWS_LAMBDA_RUNTIME_API") {
		t.Fatalf("no runtime API: %d %s", code, out)
	}
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:1")
	t.Setenv("GATEHOUSE_LAMBDA_SIMPLE_RESPONSES", "maybe")
	if out, code := run(t, "lambda", "--bundle", exampleDir("petstore")); code != 1 || !strings.Contains(out, "GATEHOUSE_LAMBDA_SIMPLE_RESPONSES") {
		t.Fatalf("bad boolean: %d %s", code, out)
	}
}

// With GATEHOUSE_LAMBDA_SIMPLE_RESPONSES, HTTP API 2.0 events get {isAuthorized, context};
// REST events keep the policy form.
func TestLambdaSimpleResponses(t *testing.T) {
	t.Parallel()
	n := newIssuerNode(t)
	pool, client, _ := n.pool("PetStorePool", map[string][]string{"erin": {"employees"}, "oscar": {"owners"}}, "petstore/api")
	n.vars["POOL_ID"], n.vars["UPSTREAM"] = pool, n.upstream(sampleapi.PetStore())
	env := n.applyExample("petstore")
	env["GATEHOUSE_LAMBDA_SIMPLE_RESPONSES"] = "true"
	p := startLambda(t, env)
	e, o := n.token(pool, client, "erin", false), n.token(pool, client, "oscar", false)
	for _, tc := range []struct {
		name, auth string
		want       string
	}{
		{"owner", o, `"isAuthorized":true`},
		{"employee", e, `"isAuthorized":false`},
	} {
		got := p.invoke(t, v2Event("demo", "GET", "/admin/curltest1", tc.auth))
		if got.errMsg != "" || !strings.Contains(string(got.body), tc.want) || strings.Contains(string(got.body), "policyDocument") {
			t.Errorf("%s: %s, want %s", tc.name, describe(got), tc.want)
		}
		if tc.want == `"isAuthorized":true` && !strings.Contains(string(got.body), `"groups":"owners"`) {
			t.Errorf("%s: context lacks the groups: %s", tc.name, got.body)
		}
	}
	if got := p.invoke(t, v2Event("demo", "GET", "/admin/curltest1", "")); got.errMsg != "Unauthorized" {
		t.Errorf("no token: %s", describe(got))
	}
	if got := p.invoke(t, restRequestEvent("demo", "GET", "/admin/curltest1", o)); got.errMsg != "" || effect(t, got.body) != "Allow" {
		t.Errorf("REST event: %s", describe(got))
	}
}

// TestLambdaGroupsIAM runs the groups-to-IAM scenario, examples/groups-iam (groups mapped to IAM policies, with an IpAddress
// condition on the caller's address) through `gatehouse lambda` with examples/groups-iam.
func TestLambdaGroupsIAM(t *testing.T) {
	t.Parallel()
	n := newIssuerNode(t)
	pool, client, _ := n.pool("PetPool", map[string][]string{"cognitouser": {"pet-veterinarian"}, "nogroup": nil})
	n.vars["POOL_ID"], n.vars["CLIENT_ID"], n.vars["UPSTREAM"] = pool, client, n.upstream(sampleapi.VersionedPets())
	// The events' source address is 203.0.113.7.
	n.vars["ALLOWED_CIDR"] = "203.0.113.0/24"
	p := startLambda(t, n.applyExample("groups-iam"))
	vet := n.token(pool, client, "cognitouser", false)
	checkRowsOf(t, n, p, "dev", []string{"REQUEST", "v2"}, false, []lambdaRow{
		{"no header", "GET", "/petstore/v1/pets", "", unauthorized, ""},
		{"garbage", "GET", "/petstore/v1/pets", garbage, deny, ""},
		{"v1 pets", "GET", "/petstore/v1/pets", vet, allow, "pet-veterinarian"},
		{"v2 pets", "GET", "/petstore/v2/pets", vet, deny, ""},
		{"v2 status", "GET", "/petstore/v2/status", vet, allow, "pet-veterinarian"},
		{"v2 status POST", "POST", "/petstore/v2/status", vet, deny, ""},
		{"no group", "GET", "/petstore/v1/pets", n.token(pool, client, "nogroup", false), deny, ""},
		{"id token", "GET", "/petstore/v1/pets", n.token(pool, client, "cognitouser", true), deny, ""},
	})
	// A TOKEN event has no source address: the IpAddress condition cannot hold.
	checkRowsOf(t, n, p, "dev", []string{"TOKEN"}, false, []lambdaRow{{"TOKEN event, no source IP", "GET", "/petstore/v1/pets", vet, deny, ""}})
}
