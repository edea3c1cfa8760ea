package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// newSQLiteFile returns a Gatehouse SQLite file with its WAL checkpointed, for a case to damage.
func newSQLiteFile(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := storetest.DSN(t, "sqlite")
	s, err := sqldb.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, s, "x"); err != nil {
		t.Fatal(err)
	}
	s.Close() // the last connection checkpoints the WAL into the file
	return path
}

// rawExec runs statements on the file with SQLite alone, as another tool would.
func rawExec(t *testing.T, path string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// overwritePage fills the root page of table with garbage.
func overwritePage(t *testing.T, path, table string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var root, size int64
	err = db.QueryRow("SELECT rootpage FROM sqlite_master WHERE name = ?", table).Scan(&root)
	if err == nil {
		err = db.QueryRow("PRAGMA page_size").Scan(&size)
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	writeAt(t, path, (root-1)*size, []byte(strings.Repeat("garbage!", int(size)/8)))
}

func writeAt(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestCorruptSQLiteIsNamed: a damaged file is reported as corrupt wherever the damage is
// met — at open, or on the revision reads readiness makes — and never as something else
// (it used to read as "schema version 16131 is newer than this binary supports", or pass).
func TestCorruptSQLiteIsNamed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cases := []struct {
		name    string
		damage  func(t *testing.T, path string)
		atOpen  bool
		message string
	}{
		{"header", func(t *testing.T, path string) { writeAt(t, path, 0, []byte("this is not SQLite at all")) }, true, "not a database"},
		{"header fields", func(t *testing.T, path string) { writeAt(t, path, 16, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) }, true, "not a database"},
		{"version records", func(t *testing.T, path string) {
			rawExec(t, path, "INSERT INTO gatehouse_migrations (version, applied_at) VALUES (16131, 0)")
		}, true, "schema versions recorded are not 1..16131"},
		{"revisions table", func(t *testing.T, path string) { overwritePage(t, path, "revisions") }, false, "malformed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := newSQLiteFile(t)
			c.damage(t, path)
			s, err := sqldb.Open(ctx, path)
			if c.atOpen {
				if err == nil {
					s.Close()
					t.Fatal("opened a damaged file")
				}
			} else {
				if err != nil {
					t.Fatalf("open: %v", err)
				}
				defer s.Close()
				err = s.Ping(ctx)
				if _, rerr := s.Revisions(ctx); !errors.Is(rerr, sqldb.ErrCorrupt) {
					t.Errorf("Revisions: %v, want ErrCorrupt", rerr)
				}
			}
			if !errors.Is(err, sqldb.ErrCorrupt) || !strings.Contains(err.Error(), "database file is corrupt or not a Gatehouse database") ||
				!strings.Contains(err.Error(), c.message) {
				t.Fatalf("got %v; want ErrCorrupt naming the damage (%q)", err, c.message)
			}
			if strings.Contains(err.Error(), "newer") {
				t.Errorf("damage reported as a newer schema: %v", err)
			}
		})
	}
}

// TestNewerSchemaIsNotCorruption: a file written by a newer Gatehouse (versions 1..N, N
// beyond this binary's) is refused as such, not as damage.
func TestNewerSchemaIsNotCorruption(t *testing.T) {
	t.Parallel()
	path := newSQLiteFile(t)
	rawExec(t, path, "INSERT INTO gatehouse_migrations (version, applied_at) SELECT MAX(version) + 1, 0 FROM gatehouse_migrations")
	_, err := sqldb.Open(context.Background(), path)
	if err == nil || errors.Is(err, sqldb.ErrCorrupt) || !strings.Contains(err.Error(), "newer than this binary supports") {
		t.Fatalf("got %v; want the newer-schema refusal", err)
	}
}
