package audit_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

func TestVerifyIntactChain(t *testing.T) {
	t.Parallel()
	path := writeChain(t, 100)
	rep, err := audit.VerifyPaths(path)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Records != 101 || rep.Files != 1 || rep.Instances != 1 || len(rep.Gaps) != 0 {
		t.Fatalf("report = %+v, want 101 records (start + 100) in 1 file", rep)
	}
	lines := readLines(t, path)
	first := parseLine(t, lines[0])
	if first.Kind != audit.KindStart || first.Seq != 1 || first.PrevHash != "" || first.Instance != "node-a" {
		t.Fatalf("first record = %+v, want a start record with seq 1", first)
	}
	for i, l := range lines {
		r := parseLine(t, l)
		if r.Seq != uint64(i+1) {
			t.Fatalf("line %d has seq %d", i+1, r.Seq)
		}
	}
}

// TestCanonicalForm checks the package doc's definition: a record's hash is the SHA-256 of
// json.Marshal of the parsed record with Hash emptied, and that is the line's own prefix.
func TestCanonicalForm(t *testing.T) {
	t.Parallel()
	lines := readLines(t, writeChain(t, 20))
	for i, l := range lines {
		r := parseLine(t, l)
		if got := seal(t, r); !bytes.Equal(got, l) {
			t.Fatalf("line %d: re-encoding differs:\n got %s\nwant %s", i+1, got, l)
		}
	}
}

func TestVerifyTampering(t *testing.T) {
	t.Parallel()
	const n = 30
	path := writeChain(t, n)
	orig := readLines(t, path)
	const k = 10 // 0-based index: line 11, seq 11

	tests := []struct {
		name     string
		tamper   func(t *testing.T, l [][]byte) [][]byte
		kind     audit.ProblemKind
		line     int
		seq      uint64
		inDetail string
	}{
		{
			name: "modify a field",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[k] = bytes.Replace(l[k], []byte(`"decision":"ALLOW"`), []byte(`"decision":"DENY"`), 1)
				return l
			},
			kind: audit.Modified, line: k + 1, seq: k + 1,
		},
		{
			name: "modify the seq",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[k] = bytes.Replace(l[k], []byte(`{"seq":11,`), []byte(`{"seq":12,`), 1)
				return l
			},
			kind: audit.Modified, line: k + 1, seq: k + 2,
		},
		{
			name:   "delete a record",
			tamper: func(t *testing.T, l [][]byte) [][]byte { return slices.Delete(l, k, k+1) },
			kind:   audit.Deleted, line: k + 1, seq: k + 2, inDetail: "seq 11 is missing",
		},
		{
			name:   "delete three records",
			tamper: func(t *testing.T, l [][]byte) [][]byte { return slices.Delete(l, k, k+3) },
			kind:   audit.Deleted, line: k + 1, seq: k + 4, inDetail: "seq 11..13",
		},
		{
			name: "insert a forged record with wrong linkage",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				r := decision(999)
				r.Seq, r.ID, r.Time, r.Instance = k+1, "forged", stamp, "node-a"
				r.PrevHash = strings.Repeat("ab", 32)
				return slices.Insert(l, k, seal(t, r))
			},
			kind: audit.Inserted, line: k + 1, seq: k + 1,
		},
		{
			name: "insert a forged record linked to its predecessor",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				r := decision(999)
				r.Seq, r.ID, r.Time, r.Instance = k+1, "forged", stamp, "node-a"
				r.PrevHash = parseLine(t, l[k-1]).Hash
				return slices.Insert(l, k, seal(t, r))
			},
			kind: audit.Inserted, line: k + 1, seq: k + 1,
		},
		{
			name: "insert a forged record with a far seq",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				r := decision(999)
				r.Seq, r.ID, r.Time, r.Instance = 5000, "forged", stamp, "node-a"
				r.PrevHash = strings.Repeat("cd", 32)
				return slices.Insert(l, k, seal(t, r))
			},
			kind: audit.Inserted, line: k + 1, seq: 5000,
		},
		{
			name: "replay an earlier record",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				return slices.Insert(l, k, bytes.Clone(l[3]))
			},
			kind: audit.Inserted, line: k + 1, seq: 4,
		},
		{
			name: "swap two records",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[k], l[k+1] = l[k+1], l[k]
				return l
			},
			kind: audit.Reordered, line: k + 1, seq: k + 2,
		},
		{
			name: "move a record later",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				moved := l[k]
				l = slices.Delete(l, k, k+1)
				return slices.Insert(l, k+3, moved)
			},
			kind: audit.Reordered, line: k + 1, seq: k + 2, inDetail: ".log:14",
		},
		{
			name: "modify and rehash a record",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				r := parseLine(t, l[k])
				r.Decision = "DENY"
				l[k] = seal(t, r)
				return l
			},
			kind: audit.BrokenLink, line: k + 2, seq: k + 2, inDetail: ".log:11,",
		},
		{
			name:   "delete the start record",
			tamper: func(t *testing.T, l [][]byte) [][]byte { return l[1:] },
			kind:   audit.Deleted, line: 1, seq: 2,
		},
		{
			name: "truncated last line",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[len(l)-1] = l[len(l)-1][:40]
				return l
			},
			kind: audit.Malformed, line: n + 1,
		},
		{
			name: "CRLF line endings",
			tamper: func(t *testing.T, l [][]byte) [][]byte {
				l[k] = append(bytes.TrimSuffix(l[k], []byte("\n")), '\r', '\n')
				return l
			},
			kind: audit.Malformed, line: k + 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "audit.log")
			writeLines(t, p, tt.tamper(t, clone(orig)))
			_, err := audit.VerifyPaths(p)
			var prob *audit.Problem
			if !errors.As(err, &prob) {
				t.Fatalf("verify = %v, want a *Problem", err)
			}
			if prob.Kind != tt.kind || prob.Line != tt.line || prob.Seq != tt.seq || prob.File != p {
				t.Fatalf("problem = %+v, want kind %s at line %d seq %d", prob, tt.kind, tt.line, tt.seq)
			}
			if !strings.Contains(prob.Detail, tt.inDetail) {
				t.Fatalf("detail %q does not mention %q", prob.Detail, tt.inDetail)
			}
		})
	}
}

