// Package sqldb implements store.Store on SQLite (the embedded default, via modernc.org/sqlite,
// no cgo) and PostgreSQL (via pgx), with one schema and one set of queries for both.
//
// Invariant: no call waits on the database for longer than the configured bound
// (WithTimeout): a read, a connect or a ping is bounded as a whole; in an Update every
// statement (BEGIN and its lock wait, each read and write, COMMIT) is, and a failed attempt is
// retried only while the Update is younger than the bound. A database that black-holes
// packets or a SQLite file locked by another process therefore answers an error, never a hang.
package sqldb

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// notifyChannel is the PostgreSQL channel on which commits announce their revisions, for the
// tables in the public schema; see channelFor.
const notifyChannel = "gatehouse_changes"

// channelFor names the channel of the Gatehouse tables in schema. NOTIFY channels are shared
// by every schema of a database, and revisions of another deployment's scopes (store ids such
// as "petstore" repeat across deployments) must never reach this one's watcher.
func channelFor(schema string) string {
	if schema == "public" {
		return notifyChannel
	}
	sum := sha256.Sum256([]byte(schema))
	return notifyChannel + "_" + hex.EncodeToString(sum[:8])
}

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

func (d dialect) String() string {
	if d == dialectPostgres {
		return "postgres"
	}
	return "sqlite"
}

// DB is a store.Store backed by SQLite or PostgreSQL.
type DB struct {
	db      *sql.DB
	dialect dialect
	dsn     string
	logger  *slog.Logger
	// channel is the NOTIFY channel of this schema (PostgreSQL only).
	channel string
	// deferConnect lets Open return before PostgreSQL answers (WithDeferredConnect);
	// connected is set once it did and the schema is migrated.
	deferConnect bool
	connected    atomic.Bool
	// timeout bounds every wait on the database (see the package comment).
	timeout time.Duration

	mu      sync.RWMutex
	onWrite []store.ChangeFunc
	watch   watcher
}

var (
	_ store.Store           = (*DB)(nil)
	_ store.Watcher         = (*DB)(nil)
	_ store.ContactReporter = (*DB)(nil)
)

// Option configures Open.
type Option func(*DB)

// WithDeferredConnect makes Open succeed while PostgreSQL is unreachable: the store then
// fails every call until Watch reaches the database and migrates it, so a node can start
// (not ready, deciding nothing) before its database is up.
func WithDeferredConnect() Option { return func(d *DB) { d.deferConnect = true } }

// ErrCorrupt marks errors from a SQLite file that is damaged or is not a Gatehouse database.
var ErrCorrupt = errors.New("database file is corrupt or not a Gatehouse database")

// classify names corruption, which SQLite reports only as a code.
func (d *DB) classify(err error) error {
	if err == nil || errors.Is(err, ErrCorrupt) {
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w (%s): %w", ErrCorrupt, d.dsn, err)
		}
	}
	return err
}

// errNotConnected means the database has not been reached since Open.
var errNotConnected = errors.New("database not reached yet")

// DefaultTimeout is the bound on database waits when WithTimeout is not given.
const DefaultTimeout = 10 * time.Second

// WithTimeout bounds every wait on the database: connecting, each statement, each lock wait
// (d <= 0 keeps DefaultTimeout).
func WithTimeout(d time.Duration) Option {
	return func(db *DB) {
		if d > 0 {
			db.timeout = d
		}
	}
}

// bounded derives the context of one database call.
func (d *DB) bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(d *DB) { d.logger = l } }

// IsPostgres reports whether dsn names a PostgreSQL database rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens the database named by dsn — a postgres:// URL or a SQLite file path — and runs
// pending migrations.
func Open(ctx context.Context, dsn string, opts ...Option) (*DB, error) {
	d := &DB{dsn: dsn, logger: slog.Default(), timeout: DefaultTimeout}
	for _, o := range opts {
		o(d)
	}
	var err error
	if IsPostgres(dsn) {
		d.dialect = dialectPostgres
		d.db, err = sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		d.db.SetMaxOpenConns(16)
		d.db.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		d.dialect = dialectSQLite
		if dsn == "" {
			return nil, errors.New("open sqlite: empty database path")
		}
		if !strings.HasPrefix(dsn, "file:") {
			// The database holds signing keys, password hashes and the management secret:
			// create it readable by its owner only (SQLite gives its -wal and -shm files the
			// same mode).
			f, err := os.OpenFile(dsn, os.O_RDWR|os.O_CREATE, 0o600)
			if err != nil {
				return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
			}
			f.Close()
		}
		d.db, err = sql.Open("sqlite", sqliteDSN(dsn, d.timeout))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", dsn, err)
		}
		d.db.SetMaxOpenConns(8)
	}
	cctx, cancel := d.bounded(ctx)
	defer cancel()
	if err := d.connect(cctx); err != nil {
		err = d.classify(err)
		if !d.deferConnect || d.dialect != dialectPostgres {
			d.db.Close()
			return nil, err
		}
		d.logger.Warn("database unreachable; deciding nothing until it answers", "err", err)
	}
	return d, nil
}

