package audit

import (
	"context"
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
	DefaultQueueRecords  = 65536
	DefaultQueueBytes    = 64 << 20
	DefaultBlockTimeout  = 50 * time.Millisecond
	DefaultMaxFileSize   = 100 << 20
	DefaultFlushInterval = 100 * time.Millisecond
)

var (
	// ErrDropped means the queue stayed full for the block timeout and the record was counted
	// as dropped; a gap record will say so in the chain.
	ErrDropped = errors.New("audit: queue full, record dropped")
	// ErrClosed means the writer is closed.
	ErrClosed = errors.New("audit: writer closed")
)

type config struct {
	instance      string
	logger        *slog.Logger
	queueRecords  int
	queueBytes    int
	blockTimeout  time.Duration
	maxFileSize   int64
	flushInterval time.Duration
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

// WithFlushInterval sets how often buffered records are flushed to the destination (default
// 100 ms). Zero flushes every time the queue drains, so nothing dequeued waits in memory.
func WithFlushInterval(d time.Duration) Option { return func(c *config) { c.flushInterval = d } }

func newConfig(opts []Option) config {
	c := config{
		queueRecords:  DefaultQueueRecords,
		queueBytes:    DefaultQueueBytes,
		blockTimeout:  DefaultBlockTimeout,
		maxFileSize:   DefaultMaxFileSize,
		flushInterval: DefaultFlushInterval,
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
	// Written counts records handed to the destination.
	Written uint64
	// Dropped counts records refused because the queue stayed full; Gaps counts the gap
	// records that reported them in the chain.
	Dropped uint64
	Gaps    uint64
	// WriteErrors counts failed writes to the destination.
	WriteErrors uint64
	// Rotations counts file rotations.
	Rotations uint64
	// QueueDepth and QueueBytes are what waits to be written now.
	QueueDepth int
	QueueBytes int
}

// Writer appends hash-chained records to a destination. Write is safe for concurrent use; the
// order in which Writes take the lock is the chain order. One goroutine does the I/O.
type Writer struct {
	cfg  config
	sink sink

	mu          sync.Mutex
	seq         uint64
	prevHash    []byte // hex of the last record's hash; empty before a linked start
	queue       [][]byte
	spare       [][]byte
	queueBytes  int
	space       chan struct{} // closed (and replaced) whenever the queue is emptied
	closed      bool
	pendingDrop uint64
	dropSince   time.Time

	wake      chan struct{}
	closing   chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	lastErr   error // last destination error; only the writer goroutine touches it

	written, dropped, gaps, writeErrors atomic.Uint64
}

// New returns a Writer to w, which it does not close and never rotates. The chain starts
// fresh. A nil w is an error-free discard.
func New(w io.Writer, opts ...Option) *Writer {
	if w == nil {
		w = io.Discard
	}
	return start(newConfig(opts), newStreamSink(w), "")
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
		cfg:      cfg,
		sink:     s,
		prevHash: []byte(prevHash),
		space:    make(chan struct{}),
		wake:     make(chan struct{}, 1),
		closing:  make(chan struct{}),
		done:     make(chan struct{}),
	}
	now := time.Now().UTC()
	startRec := Record{ID: newID(), Time: now, Instance: cfg.instance, Kind: KindStart}
	pre, err := json.Marshal(&startRec)
	if err != nil {
		panic("audit: encode start record: " + err.Error()) // a fixed struct cannot fail
	}
	w.appendLocked(pre)
	go w.run()
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
// Instance, Seq, PrevHash and Hash. It returns without waiting for I/O unless the queue is
// full, and then waits at most the block timeout before returning ErrDropped. Kinds "start"
// and "gap" are the writer's own.
func (w *Writer) Write(r Record) error {
	switch r.Kind {
	case "":
		return errors.New("audit: record kind is empty")
	case KindStart, KindGap:
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
	// Encoding happens outside the lock; only the seq and prevHash splice and the hash are
	// serialized.
	pre, err := encode(&r)
	if err != nil {
		return fmt.Errorf("audit: encode record: %w", err)
	}
	return w.enqueue(pre)
}

func (w *Writer) enqueue(pre []byte) error {
	var timer *time.Timer
	w.mu.Lock()
	for !w.roomLocked(len(pre)) {
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
		if timedOut && !w.closed && !w.roomLocked(len(pre)) {
			w.dropLocked()
			w.mu.Unlock()
			return ErrDropped
		}
	}
	if w.closed {
		w.mu.Unlock()
		return ErrClosed
	}
	w.gapLocked()
	w.appendLocked(pre)
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

func (w *Writer) dropLocked() {
	if w.pendingDrop == 0 {
		w.dropSince = time.Now().UTC()
		w.cfg.logger.Error("audit queue full; dropping records until the destination catches up",
			"queue_records", len(w.queue), "block_timeout", w.cfg.blockTimeout)
	}
	w.pendingDrop++
	w.dropped.Add(1)
}

// gapLocked puts a gap record for the records dropped so far into the chain.
func (w *Writer) gapLocked() {
	if w.pendingDrop == 0 {
		return
	}
	since := w.dropSince
	g := Record{ID: newID(), Time: time.Now().UTC(), Instance: w.cfg.instance, Kind: KindGap,
		Reason: "queue_full", Dropped: w.pendingDrop, DroppedSince: &since}
	pre, err := json.Marshal(&g)
	if err != nil {
		panic("audit: encode gap record: " + err.Error()) // a fixed struct cannot fail
	}
	w.appendLocked(pre)
	w.gaps.Add(1)
	w.cfg.logger.Error("audit records dropped", "dropped", w.pendingDrop, "since", since,
		"gap_seq", w.seq)
	w.pendingDrop = 0
}

// appendLocked turns the encoding of a record without seq, prevHash and hash into its chained
// line. pre is `{"id":...}`: Seq is the struct's first field and PrevHash and Hash its last,
// all omitempty, so splicing them in yields exactly what json.Marshal of the full record
// would (see the package doc).
func (w *Writer) appendLocked(pre []byte) {
	w.seq++
	line := make([]byte, 0, len(pre)+len(`"seq":,`)+20+len(`,"prevHash":""`)+len(`,"hash":""`)+2*64+1)
	line = append(line, `{"seq":`...)
	line = strconv.AppendUint(line, w.seq, 10)
	line = append(line, ',')
	line = append(line, pre[1:len(pre)-1]...)
	if len(w.prevHash) > 0 {
		line = append(line, `,"prevHash":"`...)
		line = append(line, w.prevHash...)
		line = append(line, '"')
	}
	line = append(line, '}')
	sum := sha256.Sum256(line)
	line = line[:len(line)-1]
	line = append(line, `,"hash":"`...)
	line = hex.AppendEncode(line, sum[:])
	w.prevHash = append(w.prevHash[:0], line[len(line)-64:]...)
	line = append(line, "\"}\n"...)
	w.queue = append(w.queue, line)
	w.queueBytes += len(line)
}

// Stats returns the writer's counters.
func (w *Writer) Stats() Stats {
	w.mu.Lock()
	depth, bytes := len(w.queue), w.queueBytes
	w.mu.Unlock()
	return Stats{
		Written:     w.written.Load(),
		Dropped:     w.dropped.Load(),
		Gaps:        w.gaps.Load(),
		WriteErrors: w.writeErrors.Load(),
		Rotations:   w.sink.rotations(),
		QueueDepth:  depth,
		QueueBytes:  bytes,
	}
}

// Close stops accepting records, writes everything queued (and a final gap record if records
// were dropped), flushes, syncs and closes a file destination. It returns an error if any
// write to the destination failed during the writer's life, and returns early with ctx's
// error if ctx ends first; the drain then continues in the background.
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
	var tick <-chan time.Time
	if w.cfg.flushInterval > 0 {
		t := time.NewTicker(w.cfg.flushInterval)
		defer t.Stop()
		tick = t.C
	}
	dirty := false
	for {
		select {
		case <-w.wake:
			dirty = w.drain() || dirty
			if dirty && w.cfg.flushInterval == 0 {
				w.flush()
				dirty = false
			}
		case <-tick:
			if dirty {
				w.flush()
				dirty = false
			}
		case <-w.closing:
			w.drain()
			w.flush()
			if err := w.sink.close(); err != nil {
				w.lastErr = err
				w.writeErrors.Add(1)
			}
			if w.lastErr != nil {
				// Shutdown must not look clean when part of the trail never reached the
				// destination.
				w.closeErr = fmt.Errorf("audit: %d writes to the destination failed, last: %w", w.writeErrors.Load(), w.lastErr)
			}
			return
		}
	}
}

// drain writes queued records until the queue is empty and reports whether it wrote any.
func (w *Writer) drain() bool {
	wrote := false
	for {
		w.mu.Lock()
		w.gapLocked()
		batch := w.queue
		if len(batch) == 0 {
			w.mu.Unlock()
			return wrote
		}
		w.queue, w.spare = w.spare, nil
		w.queueBytes = 0
		close(w.space)
		w.space = make(chan struct{})
		w.mu.Unlock()

		failed := 0
		var firstErr error
		for _, line := range batch {
			if err := w.sink.write(line); err != nil {
				failed++
				if firstErr == nil {
					firstErr = err
				}
				continue
			}
			w.written.Add(1)
		}
		if failed > 0 {
			w.lastErr = firstErr
			w.writeErrors.Add(uint64(failed))
			w.cfg.logger.Error("audit write failed; records lost", "records", failed, "error", firstErr)
		}
		wrote = true
		clear(batch)
		w.mu.Lock()
		w.spare = batch[:0]
		w.mu.Unlock()
	}
}

func (w *Writer) flush() {
	if err := w.sink.flush(); err != nil {
		w.lastErr = err
		w.writeErrors.Add(1)
		w.cfg.logger.Error("audit flush failed", "error", err)
	}
}
