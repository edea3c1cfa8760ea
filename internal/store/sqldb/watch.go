package sqldb

import (
	"context"
	"encoding/json"
	"fmt"
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

// listenHeartbeat × the call bound is how long the LISTEN connection may stay silent before it
// must prove it still answers.
const listenHeartbeat = 5

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
		// A connection whose packets are dropped (a firewall, a dead peer) never delivers
		// another notification nor an error until TCP keepalive gives up, minutes later. The
		// wait is bounded, and an idle connection must answer a query within the store's call
		// bound or it is replaced.
		wctx, cancel := context.WithTimeout(ctx, listenHeartbeat*d.timeout)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() == nil && wctx.Err() != nil {
			pctx, cancel := d.bounded(ctx)
			_, err = conn.Exec(pctx, "SELECT 1")
			cancel()
			if err != nil {
				return fmt.Errorf("listening connection did not answer: %w", err)
			}
			continue
		}
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
