package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Defaults for a Writer's options.
const (
	DefaultQueueRecords   = 65536
	DefaultQueueBytes     = 64 << 20
	DefaultBlockTimeout   = 50 * time.Millisecond
	DefaultMaxFileSize    = 100 << 20
	DefaultFlushInterval  = 100 * time.Millisecond
	DefaultDigestInterval = 60 * time.Second
	// DefaultStallTimeout is how long one write to the destination may take before Err
	// reports it stalled. A local append takes microseconds and a rotation's fsync well under
	// a second; a write blocked for seconds is a hung disk or a frozen file system.
	DefaultStallTimeout = 5 * time.Second
)

var (
	// ErrDropped means the queue stayed full for the block timeout and the record was counted
	// as dropped; a gap record will say so in the chain.
	ErrDropped = errors.New("audit: queue full, record dropped")
	// ErrClosed means the writer is closed.
	ErrClosed = errors.New("audit: writer closed")
	// ErrStalled means a write to the destination has not returned within the stall bound
	// (a hung disk, a frozen file system): records wait in the queue, none reaches the trail.
	ErrStalled = errors.New("audit: destination not answering")
)

// Gap reasons.
const (
	ReasonQueueFull   = "queue_full"
	ReasonWriteFailed = "write_failed"
)

type config struct {
	instance      string
	logger        *slog.Logger
	queueRecords  int
	queueBytes    int
	blockTimeout  time.Duration
	maxFileSize   int64
	flushInterval time.Duration
	stallTimeout  time.Duration
	digest        *DigestConfig
}

// Option configures a Writer.
type Option func(*config)

// WithInstance names the node writing the trail (default: the host name). Restarts with the
// same instance continue the chain found at the end of the file.
func WithInstance(id string) Option { return func(c *config) { c.instance = id } }

// WithLogger sets where drops and write errors are reported (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithQueue bounds the in-memory queue by records and bytes (defaults 65536 and 64 MiB;
// values <= 0 keep the default).
func WithQueue(records, bytes int) Option {
	return func(c *config) {
		if records > 0 {
			c.queueRecords = records
		}
		if bytes > 0 {
			c.queueBytes = bytes
		}
	}
}

// WithBlockTimeout bounds how long Write waits for room in a full queue before it counts the
// record as dropped (default 50 ms).
func WithBlockTimeout(d time.Duration) Option { return func(c *config) { c.blockTimeout = d } }

// WithMaxFileSize sets the size at which Open's file is rotated (default 100 MiB).
func WithMaxFileSize(n int64) Option { return func(c *config) { c.maxFileSize = n } }

// WithFlushInterval sets how often buffered records are written to the destination (default
// 100 ms). Zero writes every time the queue drains, so nothing dequeued waits in memory. It is
// also how often a failing destination is retried (100 ms when zero).
func WithFlushInterval(d time.Duration) Option { return func(c *config) { c.flushInterval = d } }

// WithStallTimeout sets how long one write to the destination may block before Err reports
// ErrStalled (default 5 s; values <= 0 keep the default).
func WithStallTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.stallTimeout = d
		}
	}
}

// DigestConfig makes a Writer sign digest records (see the package doc).
type DigestConfig struct {
	// Key signs; KeyID names it in every digest (verifiers look the public key up by it).
	Key   ed25519.PrivateKey
	KeyID string
	// Interval between digests (default 60 s); a digest is written only when records were
	// written since the last one, and always at Close.
	Interval time.Duration
	// Anchor, when set, receives each digest once its record reached the destination, to keep
	// it apart from the trail (the store). It runs on its own goroutine, latest digest first:
	// a slow Anchor skips digests but never delays records.
	Anchor func(context.Context, Digest) error
}

// WithDigests makes the writer sign a digest of the chain every interval and at Close.
func WithDigests(d DigestConfig) Option {
	return func(c *config) {
		if d.Interval <= 0 {
			d.Interval = DefaultDigestInterval
		}
		c.digest = &d
	}
}

