package audit

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ProblemKind classifies the first break Verify finds.
type ProblemKind string

// Problem kinds. Modified, Deleted, Inserted and Reordered name the tampering; BrokenLink is a
// record whose prevHash matches nothing around it (its predecessor was modified and rehashed,
// or it was forged); Malformed is a line that is not a complete record.
const (
	Modified   ProblemKind = "modified"
	Deleted    ProblemKind = "deleted"
	Inserted   ProblemKind = "inserted"
	Reordered  ProblemKind = "reordered"
	BrokenLink ProblemKind = "broken-link"
	Malformed  ProblemKind = "malformed"
	// BadSignature is a digest whose signature does not verify with the key it names (or names
	// no known key): the records it covers were rewritten, or the digest was forged.
	BadSignature ProblemKind = "bad-signature"
)

// Problem is where a trail stops verifying. Line is 1-based within File; Seq is the seq of the
// record on that line (0 when it could not be read).
type Problem struct {
	File   string
	Line   int
	Seq    uint64
	Kind   ProblemKind
	Detail string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s:%d (seq %d): record %s: %s", p.File, p.Line, p.Seq, p.Kind, p.Detail)
}

// Gap is a gap record: the writer dropped records and said so.
type Gap struct {
	File     string
	Line     int
	Seq      uint64
	Instance string
	Dropped  uint64
}

// Report summarizes what Verify checked (up to the first problem, if any).
type Report struct {
	Files     int
	Records   int
	Instances int
	// Gaps lists gap records and Dropped totals them.
	Gaps    []Gap
	Dropped uint64
	// UnlinkedStarts counts start records after earlier records of the same instance that do
	// not link to them (the writer could not read the end of the file it appended to).
	UnlinkedStarts int
	// Digests counts digest records; their signatures were checked only when Signed is true
	// (VerifyOptions.Keys was given). Anchors counts the store's digests found in the trail.
	Digests int
	Signed  bool
	Anchors int
	// Unsigned lists, per chain, the records after its last digest: no signature vouches that
	// nothing was deleted from there on.
	Unsigned []Unsigned
}

// Unsigned is the tail of a chain that no digest covers, from File:Line (seq FromSeq) on.
type Unsigned struct {
	Instance string
	File     string
	Line     int
	FromSeq  uint64
	Records  uint64
}

// VerifyOptions are what Verify checks digests against.
type VerifyOptions struct {
	// Keys are the public keys of digest signers by key id. With none, digest signatures are
	// not checked.
	Keys map[string]ed25519.PublicKey
	// Anchors are digests kept apart from the trail (the latest of each writer, from the
	// store): each must name a record present in the trail with the same hash.
	Anchors []Digest
}

// Source is one trail file to verify.
type Source struct {
	Name string
	R    io.Reader
}

// MaxLineBytes bounds one record line when verifying.
const MaxLineBytes = 16 << 20

// lookahead bounds how many lines Verify reads past a break to tell a reordering or an
// insertion from a deletion.
const lookahead = 4096

// Verify checks the trails in srcs, in order, as one stream: every record's hash, and per
// instance the seq continuity and prevHash links from its start record on. It returns the
// first break as a *Problem error; other errors are read errors.
func Verify(srcs ...Source) (Report, error) { return VerifyWith(VerifyOptions{}, srcs...) }

// VerifyWith is Verify that also checks digest signatures with opts.Keys and that every
// anchor in opts.Anchors is in the trail, so records deleted from the end up to the last
// anchored digest are reported as deleted.
func VerifyWith(opts VerifyOptions, srcs ...Source) (Report, error) {
	v := &verifier{lines: &lineReader{srcs: srcs}, chains: map[string]*chain{}, opts: opts, anchors: map[string][]*anchor{}}
	for _, d := range opts.Anchors {
		v.anchors[d.Instance] = append(v.anchors[d.Instance], &anchor{Digest: d})
	}
	v.rep.Signed = len(opts.Keys) > 0
	err := v.run()
	if err == nil {
		err = v.finish()
	}
	v.rep.Files = v.lines.opened
	v.rep.Instances = len(v.chains)
	return v.rep, err
}

type anchor struct {
	Digest
	found bool
}

// VerifyPaths opens the files and calls Verify.
func VerifyPaths(paths ...string) (Report, error) { return VerifyPathsWith(VerifyOptions{}, paths...) }

