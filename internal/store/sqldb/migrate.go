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
	{
		// The change log behind store.Store.Changes; changes.go describes it.
		version: 2,
		sqlite: []string{
			`CREATE TABLE changes (
				scope TEXT NOT NULL,
				kind TEXT NOT NULL,
				id TEXT NOT NULL,
				revision INTEGER NOT NULL,
				PRIMARY KEY (scope, kind, id)
			)`,
			`CREATE INDEX changes_revision ON changes (scope, revision)`,
			`CREATE TRIGGER objects_inserted AFTER INSERT ON objects WHEN NEW.scope <> '' BEGIN
				INSERT OR REPLACE INTO changes (scope, kind, id, revision)
				VALUES (NEW.scope, NEW.kind, NEW.id, COALESCE((SELECT revision FROM revisions WHERE scope = NEW.scope), 0) + 1);
			END`,
			`CREATE TRIGGER objects_updated AFTER UPDATE ON objects WHEN NEW.scope <> '' BEGIN
				INSERT OR REPLACE INTO changes (scope, kind, id, revision)
				VALUES (NEW.scope, NEW.kind, NEW.id, COALESCE((SELECT revision FROM revisions WHERE scope = NEW.scope), 0) + 1);
			END`,
			`CREATE TRIGGER objects_deleted AFTER DELETE ON objects WHEN OLD.scope <> '' BEGIN
				INSERT OR REPLACE INTO changes (scope, kind, id, revision)
				VALUES (OLD.scope, OLD.kind, OLD.id, COALESCE((SELECT revision FROM revisions WHERE scope = OLD.scope), 0) + 1);
			END`,
			`CREATE TRIGGER containers_deleted AFTER DELETE ON objects WHEN OLD.scope = '' BEGIN
				DELETE FROM changes WHERE scope = OLD.id;
				INSERT INTO changes (scope, kind, id, revision)
				VALUES (OLD.id, '', '', COALESCE((SELECT revision FROM revisions WHERE scope = OLD.id), 0) + 1);
			END`,
		},
		postgres: []string{
			`CREATE TABLE changes (
				scope TEXT COLLATE "C" NOT NULL,
				kind TEXT COLLATE "C" NOT NULL,
				id TEXT COLLATE "C" NOT NULL,
				revision BIGINT NOT NULL,
				PRIMARY KEY (scope, kind, id)
			)`,
			`CREATE INDEX changes_revision ON changes (scope, revision)`,
			`CREATE FUNCTION gatehouse_object_changed() RETURNS trigger LANGUAGE plpgsql AS $$
			DECLARE
				s TEXT;
				k TEXT;
				i TEXT;
			BEGIN
				IF TG_OP = 'DELETE' THEN
					IF OLD.scope = '' THEN
						DELETE FROM changes WHERE scope = OLD.id;
						s := OLD.id; k := ''; i := '';
					ELSE
						s := OLD.scope; k := OLD.kind; i := OLD.id;
					END IF;
				ELSIF NEW.scope = '' THEN
					RETURN NULL;
				ELSE
					s := NEW.scope; k := NEW.kind; i := NEW.id;
				END IF;
				INSERT INTO changes (scope, kind, id, revision)
				VALUES (s, k, i, COALESCE((SELECT revision FROM revisions WHERE scope = s), 0) + 1)
				ON CONFLICT (scope, kind, id) DO UPDATE SET revision = EXCLUDED.revision;
				RETURN NULL;
			END
			$$`,
			`CREATE TRIGGER objects_changed AFTER INSERT OR UPDATE OR DELETE ON objects
				FOR EACH ROW EXECUTE FUNCTION gatehouse_object_changed()`,
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
	var current, count, first int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0), COUNT(*), COALESCE(MIN(version), 1) FROM gatehouse_migrations`).Scan(&current, &count, &first); err != nil {
		return fmt.Errorf("migrate: read version: %w", err)
	}
	// Migrations are recorded one row per version from 1: any other shape is damage, not a
	// newer Gatehouse.
	if count != current || first != 1 {
		return fmt.Errorf("migrate: %w: schema versions recorded are not 1..%d (%d rows)", ErrCorrupt, current, count)
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
