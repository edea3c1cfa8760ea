package cedardiff

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// validationPool holds policies whose STRICT verdict cedar-go's validator alone gets wrong,
// next to ones it gets right; policyPool is validated too.
var validationPool = []string{
	`permit(principal, action, resource) when { datetime("2024-01-01") < duration("1d") };`,
	`permit(principal, action == Action::"read", resource) when { context has now && context.now > 3 };`,
	`permit(principal, action == Action::"read", resource) when { context has now && principal.level <= context.now };`,
	`permit(principal, action == Action::"read", resource) when { resource has ttl && resource.ttl >= principal.level };`,
	`permit(principal, action == Action::"read", resource) when { resource has ttl && resource.ttl >= duration("1h") };`,
	`permit(principal is Doc, action == Action::"read", resource);`,
	`permit(principal, action == Action::"write", resource) when { false } when { context.nope };`,
	`permit(principal, action, resource) unless { true } when { principal.nope };`,
	`permit(principal, action, resource) when { decimal("+1.0").lessThan(resource.limit) };`,
	`permit(principal, action, resource) when { resource has created && resource.created.toDate() < datetime("1970-01-01") };`,
	`permit(principal, action, resource) when { principal.nope };`,
}

// TestDifferentialValidation compares Gatehouse's STRICT validation verdict (accepted or
// rejected) with Cedar's for every policy in the pools against the generator's schema.
func TestDifferentialValidation(t *testing.T) {
	node, jsDir := nodeAndJS(t)
	policies := map[string]string{}
	for i, p := range append(append([]string{}, policyPool...), validationPool...) {
		policies[fmt.Sprintf("p%d", i)] = p
	}
	data, err := json.Marshal(map[string]any{"schema": schemaText, "policies": policies})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "validate.json")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, "--no-opt", filepath.Join(jsDir, "validate.mjs"), file)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("validate.mjs: %v", err)
	}
	var ref map[string][]string
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatal(err)
	}
	sch, err := policy.ParseSchema([]byte(schemaText))
	if err != nil {
		t.Fatal(err)
	}
	rejected := 0
	for id, text := range policies {
		st, err := policy.ParseStatic(text)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		got := sch.Validate(id, st.Policy)
		if want := ref[id]; (got != nil) != (len(want) > 0) {
			t.Errorf("%s %s: Gatehouse %v, Cedar %v", id, text, got, want)
		}
		if got != nil {
			rejected++
		}
	}
	t.Logf("%d policies validated against Cedar: %d rejected", len(policies), rejected)
}
