package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/promql/parser"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.yaml.in/yaml/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/tracing"
	"github.com/gatehouse-dev/gatehouse/internal/tracing/tracingtest"
)

// upstreamRecorder is a real upstream that remembers the traceparent of each request.
type upstreamRecorder struct {
	srv   *httptest.Server
	mu    sync.Mutex
	heads []string
}

func newUpstream(t *testing.T) *upstreamRecorder {
	u := &upstreamRecorder{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.heads = append(u.heads, r.Header.Get("Traceparent"))
		u.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"pet":true}`)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstreamRecorder) traceparents() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.heads...)
}

// putObservedAPI defines "Pets" (base path /v1): a jwt route and a public route to upstream,
// and a route whose upstream refuses connections.
func putObservedAPI(t *testing.T, node *app.Node, issuer, upstream string) {
	t.Helper()
	def := fmt.Sprintf(`{"name": "Pets", "stage": "v1", "upstream": %q,
		"authorizers": {"oidc": {"type": "jwt", "tokenType": "accessToken", "identitySources": [{"configuration": {"openIdConnectConfiguration": {
			"issuer": %q, "tokenSelection": {"accessTokenOnly": {"audiences": ["api"]}}}}}]}},
		"routes": [
			{"route": "GET /pets/{id}", "authorizer": "oidc"},
			{"route": "GET /public", "authorizer": "none"},
			{"route": "GET /broken", "authorizer": "none", "upstream": "http://127.0.0.1:1"}]}`, upstream, issuer)
	if err := apptest.Client(node).Call(context.Background(), "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: def}, nil); err != nil {
		t.Fatalf("put api: %v", err)
	}
}

func get(t *testing.T, url string, header map[string]string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func spanByID(spans []tracingtest.Span, id string) *tracingtest.Span {
	for i := range spans {
		if spans[i].SpanID == id {
			return &spans[i]
		}
	}
	return nil
}

// One request through the gateway is one trace: the server span named after the route, the
// decision (API, route, authorizer type, decision, reason) with route selection and token
// validation below it,
// and the upstream call as a client span whose traceparent the upstream received. An
// untrusted caller's traceparent is not continued but linked; a trusted proxy's is
// continued. Management writes get a span too. No span carries the token.
func TestTracesFollowARequestToTheUpstream(t *testing.T) {
	t.Parallel()
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, tc := range []struct {
		name     string
		recv     func(testing.TB) *tracingtest.Receiver
		protocol string
		trusted  bool
	}{
		{"grpc, untrusted caller", tracingtest.NewGRPC, tracing.ProtocolGRPC, false},
		{"http, trusted proxy", tracingtest.NewHTTP, tracing.ProtocolHTTP, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recv := tc.recv(t)
			cfg := apptest.Config(t, "sqlite")
			cfg.TracingEndpoint, cfg.TracingProtocol = recv.Endpoint, tc.protocol
			if tc.trusted {
				cfg.TrustedProxies = []string{"127.0.0.0/8"}
			}
			node := apptest.Start(t, cfg)
			if node.Tracing == nil {
				t.Fatal("tracing is off with an endpoint configured")
			}
			issuer := newOIDCIssuer(t)
			up := newUpstream(t)
			putObservedAPI(t, node, issuer.srv.URL, up.srv.URL)
			token := issuer.token(t, jwt.MapClaims{"sub": "alice", "aud": "api"})
			gw := "http://" + node.Addr("gateway") + "/v1"
			if code := get(t, gw+"/pets/7", map[string]string{"Authorization": "Bearer " + token,
				"Traceparent": "00-" + callerTrace + "-" + callerSpan + "-01"}); code != 200 {
				t.Fatalf("allowed request: %d", code)
			}
			if code := get(t, gw+"/pets/8", nil); code != 401 {
				t.Fatalf("request without a token: %d", code)
			}
			c := avpClient(t, node, testKeyID, testSecret)
			if _, err := c.CreatePolicyStore(context.Background(), &vp.CreatePolicyStoreInput{
				ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}}); err != nil {
				t.Fatal(err)
			}
			if err := node.Tracing.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			spans := recv.WaitFor(t, "the gateway's and the management API's spans", func(s []tracingtest.Span) bool {
				return len(tracingtest.Named(s, "gatehouse.upstream")) == 1 && len(tracingtest.Named(s, "gatehouse.decision")) == 2 &&
					len(tracingtest.Named(s, "gatehouse.management VerifiedPermissions.CreatePolicyStore")) == 1
			})
			dump := tracingtest.Dump(spans)
			if strings.Contains(dump, token) || strings.Contains(dump, strings.Split(token, ".")[2]) {
				t.Fatalf("a span carries the token:\n%s", dump)
			}

			// The allowed request's trace.
			upSpan := tracingtest.Named(spans, "gatehouse.upstream")[0]
			server := spanByID(spans, upSpan.ParentSpanID)
			if server == nil || server.Kind != tracepb.Span_SPAN_KIND_SERVER || server.Name != "GET /pets/{id}" ||
				server.Attrs["http.route"] != "/pets/{id}" || server.Attrs["http.response.status_code"] != "200" {
				t.Fatalf("the upstream span's parent is not the request's server span:\n%s", dump)
			}
			if upSpan.Kind != tracepb.Span_SPAN_KIND_CLIENT || upSpan.Attrs["gatehouse.api"] != "Pets" || upSpan.Attrs["http.response.status_code"] != "200" {
				t.Fatalf("upstream span: %+v", upSpan)
			}
			if tc.trusted {
				if server.TraceID != callerTrace || server.ParentSpanID != callerSpan {
					t.Fatalf("a trusted proxy's trace was not continued: %+v", server)
				}
			} else if server.TraceID == callerTrace || server.ParentSpanID != "" || len(server.Links) != 1 ||
				server.Links[0].TraceID != callerTrace || server.Links[0].SpanID != callerSpan {
				t.Fatalf("an untrusted caller's trace must be linked, not continued: %+v", server)
			}
			var decision *tracingtest.Span
			for _, d := range tracingtest.Named(spans, "gatehouse.decision") {
				if d.TraceID == server.TraceID {
					decision = &d
				}
			}
			if decision == nil || decision.ParentSpanID != server.SpanID {
				t.Fatalf("no decision span below the server span:\n%s", dump)
			}
			for k, want := range map[string]string{"gatehouse.api": "Pets", "gatehouse.route": "GET /pets/{id}",
				"gatehouse.authorizer.type": "jwt", "gatehouse.decision": "allow", "gatehouse.source": "gateway"} {
				if decision.Attrs[k] != want {
					t.Fatalf("decision span %s = %q, want %q: %v", k, decision.Attrs[k], want, decision.Attrs)
				}
			}
			var routed bool
			for _, r := range tracingtest.Named(spans, "gatehouse.route") {
				routed = routed || (r.ParentSpanID == decision.SpanID && r.Attrs["gatehouse.route"] == "GET /pets/{id}" &&
					r.Attrs["gatehouse.route.matched"] == "true" && !r.End.Before(r.Start) && !r.Start.Before(decision.Start) && !r.End.After(decision.End))
			}
			if !routed {
				t.Fatalf("no route span within the decision:\n%s", dump)
			}
			var validated bool
			for _, v := range tracingtest.Named(spans, "gatehouse.token_validation") {
				validated = validated || (v.ParentSpanID == decision.SpanID && v.Attrs["gatehouse.issuer"] == issuer.srv.URL)
			}
			if !validated {
				t.Fatalf("no token validation span below the decision:\n%s", dump)
			}
			heads := up.traceparents()
			want := "00-" + server.TraceID + "-" + upSpan.SpanID + "-01"
			if len(heads) != 1 || heads[0] != want {
				t.Fatalf("upstream received traceparent %q, want %q", heads, want)
			}

			// The denied request: its decision span names the reason.
			var denied bool
			for _, d := range tracingtest.Named(spans, "gatehouse.decision") {
				denied = denied || (d.Attrs["gatehouse.decision"] == "deny" && d.Attrs["gatehouse.reason"] == "missing_token")
			}
			if !denied {
				t.Fatalf("no denied decision span with its reason:\n%s", dump)
			}

			// The management write: a span below the admin listener's server span.
			m := tracingtest.Named(spans, "gatehouse.management VerifiedPermissions.CreatePolicyStore")[0]
			if ms := spanByID(spans, m.ParentSpanID); ms == nil || ms.Kind != tracepb.Span_SPAN_KIND_SERVER || m.Attrs["gatehouse.write"] != "true" {
				t.Fatalf("management span: %+v\n%s", m, dump)
			}
		})
	}
}

// The shipped dashboard and alert rules parse as PromQL, and every metric they use is
// exposed by a running node after traffic of every kind they watch.
func TestDashboardAndAlertsUseExposedMetrics(t *testing.T) {
	t.Parallel()
	exprs := shippedExpressions(t)
	if len(exprs) < 20 {
		t.Fatalf("only %d expressions found in the dashboard and rules", len(exprs))
	}
	used := map[string][]string{} // metric -> where
	for where, e := range exprs {
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(e)
		if err != nil {
			t.Fatalf("%s: %q does not parse: %v", where, e, err)
		}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				used[vs.Name] = append(used[vs.Name], where)
			}
			return nil
		})
	}

	families := trafficAndScrape(t)
	var missing []string
	for name, where := range used {
		if !strings.HasPrefix(name, "gatehouse_") {
			t.Errorf("%s uses %s, which Gatehouse does not export", where[0], name)
			continue
		}
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(name, suffix); ok && families[b] == "HISTOGRAM" {
				base = b
			}
		}
		if families[base] == "" {
			missing = append(missing, fmt.Sprintf("%s (used by %s)", name, where[0]))
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("metrics used but not exposed by a running node:\n%s", strings.Join(missing, "\n"))
	}
}

// shippedExpressions returns every PromQL expression of deploy/, keyed by where it is.
func shippedExpressions(t *testing.T) map[string]string {
	t.Helper()
	root := filepath.Join("..", "..", "deploy")
	out := map[string]string{}

	raw, err := os.ReadFile(filepath.Join(root, "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(true)
	if err := dec.Decode(&rules); err != nil {
		t.Fatalf("alerts.yaml: %v", err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			where := "alert " + r.Alert
			if r.Alert == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("%s: every rule needs a name, a severity label and a summary", where)
			}
			for k, text := range r.Annotations {
				if err := checkAlertTemplate(text); err != nil {
					t.Errorf("%s: annotation %s: %v", where, k, err)
				}
			}
			if r.For != "" {
				if _, err := model.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", where, r.For, err)
				}
			}
			out[where] = r.Expr
		}
	}
	for _, want := range []string{"GatehouseNodeNotReady", "GatehouseStoreStale", "GatehouseAuditRecordsLost", "GatehouseHigh5xxRate",
		"GatehouseUpstreamErrors", "GatehouseIdPThrottling"} {
		if _, ok := out["alert "+want]; !ok {
			t.Errorf("alert %s is missing", want)
		}
	}

	raw, err = os.ReadFile(filepath.Join(root, "grafana", "gatehouse.json"))
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
	}
	var dash struct {
		UID    string  `json:"uid"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("gatehouse.json: %v", err)
	}
	if dash.UID == "" {
		t.Error("the dashboard has no uid (imports would duplicate it)")
	}
	// Grafana's variables, as Grafana substitutes them before querying.
	vars := strings.NewReplacer("$__rate_interval", "5m", "$instance", ".*")
	for _, p := range dash.Panels {
		for i, tg := range p.Targets {
			out[fmt.Sprintf("panel %q target %d", p.Title, i)] = vars.Replace(tg.Expr)
		}
	}
	return out
}

