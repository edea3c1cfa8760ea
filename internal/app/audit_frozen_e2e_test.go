package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/audit/audittest"
)

// TestAuditDenyModeWhileTrailFrozen: with auditFailure: deny and the trail on a file system
// that freezes (writes block in the kernel, no error ever comes back), gateway decisions answer
// 503 once the write has blocked past the audit stall bound, and decide again after the thaw;
// every decision allowed is in the trail. (Before, decisions went on being allowed with no
// trail until 65,536 records had queued.)
func TestAuditDenyModeWhileTrailFrozen(t *testing.T) {
	t.Parallel()
	dir, freeze, thaw := audittest.FreezableFS(t)
	cfg := apptest.Config(t, "sqlite")
	cfg.AuditFile = filepath.Join(dir, "audit.log")
	cfg.AuditFailure = "deny"
	node, stop := apptest.StartStoppable(t, cfg)
	t.Cleanup(thaw) // runs before the node's stop: its trail must be able to flush
	def, err := apidef.Parse([]byte("name: Hello\nstage: v1\nroutes:\n  - {route: \"GET /hello\", authorizer: none, mock: {status: 200, body: 'hi'}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.APIs.Put(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	gw := "http://" + node.Addr("gateway") + "/v1/hello"
	allowed := 0
	get := func() int {
		code, _ := httpGet(t, gw)
		if code == 200 {
			allowed++
		}
		return code
	}
	if code := get(); code != 200 {
		t.Fatalf("gateway with a writable trail: %d", code)
	}
	time.Sleep(300 * time.Millisecond) // let the first records reach the file

	freeze()
	frozenAt := time.Now()
	for get() != 503 {
		if time.Since(frozenAt) > audit.DefaultStallTimeout+10*time.Second {
			t.Fatalf("gateway still deciding %v after the trail's file system froze", time.Since(frozenAt).Round(time.Millisecond))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("gateway answered 503 %v after the freeze", time.Since(frozenAt).Round(time.Millisecond))

	thaw()
	thawedAt := time.Now()
	for get() != 200 {
		if time.Since(thawedAt) > 10*time.Second {
			t.Fatal("gateway still refusing 10 s after the thaw")
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := node.AuditErr(); err != nil {
		t.Fatalf("audit trail after the thaw: %v", err)
	}
	data, err := os.ReadFile(cfg.AuditFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(data, []byte(`"kind":"decision"`)); n != allowed {
		t.Fatalf("%d decisions in the trail, %d requests allowed", n, allowed)
	}
	rep, err := audit.VerifyPathsWith(audit.VerifyOptions{}, cfg.AuditFile)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if rep.Dropped != 0 {
		t.Fatalf("%d records reported lost; a frozen file system only delays them", rep.Dropped)
	}
}
