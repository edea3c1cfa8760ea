package app

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/tracing"
)

// Span names, documented in docs/observability.md.
const (
	spanDecision   = "gatehouse.decision"
	spanRoute      = "gatehouse.route"
	spanToken      = "gatehouse.token_validation"
	spanUpstream   = "gatehouse.upstream"
	spanManagement = "gatehouse.management"
)

// observer ties the request path to metrics and traces. The gateway reports what it decided
// through Deps.OnDecision; the listener middleware (observeHTTP) puts a reqObs in the request
// context, which OnDecision fills with the API and route, so the request is counted and
// named once its answer is complete, and the upstream transport knows which API it calls.
type observer struct {
	metrics *metrics.Metrics
	tracer  *tracing.Provider // nil: tracing off
	trusted []netip.Prefix    // peers whose trace context is continued (trustedProxies)
}

// How a listener's requests are counted in gatehouse_requests_total.
type countMode int

const (
	noCount countMode = iota // the management API: traced only
	// countHTTPStatus labels a request with the status written (the gateway, forward-auth).
	countHTTPStatus
	// countVerdictStatus labels it with the status decided: ext_authz over gRPC answers 200
	// whatever it decided, the decision travelling in the response message.
	countVerdictStatus
)

// reqObs is one request's facts, filled in as the request goes.
type reqObs struct {
	api, route string
	verdict    int        // the status decided (200 when allowed); 0 before a decision
	server     trace.Span // nil when tracing is off
	decision   trace.Span // started with the request, ended by OnDecision
}

type reqObsKey struct{}

func reqObsFrom(ctx context.Context) *reqObs {
	o, _ := ctx.Value(reqObsKey{}).(*reqObs)
	return o
}

func (o *observer) isTrusted(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range o.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// observeHTTP wraps a listener's handler: a server span per request (when tracing is on) with
// a decision span below it, and, unless mode is noCount, gatehouse_requests_total and
// gatehouse_request_duration_seconds labelled with what the gateway decided.
func (o *observer) observeHTTP(source string, mode countMode, h http.Handler) http.Handler {
	count := mode != noCount
	if !count && !o.tracer.Enabled() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ro := &reqObs{}
		ctx := r.Context()
		if o.tracer.Enabled() {
			ctx, ro.server = o.tracer.StartServer(ctx, r, o.isTrusted(r.RemoteAddr), source+" "+r.Method,
				attribute.String("gatehouse.listener", source))
			if count {
				// Ended by OnDecision; a request answered before any decision (the audit
				// gate's 503) ends it below.
				ctx, ro.decision = o.tracer.Tracer().Start(ctx, spanDecision)
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			status := sw.status
			p := recover()
			switch {
			case status == 0 && p != nil:
				// net/http answers nothing and closes the connection: a failure, not a 200.
				status = http.StatusInternalServerError
			case status == 0:
				status = http.StatusOK
			}
			if mode == countVerdictStatus && ro.verdict != 0 {
				status = ro.verdict
			}
			if ro.decision != nil {
				ro.decision.End()
			}
			if ro.server != nil {
				ro.server.SetAttributes(attribute.Int("http.response.status_code", status))
				if status >= 500 {
					ro.server.SetStatus(codes.Error, http.StatusText(status))
				}
				ro.server.End()
			}
			if count {
				o.metrics.Requests.WithLabelValues(ro.api, ro.route, statusLabel(status), source).Inc()
				o.metrics.RequestLatency.WithLabelValues(ro.api, ro.route, source).Observe(time.Since(start).Seconds())
			}
			if p != nil {
				panic(p) // for net/http, which logs it (or, for http.ErrAbortHandler, does not)
			}
		}()
		h.ServeHTTP(sw, r.WithContext(context.WithValue(ctx, reqObsKey{}, ro)))
	})
}

// GatewayHandler is the gateway listener's handler: the request observed (metrics, spans),
// the audit gate, the gateway.
func (n *Node) GatewayHandler() http.Handler {
	return n.obs.observeHTTP("gateway", countHTTPStatus, n.auditGate(n.Gateway.Handler()))
}

