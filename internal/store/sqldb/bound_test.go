package sqldb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/clustertest"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// The bound the tests configure, and how long they wait before calling a call hung: generous,
// so a slow machine never fails them, yet far below the minute the calls used to hang.
const (
	bound     = time.Second
	hungAfter = 15 * time.Second
)

// TestHoldSQLiteLock is the other process of storetest.HoldSQLiteLock, not a test.
func TestHoldSQLiteLock(t *testing.T) { storetest.LockHolder(t) }

func put(ctx context.Context, s *sqldb.DB, id string) error {
	return s.Update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, store.Object{Scope: "s", Kind: "k", ID: id, Data: []byte(`{}`)})
	})
}

// within runs call and fails the test if it has not returned after hungAfter.
func within(t *testing.T, what string, call func() error) error {
	t.Helper()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- call() }()
	select {
	case err := <-done:
		t.Logf("%s returned after %v: %v", what, time.Since(start).Round(time.Millisecond), err)
		return err
	case <-time.After(hungAfter):
		t.Fatalf("%s still waiting after %v with a %v bound", what, hungAfter, bound)
		return nil
	}
}

// TestSQLiteLockedByAnotherProcess: a write to a file another process holds locked fails
// within the bound (it waited 5 × the busy timeout, ~50 s) and succeeds once the lock is gone.
func TestSQLiteLockedByAnotherProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := storetest.DSN(t, "sqlite")
	s, err := sqldb.Open(ctx, path, sqldb.WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := put(ctx, s, "before"); err != nil {
		t.Fatal(err)
	}
	release := storetest.HoldSQLiteLock(t, path)
	if err := within(t, "write to a locked file", func() error { return put(ctx, s, "during") }); err == nil {
		t.Fatal("a write to a file locked by another process succeeded")
	}
	// Readers are not blocked by the writer (WAL).
	if _, err := s.Get(ctx, "s", "k", "before"); err != nil {
		t.Fatalf("read while another process writes: %v", err)
	}
	release()
	if err := put(ctx, s, "after"); err != nil {
		t.Fatalf("write after the lock was released: %v", err)
	}
	if _, err := s.Get(ctx, "s", "k", "during"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed write left data behind: %v", err)
	}
}

// TestPostgresBlackhole: with the database behind a firewall that drops every packet, every
// kind of call — open, read, write, ping — answers an error within the bound, and the store
// works again once the network is back.
func TestPostgresBlackhole(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, "postgres")
	ctx := context.Background()
	proxy, err := clustertest.NewProxy(dbHost(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	proxied := viaHost(t, dsn, proxy.Addr())
	s, err := sqldb.Open(ctx, proxied, sqldb.WithTimeout(bound))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := put(ctx, s, "before"); err != nil {
		t.Fatal(err)
	}

	proxy.Blackhole()
	calls := []struct {
		name string
		call func() error
	}{
		{"write", func() error { return put(ctx, s, "during") }},
		{"read", func() error { _, err := s.Get(ctx, "s", "k", "before"); return err }},
		{"list", func() error { _, _, err := s.List(ctx, store.Query{Scope: "s", Kind: "k"}); return err }},
		{"revisions", func() error { _, err := s.Revisions(ctx); return err }},
		{"ping", func() error { return s.Ping(ctx) }},
		{"open", func() error {
			s2, err := sqldb.Open(ctx, proxied, sqldb.WithTimeout(bound))
			if err == nil {
				s2.Close()
			}
			return err
		}},
	}
	for _, c := range calls {
		if err := within(t, c.name, c.call); err == nil {
			t.Errorf("%s through a black hole succeeded", c.name)
		}
	}

	proxy.Resume()
	deadline := time.Now().Add(hungAfter)
	for {
		err := put(ctx, s, "after")
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("write after the network came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := s.Get(ctx, "s", "k", "during"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the failed write left data behind: %v", err)
	}
}

// dbHost is the host:port of the PostgreSQL server in dsn.
func dbHost(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return u.Hostname() + ":5432"
	}
	return u.Host
}

// viaHost returns dsn pointing at hostport instead of its own server.
func viaHost(t *testing.T, dsn, hostport string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostport
	return u.String()
}

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPostgresListenBlackhole: the connection that waits for change notifications notices a
// black hole within its heartbeat (5 × the call bound) and replaces itself, rather than waiting
// for TCP keepalive; once the network is back, a commit made through another handle reaches
// the listeners by notification (the poll interval is far longer than the test).
func TestPostgresListenBlackhole(t *testing.T) {
	t.Parallel()
	dsn := storetest.DSN(t, "postgres")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proxy, err := clustertest.NewProxy(dbHost(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	var logs lockedBuffer
	s, err := sqldb.Open(ctx, viaHost(t, dsn, proxy.Addr()), sqldb.WithTimeout(bound),
		sqldb.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	direct, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer direct.Close()
	heard := make(chan map[string]int64, 16)
	s.OnChange(func(revs map[string]int64) {
		select {
		case heard <- revs:
		default:
		}
	})
	go s.Watch(ctx, time.Hour)
	time.Sleep(500 * time.Millisecond) // let the listener subscribe

	proxy.Blackhole()
	deadline := time.Now().Add(hungAfter)
	for !strings.Contains(logs.String(), "listening connection did not answer") {
		if time.Now().After(deadline) {
			t.Fatalf("the listening connection did not notice the black hole within %v:\n%s", hungAfter, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	proxy.Resume()
	for len(heard) > 0 {
		<-heard
	}
	deadline = time.Now().Add(hungAfter)
	for i := 0; ; i++ {
		scope := fmt.Sprint("listen-", i)
		if err := direct.Update(ctx, func(tx store.Tx) error {
			return tx.Put(ctx, store.Object{Scope: scope, Kind: "k", ID: "x", Data: []byte(`{}`)})
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case revs := <-heard:
			if _, ok := revs[scope]; ok {
				return
			}
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no change notification after the network came back:\n%s", logs.String())
		}
	}
}
