package app_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// IsAuthorized reads cedarJson entities and context with the store's schema, as Cedar (and so
// Verified Permissions) does: {"type","id"} is an entity reference and "0.6" a decimal where the
// schema says so; an ill-typed value is a ValidationException naming the field.
func TestIsAuthorizedReadsCedarJSONWithSchema(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			node := startNode(t, backend)
			c := avpClient(t, node, testKeyID, testSecret)
			ctx := context.Background()
			ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeStrict}})
			if err != nil {
				t.Fatal(err)
			}
			id := ps.PolicyStoreId
			if _, err := c.PutSchema(ctx, &vp.PutSchemaInput{PolicyStoreId: id, Definition: &types.SchemaDefinitionMemberCedarJson{Value: `{"Bank":{
				"entityTypes":{"User":{},"Account":{"shape":{"type":"Record","attributes":{"owner":{"type":"Entity","name":"User"},"limit":{"type":"Extension","name":"decimal"}}}}},
				"actions":{"view":{"appliesTo":{"principalTypes":["User"],"resourceTypes":["Account"],"context":{"type":"Record","attributes":{"score":{"type":"Extension","name":"decimal"}}}}}}}}`}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: id, Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{
				Statement: aws.String(`permit(principal, action == Bank::Action::"view", resource) when { principal == resource.owner && resource.limit.lessThan(context.score) };`)}}}); err != nil {
				t.Fatal(err)
			}
			ask := func(entities, context string) (*vp.IsAuthorizedOutput, error) {
				return c.IsAuthorized(ctx, &vp.IsAuthorizedInput{PolicyStoreId: id,
					Principal: &types.EntityIdentifier{EntityType: aws.String("Bank::User"), EntityId: aws.String("alice")},
					Action:    &types.ActionIdentifier{ActionType: aws.String("Bank::Action"), ActionId: aws.String("view")},
					Resource:  &types.EntityIdentifier{EntityType: aws.String("Bank::Account"), EntityId: aws.String("a")},
					Entities:  &types.EntitiesDefinitionMemberCedarJson{Value: entities},
					Context:   &types.ContextDefinitionMemberCedarJson{Value: context}})
			}
			out, err := ask(`[{"uid":{"type":"Bank::Account","id":"a"},"attrs":{"owner":{"type":"Bank::User","id":"alice"},"limit":"0.6"},"parents":[]}]`, `{"score":"0.7"}`)
			if err != nil || out.Decision != types.DecisionAllow {
				t.Fatalf("decision %+v %v, want ALLOW as Cedar decides", out, err)
			}
			for _, tt := range []struct{ entities, context, field string }{
				{`[{"uid":{"type":"Bank::Account","id":"a"},"attrs":{"owner":{"type":"Bank::User","id":"alice"},"limit":"+0.6"},"parents":[]}]`, `{"score":"0.7"}`, "entities"},
				{`[]`, `{"score":7}`, "context.score"},
				{`[]`, `{}`, "context.score"},
			} {
				_, err := ask(tt.entities, tt.context)
				ve := asAPIError[*types.ValidationException](t, err)
				if len(ve.FieldList) == 0 || aws.ToString(ve.FieldList[0].Path) != tt.field || !strings.Contains(aws.ToString(ve.Message), "schema") {
					t.Errorf("%s %s: %v %+v, want a ValidationException on %s", tt.entities, tt.context, err, ve.FieldList, tt.field)
				}
			}
		})
	}
}