// decided records a gateway decision on the request's observation: its API and route for
// the request metrics, the decision span's attributes (never a token or principal), and the
// server span's name ("GET /pets/{id}", the route as written: bounded, unlike the path).
func (o *observer) decided(ctx context.Context, d gateway.Decision) {
	ro := reqObsFrom(ctx)
	if ro == nil {
		return
	}
	ro.api, ro.route, ro.verdict = d.API, d.Route, d.Status
	if d.Allowed || d.Status == 0 {
		ro.verdict = http.StatusOK
	}
	if ro.decision == nil {
		return
	}
	result := "deny"
	if d.Allowed {
		result = "allow"
	}
	attrs := []attribute.KeyValue{
		attribute.String("gatehouse.api", d.API), attribute.String("gatehouse.route", d.Route),
		attribute.String("gatehouse.authorizer", d.Authorizer), attribute.String("gatehouse.authorizer.type", d.AuthorizerType),
		attribute.String("gatehouse.decision", result), attribute.String("gatehouse.decision_id", d.ID),
		attribute.Bool("gatehouse.cached", d.Cached), attribute.Int64("gatehouse.revision", d.Revision),
		attribute.String("gatehouse.source", d.Source),
	}
	if d.Reason != "" {
		attrs = append(attrs, attribute.String("gatehouse.reason", d.Reason))
	}
	if d.PolicyStoreID != "" {
		attrs = append(attrs, attribute.String("gatehouse.policy_store_id", d.PolicyStoreID))
	}
	ro.decision.SetAttributes(attrs...)
	// Route selection is reported after the fact with its real times: from the decision's
	// start until the route was found, or until the refusal when none was.
	routed, matched := d.Routed, !d.Routed.IsZero()
	if !matched {
		routed = d.Time.Add(d.Latency)
	}
	_, rs := o.tracer.Tracer().Start(trace.ContextWithSpan(ctx, ro.decision), spanRoute, trace.WithTimestamp(d.Time),
		trace.WithAttributes(attribute.String("gatehouse.api", d.API), attribute.String("gatehouse.route", d.Route),
			attribute.Bool("gatehouse.route.matched", matched)))
	rs.End(trace.WithTimestamp(routed))
	ro.decision.End()
	if d.Route != "" && ro.server != nil {
		_, path, _ := strings.Cut(d.Route, " ")
		ro.server.SetName(d.Route)
		ro.server.SetAttributes(attribute.String("http.route", path), attribute.String("gatehouse.api", d.API))
	}
}

// statusLabels holds the label of every status from 100 to 599, so counting a request
// formats nothing.
var statusLabels = func() (s [500]string) {
	for i := range s {
		s[i] = strconv.Itoa(i + 100)
	}
	return s
}()

func statusLabel(code int) string {
	if code >= 100 && code < 600 {
		return statusLabels[code-100]
	}
	return strconv.Itoa(code)
}

// statusWriter remembers the status answered. Unwrap lets http.ResponseController (which
// ReverseProxy uses to flush and to hijack WebSocket upgrades) reach the connection.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush serves callers that assert http.Flusher rather than use a ResponseController.
func (w *statusWriter) Flush() { _ = http.NewResponseController(w.ResponseWriter).Flush() }

// Hijack hands over the connection. Only a protocol switch hijacks it on the gateway
// (ReverseProxy writes the upstream's 101 to the hijacked connection itself), so it counts as
// 101 Switching Protocols.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return conn, brw, err
}

// upstreamTransport times each upstream call (gatehouse_upstream_duration_seconds: until the
// response headers arrive) and, when tracing is on, makes it a client span below the
// request's server span and sends that span's traceparent upstream in place of the client's.
type upstreamTransport struct {
	next http.RoundTripper
	o    *observer
}

// wrapTransport is the gateway's gateway.WithTransportWrapper.
func (o *observer) wrapTransport(rt http.RoundTripper) http.RoundTripper {
	return &upstreamTransport{next: rt, o: o}
}

func (t *upstreamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ro := reqObsFrom(req.Context())
	var api string
	if ro != nil {
		api = ro.api
	}
	var span trace.Span
	if t.o.tracer.Enabled() {
		parent := req.Context()
		if ro != nil && ro.server != nil {
			parent = trace.ContextWithSpan(parent, ro.server)
		}
		var ctx context.Context
		ctx, span = t.o.tracer.Tracer().Start(parent, spanUpstream, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("server.address", req.URL.Host),
				attribute.String("url.path", req.URL.Path), attribute.String("gatehouse.api", api)))
		// RoundTrip must not change the caller's request: send a copy with its own headers.
		out := *req
		out.Header = req.Header.Clone()
		t.o.tracer.Inject(ctx, out.Header)
		req = &out
	}
	start := time.Now()
	resp, err := t.next.RoundTrip(req)
	if t.o.metrics != nil {
		t.o.metrics.UpstreamLatency.WithLabelValues(api).Observe(time.Since(start).Seconds())
	}
	if span != nil {
		if err != nil {
			span.SetStatus(codes.Error, "upstream call failed")
		} else {
			span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
			if resp.StatusCode >= 500 {
				span.SetStatus(codes.Error, http.StatusText(resp.StatusCode))
			}
		}
		span.End()
	}
	return resp, err
}

