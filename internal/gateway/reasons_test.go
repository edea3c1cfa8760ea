package gateway_test

import (
	"os"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// TestReasonsDocumented keeps docs/reasons.md and the Reason constants one list.
func TestReasonsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/reasons.md")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[gateway.Reason]bool{}
	for _, r := range gateway.Reasons() {
		if seen[r] {
			t.Errorf("reason %q listed twice", r)
		}
		seen[r] = true
		if !strings.Contains(string(doc), "| `"+string(r)+"` |") {
			t.Errorf("docs/reasons.md does not document %q", r)
		}
	}
}