// VerifyPathsWith opens the files and calls VerifyWith.
func VerifyPathsWith(opts VerifyOptions, paths ...string) (Report, error) {
	srcs := make([]Source, 0, len(paths))
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			for _, s := range srcs {
				s.R.(*os.File).Close()
			}
			return Report{}, fmt.Errorf("audit: verify: %w", err)
		}
		srcs = append(srcs, Source{Name: p, R: f})
	}
	defer func() {
		for _, s := range srcs {
			s.R.(*os.File).Close()
		}
	}()
	return VerifyWith(opts, srcs...)
}

// entry is what Verify keeps of one line.
type entry struct {
	file     string
	line     int
	seq      uint64
	instance string
	kind     string
	prevHash string
	hash     string
	dropped  uint64
	time     time.Time
	keyID    string
	sig      string
}

// chain is the state of one instance's chain: its last record and the one before, and the
// seq of its last digest.
type chain struct {
	last, before entry
	hasBefore    bool
	digestSeq    uint64
	firstAfter   entry // the first record after the last digest
}

type verifier struct {
	lines   *lineReader
	chains  map[string]*chain
	opts    VerifyOptions
	anchors map[string][]*anchor
	rep     Report
}

func (v *verifier) run() error {
	for {
		raw, file, line, err := v.lines.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		e, p := parseEntry(raw, file, line)
		if p != nil {
			return p
		}
		prev := v.chains[e.instance]
		if p := v.check(e); p != nil {
			return p
		}
		if c := v.chains[e.instance]; c != prev && prev != nil {
			v.unsigned(prev) // a restart of the same instance ends the previous chain
		}
		if p := v.signed(e); p != nil {
			return p
		}
		v.rep.Records++
		if e.kind == KindGap {
			v.rep.Gaps = append(v.rep.Gaps, Gap{File: e.file, Line: e.line, Seq: e.seq, Instance: e.instance, Dropped: e.dropped})
			v.rep.Dropped += e.dropped
		}
	}
}

// signed checks a digest record's signature and the anchors naming e, and keeps track of what
// the last digest covers.
func (v *verifier) signed(e entry) *Problem {
	c := v.chains[e.instance]
	for _, a := range v.anchors[e.instance] {
		switch {
		case a.found:
		case a.Seq == e.seq && a.Hash != e.hash:
			return e.problem(Modified, fmt.Sprintf("record does not match the digest kept in the store (signed %s): it was replaced", a.Time.Format(time.RFC3339)))
		case a.Seq+1 == e.seq && e.kind == KindDigest && e.prevHash == a.Hash && e.sig == encodeSig(a.Signature):
			// The anchor is found when its digest record is: deleting only that is deleting too.
			a.found = true
			v.rep.Anchors++
		}
	}
	if e.kind != KindDigest {
		if c.digestSeq+1 == e.seq {
			c.firstAfter = e
		}
		return nil
	}
	v.rep.Digests++
	if e.prevHash == "" || e.seq < 2 {
		return e.problem(Malformed, "digest record covers no record")
	}
	if v.rep.Signed {
		sig, ok := decodeSig(e.sig)
		if !ok {
			return e.problem(Malformed, `digest "signature" is not a base64url Ed25519 signature`)
		}
		key, ok := v.opts.Keys[e.keyID]
		if !ok {
			return e.problem(BadSignature, fmt.Sprintf("digest signed by unknown key %q", e.keyID))
		}
		d := Digest{Instance: e.instance, Seq: e.seq - 1, Hash: e.prevHash, Time: e.time, KeyID: e.keyID, Signature: sig}
		if !d.Valid(key) {
			return e.problem(BadSignature, "digest signature does not verify: the records it covers were rewritten, or the digest was forged")
		}
	}
	c.digestSeq = e.seq
	return nil
}

// unsigned notes the records of c after its last digest.
func (v *verifier) unsigned(c *chain) {
	if c.last.seq <= c.digestSeq || c.firstAfter.seq == 0 {
		return
	}
	f := c.firstAfter
	v.rep.Unsigned = append(v.rep.Unsigned, Unsigned{Instance: f.instance, File: f.file, Line: f.line, FromSeq: f.seq, Records: c.last.seq - f.seq + 1})
}

