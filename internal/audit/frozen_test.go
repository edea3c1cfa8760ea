package audit_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/audit/audittest"
)

// TestFrozenDestinationIsReported: on a file system that freezes (a hung disk, a snapshot that
// never ends), the writer's write blocks in the kernel and records pile up in the queue. Err
// must report the stalled destination within the stall bound, so auditFailure: deny refuses
// decisions that no trail records; before, Err stayed nil until 65,536 records had queued.
// Decisions never wait on the frozen file system, Close gives up at its context, and once the
// file system thaws every queued record is written and the trail verifies.
func TestFrozenDestinationIsReported(t *testing.T) {
	dir, freeze, thaw := audittest.FreezableFS(t)
	path := filepath.Join(dir, "audit.log")
	w, err := audit.Open(path, audit.WithInstance("node-a"), audit.WithLogger(quiet), audit.WithFlushInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // whatever happened, let the writer finish so the file system unmounts
		thaw()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = w.Close(ctx)
	})
	sent := 0
	send := func(n int) {
		t.Helper()
		for range n {
			start := time.Now()
			if err := w.Write(decision(sent)); err != nil {
				t.Fatalf("write %d: %v", sent, err)
			}
			if d := time.Since(start); d > time.Second {
				t.Fatalf("write %d waited %v on the destination", sent, d)
			}
			sent++
		}
	}
	send(10)
	waitFor(t, "the first records to be written", func() bool { return w.Stats().Written == uint64(1+sent) })
	if err := w.Err(); err != nil {
		t.Fatalf("Err() before the freeze: %v", err)
	}

	freeze()
	frozenAt := time.Now()
	send(10)
	deadline := frozenAt.Add(audit.DefaultStallTimeout + 5*time.Second)
	for w.Err() == nil {
		if time.Now().After(deadline) {
			t.Fatalf("Err() = nil %v after the file system froze, with %d records queued", time.Since(frozenAt).Round(time.Millisecond), w.Stats().QueueDepth)
		}
		send(1)
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("Err() %v after the freeze: %v", time.Since(frozenAt).Round(time.Millisecond), w.Err())
	if d := time.Since(frozenAt); d < audit.DefaultStallTimeout {
		t.Errorf("Err() reported a stall after %v, before the %v bound", d, audit.DefaultStallTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := w.Close(ctx); err == nil {
		t.Fatal("Close on a frozen file system = nil")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close waited %v, past its context", d)
	}

	thaw()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := w.Close(ctx2); err != nil {
		t.Fatalf("close after the thaw: %v", err)
	}
	if err := w.Err(); err != nil {
		t.Fatalf("Err() after the thaw: %v", err)
	}
	rep, err := audit.VerifyPathsWith(audit.VerifyOptions{}, path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	decisions := 0
	for _, l := range readLines(t, path) {
		if parseLine(t, l).Kind == audit.KindDecision {
			decisions++
		}
	}
	if decisions != sent || rep.Dropped != 0 {
		t.Fatalf("%d of %d decisions in the trail, %d reported lost; want all, none lost", decisions, sent, rep.Dropped)
	}
}
