package tracing_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/tracing"
	"github.com/gatehouse-dev/gatehouse/internal/tracing/tracingtest"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

func ratio(r float64) *float64 { return &r }

// Both protocols export real spans to a real receiver: a parent/child pair with attributes
// and the service resource.
func TestExportsOverGRPCAndHTTP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		recv     func(testing.TB) *tracingtest.Receiver
		protocol string
		viaEnv   bool
	}{
		{"grpc", tracingtest.NewGRPC, tracing.ProtocolGRPC, false},
		{"http", tracingtest.NewHTTP, tracing.ProtocolHTTP, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			exportOneTrace(t, tc.recv(t), tc.protocol, tc.viaEnv)
		})
	}
}

// The standard OTEL_EXPORTER_OTLP_* variables alone turn tracing on and pick the protocol.
// (Not parallel: t.Setenv changes the process environment, which the exporters read.)
func TestExportsToTheOTELEnvironmentEndpoint(t *testing.T) {
	for _, tc := range []struct {
		name     string
		recv     func(testing.TB) *tracingtest.Receiver
		protocol string
	}{
		{"grpc", tracingtest.NewGRPC, tracing.ProtocolGRPC},
		{"http", tracingtest.NewHTTP, tracing.ProtocolHTTP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exportOneTrace(t, tc.recv(t), tc.protocol, true)
		})
	}
}

func exportOneTrace(t *testing.T, recv *tracingtest.Receiver, protocol string, viaEnv bool) {
	t.Helper()
	cfg := tracing.Config{Protocol: protocol, ServiceVersion: "v9.9.9", Getenv: env(nil)}
	if viaEnv {
		cfg.Protocol = ""
		cfg.Getenv = env(map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": recv.Endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol})
		// The exporters read the endpoint from the process environment themselves.
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", recv.Endpoint)
	} else {
		cfg.Endpoint = recv.Endpoint
	}
	p, err := tracing.New(context.Background(), cfg)
	if err != nil || p == nil {
		t.Fatalf("new: %v %v", p, err)
	}
	ctx, parent := p.Tracer().Start(context.Background(), "parent")
	_, child := p.Tracer().Start(ctx, "child")
	child.End()
	parent.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := recv.WaitFor(t, "two spans", func(s []tracingtest.Span) bool { return len(s) == 2 })
	c, pa := tracingtest.Named(spans, "child"), tracingtest.Named(spans, "parent")
	if len(c) != 1 || len(pa) != 1 || c[0].ParentSpanID != pa[0].SpanID || c[0].TraceID != pa[0].TraceID || pa[0].ParentSpanID != "" {
		t.Fatalf("parent/child link lost:\n%s", tracingtest.Dump(spans))
	}
	if pa[0].Resource["service.name"] != "gatehouse" || pa[0].Resource["service.version"] != "v9.9.9" {
		t.Fatalf("resource: %v", pa[0].Resource)
	}
}

func TestOffUnlessConfigured(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]tracing.Config{
		"nothing":              {Getenv: env(nil)},
		"sdk disabled":         {Endpoint: "http://127.0.0.1:4317", Getenv: env(map[string]string{"OTEL_SDK_DISABLED": "true"})},
		"traces exporter none": {Endpoint: "http://127.0.0.1:4317", Getenv: env(map[string]string{"OTEL_TRACES_EXPORTER": "none"})},
	} {
		p, err := tracing.New(context.Background(), c)
		if err != nil || p != nil {
			t.Errorf("%s: tracing should be off: %v %v", name, p, err)
		}
		// A nil provider is usable.
		ctx, span := p.StartServer(context.Background(), httptest.NewRequest("GET", "/", nil), true, "x")
		span.End()
		p.Inject(ctx, http.Header{})
		if p.Enabled() || p.Shutdown(ctx) != nil {
			t.Errorf("%s: nil provider misbehaves", name)
		}
	}
}