func newConfig(opts []Option) config {
	c := config{
		queueRecords:  DefaultQueueRecords,
		queueBytes:    DefaultQueueBytes,
		blockTimeout:  DefaultBlockTimeout,
		maxFileSize:   DefaultMaxFileSize,
		flushInterval: DefaultFlushInterval,
		stallTimeout:  DefaultStallTimeout,
	}
	for _, o := range opts {
		o(&c)
	}
	if c.instance == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			h = "gatehouse"
		}
		c.instance = h
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	if c.blockTimeout < 0 {
		c.blockTimeout = 0
	}
	if c.maxFileSize <= 0 {
		c.maxFileSize = DefaultMaxFileSize
	}
	if c.flushInterval < 0 {
		c.flushInterval = 0
	}
	return c
}

// Stats are a Writer's counters, for metrics.
type Stats struct {
	// Written counts records of every kind that reached the destination (a record still in
	// memory, or cut short by a failed write, is not written).
	Written uint64
	// Dropped counts records refused because the queue stayed full; Lost counts records that
	// could not be written to the destination. Each is reported in the chain by gap records;
	// Gaps counts the gap records written.
	Dropped uint64
	Lost    uint64
	Gaps    uint64
	// Unrecorded is how many dropped or lost records no gap record has reported yet: nonzero
	// only while the destination fails or the queue overflows.
	Unrecorded uint64
	// Digests counts signed digest records written.
	Digests uint64
	// WriteErrors counts failed writes to the destination.
	WriteErrors uint64
	// Rotations counts file rotations.
	Rotations uint64
	// QueueDepth and QueueBytes are what waits to be written now.
	QueueDepth int
	QueueBytes int
}

// item is one queued record: its encoding without seq, prevHash and hash, or a marker for
// records dropped while the queue was full.
type item struct {
	pre  []byte
	t    time.Time
	drop *loss
}

// loss is a run of records that are not in the trail.
type loss struct {
	count        uint64
	since, until time.Time
}

func (l *loss) add(o loss) {
	if o.count == 0 {
		return
	}
	if l.count == 0 || o.since.Before(l.since) {
		l.since = o.since
	}
	if o.until.After(l.until) {
		l.until = o.until
	}
	l.count += o.count
}

// chainState is where a chain stands: the last seq and hash, and whether its start record was
// written.
type chainState struct {
	seq     uint64
	prev    []byte // hex of the last record's hash; empty before a linked start
	started bool
}

func (c *chainState) set(o *chainState) {
	c.seq, c.started = o.seq, o.started
	c.prev = append(c.prev[:0], o.prev...)
}

// Record kinds inside the writer's buffer.
const (
	bufRecord = iota
	bufStart
	bufGap
	bufDigest
)

// bufRec is one record in the writer's buffer.
type bufRec struct {
	end    int // offset just past its '\n'
	seq    uint64
	kind   int
	t      time.Time // bufRecord: the record's time
	reason string    // bufGap
	loss   loss      // bufGap: what it reports
	digest Digest    // bufDigest
}

// Writer appends hash-chained records to a destination. Write is safe for concurrent use; the
// order in which Writes take the lock is the chain order. One goroutine chains, writes and
// counts, so the chain always describes what reached the destination.
type Writer struct {
	cfg  config
	sink sink

	mu         sync.Mutex
	queue      []item
	spare      []item
	queueBytes int
	space      chan struct{} // closed (and replaced) whenever the queue is emptied
	closed     bool
	dropping   loss // records dropped since the last queued record

	wake      chan struct{}
	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error

	// The writer goroutine's own state.
	committed, work chainState
	buf             []byte
	recs            []bufRec
	ends            []int
	pending         map[string]*loss // per gap reason: records no written gap record reports
	lastErr         error
	digestSeq       uint64 // committed seq the last digest covered
	digestInst      bool   // a digest was written in this chain
	anchors         chan Digest
	anchorDone      chan struct{}

	failure atomic.Pointer[error] // the destination's error while it fails
	// writingSince is when the write to the destination in progress started (Unix ns; 0 when
	// none is): a write that never returns blocks the writer goroutine, which then cannot
	// report anything itself, so Err and watchStall read this instead.
	writingSince atomic.Int64
	stallLogged  atomic.Bool

	written, dropped, lost, gaps, unrecorded, digests, writeErrors atomic.Uint64
}

// New returns a Writer to w, which it does not close and never rotates. The chain starts
// fresh. A nil w is an error-free discard.
func New(w io.Writer, opts ...Option) *Writer {
	if w == nil {
		w = io.Discard
	}
	return start(newConfig(opts), &streamSink{w: w}, "")
}

