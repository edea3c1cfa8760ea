package audit_test

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// BenchmarkEncodeBaseline is the cost any JSON audit record has: encoding/json of the record.
func BenchmarkEncodeBaseline(b *testing.B) {
	r := decision(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(&r); err != nil {
			b.Fatal(err)
		}
	}
}

func benchWrite(b *testing.B, w *audit.Writer) {
	r := decision(1)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := w.Close(b.Context()); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(w.Stats().Dropped), "dropped")
}

// BenchmarkWrite measures the caller's cost of Write (encode, chain, enqueue) with the writer
// goroutine draining to io.Discard; a long block timeout means nothing is dropped.
func BenchmarkWrite(b *testing.B) {
	benchWrite(b, audit.New(io.Discard, audit.WithLogger(quiet), audit.WithBlockTimeout(time.Hour)))
}

// BenchmarkWriteFile is BenchmarkWrite to a real file with the default flush interval.
func BenchmarkWriteFile(b *testing.B) {
	w, err := audit.Open(filepath.Join(b.TempDir(), "audit.log"), audit.WithLogger(quiet), audit.WithBlockTimeout(time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	benchWrite(b, w)
}

// BenchmarkWriteParallel has every core writing, contending for the chain lock.
func BenchmarkWriteParallel(b *testing.B) {
	w := audit.New(io.Discard, audit.WithLogger(quiet), audit.WithBlockTimeout(time.Hour))
	r := decision(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := w.Write(r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if err := w.Close(b.Context()); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkVerify is per record of a 10,000-record trail.
func BenchmarkVerify(b *testing.B) {
	const n = 10000
	data := chainBytes(b, n-1)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		rep, err := audit.Verify(audit.Source{Name: "bench", R: bytes.NewReader(data)})
		if err != nil || rep.Records != n {
			b.Fatal(rep, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
