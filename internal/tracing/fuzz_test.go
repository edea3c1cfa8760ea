package tracing_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse-dev/gatehouse/internal/tracing"
	"github.com/gatehouse-dev/gatehouse/internal/tracing/tracingtest"
)

// FuzzStartServer feeds arbitrary traceparent and tracestate headers to a server span:
// it never panics, an untrusted caller's trace id is never taken, and whatever came in, the
// traceparent sent on is Gatehouse's own span's, exactly one well-formed header.
func FuzzStartServer(f *testing.F) {
	for _, s := range [][2]string{
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "congo=t61rcWkgMzE"},
		{"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", ""},
		{"00-00000000000000000000000000000000-00f067aa0ba902b7-01", ""},
		{"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", ""},
		{"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", "a=b,c=d"},
		{"00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01", ""},
		{"garbage", "=,=,=="},
		{"", ""},
	} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	recv := tracingtest.NewGRPC(f)
	ratio := 1.0
	p, err := tracing.New(context.Background(), tracing.Config{Endpoint: recv.Endpoint, SampleRatio: &ratio, Getenv: env(nil)})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	f.Fuzz(func(t *testing.T, parent, state string, trusted bool) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Traceparent"] = []string{parent}
		r.Header["Tracestate"] = []string{state}
		ctx, span := p.StartServer(context.Background(), r, trusted, "fuzz")
		defer span.End()
		sc := span.SpanContext()
		if !sc.IsValid() {
			t.Fatal("the server span has no valid context")
		}
		caller := trace.SpanContextFromContext(propagation.TraceContext{}.Extract(context.Background(), propagation.HeaderCarrier(r.Header)))
		ro, recorded := span.(sdktrace.ReadOnlySpan)
		if !recorded {
			// With every new trace sampled, only a trusted caller's unsampled trace goes
			// unrecorded, and it keeps the caller's trace id.
			if !trusted || !caller.IsValid() || caller.IsSampled() || sc.TraceID() != caller.TraceID() {
				t.Fatalf("unrecorded span for traceparent %q (trusted %v)", parent, trusted)
			}
			return
		}
		got := ro.Parent()
		switch {
		case !trusted && got.IsValid():
			t.Fatalf("an untrusted caller's traceparent %q became the parent", parent)
		case trusted && caller.IsValid() && (got.TraceID() != caller.TraceID() || got.SpanID() != caller.SpanID() || sc.TraceID() != caller.TraceID()):
			t.Fatalf("a trusted caller's traceparent %q was not continued", parent)
		case !caller.IsValid() && got.IsValid():
			t.Fatalf("an invalid traceparent %q became the parent", parent)
		}
		out := r.Header.Clone()
		p.Inject(ctx, out)
		sent := out.Values("Traceparent")
		want := "00-" + sc.TraceID().String() + "-" + sc.SpanID().String() + "-" + sc.TraceFlags().String()
		if len(sent) != 1 || sent[0] != want {
			t.Fatalf("sent on %q, want %q", sent, want)
		}
	})
}
