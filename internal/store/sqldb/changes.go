package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The change log (table changes, migration 2) is kept by triggers, so no write path and no
// older binary can forget it: every insert, update or delete of an object in a scope upserts
// (scope, kind, id) with the revision its transaction will give the scope, rev(scope) + 1.
// That is exact because a transaction bumps each scope it touched exactly once, at commit,
// after its writes, and because writers serialize on the global revision row before their
// first write (tx.beginWrite), so no other commit can move rev(scope) in between. A committed
// row therefore carries the revision of the commit that last wrote the object. Objects of
// scope "" (containers) are not logged: their changes bump the container's own revision, and
// readers re-read the container. Deleting a container drops its scope's log and leaves a
// marker row (kind "") that makes Changes answer store.ErrHistoryReset to anyone who held
// the scope before, because a container deleted and created again must not look like the
// old one plus a few changes.

// Changes implements store.Store in one statement, so the log and the objects it joins are
// read from one consistent state on both backends.
func (d *DB) Changes(ctx context.Context, scope string, since int64) ([]store.Change, error) {
	ctx, cancel := d.bounded(ctx)
	defer cancel()
	out, err := d.changes(ctx, scope, since)
	return out, d.classify(err)
}

func (d *DB) changes(ctx context.Context, scope string, since int64) ([]store.Change, error) {
	if scope == "" {
		return nil, fmt.Errorf("changes: the top-level scope has no change log")
	}
	// Each change must find its object through the primary key, whatever the statistics
	// say: a hash join would read the whole scope, the cost this log exists to avoid.
	// SQLite joins by nested loops anyway; on PostgreSQL a LATERAL subquery with LIMIT
	// cannot be flattened into a join, so it is looked up per change.
	join := "LEFT JOIN objects o ON o.scope = c.scope AND o.kind = c.kind AND o.id = c.id"
	if d.dialect == dialectPostgres {
		join = `LEFT JOIN LATERAL (SELECT scope, kind, id, name, ref, data, created_at, updated_at FROM objects
			WHERE scope = c.scope AND kind = c.kind AND id = c.id LIMIT 1) o ON true`
	}
	rows, err := d.db.QueryContext(ctx, d.rebind(`SELECT c.kind, c.id, o.scope, o.kind, o.id, o.name, o.ref, o.data, o.created_at, o.updated_at
		FROM changes c `+join+`
		WHERE c.scope = ? AND c.revision > ? ORDER BY c.kind, c.id`), scope, since)
	if err != nil {
		return nil, fmt.Errorf("read changes of %q since %d: %w", scope, since, err)
	}
	defer rows.Close()
	var out []store.Change
	for rows.Next() {
		var (
			c                store.Change
			kind             string
			oScope, oKind    sql.NullString
			oID, name, ref   sql.NullString
			data             sql.NullString
			created, updated sql.NullInt64
		)
		if err := rows.Scan(&kind, &c.ID, &oScope, &oKind, &oID, &name, &ref, &data, &created, &updated); err != nil {
			return nil, fmt.Errorf("read changes of %q: %w", scope, err)
		}
		if kind == "" {
			return nil, fmt.Errorf("changes of %q since %d: %w", scope, since, store.ErrHistoryReset)
		}
		c.Kind = store.Kind(kind)
		if !oID.Valid {
			c.Deleted = true
		} else {
			c.Object = store.Object{Scope: oScope.String, Kind: store.Kind(oKind.String), ID: oID.String,
				Name: name.String, Ref: ref.String, Data: []byte(data.String),
				Created: time.UnixMicro(created.Int64).UTC(), Updated: time.UnixMicro(updated.Int64).UTC()}
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read changes of %q: %w", scope, err)
	}
	return out, nil
}
