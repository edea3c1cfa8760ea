package idp_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestWritesAreAudited: every IdP write through the API reports actor, pool, user, object and
// what changed, and never a password, attribute value or token; failed writes report nothing.
func TestWritesAreAudited(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []idp.Change
		e := newEnv(t, st, idp.WithAudit(func(_ context.Context, c idp.Change) {
			mu.Lock()
			got = append(got, c)
			mu.Unlock()
		}))
		api := e.api
		poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("corp")})).UserPool.Id)
		clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})).UserPoolClient.ClientId)
		must[*cip.CreateGroupOutput](t)(api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String("owners")}))
		must[*cip.AdminCreateUserOutput](t)(api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice"),
			TemporaryPassword: aws.String(password), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("alice@example.com")}}}))
		must[*cip.AdminSetUserPasswordOutput](t)(api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID),
			Username: aws.String("alice"), Password: aws.String("Other-Horse-5!"), Permanent: true}))
		must[*cip.AdminAddUserToGroupOutput](t)(api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(poolID),
			Username: aws.String("alice"), GroupName: aws.String("owners")}))
		must[*cip.AdminUpdateUserAttributesOutput](t)(api.AdminUpdateUserAttributes(ctx, &cip.AdminUpdateUserAttributesInput{UserPoolId: aws.String(poolID),
			Username: aws.String("alice"), UserAttributes: []types.AttributeType{{Name: aws.String("custom:team"), Value: aws.String("secret-team")}}}))
		_, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(poolID), Username: aws.String("alice"), GroupName: aws.String("nope")})
		apiErr(t, err, "ResourceNotFoundException", "")
		auth := must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(clientID),
			AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Other-Horse-5!"}})).AuthenticationResult
		must[*cip.RevokeTokenOutput](t)(api.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String(clientID), Token: auth.RefreshToken}))
		auth = must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(clientID),
			AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Other-Horse-5!"}})).AuthenticationResult
		must[*cip.GlobalSignOutOutput](t)(api.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: auth.AccessToken}))
		must[*cip.AdminDisableUserOutput](t)(api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")}))
		must[*cip.AdminDeleteUserOutput](t)(api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")}))

		want := []idp.Change{
			{Actor: adminKey, Operation: "CreateUserPool", PoolID: poolID, Detail: "name corp"},
			{Actor: adminKey, Operation: "CreateUserPoolClient", PoolID: poolID, Target: clientID, Detail: "name web"},
			{Actor: adminKey, Operation: "CreateGroup", PoolID: poolID, Target: "owners"},
			{Actor: adminKey, Operation: "AdminCreateUser", PoolID: poolID, Username: "alice", Detail: "attributes: email"},
			{Actor: adminKey, Operation: "AdminSetUserPassword", PoolID: poolID, Username: "alice", Detail: "permanent password set"},
			{Actor: adminKey, Operation: "AdminAddUserToGroup", PoolID: poolID, Username: "alice", Target: "owners", Detail: "added to group owners"},
			{Actor: adminKey, Operation: "AdminUpdateUserAttributes", PoolID: poolID, Username: "alice", Detail: "attributes: custom:team"},
			{Actor: "client:" + clientID, Operation: "RevokeToken", PoolID: poolID, Target: clientID, Detail: "refresh token and its session revoked"},
			{Actor: "user:alice", Operation: "GlobalSignOut", PoolID: poolID, Username: "alice", Detail: "every token issued so far revoked"},
			{Actor: adminKey, Operation: "AdminDisableUser", PoolID: poolID, Username: "alice"},
			{Actor: adminKey, Operation: "AdminDeleteUser", PoolID: poolID, Username: "alice"},
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != len(want) {
			t.Fatalf("got %d changes, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("change %d: got %+v\nwant %+v", i, got[i], want[i])
			}
		}
		raw, _ := json.Marshal(got)
		for _, secret := range []string{password, "Other-Horse-5!", "alice@example.com", "secret-team", aws.ToString(auth.RefreshToken), aws.ToString(auth.AccessToken)} {
			if strings.Contains(string(raw), secret) {
				t.Fatalf("audit changes carry %q", secret)
			}
		}
	})
}
