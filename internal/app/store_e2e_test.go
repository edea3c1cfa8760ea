package app_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/clustertest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func TestHoldSQLiteLock(t *testing.T) { storetest.LockHolder(t) }

// TestManagementWriteWithUnresponsiveStore: a management write to a store that does not
// answer — a SQLite file another process holds locked, a PostgreSQL behind a firewall that
// drops every packet — fails within storeTimeout with an error the AWS SDK retries (it hung
// ~50 s and 60 s), and the same write succeeds once the store answers again.
func TestManagementWriteWithUnresponsiveStore(t *testing.T) {
	const (
		bound     = time.Second
		hungAfter = 15 * time.Second
	)
	cases := []struct {
		backend string
		// setup prepares the case before the node starts (it may point cfg.DB at a proxy)
		// and returns block, which makes the store unresponsive and returns what restores it.
		setup func(t *testing.T, cfg *config.Config) (block func() (restore func()))
	}{
		{"sqlite", func(t *testing.T, cfg *config.Config) func() func() {
			return func() func() { return storetest.HoldSQLiteLock(t, cfg.DB) }
		}},
		{"postgres", func(t *testing.T, cfg *config.Config) func() func() {
			u, err := url.Parse(cfg.DB)
			if err != nil {
				t.Fatal(err)
			}
			proxy, err := clustertest.NewProxy(u.Host)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { proxy.Close() })
			u.Host = proxy.Addr()
			cfg.DB = u.String()
			return func() func() {
				proxy.Blackhole()
				return proxy.Resume
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.backend, func(t *testing.T) {
			t.Parallel()
			cfg := apptest.Config(t, c.backend)
			cfg.StoreTimeout = config.Duration(bound)
			block := c.setup(t, &cfg)
			node := apptest.Start(t, cfg)
			client := avpClient(t, node, testKeyID, testSecret)
			ctx := context.Background()
			create := func() error {
				_, err := client.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{
					ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
				return err
			}
			if err := create(); err != nil {
				t.Fatal(err)
			}

			restore := block()
			done := make(chan error, 1)
			start := time.Now()
			go func() { done <- create() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(hungAfter):
				t.Fatalf("a management write still waits after %v with storeTimeout %v", hungAfter, bound)
			}
			t.Logf("write with the store unresponsive answered after %v: %v", time.Since(start).Round(time.Millisecond), err)
			asAPIError[*types.InternalServerException](t, err)
			if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
				t.Errorf("the AWS SDK would not retry %v", err)
			}

			restore()
			deadline := time.Now().Add(hungAfter)
			for err := create(); err != nil; err = create() {
				if time.Now().After(deadline) {
					t.Fatalf("write after the store answers again: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// TestReadinessReportsCorruptStore: a node started on a SQLite file whose revisions cannot be
// read is not ready, and says the file is corrupt (it reported ready).
func TestReadinessReportsCorruptStore(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, "sqlite")
	s, err := sqldb.Open(context.Background(), cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	damagePage(t, cfg.DB, "revisions")

	node := apptest.Start(t, cfg)
	code, body := httpGet(t, "http://"+node.Addr("admin")+"/readyz")
	var r app.Readiness
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("/readyz: %v: %s", err, body)
	}
	if code != http.StatusServiceUnavailable || r.Status != "not_ready" || !strings.Contains(r.StoreError, "database file is corrupt") {
		t.Fatalf("/readyz on a corrupt store: HTTP %d %s; want 503 not_ready naming the corruption", code, body)
	}
}

// TestCorruptStoreRefusesToStart: a file that is not a Gatehouse database is named as such.
func TestCorruptStoreRefusesToStart(t *testing.T) {
	t.Parallel()
	cfg := apptest.Config(t, "sqlite")
	if err := os.WriteFile(cfg.DB, []byte(strings.Repeat("not a database ", 512)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := app.New(context.Background(), cfg, nil)
	if err == nil || !strings.Contains(err.Error(), "database file is corrupt or not a Gatehouse database") {
		t.Fatalf("start on a file that is not a database: %v", err)
	}
}

// damagePage overwrites the root page of table in the SQLite file at path.
func damagePage(t *testing.T, path, table string) {
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
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte(strings.Repeat("garbage!", int(size)/8)), (root-1)*size); err != nil {
		t.Fatal(err)
	}
}
