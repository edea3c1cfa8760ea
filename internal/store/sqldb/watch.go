package sqldb

import (
	"context"
	"encoding/json"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// watcher tracks the revisions this node has seen, so polls and notifications report only
// what moved.
type watcher struct {
	mu   sync.Mutex
	seen map[string]int64
	// lastContact is when the database last answered a poll (unix nanos; 0 before the first):
	// atomic because every decision reads it.
	lastContact atomic.Int64
}

// changed records revs and returns the entries that are newer than what was seen.
func (w *watcher) changed(revs map[string]int64) map[string]int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]int64{}
	}
	out := map[string]int64{}
	for s, r := range revs {
		if r > w.seen[s] {
			w.seen[s] = r
			out[s] = r
		}
	}
	return out
}

// LastContact returns when a read of the revisions (a Watch poll, a Ping) last succeeded
// (zero before the first).
func (d *DB) LastContact() time.Time {
	ns := d.watch.lastContact.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Watch delivers commits made by other nodes (or other processes on the same SQLite file) to
// the OnChange listeners until ctx ends: through PostgreSQL LISTEN/NOTIFY as they commit, and
// on both backends by polling the revisions every interval, which also catches up after a
// lost connection.
func (d *DB) Watch(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 2 * time.Second
	}
	d.poll(ctx)
	if d.dialect == dialectPostgres {
		go d.listen(ctx)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.poll(ctx)
		}
	}
}

func (d *DB) poll(ctx context.Context) {
	pctx, cancel := d.bounded(ctx)
	defer cancel()
	if !d.connected.Load() {
		if err := d.connect(pctx); err != nil {
			if ctx.Err() == nil {
				d.logger.Warn("database unreachable; deciding nothing until it answers", "err", err)
			}
			return
		}
		d.logger.Info("database reached", "backend", d.dialect.String())
	}
	revs, err := d.Revisions(pctx)
	if err != nil {
		if ctx.Err() == nil {
			d.logger.Warn("store unreachable; serving the last snapshots", "err", err)
		}
		return
	}
	if ch := d.watch.changed(revs); len(ch) > 0 {
		d.notify(ch)
	}
}

// listen holds a dedicated connection in LISTEN mode, reconnecting with backoff.
func (d *DB) listen(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := d.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		d.logger.Warn("change notifications interrupted; polling until they resume", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

func (d *DB) listenOnce(ctx context.Context) error {
	if !d.connected.Load() {
		return errNotConnected
	}
	cctx, cancel := d.bounded(ctx)
	conn, err := pgx.Connect(cctx, d.dsn)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{d.channel}.Sanitize()); err != nil {
		return err
	}
	// Anything committed while we were not listening is picked up now.
	d.poll(ctx)
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var revs map[string]int64
		if n.Payload == "" || json.Unmarshal([]byte(n.Payload), &revs) != nil {
			d.poll(ctx) // payload too large to carry: re-read
			continue
		}
		if ch := d.watch.changed(revs); len(ch) > 0 {
			d.notify(maps.Clone(ch))
		}
	}
}
