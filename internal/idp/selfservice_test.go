package idp_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestListUsersInGroupAndChangePassword drives both calls and their errors through the SDK.
func TestListUsersInGroupAndChangePassword(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		api := e.api
		poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p")})).UserPool.Id)
		clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient.ClientId)
		must[*cip.CreateGroupOutput](t)(api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String("owners")}))
		for _, u := range []string{"alice", "bob", "carol"} {
			if _, err := e.idp.CreateUser(ctx, poolID, u, password, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, u := range []string{"alice", "carol"} {
			if err := e.idp.AddUserToGroup(ctx, poolID, u, "owners"); err != nil {
				t.Fatal(err)
			}
		}
		var names []string
		in := &cip.ListUsersInGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String("owners"), Limit: aws.Int32(1)}
		for p := cip.NewListUsersInGroupPaginator(api, in); p.HasMorePages(); {
			out := must[*cip.ListUsersInGroupOutput](t)(p.NextPage(ctx))
			for _, u := range out.Users {
				names = append(names, aws.ToString(u.Username))
			}
		}
		if len(names) != 2 || names[0] != "alice" || names[1] != "carol" {
			t.Fatalf("owners %v", names)
		}
		_, err := api.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String("nope")})
		apiErr(t, err, "ResourceNotFoundException", "Group not found.")
		_, err = api.ListUsersInGroup(ctx, &cip.ListUsersInGroupInput{UserPoolId: aws.String("us-east-1_nope"), GroupName: aws.String("owners")})
		apiErr(t, err, "ResourceNotFoundException", "")

		signIn := func(pw string) (*cip.InitiateAuthOutput, error) {
			return api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(clientID),
				AuthParameters: map[string]string{"USERNAME": "bob", "PASSWORD": pw}})
		}
		at := must[*cip.InitiateAuthOutput](t)(signIn(password)).AuthenticationResult.AccessToken
		_, err = api.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: at, PreviousPassword: aws.String("Wrong-Horse-1!"), ProposedPassword: aws.String("New-Horse-8!")})
		apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
		_, err = api.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: at, PreviousPassword: aws.String(password), ProposedPassword: aws.String("short")})
		apiErr(t, err, "InvalidPasswordException", "")
		_, err = api.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: aws.String("bad"), PreviousPassword: aws.String(password), ProposedPassword: aws.String("New-Horse-8!")})
		apiErr(t, err, "NotAuthorizedException", "Invalid Access Token")
		must[*cip.ChangePasswordOutput](t)(api.ChangePassword(ctx, &cip.ChangePasswordInput{AccessToken: at, PreviousPassword: aws.String(password), ProposedPassword: aws.String("New-Horse-8!")}))
		_, err = signIn(password)
		apiErr(t, err, "NotAuthorizedException", "")
		must[*cip.InitiateAuthOutput](t)(signIn("New-Horse-8!"))
	})
}
