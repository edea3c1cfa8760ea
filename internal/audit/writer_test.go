package audit_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// gate is a destination that blocks every Write until it is opened.
type gate struct {
	entered chan struct{}
	once    sync.Once
	open    chan struct{}
	mu      sync.Mutex
	buf     bytes.Buffer
}

func newGate() *gate { return &gate{entered: make(chan struct{}), open: make(chan struct{})} }

func (g *gate) Write(p []byte) (int, error) {
	g.once.Do(func() { close(g.entered) })
	<-g.open
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buf.Write(p)
}

func (g *gate) bytes() []byte {
	g.mu.Lock()
	defer g.mu.Unlock()
	return bytes.Clone(g.buf.Bytes())
}

func verifyBytes(t *testing.T, b []byte) audit.Report {
	t.Helper()
	rep, err := audit.Verify(audit.Source{Name: "buf", R: bytes.NewReader(b)})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

func TestBackpressureDropsWithGapRecord(t *testing.T) {
	t.Parallel()
	g := newGate()
	w := audit.New(g, audit.WithInstance("node-a"), audit.WithLogger(quiet), audit.WithQueue(8, 0),
		audit.WithBlockTimeout(time.Millisecond), audit.WithFlushInterval(0))
	<-g.entered // the writer goroutine is stuck flushing the start record

	for i := range 8 {
		if err := w.Write(decision(i)); err != nil {
			t.Fatalf("write %d into a queue with room: %v", i, err)
		}
	}
	for i := range 5 {
		// Returning at all shows Write is bounded; the destination stays blocked.
		if err := w.Write(decision(100 + i)); !errors.Is(err, audit.ErrDropped) {
			t.Fatalf("write into a full queue = %v, want ErrDropped", err)
		}
	}
	st := w.Stats()
	if st.Dropped != 5 || st.QueueDepth != 8 || st.Gaps != 0 {
		t.Fatalf("stats while blocked = %+v, want 5 dropped, 8 queued", st)
	}

	close(g.open)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	st = w.Stats()
	if st.Dropped != 5 || st.Gaps != 1 || st.Written != 10 || st.QueueDepth != 0 {
		t.Fatalf("stats after close = %+v, want 5 dropped, 1 gap, 10 written", st)
	}
	rep := verifyBytes(t, g.bytes())
	if rep.Records != 10 || rep.Dropped != 5 || len(rep.Gaps) != 1 {
		t.Fatalf("report = %+v, want 10 records and one gap of 5", rep)
	}
	// The gap sits right after the 8 records that were queued when the drops happened.
	if gp := rep.Gaps[0]; gp.Line != 10 || gp.Seq != 10 || gp.Dropped != 5 {
		t.Fatalf("gap = %+v, want line 10 seq 10 dropped 5", gp)
	}
}

func TestCloseDrainsAndReleasesBlockedWriters(t *testing.T) {
	t.Parallel()
	g := newGate()
	w := audit.New(g, audit.WithInstance("node-a"), audit.WithLogger(quiet), audit.WithQueue(4, 0),
		audit.WithBlockTimeout(time.Hour))
	<-g.entered
	for i := range 4 {
		if err := w.Write(decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	blocked := make(chan error)
	go func() { blocked <- w.Write(decision(99)) }()

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("close with a done context while the destination blocks = %v, want context.Canceled", err)
	}
	if err := <-blocked; !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("write blocked across close = %v, want ErrClosed", err)
	}
	if err := w.Write(decision(100)); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("write after close = %v, want ErrClosed", err)
	}
	close(g.open)
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rep := verifyBytes(t, g.bytes()); rep.Records != 5 || rep.Dropped != 0 {
		t.Fatalf("report = %+v, want the start record and the 4 accepted records", rep)
	}
}

