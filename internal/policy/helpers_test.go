package policy_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func uid(typ, id string) *types.EntityUID {
	u := types.NewEntityUID(types.EntityType(typ), types.String(id))
	return &u
}

// wantSyntaxError checks err is a *policy.SyntaxError at line:col whose
// message contains msg (line 0 means "any position").
func wantSyntaxError(t *testing.T, err error, line, col int, msg string) {
	t.Helper()
	var se *policy.SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v (%T), want *policy.SyntaxError", err, err)
	}
	if line != 0 && (se.Line != line || se.Column != col) {
		t.Errorf("position = %d:%d, want %d:%d (%v)", se.Line, se.Column, line, col, err)
	}
	if !strings.Contains(se.Error(), msg) {
		t.Errorf("error %q does not contain %q", se.Error(), msg)
	}
}

func mustSchema(t testing.TB, text string) *policy.Schema {
	t.Helper()
	s, err := policy.ParseSchema([]byte(text))
	if err != nil {
		t.Fatalf("ParseSchema: %v", err)
	}
	return s
}