// Open returns a Writer appending to the file at path, rotated at the maximum file size, or
// to standard output when path is "stdout" or "-". When the file already ends with a record
// of this instance, the new chain links to it.
func Open(path string, opts ...Option) (*Writer, error) {
	if path == "stdout" || path == "-" {
		return New(os.Stdout, opts...), nil
	}
	cfg := newConfig(opts)
	fs, prev, err := openFileSink(path, cfg.maxFileSize, cfg.instance, cfg.logger)
	if err != nil {
		return nil, fmt.Errorf("audit: open %s: %w", path, err)
	}
	return start(cfg, fs, prev), nil
}

func start(cfg config, s sink, prevHash string) *Writer {
	w := &Writer{
		cfg:     cfg,
		sink:    s,
		space:   make(chan struct{}),
		wake:    make(chan struct{}, 1),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
		buf:     make([]byte, 0, bufSize+64<<10),
		pending: map[string]*loss{ReasonQueueFull: {}, ReasonWriteFailed: {}},
	}
	w.committed.prev = []byte(prevHash)
	w.work.set(&w.committed)
	if cfg.digest != nil && cfg.digest.Anchor != nil {
		w.anchors = make(chan Digest, 1)
		w.anchorDone = make(chan struct{})
		go w.anchorLoop()
	}
	go w.run()
	go w.watchStall()
	w.signal()
	return w
}

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return id.String()
}

// Write adds r to the chain. It sets ID (if empty), Time (if zero; converted to UTC) and
// Instance, Seq, PrevHash and Hash, and clears the fields of the writer's own records. It
// returns without waiting for I/O unless the queue is full, and then waits at most the block
// timeout before returning ErrDropped. Kinds "start", "gap" and "digest" are the writer's own.
func (w *Writer) Write(r Record) error {
	switch r.Kind {
	case "":
		return errors.New("audit: record kind is empty")
	case KindStart, KindGap, KindDigest:
		return fmt.Errorf("audit: record kind %q is reserved", r.Kind)
	}
	if r.ID == "" {
		r.ID = newID()
	}
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	r.Time = r.Time.UTC()
	r.Instance = w.cfg.instance
	r.Seq, r.PrevHash, r.Hash = 0, "", ""
	r.Dropped, r.DroppedSince, r.DroppedUntil, r.KeyID, r.Signature = 0, nil, nil, "", ""
	// Encoding happens on the caller's goroutine; the writer goroutine only splices in seq and
	// prevHash and hashes.
	pre, err := encode(&r)
	if err != nil {
		return fmt.Errorf("audit: encode record: %w", err)
	}
	return w.enqueue(item{pre: pre, t: r.Time})
}

func (w *Writer) enqueue(it item) error {
	var timer *time.Timer
	n := len(it.pre)
	w.mu.Lock()
	for !w.roomLocked(n) {
		if w.closed {
			w.mu.Unlock()
			return ErrClosed
		}
		space := w.space
		w.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(w.cfg.blockTimeout)
			defer timer.Stop()
		}
		timedOut := false
		select {
		case <-space:
		case <-w.closing:
		case <-timer.C:
			timedOut = true
		}
		w.mu.Lock()
		if timedOut && !w.closed && !w.roomLocked(n) {
			w.dropLocked(it.t)
			w.mu.Unlock()
			return ErrDropped
		}
	}
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.markDropsLocked()
	w.queue = append(w.queue, it)
	w.queueBytes += n
	w.mu.Unlock()
	w.signal()
	return nil
}

func (w *Writer) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *Writer) roomLocked(n int) bool {
	if len(w.queue) == 0 {
		return true
	}
	return len(w.queue) < w.cfg.queueRecords && w.queueBytes+n <= w.cfg.queueBytes
}

func (w *Writer) dropLocked(t time.Time) {
	if w.dropping.count == 0 {
		w.cfg.logger.Error("audit queue full; dropping records until the destination catches up",
			"queue_records", len(w.queue), "block_timeout", w.cfg.blockTimeout)
	}
	w.dropping.add(loss{count: 1, since: t, until: t})
	w.dropped.Add(1)
	w.unrecorded.Add(1)
}

