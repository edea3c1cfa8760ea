package storetest

import (
	"bufio"
	"context"
	"database/sql"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, for the lock holder
)

// lockHolderEnv names the SQLite file the re-executed test binary locks.
const lockHolderEnv = "STORETEST_HOLD_SQLITE_LOCK"

// LockHolder is the body of the helper process HoldSQLiteLock starts. A test package using
// HoldSQLiteLock must declare
//
//	func TestHoldSQLiteLock(t *testing.T) { storetest.LockHolder(t) }
//
// Run normally it skips; re-executed, it takes a write lock on the file, prints "locked" and
// holds the lock until its stdin closes (at most a minute).
func LockHolder(t *testing.T) {
	path := os.Getenv(lockHolderEnv)
	if path == "" {
		t.Skip("helper process of HoldSQLiteLock")
	}
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	done := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
	}
	_, _ = conn.ExecContext(ctx, "ROLLBACK")
}

// HoldSQLiteLock starts another process (this test binary, running TestHoldSQLiteLock) that
// holds a write lock on the SQLite file at path until release is called or the test ends.
func HoldSQLiteLock(t *testing.T, path string) (release func()) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldSQLiteLock$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockHolderEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			stdin.Close()
			_ = cmd.Wait()
		})
	}
	t.Cleanup(release)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		release()
		t.Fatalf("lock holder: %q, %v", line, err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return release
}
