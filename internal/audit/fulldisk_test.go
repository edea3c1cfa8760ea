package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/audit/audittest"
)

// waitFor polls cond for up to ten seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestFullDiskLosesNothingSilently runs decisions into a trail on a file system that fills
// up, frees space and goes on: every record must be in the file or counted by a gap record,
// no line may be torn, the trail must verify, and the counters must match the file.
func TestFullDiskLosesNothingSilently(t *testing.T) {
	dir := audittest.SmallFS(t)
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 160<<10), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "audit.log")
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var anchor audit.Digest
	w, err := audit.Open(path, audit.WithInstance("node-a"), audit.WithLogger(quiet),
		audit.WithBlockTimeout(time.Second), audit.WithFlushInterval(5*time.Millisecond),
		audit.WithDigests(audit.DigestConfig{Key: priv, KeyID: "k1", Interval: 20 * time.Millisecond,
			Anchor: func(_ context.Context, d audit.Digest) error {
				mu.Lock()
				defer mu.Unlock()
				anchor = d
				return nil
			}}))
	if err != nil {
		t.Fatal(err)
	}
	sent := 0
	send := func(n int) {
		for range n {
			if err := w.Write(decision(sent)); err != nil {
				t.Fatalf("write %d: %v", sent, err)
			}
			sent++
			if sent%20 == 0 {
				time.Sleep(time.Millisecond) // let several flushes happen, some short
			}
		}
	}
	send(200)
	for w.Stats().Lost == 0 {
		if sent > 20000 {
			t.Fatal("the file system never filled up")
		}
		send(50)
	}
	send(1000) // all of these find the disk full
	if w.Err() == nil {
		t.Fatal("Err() = nil while the disk is full")
	}
	// Space is freed only once every record sent so far is in the file or lost: records still
	// queued at that moment would be written into the freed space and leave too little for the
	// rest of the scenario (the final digest then does not fit).
	waitFor(t, "every record sent to be written or lost", func() bool {
		st := w.Stats()
		own := 1 + st.Digests + st.Gaps // the start record, digests and gap records
		return st.QueueDepth == 0 && st.Written-own+st.Lost+st.Dropped == uint64(sent)
	})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the writer to recover", func() bool { return w.Err() == nil })
	send(100) // fits in the space freed
	if err := w.Close(t.Context()); err != nil {
		t.Fatalf("close after recovery: %v", err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		t.Fatal("the file does not end with a complete line")
	}
	lines := bytes.Split(data[:len(data)-1], []byte("\n"))
	decisions := 0
	for i, l := range lines {
		if !bytes.HasSuffix(l, []byte(`"}`)) {
			t.Fatalf("line %d is torn: %.80q", i+1, l)
		}
		if parseLine(t, l).Kind == audit.KindDecision {
			decisions++
		}
	}
	mu.Lock()
	opts := audit.VerifyOptions{Keys: map[string]ed25519.PublicKey{"k1": pub}, Anchors: []audit.Digest{anchor}}
	mu.Unlock()
	rep, err := audit.VerifyPathsWith(opts, path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Digests == 0 || rep.Anchors != 1 || len(rep.Unsigned) != 0 {
		t.Fatalf("report %+v: want signed digests, the last one anchored, nothing unsigned", rep)
	}
	st := w.Stats()
	t.Logf("sent %d decisions: %d in the file, %d reported lost by %d gap records; stats %+v", sent, decisions, rep.Dropped, len(rep.Gaps), st)
	if rep.Dropped == 0 {
		t.Fatal("no gap record: the scenario did not lose any record")
	}
	if uint64(decisions)+rep.Dropped != uint64(sent) {
		t.Fatalf("%d decisions in the file + %d reported lost != %d sent", decisions, rep.Dropped, sent)
	}
	if st.Written != uint64(len(lines)) || rep.Records != len(lines) {
		t.Fatalf("stats.Written = %d, verified %d, file has %d lines", st.Written, rep.Records, len(lines))
	}
	if st.Lost+st.Dropped != rep.Dropped || st.Unrecorded != 0 || st.Gaps != uint64(len(rep.Gaps)) {
		t.Fatalf("stats %+v do not match the %d records reported by %d gap records", st, rep.Dropped, len(rep.Gaps))
	}
}

// TestCloseOnFullDiskFails: records that never reached the file, nor a gap record, make Close
// (and so shutdown) fail.
func TestCloseOnFullDiskFails(t *testing.T) {
	dir := audittest.SmallFS(t)
	if err := os.WriteFile(filepath.Join(dir, "filler"), make([]byte, 252<<10), 0o600); err != nil && !errors.Is(err, os.ErrExist) {
		t.Logf("filler: %v", err) // a full file system is the point
	}
	w, err := audit.Open(filepath.Join(dir, "audit.log"), audit.WithLogger(quiet), audit.WithFlushInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := w.Write(decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	err = w.Close(context.Background())
	if err == nil {
		t.Fatal("close with records that were never written = nil")
	}
	if st := w.Stats(); st.Unrecorded == 0 || st.Lost == 0 {
		t.Fatalf("stats = %+v, want lost records still unrecorded", st)
	}
	t.Log(err)
}
