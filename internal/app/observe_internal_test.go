package app

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/metrics"
)

// A handler that panics before answering is counted as a 500 (net/http answers nothing), and
// the panic still reaches net/http; one that answered keeps its status.
func TestObservedPanicsCountAsFailures(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil, nil)
	o := &observer{metrics: m}
	for _, tc := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{"/early", func(http.ResponseWriter, *http.Request) { panic("boom") }},
		{"/late", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusOK)
			panic(http.ErrAbortHandler) // as ReverseProxy does when the body copy fails
		}},
	} {
		h := o.observeHTTP("gateway", countHTTPStatus, tc.h)
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: the panic did not reach the server", tc.path)
				}
			}()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", tc.path, nil))
		}()
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`gatehouse_requests_total{api="",route="",source="gateway",status="500"} 1`,
		`gatehouse_requests_total{api="",route="",source="gateway",status="200"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("want %s in:\n%s", want, body)
		}
	}
}

// Streaming answers still flush through the status recorder, as http.Flusher and through a
// ResponseController.
func TestStatusWriterFlushes(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	sw := &statusWriter{ResponseWriter: rec}
	var w http.ResponseWriter = sw
	w.(http.Flusher).Flush()
	if !rec.Flushed {
		t.Fatal("Flush did not reach the connection")
	}
	rec2 := httptest.NewRecorder()
	if err := http.NewResponseController(&statusWriter{ResponseWriter: rec2}).Flush(); err != nil || !rec2.Flushed {
		t.Fatalf("ResponseController.Flush: %v", err)
	}
	if sw.status != 0 {
		t.Fatalf("a flush set the status to %d", sw.status)
	}
}
