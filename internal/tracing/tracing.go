// Package tracing sets up OpenTelemetry tracing for a node: an OTLP exporter (gRPC or
// HTTP/protobuf), a sampler and the W3C trace-context propagator, and the rule for trusting a
// caller's trace context.
//
// Invariants:
//   - Tracing is off unless an endpoint is configured (Config.Endpoint, or the standard
//     OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT) and OTEL_SDK_DISABLED
//     is not "true" and OTEL_TRACES_EXPORTER is not "none". Off, New returns a nil *Provider,
//     whose methods are no-ops: nothing is allocated per request.
//   - Settings win over the OTEL_* environment variables they overlap; the exporters read
//     every other OTEL_EXPORTER_OTLP_* variable themselves (headers, timeout, TLS files,
//     compression), and the sampler honours OTEL_TRACES_SAMPLER(_ARG) when no ratio is set.
//   - A caller's traceparent is continued only when the caller is trusted (StartServer's
//     trusted argument: the node passes "the peer is in trustedProxies"). Anyone else's
//     starts a new trace that links to it, so an untrusted client can neither force
//     sampling nor splice spans into another trace, and its trace stays findable.
//   - No global OpenTelemetry state is set: the provider is passed to whoever makes spans.
//   - Span attributes never hold tokens, passwords or query strings.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Protocols of the OTLP exporter.
const (
	ProtocolGRPC = "grpc"
	ProtocolHTTP = "http/protobuf"
)

// ScopeName is the instrumentation scope of Gatehouse's spans.
const ScopeName = "github.com/gatehouse-dev/gatehouse"

// Config selects the exporter. Zero values defer to the OTEL_* environment variables.
type Config struct {
	// Endpoint is the collector's URL: http://host:4317 (plaintext) or https://host:4317
	// for gRPC; for HTTP the base URL (/v1/traces is appended) or a full URL ending in
	// /v1/traces.
	Endpoint string
	// Protocol is ProtocolGRPC or ProtocolHTTP ("" = OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
	// OTEL_EXPORTER_OTLP_PROTOCOL, else grpc).
	Protocol string
	// SampleRatio, when set, is the share of new traces recorded (0..1); a continued trace
	// follows its caller's decision. nil = OTEL_TRACES_SAMPLER, else every trace.
	SampleRatio *float64
	// ServiceVersion is reported as service.version.
	ServiceVersion string
	// Getenv reads the environment (os.Getenv when nil); tests pass their own.
	Getenv func(string) string
}

// Validate checks the settings and names the first bad one.
func (c Config) Validate() error {
	var errs []error
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("tracingEndpoint: %q is not an http:// or https:// URL", c.Endpoint))
		}
	}
	switch c.Protocol {
	case "", ProtocolGRPC, ProtocolHTTP:
	default:
		errs = append(errs, fmt.Errorf("tracingProtocol: %q is not grpc or http/protobuf", c.Protocol))
	}
	if r := c.SampleRatio; r != nil && (*r < 0 || *r > 1 || *r != *r) {
		errs = append(errs, fmt.Errorf("tracingSampleRatio: %v is not between 0 and 1", *r))
	}
	return errors.Join(errs...)
}

func (c Config) getenv(k string) string {
	if c.Getenv != nil {
		return c.Getenv(k)
	}
	return os.Getenv(k)
}

// Enabled reports whether c (with the environment) turns tracing on.
func (c Config) Enabled() bool {
	if strings.EqualFold(c.getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(c.getenv("OTEL_TRACES_EXPORTER"), "none") {
		return false
	}
	return c.Endpoint != "" || c.getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || c.getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

func (c Config) protocol() string {
	for _, p := range []string{c.Protocol, c.getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), c.getenv("OTEL_EXPORTER_OTLP_PROTOCOL")} {
		if p != "" {
			return p
		}
	}
	return ProtocolGRPC
}

// Provider is a node's tracer provider. A nil *Provider is tracing switched off.
type Provider struct {
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	prop   propagation.TraceContext
}

// New builds the provider, or returns nil when c leaves tracing off. The exporter connects
// lazily: a collector that is down costs dropped spans (reported by the SDK), never a
// failed start.
func New(ctx context.Context, c Config) (*Provider, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !c.Enabled() {
		return nil, nil
	}
	exp, err := newExporter(ctx, c)
	if err != nil {
		return nil, err
	}
	res, err := resource.New(ctx, resource.WithAttributes(
		attribute.String("service.name", "gatehouse"), attribute.String("service.version", c.ServiceVersion)),
		resource.WithFromEnv(), resource.WithTelemetrySDK(), resource.WithHost())
	if err != nil && res == nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	if c.SampleRatio != nil {
		opts = append(opts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(*c.SampleRatio))))
	}
	tp := sdktrace.NewTracerProvider(opts...)
	return &Provider{tp: tp, tracer: tp.Tracer(ScopeName)}, nil
}