// checkAlertTemplate parses and runs an annotation as Prometheus does (Go templates with
// $labels and $value defined; the humanize functions stand in for Prometheus's own).
func checkAlertTemplate(text string) error {
	fns := template.FuncMap{}
	for _, name := range []string{"humanize", "humanize1024", "humanizeDuration", "humanizePercentage", "humanizeTimestamp"} {
		fns[name] = func(v any) (string, error) {
			if _, ok := v.(float64); !ok {
				return "", fmt.Errorf("%s of %T", name, v)
			}
			return "x", nil
		}
	}
	tmpl, err := template.New("").Option("missingkey=error").Funcs(fns).Parse("{{$labels := .Labels}}{{$value := .Value}}" + text)
	if err != nil {
		return err
	}
	data := map[string]any{"Labels": map[string]string{"instance": "i", "api": "a", "pool": "p", "issuer": "s"}, "Value": 1.5}
	return tmpl.Execute(io.Discard, data)
}

// trafficAndScrape runs a node through every kind of traffic the dashboard and the alerts
// watch — allowed, denied and failing gateway requests, forward-auth, a Cedar decision, a
// management write, audited decisions, built-in IdP sign-ins that succeed, fail and are
// throttled — and returns the metric families it then exposes (name -> type).
func trafficAndScrape(t *testing.T) map[string]string {
	t.Helper()
	ctx := context.Background()
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.AuditFile = filepath.Join(t.TempDir(), "audit.log")
	cfg.HealthListen = "127.0.0.1:0"
	cfg.ForwardAuthListen = "127.0.0.1:0"
	node := apptest.Start(t, cfg)
	issuer := newOIDCIssuer(t)
	up := newUpstream(t)
	putObservedAPI(t, node, issuer.srv.URL, up.srv.URL)
	token := issuer.token(t, jwt.MapClaims{"sub": "alice", "aud": "api"})
	gw := "http://" + node.Addr("gateway") + "/v1"
	for _, r := range []struct {
		url    string
		header map[string]string
		want   int
	}{
		{gw + "/pets/1", map[string]string{"Authorization": "Bearer " + token}, 200},
		{gw + "/pets/1", map[string]string{"Authorization": "Bearer " + token}, 200}, // a decision-cache hit
		{gw + "/pets/2", nil, 401},
		{gw + "/public", nil, 200},
		{gw + "/broken", nil, 502},
		{"http://" + node.Addr("forward-auth") + "/apis/Pets", map[string]string{"X-Original-Method": "GET", "X-Original-Uri": "/v1/public"}, 200},
	} {
		if code := get(t, r.url, r.header); code != r.want {
			t.Fatalf("GET %s: %d, want %d", r.url, code, r.want)
		}
	}

	c := avpClient(t, node, testKeyID, testSecret)
	ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.IsAuthorized(ctx, &vp.IsAuthorizedInput{PolicyStoreId: ps.PolicyStoreId, Principal: ent("A::User", "u"),
		Action: &types.ActionIdentifier{ActionType: aws.String("A::Action"), ActionId: aws.String("x")}, Resource: ent("A::R", "r")}); err != nil {
		t.Fatal(err)
	}

	pool, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: "observed"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := node.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "app", ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.IdP.CreateUser(ctx, pool.ID, "bob", "Correct-Horse-9", nil); err != nil {
		t.Fatal(err)
	}
	cog := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + node.Addr("idp")), RetryMaxAttempts: 1})
	signIn := func(pw string) error {
		_, err := cog.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(client.ID),
			AuthParameters: map[string]string{"USERNAME": "bob", "PASSWORD": pw}})
		return err
	}
	if err := signIn("Correct-Horse-9"); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	for range idp.DefaultThrottle.FreeFailures + 1 { // the last one is throttled
		if err := signIn("Wrong-Horse-9"); err == nil {
			t.Fatal("a wrong password signed in")
		}
	}

	resp, err := http.Get("http://" + node.Addr("health") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tp := expfmt.NewTextParser(model.UTF8Validation)
	parsed, err := tp.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	families := map[string]string{}
	for name, mf := range parsed {
		families[name] = mf.GetType().String()
	}
	// Spot checks that the traffic was counted as it happened.
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`^gatehouse_idp_signins_total\{pool="` + pool.ID + `",result="throttled"\} 1$`),
		regexp.MustCompile(`^gatehouse_idp_signins_total\{pool="` + pool.ID + `",result="failure"\} 5$`),
		regexp.MustCompile(`^gatehouse_idp_throttled_total\{pool="` + pool.ID + `"\} 1$`),
		regexp.MustCompile(`^gatehouse_requests_total\{api="Pets",route="GET /pets/\{id\}",source="gateway",status="200"\} 2$`),
		regexp.MustCompile(`^gatehouse_requests_total\{api="Pets",route="GET /broken",source="gateway",status="502"\} 1$`),
		regexp.MustCompile(`^gatehouse_requests_total\{api="Pets",route="GET /public",source="forward-auth",status="200"\} 1$`),
		regexp.MustCompile(`^gatehouse_denials_total\{api="Pets",reason="missing_token",source="gateway"\} 1$`),
		regexp.MustCompile(`^gatehouse_upstream_errors_total\{api="Pets",kind="upstream_error"\} 1$`),
		regexp.MustCompile(`^gatehouse_upstream_duration_seconds_count\{api="Pets"\} 4$`),
		regexp.MustCompile(`^gatehouse_ready 1$`),
	} {
		if !scraped(t, node, want) {
			t.Errorf("no line matches %s", want)
		}
	}
	return families
}

