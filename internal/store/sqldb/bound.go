package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrTimeout marks a call that gave up waiting on the database after the configured bound.
var ErrTimeout = errors.New("database did not answer within the bound")

// watchdog bounds each statement of one transaction attempt: it cancels the transaction
// once a statement has run for longer than the bound. A deadline for the whole transaction
// would cap the size of a legitimate write; a per-statement context cannot be cancelled
// before *sql.Row is scanned. So one timer is re-armed as each statement starts.
type watchdog struct {
	ctx    context.Context // the transaction's context, cancelled by the timer
	cancel context.CancelCauseFunc
	bound  time.Duration
	timer  *time.Timer
}

func newWatchdog(parent context.Context, bound time.Duration) *watchdog {
	ctx, cancel := context.WithCancelCause(parent)
	w := &watchdog{ctx: ctx, cancel: cancel, bound: bound}
	w.timer = time.AfterFunc(bound, func() {
		cancel(fmt.Errorf("%w (%v)", ErrTimeout, bound))
	})
	return w
}

// statement re-arms the timer as a statement starts.
func (w *watchdog) statement() { w.timer.Reset(w.bound) }

func (w *watchdog) stop() {
	w.timer.Stop()
	w.cancel(context.Canceled)
}

// explain adds the timeout to err when the watchdog cut the transaction, since database/sql
// and the drivers report only "context canceled" or a rolled-back transaction.
func (w *watchdog) explain(err error) error {
	if err == nil || errors.Is(err, ErrTimeout) {
		return err
	}
	if cause := context.Cause(w.ctx); errors.Is(cause, ErrTimeout) {
		return fmt.Errorf("%w: %w", cause, err)
	}
	return err
}

// boundTx runs a transaction's statements under its watchdog, whatever context the caller
// of a store.Tx method passes.
type boundTx struct {
	tx *sql.Tx
	w  *watchdog

	mu sync.Mutex
	// in is the last caller context seen and out its merge with the watchdog's: callers pass
	// the same context to every statement, so one merge serves the whole transaction.
	in, out context.Context
	stops   []func() bool
}

func (b *boundTx) ctx(ctx context.Context) context.Context {
	b.w.statement()
	b.mu.Lock()
	defer b.mu.Unlock()
	if ctx == b.in {
		return b.out
	}
	out, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(b.w.ctx, func() { cancel(context.Cause(b.w.ctx)) })
	b.stops = append(b.stops, stop, func() bool { cancel(context.Canceled); return true })
	b.in, b.out = ctx, out
	return out
}

func (b *boundTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := b.tx.QueryContext(b.ctx(ctx), query, args...)
	return rows, b.w.explain(err)
}

func (b *boundTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return b.tx.QueryRowContext(b.ctx(ctx), query, args...)
}

func (b *boundTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := b.tx.ExecContext(b.ctx(ctx), query, args...)
	return res, b.w.explain(err)
}

// release drops the merged contexts once the transaction is over.
func (b *boundTx) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.stops {
		s()
	}
	b.stops = nil
}