func TestVerifyRotation(t *testing.T) {
	t.Parallel()
	path := writeChain(t, 200, audit.WithMaxFileSize(8<<10))
	rotated, err := filepath.Glob(path + ".*")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(rotated)
	files := append(rotated, path)
	if len(files) < 4 {
		t.Fatalf("got %d files, want rotation into at least 4", len(files))
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 8<<10 {
			t.Fatalf("%s is %d bytes, over the 8 KiB limit", f, st.Size())
		}
	}
	rep, err := audit.VerifyPaths(files...)
	if err != nil {
		t.Fatalf("verify in order: %v", err)
	}
	if rep.Records != 201 || rep.Files != len(files) {
		t.Fatalf("report = %+v, want 201 records in %d files", rep, len(files))
	}
	// The second file continues the chain: its first record links to the first file's last.
	first, second := readLines(t, files[0]), readLines(t, files[1])
	if parseLine(t, second[0]).PrevHash != parseLine(t, first[len(first)-1]).Hash {
		t.Fatal("second file does not continue the first file's chain")
	}

	t.Run("middle file missing", func(t *testing.T) {
		missing := slices.Delete(slices.Clone(files), 1, 2)
		_, err := audit.VerifyPaths(missing...)
		var prob *audit.Problem
		if !errors.As(err, &prob) || prob.Kind != audit.Deleted || prob.File != files[2] || prob.Line != 1 {
			t.Fatalf("verify = %v, want deleted at %s:1", err, files[2])
		}
	})
	t.Run("first file missing", func(t *testing.T) {
		_, err := audit.VerifyPaths(files[1:]...)
		var prob *audit.Problem
		if !errors.As(err, &prob) || prob.Kind != audit.Deleted || prob.File != files[1] || prob.Line != 1 {
			t.Fatalf("verify = %v, want deleted at %s:1", err, files[1])
		}
	})
	t.Run("files out of order", func(t *testing.T) {
		swapped := slices.Clone(files)
		swapped[1], swapped[2] = swapped[2], swapped[1]
		if _, err := audit.VerifyPaths(swapped...); err == nil {
			t.Fatal("verify accepted files out of order")
		}
	})
}