// finish reports anchors missing from the trail (records deleted from its end) and the
// unsigned tails.
func (v *verifier) finish() error {
	for inst, as := range v.anchors {
		for _, a := range as {
			if a.found {
				continue
			}
			if key, ok := v.opts.Keys[a.KeyID]; v.rep.Signed && (!ok || !a.Valid(key)) {
				return &Problem{File: "store", Seq: a.Seq, Kind: BadSignature, Detail: fmt.Sprintf("the stored digest of instance %q does not verify with key %q", inst, a.KeyID)}
			}
			at := a.Time.Format(time.RFC3339)
			if c := v.chains[inst]; c != nil && c.last.seq > a.Seq {
				return &Problem{File: "store", Seq: a.Seq + 1, Kind: Modified, Detail: fmt.Sprintf("instance %q has no digest record seq %d matching the digest kept in the store (signed %s): it was replaced",
					inst, a.Seq+1, at)}
			} else if c != nil {
				return c.last.problem(Deleted, fmt.Sprintf("records seq %d..%d of instance %q are missing after this record: the digest kept in the store (signed %s) is record seq %d",
					c.last.seq+1, a.Seq+1, inst, at, a.Seq+1))
			}
			return &Problem{File: "store", Seq: a.Seq, Kind: Deleted, Detail: fmt.Sprintf("the digest kept in the store (signed %s) covers instance %q up to seq %d, which is not in these files: the newest records are missing (or not every file of the trail was given)",
				at, inst, a.Seq)}
		}
	}
	for _, c := range v.chains {
		v.unsigned(c)
	}
	return nil
}

// check links e into its instance's chain or explains why it cannot.
func (v *verifier) check(e entry) *Problem {
	c := v.chains[e.instance]
	if e.kind == KindStart {
		if e.seq != 1 {
			return e.problem(Inserted, fmt.Sprintf("start record with seq %d (a start record is always seq 1)", e.seq))
		}
		if c != nil && e.prevHash != c.last.hash {
			if e.prevHash == "" {
				v.rep.UnlinkedStarts++
			} else if p := v.insertedBefore(c, e); p != nil {
				return p
			} else {
				return e.problem(Deleted, fmt.Sprintf("start record links to a record that is not the last of instance %q before it (%s:%d, seq %d): records at the end of the previous run are missing",
					e.instance, c.last.file, c.last.line, c.last.seq))
			}
		}
		v.chains[e.instance] = &chain{last: e}
		return nil
	}
	if c == nil {
		if e.seq == 1 {
			return e.problem(Inserted, "seq 1 is not a start record")
		}
		return e.problem(Deleted, fmt.Sprintf("instance %q begins at seq %d without its start record: earlier records or files are missing", e.instance, e.seq))
	}
	if e.seq == c.last.seq+1 && e.prevHash == c.last.hash {
		c.before, c.hasBefore, c.last = c.last, true, e
		return nil
	}
	if p := v.insertedBefore(c, e); p != nil {
		return p
	}
	return v.classify(c, e)
}

// insertedBefore reports the chain's last record as inserted when e links to the record
// before it instead.
func (v *verifier) insertedBefore(c *chain, e entry) *Problem {
	if !c.hasBefore || e.prevHash != c.before.hash || (e.kind != KindStart && e.seq != c.before.seq+1) {
		return nil
	}
	return c.last.problem(Inserted, fmt.Sprintf("record is not part of the chain: the next record (%s:%d, seq %d) links to the one before it (seq %d)",
		e.file, e.line, e.seq, c.before.seq))
}

func (v *verifier) classify(c *chain, e entry) *Problem {
	want := c.last.seq + 1
	if e.prevHash == c.last.hash {
		return e.problem(Inserted, fmt.Sprintf("seq %d follows seq %d although it links to it: forged record", e.seq, c.last.seq))
	}
	ahead := v.readAhead(e.instance)
	if len(ahead) > 0 && ahead[0].seq == want && ahead[0].prevHash == c.last.hash && e.prevHash != ahead[0].hash {
		return e.problem(Inserted, fmt.Sprintf("record does not link to the previous record (%s:%d, seq %d) and the next record does",
			c.last.file, c.last.line, c.last.seq))
	}
	for _, n := range ahead {
		if n.seq == want && n.prevHash == c.last.hash && e.prevHash == n.hash {
			return e.problem(Reordered, fmt.Sprintf("seq %d should come after seq %d, which is at %s:%d", e.seq, want, n.file, n.line))
		}
	}
	switch {
	case e.seq > want && e.seq == want+1:
		return e.problem(Deleted, fmt.Sprintf("record seq %d is missing before this record", want))
	case e.seq > want:
		return e.problem(Deleted, fmt.Sprintf("records seq %d..%d (%d) are missing before this record", want, e.seq-1, e.seq-want))
	case e.seq < want:
		return e.problem(Inserted, fmt.Sprintf("seq %d repeats or goes back (expected %d after %s:%d)", e.seq, want, c.last.file, c.last.line))
	}
	return e.problem(BrokenLink, fmt.Sprintf("prevHash does not match the previous record (%s:%d, seq %d): that record was modified and rehashed, or this one was forged",
		c.last.file, c.last.line, c.last.seq))
}