// connect checks the database answers, migrates it and learns its notification channel.
func (d *DB) connect(ctx context.Context) error {
	if err := d.db.PingContext(ctx); err != nil {
		return fmt.Errorf("connect %s: %w", d.dialect, err)
	}
	if err := d.migrate(ctx); err != nil {
		return err
	}
	if d.dialect == dialectPostgres {
		var schema string
		if err := d.db.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
			return fmt.Errorf("read current schema: %w", err)
		}
		d.channel = channelFor(schema)
	}
	d.connected.Store(true)
	return nil
}

// sqliteDSN builds a modernc URI: WAL so readers never block the writer, FULL sync so an
// acknowledged write survives a crash, BEGIN IMMEDIATE so two writers never deadlock on
// a read-to-write lock upgrade, and a busy timeout of the call bound, since SQLite's lock
// wait does not notice a cancelled context.
func sqliteDSN(path string, lockWait time.Duration) string {
	if strings.HasPrefix(path, "file:") {
		return path
	}
	esc := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", max(lockWait.Milliseconds(), 1)))
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_txlock", "immediate")
	return "file:" + esc + "?" + q.Encode()
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Ping checks that the database answers a read of the revisions, which every decision
// depends on: a connection alone proves nothing about a damaged file.
func (d *DB) Ping(ctx context.Context) error {
	if !d.connected.Load() {
		return errNotConnected
	}
	_, err := d.Revisions(ctx)
	return err
}

// Backend names the database kind ("sqlite" or "postgres").
func (d *DB) Backend() string { return d.dialect.String() }

// OnChange registers a change listener.
func (d *DB) OnChange(fn store.ChangeFunc) {
	d.mu.Lock()
	d.onWrite = append(d.onWrite, fn)
	d.mu.Unlock()
}

// Notify delivers revisions to the listeners; used for commits seen from other nodes.
func (d *DB) notify(revs map[string]int64) {
	d.mu.RLock()
	fns := d.onWrite
	d.mu.RUnlock()
	for _, fn := range fns {
		fn(revs)
	}
}

// rebind turns ? placeholders into $n for PostgreSQL. Queries never contain literal '?'.
func (d *DB) rebind(q string) string {
	if d.dialect != dialectPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

const objectColumns = "scope, kind, id, name, ref, data, created_at, updated_at"

func scanObject(sc interface{ Scan(...any) error }) (store.Object, error) {
	var (
		o                store.Object
		kind             string
		name, ref        sql.NullString
		data             string
		created, updated int64
	)
	if err := sc.Scan(&o.Scope, &kind, &o.ID, &name, &ref, &data, &created, &updated); err != nil {
		return store.Object{}, err
	}
	o.Kind = store.Kind(kind)
	o.Name = name.String
	o.Ref = ref.String
	o.Data = []byte(data)
	o.Created = time.UnixMicro(created).UTC()
	o.Updated = time.UnixMicro(updated).UTC()
	return o, nil
}

func get(ctx context.Context, d *DB, q querier, scope string, kind store.Kind, id string) (store.Object, error) {
	row := q.QueryRowContext(ctx, d.rebind("SELECT "+objectColumns+" FROM objects WHERE scope = ? AND kind = ? AND id = ?"), scope, string(kind), id)
	o, err := scanObject(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Object{}, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("get %s %q: %w", kind, id, err)
	}
	return o, nil
}

func getByName(ctx context.Context, d *DB, q querier, scope string, kind store.Kind, name string) (store.Object, error) {
	row := q.QueryRowContext(ctx, d.rebind("SELECT "+objectColumns+" FROM objects WHERE scope = ? AND kind = ? AND name = ?"), scope, string(kind), name)
	o, err := scanObject(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Object{}, fmt.Errorf("%s named %q: %w", kind, name, store.ErrNotFound)
	}
	if err != nil {
		return store.Object{}, fmt.Errorf("get %s named %q: %w", kind, name, err)
	}
	return o, nil
}

type pageToken struct {
	Scope string `json:"s"`
	Kind  string `json:"k"`
	Ref   string `json:"r,omitempty"`
	After string `json:"a"`
}

func list(ctx context.Context, d *DB, q querier, qry store.Query) ([]store.Object, string, error) {
	after := ""
	hasAfter := false
	if qry.PageToken != "" {
		raw, err := base64.RawURLEncoding.DecodeString(qry.PageToken)
		if err != nil {
			return nil, "", store.ErrBadPageToken
		}
		var pt pageToken
		if err := json.Unmarshal(raw, &pt); err != nil || pt.Scope != qry.Scope || pt.Kind != string(qry.Kind) || pt.Ref != qry.Ref {
			return nil, "", store.ErrBadPageToken
		}
		after, hasAfter = pt.After, true
	}
	var (
		sb   strings.Builder
		args = []any{qry.Scope, string(qry.Kind)}
	)
	sb.WriteString("SELECT " + objectColumns + " FROM objects WHERE scope = ? AND kind = ?")
	if qry.Ref != "" {
		sb.WriteString(" AND ref = ?")
		args = append(args, qry.Ref)
	}
	if hasAfter {
		sb.WriteString(" AND id > ?")
		args = append(args, after)
	}
	sb.WriteString(" ORDER BY id")
	if qry.Limit > 0 {
		sb.WriteString(" LIMIT ?")
		args = append(args, qry.Limit+1)
	}
	rows, err := q.QueryContext(ctx, d.rebind(sb.String()), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", qry.Kind, err)
	}
	defer rows.Close()
	var out []store.Object
	for rows.Next() {
		o, err := scanObject(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list %s: %w", qry.Kind, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list %s: %w", qry.Kind, err)
	}
	next := ""
	if qry.Limit > 0 && len(out) > qry.Limit {
		out = out[:qry.Limit]
		pt, _ := json.Marshal(pageToken{Scope: qry.Scope, Kind: string(qry.Kind), Ref: qry.Ref, After: out[len(out)-1].ID})
		next = base64.RawURLEncoding.EncodeToString(pt)
	}
	return out, next, nil
}

// Get implements store.Reader.
func (d *DB) Get(ctx context.Context, scope string, kind store.Kind, id string) (store.Object, error) {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	o, err := get(ctx, d, d.db, scope, kind, id)
	return o, d.classify(err)
}

// GetByName implements store.Reader.
func (d *DB) GetByName(ctx context.Context, scope string, kind store.Kind, name string) (store.Object, error) {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	o, err := getByName(ctx, d, d.db, scope, kind, name)
	return o, d.classify(err)
}

// List implements store.Reader.
func (d *DB) List(ctx context.Context, q store.Query) ([]store.Object, string, error) {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	out, next, err := list(ctx, d, d.db, q)
	return out, next, d.classify(err)
}

// Revision implements store.Store.
func (d *DB) Revision(ctx context.Context, scope string) (int64, error) {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	var rev int64
	err := d.db.QueryRowContext(ctx, d.rebind("SELECT revision FROM revisions WHERE scope = ?"), scope).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, d.classify(fmt.Errorf("read revision of %q: %w", scope, err))
	}
	return rev, nil
}

// Revisions implements store.Store.
func (d *DB) Revisions(ctx context.Context) (map[string]int64, error) {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	rows, err := d.db.QueryContext(ctx, "SELECT scope, revision FROM revisions")
	if err != nil {
		return nil, d.classify(fmt.Errorf("read revisions: %w", err))
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var (
			s string
			r int64
		)
		if err := rows.Scan(&s, &r); err != nil {
			return nil, d.classify(fmt.Errorf("read revisions: %w", err))
		}
		out[s] = r
	}
	if err := rows.Err(); err != nil {
		return nil, d.classify(fmt.Errorf("read revisions: %w", err))
	}
	// Whoever read them — the poll, a readiness probe — the store answered: the node's data
	// is current as of now.
	d.watch.lastContact.Store(time.Now().UnixNano())
	return out, nil
}

// Update implements store.Store.
func (d *DB) Update(ctx context.Context, fn func(store.Tx) error) error {
	if !d.connected.Load() {
		return errNotConnected
	}
	const maxAttempts = 5
	start := time.Now()
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		var revs map[string]int64
		revs, err = d.updateOnce(ctx, fn)
		if err == nil {
			if len(revs) > 0 {
				d.watch.changed(revs)
				d.notify(revs)
			}
			return nil
		}
		// Each attempt may wait its full bound on a lock: retrying past the bound would
		// multiply the wait the bound promises.
		if !d.retryable(err) || ctx.Err() != nil || time.Since(start) >= d.timeout {
			return d.classify(err)
		}
		select {
		case <-ctx.Done():
			return d.classify(err)
		case <-time.After(time.Duration(attempt*attempt) * 5 * time.Millisecond):
		}
	}
	return d.classify(err)
}

