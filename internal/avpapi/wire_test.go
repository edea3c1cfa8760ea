package avpapi_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
)

var (
	created = avpapi.NewTimestamp(time.Date(2026, 11, 22, 18, 0, 0, 123456789, time.UTC))
	updated = avpapi.NewTimestamp(time.Date(2026, 11, 22, 19, 0, 0, 0, time.UTC))
)

// lossless decodes body strictly into a new In and checks that encoding it
// again gives the same JSON document: every member the SDK sent has a field
// with the right name and type.
func lossless[In any](t *testing.T, body []byte) error {
	var in In
	if err := awsjson.Decode(body, &in); err != nil {
		return err
	}
	again, err := json.Marshal(&in)
	if err != nil {
		return err
	}
	var a, b any
	if err := json.Unmarshal(body, &a); err != nil {
		return err
	}
	if err := json.Unmarshal(again, &b); err != nil {
		return err
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%T not lossless:\n sdk  %s\n ours %s", in, body, again)
	}
	return nil
}

func op[In any](t *testing.T, out any) awsjson.Op {
	return func(ctx context.Context, body []byte) (any, error) {
		if err := lossless[In](t, body); err != nil {
			t.Errorf("%T: %v (body %s)", *new(In), err, body)
			return nil, err
		}
		return out, nil
	}
}

