package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// decision returns a realistic decision record; i varies the content.
func decision(i int) audit.Record {
	return audit.Record{
		Kind:          audit.KindDecision,
		Source:        audit.SourceGateway,
		RequestID:     fmt.Sprintf("req-%d", i),
		ClientIP:      "203.0.113.7",
		Method:        "GET",
		Host:          "api.example.com",
		Path:          fmt.Sprintf("/pets/%d", i),
		RouteID:       "GET /pets/{id}",
		Principal:     "https://idp.example.com|user-1",
		TokenJTI:      fmt.Sprintf("jti-%d", i),
		TokenHash:     audit.TokenHash(fmt.Sprintf("token-%d", i)),
		ClientID:      "client-1",
		AuthnResult:   "ok",
		PolicyStoreID: "ps-1",
		Revision:      42,
		Cedar: &audit.Cedar{
			Principal: `PetStore::User::"us-east-1_X|user-1"`,
			Action:    `PetStore::Action::"get /pets/{id}"`,
			Resource:  `PetStore::Application::"petstore"`,
			Context:   json.RawMessage(`{"pathParameters":{"id":"1"}}`),
		},
		Decision:            "ALLOW",
		DeterminingPolicies: []string{"policy-1"},
		LatencyUs:           int64(30 + i%7),
		UpstreamStatus:      200,
	}
}

// writeChain writes n decision records through a file Writer and returns the path.
func writeChain(t testing.TB, n int, opts ...audit.Option) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	opts = append([]audit.Option{audit.WithInstance("node-a"), audit.WithLogger(quiet), audit.WithFlushInterval(0)}, opts...)
	w, err := audit.Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Write(decision(i)); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	return path
}

func readLines(t testing.TB, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	if len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeLines(t testing.TB, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
}

func parseLine(t testing.TB, line []byte) audit.Record {
	t.Helper()
	var r audit.Record
	if err := json.Unmarshal(line, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// seal gives r a correct self-hash following the documented canonical form, as a forger
// without any secret can.
func seal(t testing.TB, r audit.Record) []byte {
	t.Helper()
	r.Hash = ""
	body, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	r.Hash = hex.EncodeToString(sum[:])
	line, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	return append(line, '\n')
}

// stamp is a fixed time for forged records.
var stamp = time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)

func clone(lines [][]byte) [][]byte {
	out := make([][]byte, len(lines))
	for i, l := range lines {
		out[i] = bytes.Clone(l)
	}
	return out
}