// tracedTokens makes each token validation a span: the issuer and the outcome, never the
// token.
type tracedTokens struct {
	next   gateway.TokenValidator
	tracer trace.Tracer
}

func (t tracedTokens) Validate(ctx context.Context, raw string, use identity.TokenUse, sources []*identity.Source) (*identity.Token, *identity.Source, error) {
	ctx, span := t.tracer.Start(ctx, spanToken, trace.WithAttributes(attribute.String("gatehouse.token_use", use.String())))
	defer span.End()
	tok, src, err := t.next.Validate(ctx, raw, use, sources)
	if src != nil {
		span.SetAttributes(attribute.String("gatehouse.issuer", src.Issuer))
	}
	if err != nil {
		span.SetAttributes(attribute.String("gatehouse.reason", identity.Reason(err)))
		span.SetStatus(codes.Error, "token refused")
	}
	return tok, src, err
}

// wrapTokens returns v itself when tracing is off.
func (o *observer) wrapTokens(v gateway.TokenValidator) gateway.TokenValidator {
	if !o.tracer.Enabled() {
		return v
	}
	return tracedTokens{next: v, tracer: o.tracer.Tracer()}
}

// traceOp makes each management operation a span named after its target
// ("gatehouse.management" with gatehouse.operation = "VerifiedPermissions.CreatePolicy"),
// marking writes and the policy store they name.
func (o *observer) traceOp(target string, op awsjson.Op) awsjson.Op {
	if !o.tracer.Enabled() {
		return op
	}
	_, name, _ := strings.Cut(target, ".")
	write := isWrite(name)
	return func(ctx context.Context, body []byte) (any, error) {
		attrs := []attribute.KeyValue{attribute.String("gatehouse.operation", target), attribute.Bool("gatehouse.write", write)}
		if write {
			var ids struct {
				PolicyStoreID string `json:"policyStoreId"`
			}
			if json.Unmarshal(body, &ids) == nil && ids.PolicyStoreID != "" {
				attrs = append(attrs, attribute.String("gatehouse.policy_store_id", ids.PolicyStoreID))
			}
		}
		ctx, span := o.tracer.Tracer().Start(ctx, spanManagement+" "+target, trace.WithAttributes(attrs...))
		defer span.End()
		out, err := op(ctx, body)
		if err != nil {
			span.SetStatus(codes.Error, "operation failed")
		}
		return out, err
	}
}

// startTracing starts the tracer provider from the settings and the OTEL_* environment
// (nil when off) and the node's observer; the provider is flushed when the node closes,
// after the audit trail.
func (n *Node) startTracing(ctx context.Context) error {
	tc := n.Config.Tracing()
	tc.ServiceVersion, _ = metrics.BuildVersion("", "")
	tp, err := tracing.New(ctx, tc)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	n.Tracing = tp
	n.closers = append(n.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(ctx); err != nil {
			n.Logger.Warn("spans not flushed at shutdown", "err", err)
		}
	})
	n.obs = &observer{tracer: tp}
	for _, c := range n.Config.TrustedProxies {
		if p, err := netip.ParsePrefix(c); err == nil { // config validation refuses the others
			n.obs.trusted = append(n.obs.trusted, p)
		}
	}
	return nil
}

// observeMetrics connects the metrics to the observer and registers the node-level series.
func (n *Node) observeMetrics() {
	n.obs.metrics = n.Metrics
	n.Metrics.RegisterReadiness(func() bool {
		_, code := n.Readiness(context.Background())
		return code == http.StatusOK
	})
}

// signIn counts a built-in IdP sign-in attempt (idp.WithSignInObserver).
func (o *observer) signIn(pool, result string) {
	if o.metrics == nil {
		return
	}
	o.metrics.IdPSignIns.WithLabelValues(pool, result).Inc()
	if result == idp.SignInThrottled {
		o.metrics.IdPThrottled.WithLabelValues(pool).Inc()
	}
}

// wrapOp wraps each management operation: audit (records writes; deny mode) inside a span.
func (n *Node) wrapOp(target string, op awsjson.Op) awsjson.Op {
	return n.obs.traceOp(target, n.auditor.wrapOp(target, op))
}