func TestValidateNamesTheSetting(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c    tracing.Config
		want string
	}{
		{tracing.Config{Endpoint: "collector:4317"}, "tracingEndpoint"},
		{tracing.Config{Endpoint: "ftp://x"}, "tracingEndpoint"},
		{tracing.Config{Protocol: "thrift"}, "tracingProtocol"},
		{tracing.Config{SampleRatio: ratio(1.5)}, "tracingSampleRatio"},
		{tracing.Config{SampleRatio: ratio(-0.1)}, "tracingSampleRatio"},
	} {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want an error naming %s", tc.c, err, tc.want)
		}
		if _, err := tracing.New(context.Background(), tc.c); err == nil {
			t.Errorf("%+v: New accepted it", tc.c)
		}
	}
	if err := (tracing.Config{Endpoint: "https://otel.example:4317", Protocol: "http/protobuf", SampleRatio: ratio(0)}).Validate(); err != nil {
		t.Fatal(err)
	}
}

// A trusted caller's traceparent is continued; an untrusted caller's starts a new trace that
// links to it; Inject replaces whatever traceparent the client sent.
func TestServerSpanTrustsOnlyTrustedCallers(t *testing.T) {
	t.Parallel()
	recv := tracingtest.NewGRPC(t)
	p, err := tracing.New(context.Background(), tracing.Config{Endpoint: recv.Endpoint, SampleRatio: ratio(1), Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	const callerSpan = "00f067aa0ba902b7"
	parent := "00-" + callerTrace + "-" + callerSpan + "-01"
	serve := func(trusted bool) (trace.SpanContext, http.Header) {
		r := httptest.NewRequest("GET", "/v1/pets?access_token=secret", nil)
		r.Header.Set("Traceparent", parent)
		ctx, span := p.StartServer(context.Background(), r, trusted, "GET")
		defer span.End()
		out := http.Header{"Traceparent": {parent}}
		p.Inject(ctx, out)
		return span.SpanContext(), out
	}
	trustedSC, trustedOut := serve(true)
	untrustedSC, untrustedOut := serve(false)
	if trustedSC.TraceID().String() != callerTrace {
		t.Fatalf("trusted caller's trace not continued: %s", trustedSC.TraceID())
	}
	if untrustedSC.TraceID().String() == callerTrace {
		t.Fatal("an untrusted caller chose the trace id")
	}
	for _, c := range []struct {
		sc trace.SpanContext
		h  http.Header
	}{{trustedSC, trustedOut}, {untrustedSC, untrustedOut}} {
		sc, h := c.sc, c.h
		if got := h.Values("Traceparent"); len(got) != 1 || !strings.Contains(got[0], sc.TraceID().String()+"-"+sc.SpanID().String()) {
			t.Fatalf("injected %v, want the server span %s", got, sc.SpanID())
		}
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := recv.WaitFor(t, "two server spans", func(s []tracingtest.Span) bool { return len(s) == 2 })
	for _, s := range spans {
		if strings.Contains(tracingtest.Dump([]tracingtest.Span{s}), "secret") {
			t.Fatalf("the query string reached a span: %v", s.Attrs)
		}
		switch s.TraceID {
		case callerTrace:
			if s.ParentSpanID != callerSpan || len(s.Links) != 0 {
				t.Fatalf("trusted span: %+v", s)
			}
		default:
			if s.ParentSpanID != "" || len(s.Links) != 1 || s.Links[0].TraceID != callerTrace || s.Links[0].SpanID != callerSpan {
				t.Fatalf("untrusted span should be a root linked to the caller: %+v", s)
			}
		}
	}
}

// A ratio of 0 records no new trace, but a trusted caller's sampled trace is still followed.
func TestSampleRatioAppliesToNewTracesOnly(t *testing.T) {
	t.Parallel()
	recv := tracingtest.NewHTTP(t)
	p, err := tracing.New(context.Background(), tracing.Config{Endpoint: recv.Endpoint, Protocol: tracing.ProtocolHTTP, SampleRatio: ratio(0), Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	_, fresh := p.StartServer(context.Background(), r, true, "fresh")
	fresh.End()
	r.Header.Set("Traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	_, followed := p.StartServer(context.Background(), r, true, "followed")
	followed.End()
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := recv.Spans()
	if len(spans) != 1 || spans[0].Name != "followed" {
		t.Fatalf("want only the followed span:\n%s", tracingtest.Dump(spans))
	}
}