func TestConcurrentWritersFormOneChain(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	w := audit.New(&buf, audit.WithInstance("node-a"), audit.WithLogger(quiet), audit.WithBlockTimeout(time.Hour))
	const writers, each = 8, 250
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range each {
				if err := w.Write(decision(g*each + i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rep := verifyBytes(t, buf.bytes()); rep.Records != writers*each+1 {
		t.Fatalf("report = %+v, want %d records", rep, writers*each+1)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.buf.Bytes())
}

func TestRecordsCarryNoTokenMaterial(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	token, err := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": "https://idp.example.com", "sub": "user-1", "jti": "jti-123",
		"exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	r := decision(1)
	r.TokenJTI = "jti-123"
	r.TokenHash = audit.TokenHash(token)

	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := audit.Open(path, audit.WithInstance("node-a"), audit.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	trail := string(b)
	if len(r.TokenHash) != 16 || !strings.Contains(trail, `"tokenHash":"`+r.TokenHash+`"`) {
		t.Fatalf("trail lacks the 16-digit token hash %q", r.TokenHash)
	}
	for i, part := range strings.Split(token, ".") {
		if strings.Contains(trail, part) {
			t.Fatalf("trail contains segment %d of the token", i)
		}
	}
}

func TestWriteRejectsReservedKinds(t *testing.T) {
	t.Parallel()
	w := audit.New(nil, audit.WithLogger(quiet))
	defer w.Close(t.Context())
	for _, k := range []string{"", audit.KindStart, audit.KindGap} {
		if err := w.Write(audit.Record{Kind: k}); err == nil {
			t.Errorf("Write accepted kind %q", k)
		}
	}
	r := decision(1)
	r.Cedar.Context = []byte(`{"broken":`)
	if err := w.Write(r); err == nil || !strings.Contains(err.Error(), "encode record") {
		t.Errorf("Write with invalid Cedar context = %v, want an encode error", err)
	}
}

func TestWriterSetsEnvelope(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := audit.Open(path, audit.WithInstance("node-7"), audit.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	r := decision(1)
	r.Instance, r.Seq, r.PrevHash, r.Hash = "spoofed", 77, "x", "y"
	r.Time = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))
	if err := w.Write(r); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	got := parseLine(t, lines[1])
	if got.Instance != "node-7" || got.Seq != 2 || got.PrevHash != parseLine(t, lines[0]).Hash || len(got.ID) != 36 {
		t.Fatalf("record envelope = %+v", got)
	}
	if !strings.Contains(string(lines[1]), `"time":"2026-01-02T02:04:05.000000006Z"`) {
		t.Fatalf("time not in UTC with nanoseconds: %s", lines[1])
	}
}

func TestOpenAfterCrashTerminatesPartialLine(t *testing.T) {
	t.Parallel()
	path := writeChain(t, 3)
	lines := readLines(t, path)
	lines = append(lines, []byte(`{"seq":5,"id":"cut sh`)) // a write cut short by a crash
	writeLines(t, path, lines)
	w, err := audit.Open(path, audit.WithInstance("node-a"), audit.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, err = audit.VerifyPaths(path)
	var prob *audit.Problem
	if !errors.As(err, &prob) || prob.Kind != audit.Malformed || prob.Line != 5 {
		t.Fatalf("verify = %v, want malformed at line 5 (the cut record)", err)
	}
	after := readLines(t, path)
	if len(after) != 6 || parseLine(t, after[5]).PrevHash != parseLine(t, after[3]).Hash {
		t.Fatal("the restart is not on its own line linked to the last complete record")
	}
}

func TestTokenHash(t *testing.T) {
	t.Parallel()
	// SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.
	if got := audit.TokenHash("abc"); got != "ba7816bf8f01cfea" {
		t.Fatalf("TokenHash(abc) = %s", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestDestinationErrorsAreCountedAndReported(t *testing.T) {
	t.Parallel()
	w := audit.New(failingWriter{}, audit.WithLogger(quiet), audit.WithFlushInterval(0))
	if err := w.Write(decision(1)); err != nil {
		t.Fatal(err)
	}
	err := w.Close(t.Context())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("close = %v, want the destination's error", err)
	}
	if st := w.Stats(); st.WriteErrors == 0 {
		t.Fatalf("stats = %+v, want write errors counted", st)
	}
}

// flaky is a destination that, while broken, takes only the first cut bytes of a write and
// fails.
type flaky struct {
	mu     sync.Mutex
	broken bool
	cut    int
	buf    bytes.Buffer
}

func (f *flaky) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		n := min(f.cut, len(p))
		f.buf.Write(p[:n])
		return n, errors.New("no space left on device")
	}
	return f.buf.Write(p)
}

func (f *flaky) set(broken bool, cut int) {
	f.mu.Lock()
	f.broken, f.cut = broken, cut
	f.mu.Unlock()
}

// A stream cannot be truncated, but the counts still hold: what was cut short is not counted
// as written, and a gap record reports every record that did not get through.
func TestStreamShortWritesAreLostAndReported(t *testing.T) {
	t.Parallel()
	for _, cut := range []int{0, 10} {
		f := &flaky{}
		w := audit.New(f, audit.WithLogger(quiet), audit.WithFlushInterval(0))
		waitFor(t, "the start record", func() bool { return w.Stats().Written == 1 })
		f.set(true, cut)
		for i := range 5 {
			if err := w.Write(decision(i)); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "the failure to show", func() bool { return w.Err() != nil && w.Stats().Lost == 5 })
		f.set(false, 0)
		waitFor(t, "recovery", func() bool { return w.Err() == nil })
		if err := w.Write(decision(9)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		st := w.Stats()
		if st.Written != 3 || st.Lost != 5 || st.Gaps != 1 || st.Unrecorded != 0 {
			t.Fatalf("cut %d: stats = %+v, want start, gap and one decision written, 5 lost", cut, st)
		}
		out := f.buf.Bytes()
		if cut > 0 {
			// The torn bytes stay on a line of their own, which verify reports.
			lines := bytes.Split(out, []byte("\n"))
			if len(lines[1]) != cut {
				t.Fatalf("cut %d: line 2 = %q, want the torn %d bytes alone", cut, lines[1], cut)
			}
			continue
		}
		if rep := verifyBytes(t, out); rep.Records != 3 || rep.Dropped != 5 {
			t.Fatalf("report = %+v, want 3 records and 5 reported lost", rep)
		}
	}
}
