package sqldb_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		storetest.Run(t, s)
	})
}

func TestReopenKeepsDataAndSchemaVersion(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dsn := storetest.DSN(t, backend)
			s, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Backend(); got != backend {
				t.Fatalf("backend %q, want %q", got, backend)
			}
			s.Close()
			s, err = sqldb.Open(ctx, dsn) // migrations are idempotent
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
		})
	}
}

func TestSQLitePathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	s, err := sqldb.Open(context.Background(), filepath.Join(dir+".db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}

// Two handles on one database stand for two nodes: a commit through one reaches the other's
// listeners through Watch (LISTEN/NOTIFY on PostgreSQL, polling on SQLite).
func TestWatchDeliversOtherNodesCommits(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			dsn := storetest.DSN(t, backend)
			a, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			got := make(chan map[string]int64, 16)
			b.OnChange(func(r map[string]int64) { got <- r })
			go b.Watch(ctx, 50*time.Millisecond)
			time.Sleep(100 * time.Millisecond) // let the listener subscribe
			err = a.Update(ctx, func(tx store.Tx) error {
				return tx.Create(ctx, store.Object{Scope: "ps9", Kind: "policy", ID: "p", Data: []byte(`{}`)})
			})
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.After(5 * time.Second)
			for {
				select {
				case r := <-got:
					if r["ps9"] >= 1 {
						if b.LastContact().IsZero() {
							t.Fatal("LastContact not recorded")
						}
						return
					}
				case <-deadline:
					t.Fatal("the other node never heard of the commit")
				}
			}
		})
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "private.db")
	s, err := sqldb.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := st.Mode().Perm(); mode != 0o600 {
		t.Fatalf("database file mode %o, want 600", mode)
	}
}
