package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// Article 002 end to end with the built-in IdP: a pre-token-generation webhook adds
// custom:costCenter at sign-in, Cognito's InitiateAuth (through the AWS SDK) returns the ID
// token, and IsAuthorizedWithToken (through the AWS SDK) decides on the token's claims and
// groups.
func TestBuiltInIdPTokensDecideThroughAVP(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			cfg := apptest.WithIdP(t, apptest.Config(t, backend))
			node := apptest.Start(t, cfg)
			ctx := context.Background()

			costCenter := "Finance-EMEA"
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var ev map[string]any
				_ = json.NewDecoder(r.Body).Decode(&ev)
				ev["response"] = map[string]any{"claimsAndScopeOverrideDetails": map[string]any{
					"idTokenGeneration": map[string]any{"claimsToAddOrOverride": map[string]any{"custom:costCenter": costCenter}},
				}}
				json.NewEncoder(w).Encode(ev)
			}))
			defer hook.Close()

			pool, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: "corp", PreTokenHook: &idp.Hook{URL: hook.URL}})
			if err != nil {
				t.Fatal(err)
			}
			client, err := node.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "finance-app", ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := node.IdP.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: "finance"}); err != nil {
				t.Fatal(err)
			}
			user, err := node.IdP.CreateUser(ctx, pool.ID, "alice", "Correct-Horse-9", map[string]string{"email": "alice@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if err := node.IdP.AddUserToGroup(ctx, pool.ID, "alice", "finance"); err != nil {
				t.Fatal(err)
			}

			c := avpClient(t, node, testKeyID, testSecret)
			ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
			if err != nil {
				t.Fatal(err)
			}
			arn := "arn:aws:cognito-idp:us-east-1:000000000000:userpool/" + pool.ID
			_, err = c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: ps.PolicyStoreId, PrincipalEntityType: aws.String("ExampleCorp::User"),
				Configuration: &types.ConfigurationMemberCognitoUserPoolConfiguration{Value: types.CognitoUserPoolConfiguration{
					UserPoolArn: aws.String(arn), ClientIds: []string{client.ID},
					GroupConfiguration: &types.CognitoGroupConfiguration{GroupEntityType: aws.String("ExampleCorp::UserGroup")}}}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetIdentitySource(ctx, &vp.GetIdentitySourceInput{PolicyStoreId: ps.PolicyStoreId, IdentitySourceId: aws.String("ISnope")})
			asAPIError[*types.ResourceNotFoundException](t, err)

			_, err = c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: ps.PolicyStoreId, Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{
				Statement: aws.String(`permit(principal in ExampleCorp::UserGroup::"` + pool.ID + `|finance",
  action in [ExampleCorp::Action::"readFile", ExampleCorp::Action::"writeFile"],
  resource == ExampleCorp::File::"ledger")
when { principal.aud == "` + client.ID + `" && principal["custom:costCenter"] like "Finance*" };`)}}})
			if err != nil {
				t.Fatal(err)
			}

			awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
			if err != nil {
				t.Fatal(err)
			}
			cognito := cip.NewFromConfig(awsCfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(cfg.IdPIssuerBase) })
			signIn := func() *ciptypes.AuthenticationResultType {
				out, err := cognito.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(client.ID),
					AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Correct-Horse-9"}})
				if err != nil {
					t.Fatal(err)
				}
				return out.AuthenticationResult
			}
			ask := func(idToken string) *vp.IsAuthorizedWithTokenOutput {
				out, err := c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: ps.PolicyStoreId, IdentityToken: aws.String(idToken),
					Action:   &types.ActionIdentifier{ActionType: aws.String("ExampleCorp::Action"), ActionId: aws.String("readFile")},
					Resource: &types.EntityIdentifier{EntityType: aws.String("ExampleCorp::File"), EntityId: aws.String("ledger")}})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}

			out := ask(aws.ToString(signIn().IdToken))
			if out.Decision != types.DecisionAllow {
				t.Fatalf("finance user with hook claim: %+v", out)
			}
			if got, want := aws.ToString(out.Principal.EntityId), pool.ID+"|"+user.Sub; got != want {
				t.Fatalf("principal %q, want %q", got, want)
			}
			costCenter = "Sales" // the webhook now stamps another cost center
			if out := ask(aws.ToString(signIn().IdToken)); out.Decision != types.DecisionDeny {
				t.Fatalf("sales cost center allowed: %+v", out)
			}
			// The access token is not an ID token.
			_, err = c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: ps.PolicyStoreId, IdentityToken: signIn().AccessToken,
				Action:   &types.ActionIdentifier{ActionType: aws.String("ExampleCorp::Action"), ActionId: aws.String("readFile")},
				Resource: &types.EntityIdentifier{EntityType: aws.String("ExampleCorp::File"), EntityId: aws.String("ledger")}})
			asAPIError[*types.ValidationException](t, err)
		})
	}
}