func newExporter(ctx context.Context, c Config) (*otlptrace.Exporter, error) {
	switch p := c.protocol(); p {
	case ProtocolGRPC:
		var opts []otlptracegrpc.Option
		if c.Endpoint != "" {
			opts = append(opts, otlptracegrpc.WithEndpointURL(c.Endpoint))
		}
		exp, err := otlptracegrpc.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp grpc exporter: %w", err)
		}
		return exp, nil
	case ProtocolHTTP:
		var opts []otlptracehttp.Option
		if c.Endpoint != "" {
			u := c.Endpoint
			if !strings.HasSuffix(strings.TrimSuffix(u, "/"), "/v1/traces") {
				u = strings.TrimSuffix(u, "/") + "/v1/traces"
			}
			opts = append(opts, otlptracehttp.WithEndpointURL(u))
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("otlp http exporter: %w", err)
		}
		return exp, nil
	default:
		return nil, fmt.Errorf("tracing protocol %q is not grpc or http/protobuf", p)
	}
}

// Enabled reports whether p records spans.
func (p *Provider) Enabled() bool { return p != nil }

// Tracer returns the tracer of Gatehouse's spans (a no-op one when p is nil).
func (p *Provider) Tracer() trace.Tracer {
	if p == nil {
		return noopTracer
	}
	return p.tracer
}

var noopTracer = noop.NewTracerProvider().Tracer(ScopeName)

// Shutdown flushes the spans still queued and stops the exporter.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.Shutdown(ctx)
}

// ForceFlush exports the spans queued so far.
func (p *Provider) ForceFlush(ctx context.Context) error {
	if p == nil {
		return nil
	}
	return p.tp.ForceFlush(ctx)
}

// StartServer starts the server span of an incoming request. The caller's traceparent is
// continued when trusted; otherwise the span starts a new trace linked to the caller's. The
// span carries the method, the path (never the query, which may hold tokens) and the peer.
func (p *Provider) StartServer(ctx context.Context, r *http.Request, trusted bool, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if p == nil {
		return ctx, trace.SpanFromContext(ctx)
	}
	remote := trace.SpanContextFromContext(p.prop.Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path),
		attribute.String("network.peer.address", r.RemoteAddr))}
	opts = append(opts, trace.WithAttributes(attrs...))
	switch {
	case remote.IsValid() && trusted:
		ctx = trace.ContextWithRemoteSpanContext(ctx, remote)
	case remote.IsValid():
		opts = append(opts, trace.WithNewRoot(), trace.WithLinks(trace.Link{SpanContext: remote,
			Attributes: []attribute.KeyValue{attribute.Bool("gatehouse.untrusted_parent", true)}}))
	default:
		opts = append(opts, trace.WithNewRoot())
	}
	return p.tracer.Start(ctx, name, opts...)
}

// Inject writes ctx's span context into h as traceparent (and tracestate), replacing what
// the client sent under those names.
func (p *Provider) Inject(ctx context.Context, h http.Header) {
	if p == nil {
		return
	}
	h.Del("Traceparent")
	h.Del("Tracestate")
	p.prop.Inject(ctx, propagation.HeaderCarrier(h))
}

// EndAt ends span at the given time (spans reported after the fact carry their real times).
func EndAt(span trace.Span, at time.Time) { span.End(trace.WithTimestamp(at)) }
