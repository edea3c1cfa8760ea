package sqldb

import (
	"context"
	"fmt"
	"time"
)

// migration is one schema step. Steps are append-only: never edit a released one.
type migration struct {
	version  int
	sqlite   []string
	postgres []string
}

var migrations = []migration{
	{
		version: 1,
		sqlite: []string{
			`CREATE TABLE objects (
				scope TEXT NOT NULL,
				kind TEXT NOT NULL,
				id TEXT NOT NULL,
				name TEXT,
				ref TEXT,
				data TEXT NOT NULL,
				created_at INTEGER NOT NULL,
				updated_at INTEGER NOT NULL,
				PRIMARY KEY (scope, kind, id)
			)`,
			`CREATE UNIQUE INDEX objects_name ON objects (scope, kind, name) WHERE name IS NOT NULL`,
			`CREATE INDEX objects_ref ON objects (scope, kind, ref) WHERE ref IS NOT NULL`,
			`CREATE TABLE revisions (scope TEXT PRIMARY KEY, revision INTEGER NOT NULL)`,
		},
		postgres: []string{
			// COLLATE "C" keeps ORDER BY id in byte order, as SQLite does, whatever the
			// database locale: pagination must be identical on both backends.
			`CREATE TABLE objects (
				scope TEXT COLLATE "C" NOT NULL,
				kind TEXT COLLATE "C" NOT NULL,
				id TEXT COLLATE "C" NOT NULL,
				name TEXT COLLATE "C",
				ref TEXT COLLATE "C",
				data TEXT NOT NULL,
				created_at BIGINT NOT NULL,
				updated_at BIGINT NOT NULL,
				PRIMARY KEY (scope, kind, id)
			)`,
			`CREATE UNIQUE INDEX objects_name ON objects (scope, kind, name) WHERE name IS NOT NULL`,
			`CREATE INDEX objects_ref ON objects (scope, kind, ref) WHERE ref IS NOT NULL`,
			`CREATE TABLE revisions (scope TEXT COLLATE "C" PRIMARY KEY, revision BIGINT NOT NULL)`,
		},
	},
}

// migrate applies pending migrations in one transaction. On PostgreSQL an advisory lock makes
// nodes that start together take turns; on SQLite BEGIN IMMEDIATE does the same.
func (d *DB) migrate(ctx context.Context) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	if d.dialect == dialectPostgres {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7270727)"); err != nil {
			return fmt.Errorf("migrate: lock: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS gatehouse_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: create version table: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM gatehouse_migrations`).Scan(&current); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	if latest := migrations[len(migrations)-1].version; current > latest {
		return fmt.Errorf("migrate: database schema version %d is newer than this binary supports (%d)", current, latest)
	}
	for _, m := range migrations {
		if m.version <= current {
			continue
		}
		stmts := m.sqlite
		if d.dialect == dialectPostgres {
			stmts = m.postgres
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("migrate to version %d: %w", m.version, err)
			}
		}
		if _, err := tx.ExecContext(ctx, d.rebind(`INSERT INTO gatehouse_migrations (version, applied_at) VALUES (?, ?)`), m.version, time.Now().Unix()); err != nil {
			return fmt.Errorf("migrate to version %d: %w", m.version, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