// readAhead returns the next intact records of instance, reading at most lookahead lines.
// Verify stops at the first problem, so consuming the lines here is fine.
func (v *verifier) readAhead(instance string) []entry {
	var out []entry
	for range lookahead {
		raw, file, line, err := v.lines.next()
		if err != nil {
			break
		}
		if e, p := parseEntry(raw, file, line); p == nil && e.instance == instance {
			out = append(out, e)
		}
	}
	return out
}

func (e entry) problem(k ProblemKind, detail string) *Problem {
	return &Problem{File: e.file, Line: e.line, Seq: e.seq, Kind: k, Detail: detail}
}

// hashSuffixLen is len(`,"hash":"` + 64 hex digits + `"}`).
const hashSuffixLen = 9 + 64 + 2

// parseEntry checks one line on its own: shape, fields and hash.
func parseEntry(raw []byte, file string, line int) (entry, *Problem) {
	e := entry{file: file, line: line}
	bad := func(detail string) (entry, *Problem) { return e, e.problem(Malformed, detail) }
	if len(raw) < hashSuffixLen+2 || raw[0] != '{' {
		return bad("not a record line")
	}
	suffix := raw[len(raw)-hashSuffixLen:]
	sum := string(suffix[9 : 9+64])
	if !bytes.HasPrefix(suffix, []byte(`,"hash":"`)) || !bytes.HasSuffix(suffix, []byte(`"}`)) || !isHash(sum) {
		return bad(`record does not end with its "hash"`)
	}
	var f struct {
		Seq      uint64    `json:"seq"`
		Instance string    `json:"instance"`
		Kind     string    `json:"kind"`
		PrevHash string    `json:"prevHash"`
		Hash     string    `json:"hash"`
		Dropped  uint64    `json:"dropped"`
		Time     time.Time `json:"time"`
		KeyID    string    `json:"keyId"`
		Sig      string    `json:"signature"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return bad("invalid JSON: " + err.Error())
	}
	e.seq, e.instance, e.kind, e.prevHash, e.hash, e.dropped = f.Seq, f.Instance, f.Kind, f.PrevHash, sum, f.Dropped
	e.time, e.keyID, e.sig = f.Time, f.KeyID, f.Sig
	switch {
	case f.Hash != sum:
		return bad(`"hash" is not the last field`)
	case f.Seq == 0:
		return bad(`"seq" is missing or zero`)
	case f.Instance == "":
		return bad(`"instance" is missing`)
	case f.Kind == "":
		return bad(`"kind" is missing`)
	case f.PrevHash != "" && !isHash(f.PrevHash):
		return bad(`"prevHash" is not a SHA-256 hex digest`)
	}
	h := sha256.New()
	h.Write(raw[:len(raw)-hashSuffixLen])
	h.Write([]byte{'}'})
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		return e, e.problem(Modified, "content does not match its hash")
	}
	return e, nil
}

// lineReader yields the lines of several sources in order, keeping every byte but the '\n'
// (a '\r' stays, so it breaks the hash rather than being silently ignored).
type lineReader struct {
	srcs   []Source
	i      int
	sc     *bufio.Scanner
	name   string
	line   int
	opened int
}

func (r *lineReader) next() ([]byte, string, int, error) {
	for {
		if r.sc == nil {
			if r.i >= len(r.srcs) {
				return nil, "", 0, io.EOF
			}
			s := r.srcs[r.i]
			r.i++
			r.opened++
			r.name, r.line = s.Name, 0
			r.sc = bufio.NewScanner(s.R)
			r.sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
			r.sc.Split(splitLines)
		}
		if r.sc.Scan() {
			r.line++
			return r.sc.Bytes(), r.name, r.line, nil
		}
		if err := r.sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				return nil, "", 0, &Problem{File: r.name, Line: r.line + 1, Kind: Malformed, Detail: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
			}
			return nil, "", 0, fmt.Errorf("audit: verify: read %s: %w", r.name, err)
		}
		r.sc = nil
	}
}

func splitLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
