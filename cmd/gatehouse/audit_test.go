package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// audit verify --db checks the digests with the key in the node's database and finds the
// newest records missing when the end of the trail was cut off.
func TestAuditVerifyWithDatabase(t *testing.T) {
	cfg := apptest.Config(t, "sqlite")
	trail := filepath.Join(t.TempDir(), "audit.log")
	cfg.AuditFile = trail
	node, err := app.New(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := node.Audit.Write(audit.Record{Kind: audit.KindDecision, Source: audit.SourceAVP, Decision: "ALLOW", RequestID: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	node.Close() // writes and anchors the final digest
	if err := node.AuditErr(); err != nil {
		t.Fatal(err)
	}

	out, code := run(t, "audit", "verify", "--db", cfg.DB, trail)
	if code != 0 || !strings.Contains(out, "1 signatures verified, 1 of 1 digests kept in the store found") {
		t.Fatalf("intact trail: status %d\n%s", code, out)
	}
	if out, code := run(t, "audit", "verify", trail); code != 0 || !strings.Contains(out, "not checked") {
		t.Fatalf("without the database: status %d\n%s", code, out)
	}

	b, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	cut := bytes.Join(lines[:len(lines)-3], nil) // the last two records (and the empty tail)
	if err := os.WriteFile(trail, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = run(t, "audit", "verify", "--db", cfg.DB, trail)
	if code != 1 || !strings.Contains(out, "record deleted") || !strings.Contains(out, "digest kept in the store") {
		t.Fatalf("truncated trail: status %d\n%s", code, out)
	}
}