func newSDK(t *testing.T) *vp.Client {
	t.Helper()
	ent := avpapi.EntityIdentifier{EntityType: "PetStore::User", EntityID: "pool|alice"}
	act := []avpapi.ActionIdentifier{{ActionType: "PetStore::Action", ActionID: "get /pets"}}
	static := &avpapi.PolicyDefinition{Static: &avpapi.StaticPolicyDefinition{Statement: "permit(principal, action, resource);", Description: "d"}}
	idsrc := avpapi.IdentitySource{
		PolicyStoreID: "ps-1", IdentitySourceID: "is-1", PrincipalEntityType: "PetStore::User",
		Configuration: &avpapi.Configuration{CognitoUserPoolConfiguration: &avpapi.CognitoUserPoolConfiguration{
			UserPoolArn: "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc", ClientIDs: []string{"c1"},
			Issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc", GroupConfiguration: &avpapi.CognitoGroupConfiguration{GroupEntityType: "PetStore::UserGroup"}}},
		Details:     &avpapi.IdentitySourceDetails{ClientIDs: []string{"c1"}, UserPoolArn: "arn:x", DiscoveryURL: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc", OpenIDIssuer: "COGNITO"},
		CreatedDate: created, LastUpdatedDate: updated,
	}
	decision := avpapi.IsAuthorizedOutput{Decision: avpapi.DecisionAllow, DeterminingPolicies: []avpapi.DeterminingPolicyItem{{PolicyID: "p1"}}, Errors: []avpapi.EvaluationErrorItem{{ErrorDescription: "e"}}}
	svc := &awsjson.Service{
		TargetPrefix: "VerifiedPermissions", JSONVersion: "1.0",
		Verifier: &sigv4.Verifier{Lookup: func(string) (string, bool) { return "s", true }, Services: []string{"verifiedpermissions"}, Region: "us-east-1"},
		Ops: map[string]awsjson.Op{
			"CreatePolicyStore": op[avpapi.CreatePolicyStoreInput](t, avpapi.CreatePolicyStoreOutput{PolicyStoreID: "ps-1", Arn: "arn:ps", CreatedDate: created, LastUpdatedDate: updated}),
			"GetPolicyStore": op[avpapi.GetPolicyStoreInput](t, avpapi.GetPolicyStoreOutput{PolicyStoreID: "ps-1", Arn: "arn:ps",
				ValidationSettings: &avpapi.ValidationSettings{Mode: avpapi.ValidationModeStrict}, CreatedDate: created, LastUpdatedDate: updated,
				Description: "d", DeletionProtection: avpapi.DeletionProtectionEnabled, EncryptionState: &avpapi.EncryptionState{Default: &avpapi.Unit{}},
				CedarVersion: avpapi.CedarVersion4, Tags: map[string]string{"k": "v"}}),
			"UpdatePolicyStore": op[avpapi.UpdatePolicyStoreInput](t, avpapi.UpdatePolicyStoreOutput{PolicyStoreID: "ps-1", Arn: "arn:ps", CreatedDate: created, LastUpdatedDate: updated}),
			"DeletePolicyStore": op[avpapi.DeletePolicyStoreInput](t, nil),
			"ListPolicyStores": op[avpapi.ListPolicyStoresInput](t, avpapi.ListPolicyStoresOutput{NextToken: "n",
				PolicyStores: []avpapi.PolicyStoreItem{{PolicyStoreID: "ps-1", Arn: "arn:ps", CreatedDate: created, Description: "d"}}}),
			"PutSchema": op[avpapi.PutSchemaInput](t, avpapi.PutSchemaOutput{PolicyStoreID: "ps-1", Namespaces: []string{"PetStore"}, CreatedDate: created, LastUpdatedDate: updated}),
			"GetSchema": op[avpapi.GetSchemaInput](t, avpapi.GetSchemaOutput{PolicyStoreID: "ps-1", Schema: "{}", Namespaces: []string{"PetStore"}, CreatedDate: created, LastUpdatedDate: updated}),
			"CreatePolicy": op[avpapi.CreatePolicyInput](t, avpapi.CreatePolicyOutput{PolicyStoreID: "ps-1", PolicyID: "p1", PolicyType: avpapi.PolicyTypeStatic,
				Principal: &ent, Resource: &ent, Actions: act, Effect: avpapi.EffectPermit, CreatedDate: created, LastUpdatedDate: updated}),
			"GetPolicy": op[avpapi.GetPolicyInput](t, avpapi.GetPolicyOutput{PolicyStoreID: "ps-1", PolicyID: "p1", PolicyType: avpapi.PolicyTypeTemplateLinked,
				Definition: &avpapi.PolicyDefinition{TemplateLinked: &avpapi.TemplateLinkedPolicyDefinition{PolicyTemplateID: "pt1", Principal: &ent}},
				Effect:     avpapi.EffectForbid, Name: "n", CreatedDate: created, LastUpdatedDate: updated}),
			"UpdatePolicy": op[avpapi.UpdatePolicyInput](t, avpapi.UpdatePolicyOutput{PolicyStoreID: "ps-1", PolicyID: "p1", PolicyType: avpapi.PolicyTypeStatic, CreatedDate: created, LastUpdatedDate: updated}),
			"DeletePolicy": op[avpapi.DeletePolicyInput](t, nil),
			"ListPolicies": op[avpapi.ListPoliciesInput](t, avpapi.ListPoliciesOutput{Policies: []avpapi.PolicyItem{{PolicyStoreID: "ps-1", PolicyID: "p1",
				PolicyType: avpapi.PolicyTypeStatic, Definition: &avpapi.PolicyDefinition{Static: &avpapi.StaticPolicyDefinition{Description: "only"}}, CreatedDate: created, LastUpdatedDate: updated}}}),
			"BatchGetPolicy": op[avpapi.BatchGetPolicyInput](t, avpapi.BatchGetPolicyOutput{
				Results: []avpapi.BatchGetPolicyOutputItem{{PolicyStoreID: "ps-1", PolicyID: "p1", PolicyType: avpapi.PolicyTypeStatic, Definition: static, CreatedDate: created, LastUpdatedDate: updated}},
				Errors:  []avpapi.BatchGetPolicyErrorItem{{Code: "POLICY_NOT_FOUND", PolicyStoreID: "ps-1", PolicyID: "p2", Message: "m"}}}),
			"CreatePolicyTemplate": op[avpapi.CreatePolicyTemplateInput](t, avpapi.CreatePolicyTemplateOutput{PolicyStoreID: "ps-1", PolicyTemplateID: "pt1", CreatedDate: created, LastUpdatedDate: updated}),
			"GetPolicyTemplate": op[avpapi.GetPolicyTemplateInput](t, avpapi.GetPolicyTemplateOutput{PolicyStoreID: "ps-1", PolicyTemplateID: "pt1",
				Statement: "permit(principal == ?principal, action, resource);", Description: "d", Name: "n", CreatedDate: created, LastUpdatedDate: updated}),
			"UpdatePolicyTemplate": op[avpapi.UpdatePolicyTemplateInput](t, avpapi.UpdatePolicyTemplateOutput{PolicyStoreID: "ps-1", PolicyTemplateID: "pt1", CreatedDate: created, LastUpdatedDate: updated}),
			"DeletePolicyTemplate": op[avpapi.DeletePolicyTemplateInput](t, nil),
			"ListPolicyTemplates":  op[avpapi.ListPolicyTemplatesInput](t, avpapi.ListPolicyTemplatesOutput{PolicyTemplates: []avpapi.PolicyTemplateItem{{PolicyStoreID: "ps-1", PolicyTemplateID: "pt1", CreatedDate: created, LastUpdatedDate: updated}}}),
			"CreateIdentitySource": op[avpapi.CreateIdentitySourceInput](t, avpapi.CreateIdentitySourceOutput{PolicyStoreID: "ps-1", IdentitySourceID: "is-1", CreatedDate: created, LastUpdatedDate: updated}),
			"GetIdentitySource":    op[avpapi.GetIdentitySourceInput](t, idsrc),
			"UpdateIdentitySource": op[avpapi.UpdateIdentitySourceInput](t, avpapi.UpdateIdentitySourceOutput{PolicyStoreID: "ps-1", IdentitySourceID: "is-1", CreatedDate: created, LastUpdatedDate: updated}),
			"DeleteIdentitySource": op[avpapi.DeleteIdentitySourceInput](t, nil),
			"ListIdentitySources":  op[avpapi.ListIdentitySourcesInput](t, avpapi.ListIdentitySourcesOutput{IdentitySources: []avpapi.IdentitySourceItem{idsrc}}),
			"IsAuthorized":         op[avpapi.IsAuthorizedInput](t, decision),
			"IsAuthorizedWithToken": op[avpapi.IsAuthorizedWithTokenInput](t, avpapi.IsAuthorizedWithTokenOutput{Decision: avpapi.DecisionDeny,
				DeterminingPolicies: []avpapi.DeterminingPolicyItem{}, Errors: []avpapi.EvaluationErrorItem{}, Principal: &ent}),
			"BatchIsAuthorized": op[avpapi.BatchIsAuthorizedInput](t, avpapi.BatchIsAuthorizedOutput{Results: []avpapi.BatchIsAuthorizedOutputItem{{
				Request:  avpapi.BatchIsAuthorizedInputItem{Principal: &ent, Action: &avpapi.ActionIdentifier{ActionType: "PetStore::Action", ActionID: "a"}, Resource: &ent},
				Decision: avpapi.DecisionAllow, DeterminingPolicies: []avpapi.DeterminingPolicyItem{{PolicyID: "p1"}}, Errors: []avpapi.EvaluationErrorItem{}}}}),
			"BatchIsAuthorizedWithToken": op[avpapi.BatchIsAuthorizedWithTokenInput](t, avpapi.BatchIsAuthorizedWithTokenOutput{Principal: &ent,
				Results: []avpapi.BatchIsAuthorizedWithTokenOutputItem{{Request: avpapi.BatchIsAuthorizedWithTokenInputItem{Resource: &ent},
					Decision: avpapi.DecisionDeny, DeterminingPolicies: []avpapi.DeterminingPolicyItem{}, Errors: []avpapi.EvaluationErrorItem{}}}}),
		},
	}
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	cfg := aws.Config{Region: "us-east-1", RetryMaxAttempts: 1, Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", "")}
	return vp.NewFromConfig(cfg, func(o *vp.Options) { o.BaseEndpoint = aws.String(srv.URL) })
}

func sdkEntity() *types.EntityIdentifier {
	return &types.EntityIdentifier{EntityType: aws.String("PetStore::User"), EntityId: aws.String("pool|alice")}
}

func sdkAction() *types.ActionIdentifier {
	return &types.ActionIdentifier{ActionType: aws.String("PetStore::Action"), ActionId: aws.String("get /pets")}
}

// allAttributeKinds exercises every AttributeValue member, nested.
func allAttributeKinds() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		"b":   &types.AttributeValueMemberBoolean{Value: false},
		"l":   &types.AttributeValueMemberLong{Value: 0},
		"s":   &types.AttributeValueMemberString{Value: "x"},
		"e":   &types.AttributeValueMemberEntityIdentifier{Value: *sdkEntity()},
		"set": &types.AttributeValueMemberSet{Value: []types.AttributeValue{&types.AttributeValueMemberLong{Value: -5}}},
		"rec": &types.AttributeValueMemberRecord{Value: map[string]types.AttributeValue{"inner": &types.AttributeValueMemberSet{Value: []types.AttributeValue{}}}},
		"ip":  &types.AttributeValueMemberIpaddr{Value: "10.0.0.0/8"},
		"dec": &types.AttributeValueMemberDecimal{Value: "1.5"},
		"dt":  &types.AttributeValueMemberDatetime{Value: "2024-10-15T11:35:00Z"},
		"dur": &types.AttributeValueMemberDuration{Value: "1h30m"},
	}
}

func TestWireShapesAgainstSDK(t *testing.T) {
	c := newSDK(t)
	ctx := context.Background()
	ps := aws.String("ps-1")
	entities := &types.EntitiesDefinitionMemberEntityList{Value: []types.EntityItem{{
		Identifier: sdkEntity(),
		Attributes: allAttributeKinds(),
		Parents:    []types.EntityIdentifier{{EntityType: aws.String("PetStore::UserGroup"), EntityId: aws.String("pool|admins")}},
		Tags:       map[string]types.CedarTagValue{"t": &types.CedarTagValueMemberString{Value: "v"}, "n": &types.CedarTagValueMemberRecord{Value: map[string]types.CedarTagValue{"x": &types.CedarTagValueMemberDecimal{Value: "0.1"}}}},
	}}}
	oidc := &types.OpenIdConnectConfiguration{Issuer: aws.String("https://idp.example.com"), EntityIdPrefix: aws.String("idp"),
		GroupConfiguration: &types.OpenIdConnectGroupConfiguration{GroupClaim: aws.String("groups"), GroupEntityType: aws.String("PetStore::UserGroup")},
		TokenSelection:     &types.OpenIdConnectTokenSelectionMemberAccessTokenOnly{Value: types.OpenIdConnectAccessTokenConfiguration{Audiences: []string{"api"}, PrincipalIdClaim: aws.String("sub")}}}

	calls := []struct {
		name  string
		call  func() (any, error)
		check func(t *testing.T, out any)
	}{
		{"CreatePolicyStore", func() (any, error) {
			return c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeStrict},
				Description: aws.String("d"), DeletionProtection: types.DeletionProtectionEnabled, Tags: map[string]string{"k": "v"},
				EncryptionSettings: &types.EncryptionSettingsMemberKmsEncryptionSettings{Value: types.KmsEncryptionSettings{Key: aws.String("k"), EncryptionContext: map[string]string{"a": "b"}}}})
		}, func(t *testing.T, out any) {
			o := out.(*vp.CreatePolicyStoreOutput)
			if !o.CreatedDate.Equal(created.Time) || !o.LastUpdatedDate.Equal(updated.Time) || aws.ToString(o.Arn) != "arn:ps" {
				t.Errorf("%+v", o)
			}
		}},
		{"GetPolicyStore", func() (any, error) {
			return c.GetPolicyStore(ctx, &vp.GetPolicyStoreInput{PolicyStoreId: ps, Tags: true})
		},
			func(t *testing.T, out any) {
				o := out.(*vp.GetPolicyStoreOutput)
				if o.CedarVersion != types.CedarVersionCedar4 || o.DeletionProtection != types.DeletionProtectionEnabled || o.Tags["k"] != "v" || o.ValidationSettings.Mode != types.ValidationModeStrict {
					t.Errorf("%+v", o)
				}
				if _, ok := o.EncryptionState.(*types.EncryptionStateMemberDefault); !ok {
					t.Errorf("encryptionState = %#v", o.EncryptionState)
				}
			}},
		{"UpdatePolicyStore", func() (any, error) {
			return c.UpdatePolicyStore(ctx, &vp.UpdatePolicyStoreInput{PolicyStoreId: ps, ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}, Description: aws.String("d"), DeletionProtection: types.DeletionProtectionDisabled})
		}, nil},
		{"DeletePolicyStore", func() (any, error) { return c.DeletePolicyStore(ctx, &vp.DeletePolicyStoreInput{PolicyStoreId: ps}) }, nil},
		{"ListPolicyStores", func() (any, error) {
			return c.ListPolicyStores(ctx, &vp.ListPolicyStoresInput{MaxResults: aws.Int32(5), NextToken: aws.String("t")})
		}, func(t *testing.T, out any) {
			o := out.(*vp.ListPolicyStoresOutput)
			if len(o.PolicyStores) != 1 || aws.ToString(o.NextToken) != "n" || aws.ToString(o.PolicyStores[0].Description) != "d" {
				t.Errorf("%+v", o)
			}
		}},
		{"PutSchema", func() (any, error) {
			return c.PutSchema(ctx, &vp.PutSchemaInput{PolicyStoreId: ps, Definition: &types.SchemaDefinitionMemberCedarJson{Value: `{"PetStore":{}}`}})
		}, func(t *testing.T, out any) {
			if o := out.(*vp.PutSchemaOutput); len(o.Namespaces) != 1 {
				t.Errorf("%+v", o)
			}
		}},
		{"GetSchema", func() (any, error) { return c.GetSchema(ctx, &vp.GetSchemaInput{PolicyStoreId: ps}) }, func(t *testing.T, out any) {
			if o := out.(*vp.GetSchemaOutput); aws.ToString(o.Schema) != "{}" {
				t.Errorf("%+v", o)
			}
		}},
		{"CreatePolicy static", func() (any, error) {
			return c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: ps, Name: aws.String("n"),
				Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{Statement: aws.String("permit(principal, action, resource);"), Description: aws.String("d")}}})
		}, func(t *testing.T, out any) {
			o := out.(*vp.CreatePolicyOutput)
			if o.Effect != types.PolicyEffectPermit || len(o.Actions) != 1 || aws.ToString(o.Principal.EntityId) != "pool|alice" || o.PolicyType != types.PolicyTypeStatic {
				t.Errorf("%+v", o)
			}
		}},
		{"CreatePolicy templateLinked", func() (any, error) {
			return c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: ps,
				Definition: &types.PolicyDefinitionMemberTemplateLinked{Value: types.TemplateLinkedPolicyDefinition{PolicyTemplateId: aws.String("pt1"), Principal: sdkEntity(), Resource: sdkEntity()}}})
		}, nil},
		{"GetPolicy", func() (any, error) {
			return c.GetPolicy(ctx, &vp.GetPolicyInput{PolicyStoreId: ps, PolicyId: aws.String("p1")})
		}, func(t *testing.T, out any) {
			o := out.(*vp.GetPolicyOutput)
			tl, ok := o.Definition.(*types.PolicyDefinitionDetailMemberTemplateLinked)
			if !ok || aws.ToString(tl.Value.PolicyTemplateId) != "pt1" || o.Effect != types.PolicyEffectForbid || aws.ToString(o.Name) != "n" {
				t.Errorf("%+v", o)
			}
		}},
		{"UpdatePolicy", func() (any, error) {
			return c.UpdatePolicy(ctx, &vp.UpdatePolicyInput{PolicyStoreId: ps, PolicyId: aws.String("p1"), Name: aws.String("n2"),
				Definition: &types.UpdatePolicyDefinitionMemberStatic{Value: types.UpdateStaticPolicyDefinition{Statement: aws.String("forbid(principal, action, resource);"), Description: aws.String("d")}}})
		}, nil},
		{"DeletePolicy", func() (any, error) {
			return c.DeletePolicy(ctx, &vp.DeletePolicyInput{PolicyStoreId: ps, PolicyId: aws.String("p1")})
		}, nil},
		{"ListPolicies", func() (any, error) {
			return c.ListPolicies(ctx, &vp.ListPoliciesInput{PolicyStoreId: ps, MaxResults: aws.Int32(50), Filter: &types.PolicyFilter{
				Principal: &types.EntityReferenceMemberIdentifier{Value: *sdkEntity()}, Resource: &types.EntityReferenceMemberUnspecified{Value: true},
				PolicyType: types.PolicyTypeTemplateLinked, PolicyTemplateId: aws.String("pt1")}})
		}, func(t *testing.T, out any) {
			o := out.(*vp.ListPoliciesOutput)
			if len(o.Policies) != 1 {
				t.Fatalf("%+v", o)
			}
			if st, ok := o.Policies[0].Definition.(*types.PolicyDefinitionItemMemberStatic); !ok || aws.ToString(st.Value.Description) != "only" {
				t.Errorf("definition = %#v", o.Policies[0].Definition)
			}
		}},
		{"BatchGetPolicy", func() (any, error) {
			return c.BatchGetPolicy(ctx, &vp.BatchGetPolicyInput{Requests: []types.BatchGetPolicyInputItem{{PolicyStoreId: ps, PolicyId: aws.String("p1")}}})
		}, func(t *testing.T, out any) {
			o := out.(*vp.BatchGetPolicyOutput)
			if len(o.Results) != 1 || len(o.Errors) != 1 || o.Errors[0].Code != types.BatchGetPolicyErrorCodePolicyNotFound {
				t.Errorf("%+v", o)
			}
			if st, ok := o.Results[0].Definition.(*types.PolicyDefinitionDetailMemberStatic); !ok || aws.ToString(st.Value.Statement) == "" {
				t.Errorf("definition = %#v", o.Results[0].Definition)
			}
		}},
		{"CreatePolicyTemplate", func() (any, error) {
			return c.CreatePolicyTemplate(ctx, &vp.CreatePolicyTemplateInput{PolicyStoreId: ps, Statement: aws.String("permit(principal == ?principal, action, resource);"), Description: aws.String("d"), Name: aws.String("n")})
		}, nil},
		{"GetPolicyTemplate", func() (any, error) {
			return c.GetPolicyTemplate(ctx, &vp.GetPolicyTemplateInput{PolicyStoreId: ps, PolicyTemplateId: aws.String("pt1")})
		}, func(t *testing.T, out any) {
			if o := out.(*vp.GetPolicyTemplateOutput); aws.ToString(o.Statement) == "" || aws.ToString(o.Name) != "n" {
				t.Errorf("%+v", o)
			}
		}},
		{"UpdatePolicyTemplate", func() (any, error) {
			return c.UpdatePolicyTemplate(ctx, &vp.UpdatePolicyTemplateInput{PolicyStoreId: ps, PolicyTemplateId: aws.String("pt1"), Statement: aws.String("permit(principal, action, resource in ?resource);"), Description: aws.String("d"), Name: aws.String("n")})
		}, nil},
		{"DeletePolicyTemplate", func() (any, error) {
			return c.DeletePolicyTemplate(ctx, &vp.DeletePolicyTemplateInput{PolicyStoreId: ps, PolicyTemplateId: aws.String("pt1")})
		}, nil},
		{"ListPolicyTemplates", func() (any, error) {
			return c.ListPolicyTemplates(ctx, &vp.ListPolicyTemplatesInput{PolicyStoreId: ps, NextToken: aws.String("t")})
		}, func(t *testing.T, out any) {
			if o := out.(*vp.ListPolicyTemplatesOutput); len(o.PolicyTemplates) != 1 {
				t.Errorf("%+v", o)
			}
		}},
		{"CreateIdentitySource cognito", func() (any, error) {
			return c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: ps, PrincipalEntityType: aws.String("PetStore::User"),
				Configuration: &types.ConfigurationMemberCognitoUserPoolConfiguration{Value: types.CognitoUserPoolConfiguration{
					UserPoolArn: aws.String("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_abc"), ClientIds: []string{"c1"},
					GroupConfiguration: &types.CognitoGroupConfiguration{GroupEntityType: aws.String("PetStore::UserGroup")}}}})
		}, nil},
		{"CreateIdentitySource oidc", func() (any, error) {
			return c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: ps, Configuration: &types.ConfigurationMemberOpenIdConnectConfiguration{Value: *oidc}})
		}, nil},
		{"GetIdentitySource", func() (any, error) {
			return c.GetIdentitySource(ctx, &vp.GetIdentitySourceInput{PolicyStoreId: ps, IdentitySourceId: aws.String("is-1")})
		}, func(t *testing.T, out any) {
			o := out.(*vp.GetIdentitySourceOutput)
			cg, ok := o.Configuration.(*types.ConfigurationDetailMemberCognitoUserPoolConfiguration)
			if !ok || aws.ToString(cg.Value.Issuer) == "" || aws.ToString(cg.Value.GroupConfiguration.GroupEntityType) != "PetStore::UserGroup" {
				t.Errorf("configuration = %#v", o.Configuration)
			}
			if o.Details == nil || o.Details.OpenIdIssuer != types.OpenIdIssuerCognito || aws.ToString(o.Details.DiscoveryUrl) == "" {
				t.Errorf("details = %+v", o.Details)
			}
		}},
		{"UpdateIdentitySource", func() (any, error) {
			return c.UpdateIdentitySource(ctx, &vp.UpdateIdentitySourceInput{PolicyStoreId: ps, IdentitySourceId: aws.String("is-1"), PrincipalEntityType: aws.String("PetStore::User"),
				UpdateConfiguration: &types.UpdateConfigurationMemberOpenIdConnectConfiguration{Value: types.UpdateOpenIdConnectConfiguration{
					Issuer: aws.String("https://idp.example.com"), GroupConfiguration: &types.UpdateOpenIdConnectGroupConfiguration{GroupClaim: aws.String("g"), GroupEntityType: aws.String("PetStore::UserGroup")},
					TokenSelection: &types.UpdateOpenIdConnectTokenSelectionMemberIdentityTokenOnly{Value: types.UpdateOpenIdConnectIdentityTokenConfiguration{ClientIds: []string{"c"}, PrincipalIdClaim: aws.String("sub")}}}}})
		}, nil},
		{"DeleteIdentitySource", func() (any, error) {
			return c.DeleteIdentitySource(ctx, &vp.DeleteIdentitySourceInput{PolicyStoreId: ps, IdentitySourceId: aws.String("is-1")})
		}, nil},
		{"ListIdentitySources", func() (any, error) {
			return c.ListIdentitySources(ctx, &vp.ListIdentitySourcesInput{PolicyStoreId: ps, Filters: []types.IdentitySourceFilter{{PrincipalEntityType: aws.String("PetStore::User")}}})
		}, func(t *testing.T, out any) {
			o := out.(*vp.ListIdentitySourcesOutput)
			if len(o.IdentitySources) != 1 || aws.ToString(o.IdentitySources[0].PrincipalEntityType) != "PetStore::User" {
				t.Errorf("%+v", o)
			}
			if _, ok := o.IdentitySources[0].Configuration.(*types.ConfigurationItemMemberCognitoUserPoolConfiguration); !ok {
				t.Errorf("configuration = %#v", o.IdentitySources[0].Configuration)
			}
		}},
		{"IsAuthorized", func() (any, error) {
			return c.IsAuthorized(ctx, &vp.IsAuthorizedInput{PolicyStoreId: ps, Principal: sdkEntity(), Action: sdkAction(), Resource: sdkEntity(),
				Context: &types.ContextDefinitionMemberContextMap{Value: allAttributeKinds()}, Entities: entities})
		}, func(t *testing.T, out any) {
			o := out.(*vp.IsAuthorizedOutput)
			if o.Decision != types.DecisionAllow || len(o.DeterminingPolicies) != 1 || aws.ToString(o.Errors[0].ErrorDescription) != "e" {
				t.Errorf("%+v", o)
			}
		}},
		{"IsAuthorized cedarJson", func() (any, error) {
			return c.IsAuthorized(ctx, &vp.IsAuthorizedInput{PolicyStoreId: ps, Principal: sdkEntity(), Action: sdkAction(), Resource: sdkEntity(),
				Context:  &types.ContextDefinitionMemberCedarJson{Value: `{"a":1}`},
				Entities: &types.EntitiesDefinitionMemberCedarJson{Value: `[{"uid":{"type":"U","id":"a"},"attrs":{},"parents":[]}]`}})
		}, nil},
		{"IsAuthorizedWithToken", func() (any, error) {
			return c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: ps, IdentityToken: aws.String("a.b.c"), AccessToken: aws.String("d.e.f"),
				Action: sdkAction(), Resource: sdkEntity(), Context: &types.ContextDefinitionMemberContextMap{Value: allAttributeKinds()}, Entities: entities})
		}, func(t *testing.T, out any) {
			o := out.(*vp.IsAuthorizedWithTokenOutput)
			if o.Decision != types.DecisionDeny || o.Principal == nil || o.DeterminingPolicies == nil {
				t.Errorf("%+v", o)
			}
		}},
		{"BatchIsAuthorized", func() (any, error) {
			return c.BatchIsAuthorized(ctx, &vp.BatchIsAuthorizedInput{PolicyStoreId: ps, Entities: entities, Requests: []types.BatchIsAuthorizedInputItem{
				{Principal: sdkEntity(), Action: sdkAction(), Resource: sdkEntity(), Context: &types.ContextDefinitionMemberContextMap{Value: allAttributeKinds()}}}})
		}, func(t *testing.T, out any) {
			o := out.(*vp.BatchIsAuthorizedOutput)
			if len(o.Results) != 1 || o.Results[0].Decision != types.DecisionAllow || aws.ToString(o.Results[0].Request.Principal.EntityId) != "pool|alice" {
				t.Errorf("%+v", o)
			}
		}},
		{"BatchIsAuthorizedWithToken", func() (any, error) {
			return c.BatchIsAuthorizedWithToken(ctx, &vp.BatchIsAuthorizedWithTokenInput{PolicyStoreId: ps, AccessToken: aws.String("a.b.c"), Entities: entities,
				Requests: []types.BatchIsAuthorizedWithTokenInputItem{{Action: sdkAction(), Resource: sdkEntity(), Context: &types.ContextDefinitionMemberCedarJson{Value: "{}"}}}})
		}, func(t *testing.T, out any) {
			o := out.(*vp.BatchIsAuthorizedWithTokenOutput)
			if o.Principal == nil || len(o.Results) != 1 || o.Results[0].Request.Resource == nil {
				t.Errorf("%+v", o)
			}
		}},
	}
	for _, tt := range calls {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.call()
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

func TestTimestampJSON(t *testing.T) {
	t.Parallel()
	ts := avpapi.NewTimestamp(time.Date(2026, 1, 2, 3, 4, 5, 678901234, time.FixedZone("x", 3600)))
	b, err := json.Marshal(ts)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `"2026-01-02T02:04:05.678Z"`; got != want {
		t.Fatalf("marshal = %s, want %s", got, want)
	}
	var back avpapi.Timestamp
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(ts.Time) {
		t.Fatalf("unmarshal = %v, %v", back, err)
	}
	for _, bad := range []string{`"yesterday"`, `12`, `"2026-01-02"`} {
		if err := json.Unmarshal([]byte(bad), &back); err == nil {
			t.Errorf("Unmarshal(%s) succeeded", bad)
		}
	}
}