func (d *DB) updateOnce(ctx context.Context, fn func(store.Tx) error) (map[string]int64, error) {
	w := newWatchdog(ctx, d.timeout)
	defer w.stop()
	w.statement()
	sqlTx, err := d.db.BeginTx(w.ctx, nil)
	if err != nil {
		return nil, w.explain(fmt.Errorf("begin: %w", err))
	}
	bt := &boundTx{tx: sqlTx, w: w}
	defer bt.release()
	tx := &tx{d: d, tx: bt, touched: map[string]bool{}}
	committed := false
	defer func() {
		if !committed {
			_ = sqlTx.Rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return nil, w.explain(err)
	}
	if !tx.wrote {
		// A read-only transaction bumps nothing.
		w.statement()
		if err := sqlTx.Commit(); err != nil {
			return nil, w.explain(fmt.Errorf("commit: %w", err))
		}
		committed = true
		return nil, nil
	}
	revs := map[string]int64{"": tx.globalRev}
	scopes := make([]string, 0, len(tx.touched))
	for s := range tx.touched {
		if s != "" {
			scopes = append(scopes, s)
		}
	}
	sort.Strings(scopes)
	for _, s := range scopes {
		r, err := d.bump(ctx, tx.tx, s)
		if err != nil {
			return nil, w.explain(err)
		}
		revs[s] = r
	}
	if d.dialect == dialectPostgres {
		payload, _ := json.Marshal(revs)
		if len(payload) < 7900 { // NOTIFY payloads are capped at 8000 bytes; listeners re-read otherwise
			_, err = tx.tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", d.channel, string(payload))
		} else {
			_, err = tx.tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", d.channel, "")
		}
		if err != nil {
			return nil, w.explain(fmt.Errorf("notify: %w", err))
		}
	}
	w.statement()
	if err := sqlTx.Commit(); err != nil {
		return nil, w.explain(fmt.Errorf("commit: %w", err))
	}
	committed = true
	return revs, nil
}

func (d *DB) bump(ctx context.Context, q querier, scope string) (int64, error) {
	var rev int64
	err := q.QueryRowContext(ctx, d.rebind(
		"INSERT INTO revisions (scope, revision) VALUES (?, 1) ON CONFLICT (scope) DO UPDATE SET revision = revisions.revision + 1 RETURNING revision"),
		scope).Scan(&rev)
	if err != nil {
		return 0, fmt.Errorf("bump revision of %q: %w", scope, err)
	}
	return rev, nil
}

func (d *DB) retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "40001" || pgErr.Code == "40P01"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code() & 0xff
		return c == sqlite3.SQLITE_BUSY || c == sqlite3.SQLITE_LOCKED
	}
	return false
}

