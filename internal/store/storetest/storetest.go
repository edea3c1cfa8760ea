// Package storetest holds the conformance suite every store.Store implementation must pass and
// helpers that give tests a fresh store on each backend (SQLite always; PostgreSQL when
// GATEHOUSE_TEST_POSTGRES names a database, as .ci/run always does).
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for schema setup

	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// PostgresEnv names the environment variable holding the PostgreSQL DSN for tests.
const PostgresEnv = "GATEHOUSE_TEST_POSTGRES"

// Backends lists the backends available to this test run.
func Backends(t testing.TB) []string {
	b := []string{"sqlite"}
	if os.Getenv(PostgresEnv) != "" {
		b = append(b, "postgres")
	}
	return b
}

// ForEachBackend runs fn once per backend in a subtest with a fresh, empty store. Without
// GATEHOUSE_TEST_POSTGRES the PostgreSQL subtest is reported as skipped.
func ForEachBackend(t *testing.T, fn func(t *testing.T, s *sqldb.DB)) {
	t.Helper()
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) {
			fn(t, Open(t, b))
		})
	}
}

// DSN returns a fresh database DSN for backend: a new SQLite file in a temp dir, or a new
// PostgreSQL schema (dropped when the test ends) selected through search_path.
func DSN(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return filepath.Join(t.TempDir(), "gatehouse.db")
	case "postgres":
		base := os.Getenv(PostgresEnv)
		if base == "" {
			t.Skipf("%s not set; PostgreSQL tests skipped (.ci/run sets it)", PostgresEnv)
		}
		var b [6]byte
		_, _ = rand.Read(b[:])
		schema := "gh_test_" + hex.EncodeToString(b[:])
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			admin.Close()
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("parse %s: %v", PostgresEnv, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	t.Fatalf("unknown backend %q", backend)
	return ""
}

// Open returns a fresh store on backend, closed when the test ends.
func Open(t testing.TB, backend string) *sqldb.DB {
	t.Helper()
	s, err := sqldb.Open(context.Background(), DSN(t, backend))
	if err != nil {
		t.Fatalf("open %s store: %v", backend, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func obj(scope string, kind store.Kind, id, name, ref, data string) store.Object {
	return store.Object{Scope: scope, Kind: kind, ID: id, Name: name, Ref: ref, Data: []byte(data)}
}

// Run is the conformance suite.
func Run(t *testing.T, s store.Store) {
	ctx := context.Background()
	var mu sync.Mutex
	var seen []map[string]int64
	s.OnChange(func(r map[string]int64) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
	})

	t.Run("create get and revisions", func(t *testing.T) {
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Create(ctx, obj("", "policy_store", "ps1", "", "", `{"d":1}`)); err != nil {
				return err
			}
			return tx.Create(ctx, obj("ps1", "policy", "p1", "alpha", "t1", `{"s":"permit"}`))
		})
		if err != nil {
			t.Fatal(err)
		}
		o, err := s.Get(ctx, "ps1", "policy", "p1")
		if err != nil {
			t.Fatal(err)
		}
		if string(o.Data) != `{"s":"permit"}` || o.Name != "alpha" || o.Ref != "t1" || o.Created.IsZero() {
			t.Fatalf("got %+v", o)
		}
		if o, err := s.GetByName(ctx, "ps1", "policy", "alpha"); err != nil || o.ID != "p1" {
			t.Fatalf("by name: %v %+v", err, o)
		}
		for scope, want := range map[string]int64{"": 1, "ps1": 1, "other": 0} {
			if r, err := s.Revision(ctx, scope); err != nil || r != want {
				t.Fatalf("revision(%q) = %d, %v; want %d", scope, r, err, want)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 1 || seen[0][""] != 1 || seen[0]["ps1"] != 1 {
			t.Fatalf("change notifications %v", seen)
		}
	})

	t.Run("not found", func(t *testing.T) {
		if _, err := s.Get(ctx, "ps1", "policy", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get: %v", err)
		}
		if _, err := s.GetByName(ctx, "ps1", "policy", "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("get by name: %v", err)
		}
		err := s.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, "ps1", "policy", "nope") })
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("delete: %v", err)
		}
	})

	t.Run("conflicts roll back the whole transaction", func(t *testing.T) {
		before, _ := s.Revision(ctx, "ps1")
		err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Create(ctx, obj("ps1", "policy", "p2", "", "", `{}`)); err != nil {
				return err
			}
			return tx.Create(ctx, obj("ps1", "policy", "p1", "", "", `{}`)) // duplicate id
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate id: %v", err)
		}
		err = s.Update(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, obj("ps1", "policy", "p3", "alpha", "", `{}`)) // duplicate name
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("duplicate name: %v", err)
		}
		if _, err := s.Get(ctx, "ps1", "policy", "p2"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("half-written transaction persisted p2: %v", err)
		}
		if after, _ := s.Revision(ctx, "ps1"); after != before {
			t.Fatalf("failed transactions bumped the revision %d -> %d", before, after)
		}
	})

	t.Run("put replaces and keeps created", func(t *testing.T) {
		o1, _ := s.Get(ctx, "ps1", "policy", "p1")
		err := s.Update(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, obj("ps1", "policy", "p1", "beta", "", `{"s":"forbid"}`))
		})
		if err != nil {
			t.Fatal(err)
		}
		o2, _ := s.Get(ctx, "ps1", "policy", "p1")
		if !o2.Created.Equal(o1.Created) || string(o2.Data) != `{"s":"forbid"}` || o2.Name != "beta" || o2.Ref != "" {
			t.Fatalf("after put: %+v (was %+v)", o2, o1)
		}
		if _, err := s.GetByName(ctx, "ps1", "policy", "alpha"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("old name still resolves: %v", err)
		}
	})

	t.Run("invalid objects are rejected", func(t *testing.T) {
		for _, o := range []store.Object{
			obj("ps1", "policy", "", "", "", `{}`),
			obj("ps1", "", "x", "", "", `{}`),
			obj("ps1", "policy", "x", "", "", `{not json`),
		} {
			if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, o) }); err == nil {
				t.Fatalf("accepted %+v", o)
			}
		}
	})

	t.Run("list pages in byte order", func(t *testing.T) {
		ids := []string{"b", "a", "C", "c", "aa", "a-b", "Z9", "é", "_"}
		err := s.Update(ctx, func(tx store.Tx) error {
			for i, id := range ids {
				ref := ""
				if i%2 == 0 {
					ref = "even"
				}
				if err := tx.Create(ctx, obj("ps2", "entity", id, "", ref, `{}`)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want := append([]string(nil), ids...)
		sort.Strings(want)
		var got []string
		token := ""
		pages := 0
		for {
			page, next, err := s.List(ctx, store.Query{Scope: "ps2", Kind: "entity", Limit: 2, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, o := range page {
				got = append(got, o.ID)
			}
			if next == "" {
				break
			}
			token = next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || pages != 5 {
			t.Fatalf("got %v in %d pages, want %v", got, pages, want)
		}
		even, _, err := s.List(ctx, store.Query{Scope: "ps2", Kind: "entity", Ref: "even"})
		if err != nil || len(even) != 5 {
			t.Fatalf("ref filter: %d %v", len(even), err)
		}
		if _, _, err := s.List(ctx, store.Query{Scope: "ps1", Kind: "entity", Limit: 2, PageToken: token}); !errors.Is(err, store.ErrBadPageToken) {
			t.Fatalf("token reused on another query: %v", err)
		}
		if _, _, err := s.List(ctx, store.Query{Scope: "ps2", Kind: "entity", PageToken: "!!"}); !errors.Is(err, store.ErrBadPageToken) {
			t.Fatalf("garbage token: %v", err)
		}
	})

	t.Run("delete scope", func(t *testing.T) {
		before, _ := s.Revision(ctx, "ps2")
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.DeleteScope(ctx, "ps2") }); err != nil {
			t.Fatal(err)
		}
		left, _, err := s.List(ctx, store.Query{Scope: "ps2", Kind: "entity"})
		if err != nil || len(left) != 0 {
			t.Fatalf("left %d, %v", len(left), err)
		}
		if after, _ := s.Revision(ctx, "ps2"); after != before+1 {
			t.Fatalf("revision %d -> %d", before, after)
		}
	})

	t.Run("container writes bump the container", func(t *testing.T) {
		before, _ := s.Revision(ctx, "ps1")
		err := s.Update(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, obj("", "policy_store", "ps1", "", "", `{"d":2}`))
		})
		if err != nil {
			t.Fatal(err)
		}
		if after, _ := s.Revision(ctx, "ps1"); after != before+1 {
			t.Fatalf("revision %d -> %d", before, after)
		}
	})

	t.Run("read-only update bumps nothing", func(t *testing.T) {
		before, _ := s.Revision(ctx, "")
		err := s.Update(ctx, func(tx store.Tx) error {
			_, err := tx.Get(ctx, "ps1", "policy", "p1")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if after, _ := s.Revision(ctx, ""); after != before {
			t.Fatalf("revision %d -> %d", before, after)
		}
	})

	t.Run("revision precondition inside a transaction", func(t *testing.T) {
		// Every writer checks rev(ps4) is what it read outside, then writes: exactly the
		// writers that read the revision before any other committed may succeed, and no
		// write is lost or doubled.
		if err := s.Update(ctx, func(tx store.Tx) error { return tx.Put(ctx, obj("ps4", "policy", "seed", "", "", `{}`)) }); err != nil {
			t.Fatal(err)
		}
		start, err := s.Revision(ctx, "ps4")
		if err != nil {
			t.Fatal(err)
		}
		errConflict := errors.New("moved")
		const n = 8
		var wg sync.WaitGroup
		results := make(chan error, n)
		// Writers that got past Revision wait for each other (bounded) before writing, so
		// without the ordering Revision promises several would act on the same revision.
		var arrivedMu sync.Mutex
		arrived, allRead := 0, make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results <- s.Update(ctx, func(tx store.Tx) error {
					rev, err := tx.Revision(ctx, "ps4")
					if err != nil {
						return err
					}
					arrivedMu.Lock()
					if arrived++; arrived == n {
						close(allRead)
					}
					arrivedMu.Unlock()
					select {
					case <-allRead:
					case <-time.After(50 * time.Millisecond):
					}
					if rev != start {
						return errConflict
					}
					return tx.Put(ctx, obj("ps4", "policy", "seed", "", "", fmt.Sprintf(`{"by":%d}`, i)))
				})
			}()
		}
		wg.Wait()
		close(results)
		won := 0
		for err := range results {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, errConflict):
				t.Fatal(err)
			}
		}
		if won != 1 {
			t.Fatalf("%d writers passed the precondition, want 1", won)
		}
		if after, _ := s.Revision(ctx, "ps4"); after != start+1 {
			t.Fatalf("revision %d -> %d, want +1", start, after)
		}
		var rev int64
		if err := s.Update(ctx, func(tx store.Tx) error { rev, err = tx.Revision(ctx, "never-written"); return err }); err != nil || rev != 0 {
			t.Fatalf("revision of an unwritten scope: %d, %v", rev, err)
		}
	})

	t.Run("concurrent writers", func(t *testing.T) {
		before, _ := s.Revision(ctx, "ps3")
		const n = 24
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Update(ctx, func(tx store.Tx) error {
					return tx.Create(ctx, obj("ps3", "policy", fmt.Sprintf("p%02d", i), "", "", `{}`))
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		objs, _, err := s.List(ctx, store.Query{Scope: "ps3", Kind: "policy"})
		if err != nil || len(objs) != n {
			t.Fatalf("%d objects, %v", len(objs), err)
		}
		if after, _ := s.Revision(ctx, "ps3"); after != before+n {
			t.Fatalf("revision %d -> %d, want +%d", before, after, n)
		}
		revs, err := s.Revisions(ctx)
		if err != nil || revs["ps3"] != before+n {
			t.Fatalf("revisions %v %v", revs, err)
		}
	})

	t.Run("changes since a revision", func(t *testing.T) {
		update := func(fn func(tx store.Tx) error) int64 {
			t.Helper()
			if err := s.Update(ctx, fn); err != nil {
				t.Fatal(err)
			}
			r, err := s.Revision(ctx, "cs")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		// describe renders changes as "kind/id=data" or "kind/id deleted".
		describe := func(since int64) string {
			t.Helper()
			ch, err := s.Changes(ctx, "cs", since)
			if err != nil {
				t.Fatalf("changes since %d: %v", since, err)
			}
			var b strings.Builder
			for _, c := range ch {
				if c.Deleted {
					fmt.Fprintf(&b, "%s/%s deleted;", c.Kind, c.ID)
					continue
				}
				if c.Object.Kind != c.Kind || c.Object.ID != c.ID || c.Object.Scope != "cs" || c.Object.Created.IsZero() {
					t.Fatalf("change %s/%s carries object %+v", c.Kind, c.ID, c.Object)
				}
				fmt.Fprintf(&b, "%s/%s=%s;", c.Kind, c.ID, c.Object.Data)
			}
			return b.String()
		}
		expect := func(since int64, want string) {
			t.Helper()
			if got := describe(since); got != want {
				t.Fatalf("changes since %d:\n got %s\nwant %s", since, got, want)
			}
		}
		r0 := update(func(tx store.Tx) error {
			if err := tx.Create(ctx, obj("", "policy_store", "cs", "", "", `{}`)); err != nil {
				return err
			}
			for _, id := range []string{"a", "b"} {
				if err := tx.Create(ctx, obj("cs", "policy", id, "", "", `{"v":0}`)); err != nil {
					return err
				}
			}
			return tx.Create(ctx, obj("cs", "entity", "e", "", "", `{"v":0}`))
		})
		expect(0, `entity/e={"v":0};policy/a={"v":0};policy/b={"v":0};`)
		expect(r0, "")
		r1 := update(func(tx store.Tx) error {
			if err := tx.Put(ctx, obj("cs", "policy", "a", "", "", `{"v":1}`)); err != nil {
				return err
			}
			if err := tx.Delete(ctx, "cs", "policy", "b"); err != nil {
				return err
			}
			if err := tx.Create(ctx, obj("cs", "policy", "c", "", "", `{"v":1}`)); err != nil {
				return err
			}
			// Created and deleted in one transaction: a reader may have heard of it.
			if err := tx.Create(ctx, obj("cs", "policy", "d", "", "", `{}`)); err != nil {
				return err
			}
			return tx.Delete(ctx, "cs", "policy", "d")
		})
		expect(r0, `policy/a={"v":1};policy/b deleted;policy/c={"v":1};policy/d deleted;`)
		expect(r1, "")
		// Another scope's writes, a rolled-back transaction and a write of the container
		// itself change nothing in the log of cs.
		update(func(tx store.Tx) error { return tx.Put(ctx, obj("other", "policy", "a", "", "", `{}`)) })
		boom := errors.New("boom")
		if err := s.Update(ctx, func(tx store.Tx) error {
			if err := tx.Put(ctx, obj("cs", "policy", "a", "", "", `{"v":"lost"}`)); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		r2 := update(func(tx store.Tx) error { return tx.Put(ctx, obj("", "policy_store", "cs", "", "", `{"d":1}`)) })
		if r2 != r1+1 {
			t.Fatalf("container write: revision %d -> %d", r1, r2)
		}
		expect(r1, "")
		r3 := update(func(tx store.Tx) error { return tx.Put(ctx, obj("cs", "policy", "b", "", "", `{"v":3}`)) })
		expect(r2, `policy/b={"v":3};`)
		expect(r0, `policy/a={"v":1};policy/b={"v":3};policy/c={"v":1};policy/d deleted;`)

		// Deleting the container and creating it again must not look like a few changes to
		// someone who held the old one.
		update(func(tx store.Tx) error {
			if err := tx.DeleteScope(ctx, "cs"); err != nil {
				return err
			}
			return tx.Delete(ctx, "", "policy_store", "cs")
		})
		r5 := update(func(tx store.Tx) error {
			if err := tx.Create(ctx, obj("", "policy_store", "cs", "", "", `{}`)); err != nil {
				return err
			}
			return tx.Create(ctx, obj("cs", "policy", "a", "", "", `{"v":5}`))
		})
		for _, since := range []int64{0, r0, r3} {
			if _, err := s.Changes(ctx, "cs", since); !errors.Is(err, store.ErrHistoryReset) {
				t.Fatalf("changes since %d across a container deletion: %v, want ErrHistoryReset", since, err)
			}
		}
		expect(r5, "")
		r6 := update(func(tx store.Tx) error { return tx.Put(ctx, obj("cs", "policy", "z", "", "", `{}`)) })
		expect(r5, `policy/z={};`)
		expect(r6, "")
		if _, err := s.Changes(ctx, "", 0); err == nil {
			t.Fatal("changes of the top-level scope: no error")
		}
	})

	t.Run("changes under concurrent writers", func(t *testing.T) {
		start, _ := s.Revision(ctx, "cw")
		const n = 16
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- s.Update(ctx, func(tx store.Tx) error {
					return tx.Put(ctx, obj("cw", "policy", fmt.Sprintf("p%02d", i), "", "", fmt.Sprintf(`{"i":%d}`, i)))
				})
			}()
		}
		// A reader catching up while they commit: whenever the revision did not move
		// around the read, the log names exactly as many objects as commits happened.
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		for reading := true; reading; {
			select {
			case <-done:
				reading = false
			default:
			}
			before, err := s.Revision(ctx, "cw")
			if err != nil {
				t.Fatal(err)
			}
			ch, err := s.Changes(ctx, "cw", start)
			if err != nil {
				t.Fatal(err)
			}
			if after, _ := s.Revision(ctx, "cw"); after == before && int64(len(ch)) != before-start {
				t.Fatalf("at revision %d the log names %d objects, want %d", before, len(ch), before-start)
			}
		}
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if ch, err := s.Changes(ctx, "cw", start); err != nil || len(ch) != n {
			t.Fatalf("%d changes, %v; want %d", len(ch), err, n)
		}
	})

}
