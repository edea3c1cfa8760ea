package docs_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestTroubleshootingCoversEveryReason fails when a reason code defined in docs/reasons.md
// (which a gateway test keeps in step with the code) has no advice in docs/troubleshooting.md.
func TestTroubleshootingCoversEveryReason(t *testing.T) {
	t.Parallel()
	reasons, err := os.ReadFile("reasons.md")
	if err != nil {
		t.Fatal(err)
	}
	advice, err := os.ReadFile("troubleshooting.md")
	if err != nil {
		t.Fatal(err)
	}
	codes := regexp.MustCompile("`([a-z]+(?:_[a-z]+)+)`").FindAllStringSubmatch(string(reasons), -1)
	if len(codes) < 30 {
		t.Fatalf("found %d reason codes in docs/reasons.md: the pattern is broken", len(codes))
	}
	for _, c := range codes {
		if !strings.Contains(string(advice), "`"+c[1]+"`") {
			t.Errorf("docs/troubleshooting.md gives no advice for reason %s", c[1])
		}
	}
}