func TestVerifyRestartContinuesChain(t *testing.T) {
	t.Parallel()
	path := writeChain(t, 5)
	w, err := audit.Open(path, audit.WithInstance("node-a"), audit.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := w.Write(decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.VerifyPaths(path)
	if err != nil || rep.Records != 12 || rep.UnlinkedStarts != 0 {
		t.Fatalf("verify = %+v, %v; want 12 records, linked restart", rep, err)
	}
	lines := readLines(t, path)
	if r := parseLine(t, lines[6]); r.Kind != audit.KindStart || r.PrevHash != parseLine(t, lines[5]).Hash {
		t.Fatalf("second start record %+v does not link to the first run's last record", r)
	}

	// Cutting the end of the first run shows at the second run's start record.
	p2 := filepath.Join(t.TempDir(), "audit.log")
	writeLines(t, p2, slices.Delete(clone(lines), 5, 6))
	_, err = audit.VerifyPaths(p2)
	var prob *audit.Problem
	if !errors.As(err, &prob) || prob.Kind != audit.Deleted || prob.Line != 6 {
		t.Fatalf("verify = %v, want deleted at line 6", err)
	}
}

func TestVerifyInterleavedInstances(t *testing.T) {
	t.Parallel()
	a, b := readLines(t, writeChain(t, 10)), readLines(t, writeChainAs(t, "node-b", 10))
	var mixed [][]byte
	for i := range a {
		mixed = append(mixed, a[i], b[i])
	}
	p := filepath.Join(t.TempDir(), "mixed.log")
	writeLines(t, p, mixed)
	rep, err := audit.VerifyPaths(p)
	if err != nil || rep.Instances != 2 || rep.Records != 22 {
		t.Fatalf("verify = %+v, %v; want 22 records of 2 instances", rep, err)
	}
	writeLines(t, p, slices.Delete(mixed, 9, 10)) // node-b seq 5
	_, err = audit.VerifyPaths(p)
	var prob *audit.Problem
	if !errors.As(err, &prob) || prob.Kind != audit.Deleted || prob.Line != 11 || prob.Seq != 6 {
		t.Fatalf("verify = %v, want deleted at line 11 (node-b seq 6)", err)
	}
}

func writeChainAs(t *testing.T, instance string, n int) string {
	return writeChain(t, n, audit.WithInstance(instance))
}

func TestVerifyFilesSummary(t *testing.T) {
	t.Parallel()
	path := writeChain(t, 9)
	var out bytes.Buffer
	if err := audit.VerifyFiles(&out, audit.VerifyOptions{}, []string{path}); err != nil {
		t.Fatalf("VerifyFiles: %v\n%s", err, out.String())
	}
	if got := out.String(); got != "ok: 10 records in 1 file, chain intact\n" {
		t.Fatalf("summary = %q", got)
	}
	lines := readLines(t, path)
	lines[4] = bytes.Replace(lines[4], []byte("GET"), []byte("PUT"), 1)
	writeLines(t, path, lines)
	out.Reset()
	if err := audit.VerifyFiles(&out, audit.VerifyOptions{}, []string{path}); err == nil {
		t.Fatal("VerifyFiles accepted a modified record")
	}
	if want := "FAIL at " + path + ":5 (seq 5): record modified"; !strings.HasPrefix(out.String(), want) {
		t.Fatalf("summary = %q, want prefix %q", out.String(), want)
	}
	if err := audit.VerifyFiles(&out, audit.VerifyOptions{}, []string{filepath.Join(t.TempDir(), "nope")}); err == nil {
		t.Fatal("VerifyFiles accepted a missing file")
	}
}
