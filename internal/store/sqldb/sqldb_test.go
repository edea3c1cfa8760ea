package sqldb_test

import (
	"context"
	"path/filepath"
	"testing"

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