func (d *DB) isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23505"
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		c := sqErr.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

type tx struct {
	d         *DB
	tx        *boundTx
	wrote     bool
	globalRev int64
	touched   map[string]bool
}

// beginWrite takes the global revision before the first write, so writers serialize on one
// row and commit order equals revision order on every backend.
func (t *tx) beginWrite(ctx context.Context, scope, id string) error {
	if !t.wrote {
		r, err := t.d.bump(ctx, t.tx, "")
		if err != nil {
			return err
		}
		t.globalRev = r
		t.wrote = true
	}
	t.touched[scope] = true
	if scope == "" {
		t.touched[id] = true
	}
	return nil
}

func (t *tx) Get(ctx context.Context, scope string, kind store.Kind, id string) (store.Object, error) {
	return get(ctx, t.d, t.tx, scope, kind, id)
}

func (t *tx) GetByName(ctx context.Context, scope string, kind store.Kind, name string) (store.Object, error) {
	return getByName(ctx, t.d, t.tx, scope, kind, name)
}

func (t *tx) List(ctx context.Context, q store.Query) ([]store.Object, string, error) {
	return list(ctx, t.d, t.tx, q)
}

// Revision implements store.Tx. Taking the global revision first (as the first write does)
// queues this transaction behind every writer, so the revision read next is the latest
// committed one on both backends (PostgreSQL runs READ COMMITTED) and nobody can move it
// before this transaction ends.
func (t *tx) Revision(ctx context.Context, scope string) (int64, error) {
	if !t.wrote {
		r, err := t.d.bump(ctx, t.tx, "")
		if err != nil {
			return 0, err
		}
		t.globalRev, t.wrote = r, true
	}
	var rev int64
	err := t.tx.QueryRowContext(ctx, t.d.rebind("SELECT revision FROM revisions WHERE scope = ?"), scope).Scan(&rev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read revision of %q: %w", scope, err)
	}
	return rev, nil
}

