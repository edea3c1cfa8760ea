package console

import (
	"maps"
	"slices"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
)

// TestEveryOperationMapped: every management operation a node serves is mapped to console
// actions, so a new operation is decided deliberately (an unmapped one is refused to
// console sessions; this test makes adding one without a mapping fail).
func TestEveryOperationMapped(t *testing.T) {
	t.Parallel()
	api := avpapi.New(nil, nil)
	targets := map[string]bool{}
	for op := range api.Ops() {
		targets[avpapi.TargetPrefix+"."+op] = true
	}
	extra := avpapi.APIOps(nil)
	maps.Copy(extra, avpapi.RouteAccessOps(nil))
	maps.Copy(extra, api.GatehouseOps())
	extra["FlushAuthorizerCache"] = nil // added by the node (internal/app)
	for op := range extra {
		targets[avpapi.GatehouseTargetPrefix+"."+op] = true
	}
	for _, target := range slices.Sorted(maps.Keys(targets)) {
		checks, err := operationChecks(target, []byte(`{"policyStoreId":"PSx","policyStore":{"policyStoreId":"PSx"}}`))
		if err != nil || len(checks) == 0 {
			t.Errorf("%s: %v %v", target, checks, err)
		}
	}
	if _, err := operationChecks("VerifiedPermissions.NoSuchOperation", nil); err == nil {
		t.Error("an unknown operation was mapped")
	}
	if _, err := operationChecks("VerifiedPermissions.CreatePolicy", []byte(`{}`)); err == nil {
		t.Error("a store operation without policyStoreId was mapped")
	}
}
