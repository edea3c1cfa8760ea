package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// signedTrail writes n decisions with periodic digests (one every few records) and a final
// one at Close, and returns the path and the verify options (the public key and the last
// anchored digest, as the store keeps it).
func signedTrail(t *testing.T, n int) (string, audit.VerifyOptions) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var anchors []audit.Digest
	path := filepath.Join(t.TempDir(), "audit.log")
	w, err := audit.Open(path, audit.WithInstance("node-a"), audit.WithLogger(quiet), audit.WithFlushInterval(time.Millisecond),
		audit.WithDigests(audit.DigestConfig{Key: priv, KeyID: "k1", Interval: 5 * time.Millisecond,
			Anchor: func(_ context.Context, d audit.Digest) error {
				mu.Lock()
				defer mu.Unlock()
				anchors = append(anchors, d)
				return nil
			}}))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Write(decision(i)); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			// Let a periodic digest cover these ten records before going on.
			before := w.Stats().Digests
			waitFor(t, "a periodic digest", func() bool { return w.Stats().Digests > before })
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := w.Stats(); st.Digests < 2 {
		t.Fatalf("stats = %+v, want periodic digests", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(anchors) == 0 {
		t.Fatal("no digest was anchored")
	}
	// The store keeps the latest digest of each writer.
	return path, audit.VerifyOptions{Keys: map[string]ed25519.PublicKey{"k1": pub}, Anchors: anchors[len(anchors)-1:]}
}

func TestDigestsVerify(t *testing.T) {
	t.Parallel()
	path, opts := signedTrail(t, 40)
	rep, err := audit.VerifyPathsWith(opts, path)
	if err != nil {
		t.Fatalf("untouched signed trail: %v", err)
	}
	if !rep.Signed || rep.Digests < 2 || rep.Anchors != 1 || len(rep.Unsigned) != 0 {
		t.Fatalf("report = %+v, want signed digests, the anchor found and nothing unsigned", rep)
	}
	// The last record of a cleanly closed trail is its final digest.
	lines := readLines(t, path)
	if parseLine(t, lines[len(lines)-1]).Kind != audit.KindDigest {
		t.Fatal("the trail does not end with a digest")
	}
	// Without keys the chain still verifies; signatures are just not checked.
	if rep, err := audit.VerifyPaths(path); err != nil || rep.Signed || rep.Digests == 0 {
		t.Fatalf("unsigned verify = %+v, %v", rep, err)
	}
}

// Deleting the newest records is what a hash chain alone cannot show: the anchored digest
// does.
func TestDigestDetectsTruncation(t *testing.T) {
	t.Parallel()
	path, opts := signedTrail(t, 40)
	lines := readLines(t, path)
	for _, cut := range []int{1, 3, 15} {
		writeLines(t, path, lines[:len(lines)-cut])
		if _, err := audit.VerifyPaths(path); err != nil {
			t.Fatalf("cut %d: the chain alone should not see a truncation, got %v", cut, err)
		}
		_, err := audit.VerifyPathsWith(opts, path)
		var p *audit.Problem
		if !errors.As(err, &p) || p.Kind != audit.Deleted || !strings.Contains(p.Detail, "digest kept in the store") {
			t.Fatalf("cut %d newest records: verify = %v, want deleted", cut, err)
		}
	}
	// Without the anchor, verify names the records no digest covers.
	writeLines(t, path, lines[:len(lines)-3])
	rep, err := audit.VerifyPathsWith(audit.VerifyOptions{Keys: opts.Keys}, path)
	if err != nil || len(rep.Unsigned) != 1 || rep.Unsigned[0].Records == 0 {
		t.Fatalf("truncated without anchor: %+v, %v; want the unsigned tail reported", rep, err)
	}
}

// A forger who rewrites records and rehashes the chain from there on cannot sign the digests
// that follow.
func TestDigestDetectsRewrittenChain(t *testing.T) {
	t.Parallel()
	path, opts := signedTrail(t, 40)
	lines := readLines(t, path)
	// Rewrite from record 5 on, keeping every link intact.
	prev := parseLine(t, lines[3]).Hash
	for i := 4; i < len(lines); i++ {
		r := parseLine(t, lines[i])
		if i == 4 {
			r.Decision = "DENY"
		}
		r.PrevHash = prev
		lines[i] = seal(t, r)
		prev = parseLine(t, lines[i]).Hash
	}
	writeLines(t, path, lines)
	_, err := audit.VerifyPathsWith(audit.VerifyOptions{Keys: opts.Keys}, path)
	var p *audit.Problem
	if !errors.As(err, &p) || p.Kind != audit.BadSignature {
		t.Fatalf("rewritten chain: verify = %v, want bad-signature", err)
	}
	if _, err := audit.VerifyPathsWith(opts, path); err == nil {
		t.Fatal("rewritten chain verified against the anchor")
	}
}

func TestVerifyFilesReportsDigests(t *testing.T) {
	t.Parallel()
	path, opts := signedTrail(t, 20)
	var out bytes.Buffer
	if err := audit.VerifyFiles(&out, opts, []string{path}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "signatures verified, 1 of 1 digests kept in the store found") {
		t.Fatalf("summary:\n%s", out.String())
	}
}