// markDropsLocked queues a marker for the records dropped so far, so their gap record takes
// their place in the chain: after what was queued before them.
func (w *Writer) markDropsLocked() {
	if w.dropping.count == 0 {
		return
	}
	d := w.dropping
	w.queue = append(w.queue, item{drop: &d})
	w.dropping = loss{}
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	depth, bytes := len(w.queue), w.queueBytes
	w.mu.Unlock()
	return Stats{
		Written:     w.written.Load(),
		Dropped:     w.dropped.Load(),
		Lost:        w.lost.Load(),
		Gaps:        w.gaps.Load(),
		Unrecorded:  w.unrecorded.Load(),
		Digests:     w.digests.Load(),
		WriteErrors: w.writeErrors.Load(),
		Rotations:   w.sink.rotations(),
		QueueDepth:  depth,
		QueueBytes:  bytes,
	}
}

// Err returns non-nil while records are being lost or cannot reach the trail: the
// destination's error while writes to it fail, ErrStalled while a write has blocked for longer
// than the stall bound, or ErrDropped while dropped records wait for their gap record. It is nil
// again once a write succeeds and every loss is reported in the trail.
func (w *Writer) Err() error {
	if p := w.failure.Load(); p != nil {
		return *p
	}
	if err := w.stalled(); err != nil {
		return err
	}
	if w.unrecorded.Load() > 0 {
		return ErrDropped
	}
	return nil
}

// stalled returns ErrStalled, with how long, while the write in progress has blocked for
// longer than the stall bound; it logs the stall once.
func (w *Writer) stalled() error {
	since := w.writingSince.Load()
	if since == 0 {
		return nil
	}
	d := time.Since(time.Unix(0, since))
	if d < w.cfg.stallTimeout {
		return nil
	}
	if w.stallLogged.CompareAndSwap(false, true) {
		w.mu.Lock()
		depth := len(w.queue)
		w.mu.Unlock()
		w.cfg.logger.Error("audit destination not answering; records wait in the queue and none reach the trail",
			"blocked_for", d.Round(time.Millisecond), "queue_records", depth)
	}
	return fmt.Errorf("%w for %v", ErrStalled, d.Round(time.Millisecond))
}

// watchStall reports a stalled destination in the log even when nobody asks Err (the writer
// goroutine is the one blocked), until the writer is done.
func (w *Writer) watchStall() {
	t := time.NewTicker(max(w.cfg.stallTimeout/5, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-w.done:
			return
		case <-t.C:
			_ = w.stalled()
		}
	}
}

// writing runs one write to the destination, visible to stalled while it blocks.
func (w *Writer) writing(write func() error) error {
	start := time.Now()
	w.writingSince.Store(start.UnixNano())
	err := write()
	w.writingSince.Store(0)
	if w.stallLogged.CompareAndSwap(true, false) {
		w.cfg.logger.Warn("audit destination answering again", "blocked_for", time.Since(start).Round(time.Millisecond))
	}
	return err
}

// Close stops accepting records, writes everything queued (plus the gap records still owed
// and, with digests, a final digest), syncs and closes a file destination. It returns an error
// when records remain that are neither in the trail nor reported by a gap record in it, or
// closing the destination failed; and returns early with ctx's error if ctx ends first (the
// drain then continues in the background).
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		w.closed = true
		w.mu.Unlock()
		close(w.closing)
	})
	select {
	case <-w.done:
		return w.closeErr
	case <-ctx.Done():
		return fmt.Errorf("audit: close: %w", ctx.Err())
	}
}

func (w *Writer) run() {
	defer close(w.done)
	retry := w.cfg.flushInterval
	if retry == 0 {
		retry = DefaultFlushInterval
	}
	t := time.NewTicker(retry)
	defer t.Stop()
	// The start record goes out at once, so the trail shows the node started even if nothing
	// else is ever written.
	w.prepare()
	if w.cfg.flushInterval == 0 {
		w.flush()
	}
	var nextDigest time.Time
	if w.cfg.digest != nil {
		nextDigest = time.Now().Add(w.cfg.digest.Interval)
	}
	for {
		select {
		case <-w.wake:
			w.drain()
			if w.cfg.flushInterval == 0 {
				w.flush()
			}
		case now := <-t.C:
			if !nextDigest.IsZero() && !now.Before(nextDigest) {
				nextDigest = now.Add(w.cfg.digest.Interval)
				w.digest()
			}
			w.flush()
		case <-w.closing:
			w.drain()
			w.digest()
			w.flush()
			var errs []error
			if n := w.unrecorded.Load(); n > 0 {
				w.cfg.logger.Error("audit records lost and not recorded in the trail", "records", n, "error", w.lastErr)
				errs = append(errs, fmt.Errorf("audit: %d records are neither in the trail nor reported by a gap record: %w", n, w.lastErr))
			}
			if err := w.writing(w.sink.close); err != nil {
				w.writeErrors.Add(1)
				errs = append(errs, fmt.Errorf("audit: close destination: %w", err))
			}
			if w.anchors != nil {
				close(w.anchors)
				<-w.anchorDone
			}
			w.closeErr = errors.Join(errs...)
			return
		}
	}
}