func scraped(t *testing.T, node *app.Node, re *regexp.Regexp) bool {
	t.Helper()
	_, body := httpGet(t, "http://"+node.Addr("admin")+"/metrics")
	for _, l := range strings.Split(body, "\n") {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// The observed gateway listener (status recorder, server span, traced upstream transport)
// still lets a WebSocket handshake switch protocols and tunnel, and counts it as a 101.
func TestObservedGatewayKeepsWebSocketUpgrades(t *testing.T) {
	t.Parallel()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nX-Saw-Traceparent: %t\r\n\r\n", r.Header.Get("Traceparent") != "")
		_ = brw.Flush()
		line, _ := brw.ReadString('\n')
		fmt.Fprintf(brw, "echo %s", line)
		_ = brw.Flush()
	}))
	t.Cleanup(echo.Close)
	cfg := apptest.Config(t, "sqlite")
	cfg.TracingEndpoint = tracingtest.NewGRPC(t).Endpoint
	node := apptest.Start(t, cfg)
	def := fmt.Sprintf(`{"name": "WS", "stage": "v1", "upstream": %q, "routes": [{"route": "GET /ws", "authorizer": "none", "websocket": true}]}`, echo.URL)
	if err := apptest.Client(node).Call(context.Background(), "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: def}, nil); err != nil {
		t.Fatalf("put api: %v", err)
	}
	conn, err := net.Dial("tcp", node.Addr("gateway"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "GET /v1/ws HTTP/1.1\r\nHost: gw\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil || res.StatusCode != http.StatusSwitchingProtocols || res.Header.Get("X-Saw-Traceparent") != "true" {
		t.Fatalf("handshake: %v %v", res, err)
	}
	fmt.Fprint(conn, "hello\n")
	if got, _ := br.ReadString('\n'); got != "echo hello\n" {
		t.Fatalf("tunnel answered %q", got)
	}
	conn.Close()
	re := regexp.MustCompile(`^gatehouse_requests_total\{api="WS",route="GET /ws",source="gateway",status="101"\} 1$`)
	deadline := time.Now().Add(30 * time.Second)
	for !scraped(t, node, re) {
		if time.Now().After(deadline) {
			t.Fatal("the upgrade was not counted as a 101")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Envoy's ext_authz over gRPC answers HTTP 200 whatever it decided; the request is counted
// with the status decided, and traced with the decision below a server span that continues
// Envoy's trace context (the peer is a trusted proxy).
func TestExtAuthzRequestsAreCountedAndTraced(t *testing.T) {
	t.Parallel()
	recv := tracingtest.NewGRPC(t)
	cfg := apptest.Config(t, "sqlite")
	cfg.ExtAuthzListen = "127.0.0.1:0"
	cfg.TracingEndpoint = recv.Endpoint
	cfg.TrustedProxies = []string{"127.0.0.1/32"}
	node := apptest.Start(t, cfg)
	issuer := newOIDCIssuer(t)
	putObservedAPI(t, node, issuer.srv.URL, "http://127.0.0.1:1")
	conn, err := grpc.NewClient(node.Addr("ext-authz"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	const envoyTrace = "0af7651916cd43dd8448eb211c80319c"
	ctx := metadata.AppendToOutgoingContext(context.Background(), "traceparent", "00-"+envoyTrace+"-b7ad6b7169203331-01")
	req := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
		Method: "GET", Path: "/v1/pets/3", Host: "api.example.com", Scheme: "http", Protocol: "HTTP/1.1",
		Headers: map[string]string{":method": "GET", ":path": "/v1/pets/3", ":authority": "api.example.com"}, Size: -1}}}}
	resp, err := authv3.NewAuthorizationClient(conn).Check(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetDeniedResponse().GetStatus().GetCode() != 401 {
		t.Fatalf("ext_authz answer: %v", resp)
	}
	re := regexp.MustCompile(`^gatehouse_requests_total\{api="Pets",route="GET /pets/\{id\}",source="ext-authz",status="401"\} 1$`)
	deadline := time.Now().Add(30 * time.Second)
	for !scraped(t, node, re) {
		if time.Now().After(deadline) {
			_, body := httpGet(t, "http://"+node.Addr("admin")+"/metrics")
			t.Fatalf("the denial was not counted with its status:\n%s", grepMetrics(body))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := node.Tracing.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := recv.WaitFor(t, "the ext_authz decision", func(s []tracingtest.Span) bool { return len(tracingtest.Named(s, "gatehouse.decision")) == 1 })
	d := tracingtest.Named(spans, "gatehouse.decision")[0]
	server := spanByID(spans, d.ParentSpanID)
	if d.TraceID != envoyTrace || d.Attrs["gatehouse.source"] != "ext-authz" || d.Attrs["gatehouse.reason"] != "missing_token" ||
		server == nil || server.Name != "GET /pets/{id}" || server.Kind != tracepb.Span_SPAN_KIND_SERVER {
		t.Fatalf("ext_authz trace:\n%s", tracingtest.Dump(spans))
	}
}
