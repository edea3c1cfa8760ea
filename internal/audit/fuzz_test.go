package audit_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

func chainBytes(t testing.TB, n int) []byte {
	var buf syncBuffer
	w := audit.New(&buf, audit.WithInstance("node-a"), audit.WithLogger(quiet))
	for i := range n {
		if err := w.Write(decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	return buf.bytes()
}

// FuzzVerify feeds arbitrary trails to Verify: it must not panic, and a problem must point at
// a line of the input.
func FuzzVerify(f *testing.F) {
	good := chainBytes(f, 3)
	f.Add(good)
	f.Add([]byte{})
	f.Add([]byte("\n\n"))
	f.Add([]byte(`{"seq":1,"hash":"` + string(bytes.Repeat([]byte("0"), 64)) + `"}`))
	f.Add(append(bytes.Clone(good), good...))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := audit.Verify(audit.Source{Name: "fuzz", R: bytes.NewReader(data)})
		var p *audit.Problem
		if err != nil && !errors.As(err, &p) {
			t.Fatalf("non-problem error on in-memory input: %v", err)
		}
		if p != nil && (p.File != "fuzz" || p.Line < 1 || p.Line > bytes.Count(data, []byte("\n"))+1) {
			t.Fatalf("problem %+v points outside the input", p)
		}
		if err == nil && rep.Records > bytes.Count(data, []byte("\n"))+1 {
			t.Fatalf("report counts %d records in %d lines", rep.Records, bytes.Count(data, []byte("\n"))+1)
		}
	})
}

// FuzzVerifyTamper changes one byte of a valid trail: Verify must always notice.
func FuzzVerifyTamper(f *testing.F) {
	good := chainBytes(f, 5)
	f.Add(uint(0), byte('x'))
	f.Add(uint(len(good)-1), byte(' '))
	f.Add(uint(len(good)/2), byte('\n'))
	f.Add(uint(40), byte('A'))
	f.Fuzz(func(t *testing.T, pos uint, b byte) {
		data := bytes.Clone(good)
		i := int(pos % uint(len(data)))
		if data[i] == b {
			return
		}
		data[i] = b
		if _, err := audit.Verify(audit.Source{Name: "fuzz", R: bytes.NewReader(data)}); err == nil {
			t.Fatalf("changing byte %d to %q went unnoticed", i, b)
		}
	})
}

// FuzzVerifySigned feeds arbitrary trails to VerifyWith with a key and an anchored digest: it
// must not panic, a problem must point at a line of the input or at the store's digest, and
// an intact trail must verify.
func FuzzVerifySigned(f *testing.F) {
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	var anchor audit.Digest
	var buf syncBuffer
	w := audit.New(&buf, audit.WithInstance("node-a"), audit.WithLogger(quiet),
		audit.WithDigests(audit.DigestConfig{Key: key, KeyID: "k", Interval: time.Hour,
			Anchor: func(_ context.Context, d audit.Digest) error { anchor = d; return nil }}))
	for i := range 3 {
		if err := w.Write(decision(i)); err != nil {
			f.Fatal(err)
		}
	}
	if err := w.Close(f.Context()); err != nil {
		f.Fatal(err)
	}
	good := buf.bytes()
	opts := audit.VerifyOptions{Keys: map[string]ed25519.PublicKey{"k": key.Public().(ed25519.PublicKey)}, Anchors: []audit.Digest{anchor}}
	if _, err := audit.VerifyWith(opts, audit.Source{Name: "fuzz", R: bytes.NewReader(good)}); err != nil {
		f.Fatalf("intact signed trail: %v", err)
	}
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := audit.VerifyWith(opts, audit.Source{Name: "fuzz", R: bytes.NewReader(data)})
		var p *audit.Problem
		if err != nil && !errors.As(err, &p) {
			t.Fatalf("non-problem error on in-memory input: %v", err)
		}
		if p != nil && p.File != "store" && (p.File != "fuzz" || p.Line < 1 || p.Line > bytes.Count(data, []byte("\n"))+1) {
			t.Fatalf("problem %+v points outside the input", p)
		}
		if err == nil && !bytes.Equal(data, good) && !bytes.HasPrefix(data, good) {
			// Anything else that verifies must still contain the anchored digest record.
			if !bytes.Contains(data, []byte(`"kind":"digest"`)) {
				t.Fatal("a trail without the anchored digest verified")
			}
		}
	})
}