// drain moves every queued record into the buffer, writing whenever it is full.
func (w *Writer) drain() {
	for {
		w.mu.Lock()
		w.markDropsLocked()
		batch := w.queue
		if len(batch) == 0 {
			w.mu.Unlock()
			return
		}
		w.queue, w.spare = w.spare, nil
		w.queueBytes = 0
		close(w.space)
		w.space = make(chan struct{})
		w.mu.Unlock()

		for _, it := range batch {
			if it.drop != nil {
				w.pending[ReasonQueueFull].add(*it.drop)
				continue
			}
			w.prepare()
			w.buf = w.work.appendLine(w.buf, it.pre)
			w.recs = append(w.recs, bufRec{end: len(w.buf), seq: w.work.seq, kind: bufRecord, t: it.t})
			if len(w.buf) >= bufSize {
				w.flush()
			}
		}
		clear(batch)
		w.mu.Lock()
		w.spare = batch[:0]
		w.mu.Unlock()
	}
}

// prepare puts what must precede the next record into the buffer: the start record of a chain
// not yet started, and gap records for records not in the trail.
func (w *Writer) prepare() {
	if !w.work.started {
		w.work.started = true
		w.work.seq = 0
		w.own(Record{Kind: KindStart}, bufRec{kind: bufStart})
	}
	for _, reason := range []string{ReasonQueueFull, ReasonWriteFailed} {
		l := w.pending[reason]
		if l.count == 0 {
			continue
		}
		since, until := l.since, l.until
		w.own(Record{Kind: KindGap, Reason: reason, Dropped: l.count, DroppedSince: &since, DroppedUntil: &until},
			bufRec{kind: bufGap, reason: reason, loss: *l})
		*l = loss{}
	}
}

// own appends one of the writer's own records.
func (w *Writer) own(r Record, br bufRec) {
	r.ID, r.Time, r.Instance = newID(), time.Now().UTC(), w.cfg.instance
	pre, err := json.Marshal(&r)
	if err != nil {
		panic("audit: encode " + r.Kind + " record: " + err.Error()) // a fixed struct cannot fail
	}
	w.buf = w.work.appendLine(w.buf, pre)
	br.end, br.seq = len(w.buf), w.work.seq
	w.recs = append(w.recs, br)
}

// digest appends a signed digest of the chain unless the last digest already covers it.
func (w *Writer) digest() {
	d := w.cfg.digest
	if d == nil {
		return
	}
	w.prepare()
	if w.digestInst && w.work.seq == w.digestSeq {
		return // nothing new since the last digest
	}
	dg := Digest{Instance: w.cfg.instance, Seq: w.work.seq, Hash: string(w.work.prev), Time: time.Now().UTC(), KeyID: d.KeyID}
	dg.Signature = ed25519.Sign(d.Key, dg.message())
	r := Record{Kind: KindDigest, KeyID: dg.KeyID, Signature: encodeSig(dg.Signature)}
	r.ID, r.Time, r.Instance = newID(), dg.Time, w.cfg.instance
	pre, err := json.Marshal(&r)
	if err != nil {
		panic("audit: encode digest record: " + err.Error())
	}
	w.buf = w.work.appendLine(w.buf, pre)
	w.recs = append(w.recs, bufRec{end: len(w.buf), seq: w.work.seq, kind: bufDigest, digest: dg})
	w.digestSeq, w.digestInst = w.work.seq, true
}

