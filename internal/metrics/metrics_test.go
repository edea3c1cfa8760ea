package metrics_test

import (
	"io"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/metrics"
)

func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// A store never reached has no contact timestamp at all (no -1 sentinel); once reached, the
// gauge is the Unix time of the contact.
func TestStoreContactIsATimestampAbsentUntilFirstContact(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil, nil)
	var last atomic.Int64
	m.RegisterStore(func() time.Time {
		if n := last.Load(); n != 0 {
			return time.Unix(0, n)
		}
		return time.Time{}
	}, time.Minute)
	body := scrape(t, m)
	if strings.Contains(body, "gatehouse_store_last_contact_timestamp_seconds ") || !strings.Contains(body, "gatehouse_store_up 0") {
		t.Fatalf("before any contact:\n%s", body)
	}
	if strings.Contains(body, " -1\n") {
		t.Fatalf("a -1 sentinel is exposed:\n%s", body)
	}
	at := time.Unix(1_700_000_000, 500_000_000)
	last.Store(at.UnixNano())
	body = scrape(t, m)
	if !strings.Contains(body, "gatehouse_store_last_contact_timestamp_seconds 1.7000000005e+09") {
		t.Fatalf("after a contact:\n%s", body)
	}
}

func TestBuildInfo(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil, nil)
	want := `gatehouse_build_info{commit="unknown",goversion="` + runtime.Version() + `",version="devel"} 1`
	if body := scrape(t, m); !strings.Contains(body, want) {
		t.Fatalf("want %s in:\n%s", want, body)
	}
	m.SetBuildInfo("v1.2.3", "abc123")
	body := scrape(t, m)
	if !strings.Contains(body, `gatehouse_build_info{commit="abc123",goversion="`+runtime.Version()+`",version="v1.2.3"} 1`) ||
		strings.Count(body, "gatehouse_build_info{") != 1 {
		t.Fatalf("after SetBuildInfo:\n%s", body)
	}
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	m := metrics.New(nil, nil)
	var ready atomic.Bool
	m.RegisterReadiness(ready.Load)
	for _, want := range []bool{false, true} {
		ready.Store(want)
		v := 0
		if want {
			v = 1
		}
		if body := scrape(t, m); !strings.Contains(body, "gatehouse_ready "+strconv.Itoa(v)+"\n") {
			t.Fatalf("ready=%v:\n%s", want, body)
		}
	}
}
