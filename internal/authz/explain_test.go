package authz_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// TestExplainWithToken explains a token request as IsAuthorizedWithToken decides it: the
// principal and its groups come from a real signed token, the determining policy is the
// decision's, and the other group policies say the token's user is not in their group.
func TestExplainWithToken(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.decider.IsAuthorizedWithToken(ctx, f.storeID, f.request())
	if err != nil || res.Decision != cedar.Allow {
		t.Fatalf("decision: %v %+v", err, res)
	}
	ex, err := f.decider.ExplainWithToken(ctx, f.storeID, f.request(), engine.ExplainOptions{Filter: engine.ExplainAction})
	if err != nil {
		t.Fatal(err)
	}
	if !ex.Agrees || ex.Decision != cedar.Allow || !slices.Equal(ex.Determining, res.DeterminingPolicies) || ex.Principal != res.Principal || ex.Total != 5 {
		t.Fatalf("explanation %+v, decision %+v", ex, res)
	}
	for _, pe := range ex.Policies {
		switch {
		case slices.Contains(res.DeterminingPolicies, pe.ID):
			if pe.Role != engine.RoleDeterminingPermit || !strings.Contains(pe.Principal.Reason, `is in PetStore::UserGroup::"corp|employees"`) {
				t.Errorf("determining %s: %+v", pe.ID, pe)
			}
		case pe.Role != engine.RoleNotApplicable || !strings.Contains(pe.Reason, `principal PetStore::User::"corp|erin" is not in PetStore::UserGroup::"corp|`):
			t.Errorf("%s: %+v", pe.ID, pe)
		}
	}
	// The caller's entities are held to the same rules as the decision's.
	req := f.request()
	req.Entities = types.EntityMap{types.NewEntityUID("PetStore::UserGroup", "corp|x"): {}}
	if _, err := f.decider.ExplainWithToken(ctx, f.storeID, req, engine.ExplainOptions{}); !authz.IsInputError(err) {
		t.Fatalf("group entity in the request: %v", err)
	}
	if _, err := f.decider.ExplainWithToken(ctx, f.storeID, f.request(), engine.ExplainOptions{Filter: "x"}); !authz.IsInputError(err) {
		t.Fatalf("unknown filter: %v", err)
	}
	user := types.NewEntityUID("PetStore::User", "corp|erin")
	plain, err := f.decider.Explain(ctx, f.storeID, authz.Request{Principal: user, Action: req.Action, Resource: req.Resource, Context: types.NewRecord(nil)},
		engine.ExplainOptions{})
	if err != nil || plain.Decision != cedar.Deny || plain.Candidates != 0 || !plain.Agrees {
		t.Fatalf("without the token's groups: %v %+v", err, plain)
	}
}