func nullable(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func validate(o store.Object) error {
	if o.Kind == "" || o.ID == "" {
		return fmt.Errorf("object needs a kind and an id (kind %q, id %q)", o.Kind, o.ID)
	}
	if !json.Valid(o.Data) {
		return fmt.Errorf("%s %q: data is not valid JSON", o.Kind, o.ID)
	}
	return nil
}

func (t *tx) Create(ctx context.Context, o store.Object) error {
	if err := validate(o); err != nil {
		return err
	}
	if _, err := t.Get(ctx, o.Scope, o.Kind, o.ID); err == nil {
		return fmt.Errorf("%s %q already exists: %w", o.Kind, o.ID, store.ErrConflict)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := t.checkName(ctx, o); err != nil {
		return err
	}
	if err := t.beginWrite(ctx, o.Scope, o.ID); err != nil {
		return err
	}
	now := time.Now().UTC()
	if o.Created.IsZero() {
		o.Created = now
	}
	if o.Updated.IsZero() {
		o.Updated = now
	}
	_, err := t.tx.ExecContext(ctx, t.d.rebind("INSERT INTO objects ("+objectColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
		o.Scope, string(o.Kind), o.ID, nullable(o.Name), nullable(o.Ref), string(o.Data), o.Created.UnixMicro(), o.Updated.UnixMicro())
	if err != nil {
		if t.d.isUniqueViolation(err) {
			return fmt.Errorf("%s %q: %w", o.Kind, o.ID, store.ErrConflict)
		}
		return fmt.Errorf("insert %s %q: %w", o.Kind, o.ID, err)
	}
	return nil
}

func (t *tx) checkName(ctx context.Context, o store.Object) error {
	if o.Name == "" {
		return nil
	}
	other, err := t.GetByName(ctx, o.Scope, o.Kind, o.Name)
	if err == nil && other.ID != o.ID {
		return fmt.Errorf("%s name %q is used by %q: %w", o.Kind, o.Name, other.ID, store.ErrConflict)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func (t *tx) Put(ctx context.Context, o store.Object) error {
	if err := validate(o); err != nil {
		return err
	}
	if err := t.checkName(ctx, o); err != nil {
		return err
	}
	old, err := t.Get(ctx, o.Scope, o.Kind, o.ID)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := t.beginWrite(ctx, o.Scope, o.ID); err != nil {
		return err
	}
	now := time.Now().UTC()
	if o.Updated.IsZero() {
		o.Updated = now
	}
	if exists {
		o.Created = old.Created
		_, err = t.tx.ExecContext(ctx, t.d.rebind("UPDATE objects SET name = ?, ref = ?, data = ?, updated_at = ? WHERE scope = ? AND kind = ? AND id = ?"),
			nullable(o.Name), nullable(o.Ref), string(o.Data), o.Updated.UnixMicro(), o.Scope, string(o.Kind), o.ID)
	} else {
		if o.Created.IsZero() {
			o.Created = now
		}
		_, err = t.tx.ExecContext(ctx, t.d.rebind("INSERT INTO objects ("+objectColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
			o.Scope, string(o.Kind), o.ID, nullable(o.Name), nullable(o.Ref), string(o.Data), o.Created.UnixMicro(), o.Updated.UnixMicro())
	}
	if err != nil {
		if t.d.isUniqueViolation(err) {
			return fmt.Errorf("%s %q: %w", o.Kind, o.ID, store.ErrConflict)
		}
		return fmt.Errorf("put %s %q: %w", o.Kind, o.ID, err)
	}
	return nil
}

func (t *tx) Delete(ctx context.Context, scope string, kind store.Kind, id string) error {
	if err := t.beginWrite(ctx, scope, id); err != nil {
		return err
	}
	res, err := t.tx.ExecContext(ctx, t.d.rebind("DELETE FROM objects WHERE scope = ? AND kind = ? AND id = ?"), scope, string(kind), id)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, id, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", kind, id, err)
	}
	if n == 0 {
		return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	return nil
}

func (t *tx) DeleteScope(ctx context.Context, scope string) error {
	if scope == "" {
		return errors.New("refusing to delete the top-level scope")
	}
	if err := t.beginWrite(ctx, scope, ""); err != nil {
		return err
	}
	if _, err := t.tx.ExecContext(ctx, t.d.rebind("DELETE FROM objects WHERE scope = ?"), scope); err != nil {
		return fmt.Errorf("delete scope %q: %w", scope, err)
	}
	return nil
}