// flush writes the buffer: the records that reached the destination advance the committed
// chain and are counted; the rest are lost, and the chain goes on from the last written
// record, so a gap record (written first thing when the destination works again) takes their
// place. Called with an empty buffer, it retries a failing destination with the gap record.
func (w *Writer) flush() {
	if w.pending[ReasonQueueFull].count > 0 || w.pending[ReasonWriteFailed].count > 0 {
		// Whatever is pending happened after everything buffered: prepare ran before each
		// buffered record.
		w.prepare()
	}
	if len(w.recs) == 0 {
		return
	}
	w.ends = w.ends[:0]
	for _, r := range w.recs {
		w.ends = append(w.ends, r.end)
	}
	var n int
	err := w.writing(func() (err error) {
		n, err = w.sink.write(w.buf, w.ends)
		return err
	})
	gapsBefore := w.gaps.Load()
	var last *Digest
	for _, r := range w.recs[:n] {
		switch r.kind {
		case bufGap:
			w.gaps.Add(1)
			w.unrecorded.Add(^(r.loss.count - 1))
			if r.reason == ReasonWriteFailed {
				w.cfg.logger.Error("audit records lost while the destination failed; gap record written",
					"lost", r.loss.count, "since", r.loss.since, "until", r.loss.until, "gap_seq", r.seq)
			} else {
				w.cfg.logger.Error("audit records dropped", "dropped", r.loss.count, "since", r.loss.since,
					"until", r.loss.until, "gap_seq", r.seq)
			}
		case bufDigest:
			w.digests.Add(1)
			last = &r.digest
		}
	}
	w.written.Add(uint64(n))
	if n > 0 {
		end := w.recs[n-1].end
		w.committed.seq, w.committed.started = w.recs[n-1].seq, true
		w.committed.prev = append(w.committed.prev[:0], w.buf[end-3-64:end-3]...)
	}
	if err != nil {
		var lost loss
		for _, r := range w.recs[n:] {
			switch r.kind {
			case bufRecord:
				lost.add(loss{count: 1, since: r.t, until: r.t})
			case bufGap:
				w.pending[r.reason].add(r.loss)
			case bufDigest:
				if w.digestSeq == r.seq { // the latest digest is lost: the next tick writes another
					w.digestSeq, w.digestInst = 0, false
				}
			}
		}
		w.pending[ReasonWriteFailed].add(lost)
		w.lost.Add(lost.count)
		w.unrecorded.Add(lost.count)
		w.writeErrors.Add(1)
		w.lastErr = err
		if w.failure.Load() == nil {
			w.cfg.logger.Error("audit destination failing; records are lost until it recovers and a gap record will report them",
				"error", err, "lost", lost.count)
		}
		w.failure.Store(&err)
	} else if w.failure.Load() != nil {
		w.failure.Store(nil)
		w.cfg.logger.Warn("audit destination writable again", "gap_records", w.gaps.Load()-gapsBefore)
	}
	w.work.set(&w.committed)
	w.buf, w.recs = w.buf[:0], w.recs[:0]
	if last != nil && w.anchors != nil {
		select {
		case <-w.anchors: // replace an older digest not yet anchored
		default:
		}
		w.anchors <- *last
	}
}

func (w *Writer) anchorLoop() {
	defer close(w.anchorDone)
	for d := range w.anchors {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := w.cfg.digest.Anchor(ctx, d); err != nil {
			w.cfg.logger.Error("audit digest not anchored", "seq", d.Seq, "error", err)
		}
		cancel()
	}
}

// appendLine appends the chained line of a record whose encoding without seq, prevHash and
// hash is pre (`{"id":...}`): Seq is the struct's first field and PrevHash and Hash its last,
// all omitempty, so splicing them in yields exactly what json.Marshal of the full record would
// (see the package doc).
func (c *chainState) appendLine(buf, pre []byte) []byte {
	c.seq++
	start := len(buf)
	buf = append(buf, `{"seq":`...)
	buf = strconv.AppendUint(buf, c.seq, 10)
	buf = append(buf, ',')
	buf = append(buf, pre[1:len(pre)-1]...)
	if len(c.prev) > 0 {
		buf = append(buf, `,"prevHash":"`...)
		buf = append(buf, c.prev...)
		buf = append(buf, '"')
	}
	buf = append(buf, '}')
	sum := sha256.Sum256(buf[start:])
	buf = buf[:len(buf)-1]
	buf = append(buf, `,"hash":"`...)
	buf = hex.AppendEncode(buf, sum[:])
	c.prev = append(c.prev[:0], buf[len(buf)-64:]...)
	return append(buf, "\"}\n"...)
}
