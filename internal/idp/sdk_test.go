package idp_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func secretHash(secret, username, clientID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(username + clientID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TestCognitoSDK drives the IdP with the AWS SDK's cognitoidentityprovider client on every
// store backend.
func TestCognitoSDK(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		api := e.api

		pool := must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("petstore")})).UserPool
		poolID := aws.ToString(pool.Id)
		if !regexp.MustCompile(`^us-east-1_[A-Za-z0-9]{9}$`).MatchString(poolID) {
			t.Fatalf("pool id %q", poolID)
		}
		must[*cip.CreateResourceServerOutput](t)(api.CreateResourceServer(ctx, &cip.CreateResourceServerInput{
			UserPoolId: aws.String(poolID), Identifier: aws.String("petstore"), Name: aws.String("PetStore API"),
			Scopes: []types.ResourceServerScopeType{{ScopeName: aws.String("api"), ScopeDescription: aws.String("all")}},
		}))
		public := must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web"),
			ExplicitAuthFlows:  []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
			AllowedOAuthScopes: []string{"openid", "petstore/api"},
		})).UserPoolClient
		secretClient := must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("backend"), GenerateSecret: true,
			ExplicitAuthFlows:          []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
			PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesEnabled,
		})).UserPoolClient
		defaultClient := must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("defaults"),
		})).UserPoolClient
		if aws.ToString(secretClient.ClientSecret) == "" || aws.ToString(public.ClientSecret) != "" {
			t.Fatalf("secrets: %q %q", aws.ToString(secretClient.ClientSecret), aws.ToString(public.ClientSecret))
		}
		for _, g := range []string{"pet-veterinarian", "staff"} {
			must[*cip.CreateGroupOutput](t)(api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String(g), Precedence: aws.Int32(1)}))
		}
		_, err := api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String("staff")})
		apiErr(t, err, "GroupExistsException", "")

		created := must[*cip.AdminCreateUserOutput](t)(api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{
			UserPoolId: aws.String(poolID), Username: aws.String("alice"), MessageAction: types.MessageActionTypeSuppress,
			UserAttributes: []types.AttributeType{
				{Name: aws.String("email"), Value: aws.String("alice@example.com")},
				{Name: aws.String("email_verified"), Value: aws.String("true")},
				{Name: aws.String("custom:team"), Value: aws.String("blue")},
			},
		})).User
		if created.UserStatus != types.UserStatusTypeForceChangePassword {
			t.Fatalf("status %s", created.UserStatus)
		}
		_, err = api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")})
		apiErr(t, err, "UsernameExistsException", "User account already exists")
		must[*cip.AdminSetUserPasswordOutput](t)(api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
			UserPoolId: aws.String(poolID), Username: aws.String("alice"), Password: aws.String(password), Permanent: true}))
		for _, g := range []string{"pet-veterinarian", "staff"} {
			must[*cip.AdminAddUserToGroupOutput](t)(api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{
				UserPoolId: aws.String(poolID), Username: aws.String("alice"), GroupName: aws.String(g)}))
		}
		must[*cip.AdminCreateUserOutput](t)(api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")}))

		got := must[*cip.AdminGetUserOutput](t)(api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")}))
		if got.UserStatus != types.UserStatusTypeConfirmed || !got.Enabled || got.UserCreateDate == nil {
			t.Fatalf("AdminGetUser %+v", got)
		}
		var sub string
		for _, a := range got.UserAttributes {
			if aws.ToString(a.Name) == "sub" {
				sub = aws.ToString(a.Value)
			}
		}
		users := must[*cip.ListUsersOutput](t)(api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(poolID)}))
		if len(users.Users) != 2 || aws.ToString(users.Users[0].Username) != "alice" {
			t.Fatalf("ListUsers %d", len(users.Users))
		}
		filtered := must[*cip.ListUsersOutput](t)(api.ListUsers(ctx, &cip.ListUsersInput{UserPoolId: aws.String(poolID), Filter: aws.String(`email = "alice@example.com"`)}))
		if len(filtered.Users) != 1 {
			t.Fatalf("filtered ListUsers %d", len(filtered.Users))
		}
		groups := must[*cip.ListGroupsOutput](t)(api.ListGroups(ctx, &cip.ListGroupsInput{UserPoolId: aws.String(poolID)}))
		if len(groups.Groups) != 2 || aws.ToString(groups.Groups[0].GroupName) != "pet-veterinarian" {
			t.Fatalf("ListGroups %+v", groups.Groups)
		}

		auth := func(clientID string, params map[string]string) (*cip.InitiateAuthOutput, error) {
			return api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
				ClientId: aws.String(clientID), AuthParameters: params})
		}
		pubID, secID, secret := aws.ToString(public.ClientId), aws.ToString(secretClient.ClientId), aws.ToString(secretClient.ClientSecret)

		t.Run("sign in without secret", func(t *testing.T) {
			out := must[*cip.InitiateAuthOutput](t)(auth(pubID, map[string]string{"USERNAME": "alice", "PASSWORD": password}))
			r := out.AuthenticationResult
			if r == nil || aws.ToString(r.TokenType) != "Bearer" || r.ExpiresIn != 3600 || aws.ToString(r.RefreshToken) == "" {
				t.Fatalf("result %+v", r)
			}
			at := e.verify(t, poolID, aws.ToString(r.AccessToken))
			if at["token_use"] != "access" || at["client_id"] != pubID || at["username"] != "alice" || at["sub"] != sub ||
				at["scope"] != "aws.cognito.signin.user.admin petstore/api" || at["aud"] != nil {
				t.Fatalf("access claims %v", at)
			}
			if fmt.Sprint(at["cognito:groups"]) != "[pet-veterinarian staff]" {
				t.Fatalf("groups %v", at["cognito:groups"])
			}
			id := e.verify(t, poolID, aws.ToString(r.IdToken))
			if id["token_use"] != "id" || id["aud"] != pubID || id["cognito:username"] != "alice" || id["email"] != "alice@example.com" ||
				id["email_verified"] != true || id["custom:team"] != "blue" || id["origin_jti"] != at["origin_jti"] || id["event_id"] != at["event_id"] {
				t.Fatalf("id claims %v", id)
			}
			me := must[*cip.GetUserOutput](t)(api.GetUser(ctx, &cip.GetUserInput{AccessToken: r.AccessToken}))
			if aws.ToString(me.Username) != "alice" || len(me.UserAttributes) < 3 {
				t.Fatalf("GetUser %+v", me)
			}
			_, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: r.IdToken})
			apiErr(t, err, "NotAuthorizedException", "Invalid Access Token")
			again := must[*cip.InitiateAuthOutput](t)(auth(pubID, map[string]string{"USERNAME": "alice", "PASSWORD": password}))
			if at2 := e.verify(t, poolID, aws.ToString(again.AuthenticationResult.AccessToken)); at2["jti"] == at["jti"] || at2["event_id"] == at["event_id"] {
				t.Fatal("jti/event_id reused across issues")
			}

			refreshed := must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
				ClientId: aws.String(pubID), AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(r.RefreshToken)}})).AuthenticationResult
			if aws.ToString(refreshed.RefreshToken) != "" || aws.ToString(refreshed.IdToken) == "" {
				t.Fatalf("refresh result %+v", refreshed)
			}
			rat := e.verify(t, poolID, aws.ToString(refreshed.AccessToken))
			if rat["origin_jti"] != at["origin_jti"] || rat["jti"] == at["jti"] || rat["auth_time"] != at["auth_time"] {
				t.Fatalf("refreshed claims %v vs %v", rat, at)
			}
			// Revoked refresh tokens stop working.
			must[*cip.RevokeTokenOutput](t)(api.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String(pubID), Token: r.RefreshToken}))
			_, err = api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
				ClientId: aws.String(pubID), AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(r.RefreshToken)}})
			apiErr(t, err, "NotAuthorizedException", "")
		})

		t.Run("sign in with secret hash", func(t *testing.T) {
			out := must[*cip.InitiateAuthOutput](t)(auth(secID, map[string]string{"USERNAME": "alice", "PASSWORD": password,
				"SECRET_HASH": secretHash(secret, "alice", secID)}))
			rt := aws.ToString(out.AuthenticationResult.RefreshToken)
			if e.verify(t, poolID, aws.ToString(out.AuthenticationResult.AccessToken))["client_id"] != secID {
				t.Fatal("client_id")
			}
			_, err := auth(secID, map[string]string{"USERNAME": "alice", "PASSWORD": password})
			apiErr(t, err, "NotAuthorizedException", "Client "+secID+" is configured for secret but secret was not received")
			_, err = auth(secID, map[string]string{"USERNAME": "alice", "PASSWORD": password, "SECRET_HASH": secretHash("wrong", "alice", secID)})
			apiErr(t, err, "NotAuthorizedException", "Unable to verify secret hash for client "+secID)
			ref := must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
				ClientId: aws.String(secID), AuthParameters: map[string]string{"REFRESH_TOKEN": rt, "SECRET_HASH": secretHash(secret, sub, secID)}}))
			if ref.AuthenticationResult == nil {
				t.Fatal("no refresh result")
			}
			// A refresh token is bound to its client.
			_, err = api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
				ClientId: aws.String(pubID), AuthParameters: map[string]string{"REFRESH_TOKEN": rt}})
			apiErr(t, err, "NotAuthorizedException", "Invalid Refresh Token")
		})

		t.Run("admin initiate auth", func(t *testing.T) {
			adminClient := must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
				UserPoolId: aws.String(poolID), ClientName: aws.String("admin-script"),
				ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
			})).UserPoolClient
			out := must[*cip.AdminInitiateAuthOutput](t)(api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
				UserPoolId: aws.String(poolID), ClientId: adminClient.ClientId, AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
				AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": password}}))
			if at := e.verify(t, poolID, aws.ToString(out.AuthenticationResult.AccessToken)); at["username"] != "alice" {
				t.Fatalf("claims %v", at)
			}
			_, err := api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{
				UserPoolId: aws.String(poolID), ClientId: aws.String(pubID), AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
				AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": password}})
			apiErr(t, err, "InvalidParameterException", "ADMIN_USER_PASSWORD_AUTH flow not enabled for this client")
			_, err = auth(aws.ToString(adminClient.ClientId), map[string]string{"USERNAME": "alice", "PASSWORD": password})
			apiErr(t, err, "InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
		})

		t.Run("documented errors", func(t *testing.T) {
			_, err := auth(pubID, map[string]string{"USERNAME": "alice", "PASSWORD": "Wrong-pass1!"})
			apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
			_, err = auth(pubID, map[string]string{"USERNAME": "nobody", "PASSWORD": password})
			apiErr(t, err, "UserNotFoundException", "User does not exist.")
			// The secret client prevents user existence errors.
			_, err = auth(secID, map[string]string{"USERNAME": "nobody", "PASSWORD": password, "SECRET_HASH": secretHash(secret, "nobody", secID)})
			apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")
			_, err = auth(aws.ToString(defaultClient.ClientId), map[string]string{"USERNAME": "alice", "PASSWORD": password})
			apiErr(t, err, "InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")
			_, err = auth("nosuchclient", map[string]string{"USERNAME": "alice", "PASSWORD": password})
			apiErr(t, err, "ResourceNotFoundException", "")
			_, err = api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_missing00"), Username: aws.String("alice")})
			apiErr(t, err, "ResourceNotFoundException", "User pool us-east-1_missing00 does not exist.")
			_, err = api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("nobody")})
			apiErr(t, err, "UserNotFoundException", "User does not exist.")
		})

		t.Run("new password challenge", func(t *testing.T) {
			must[*cip.AdminSetUserPasswordOutput](t)(api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{
				UserPoolId: aws.String(poolID), Username: aws.String("bob"), Password: aws.String("Temp-pass1!")}))
			out := must[*cip.InitiateAuthOutput](t)(auth(pubID, map[string]string{"USERNAME": "bob", "PASSWORD": "Temp-pass1!"}))
			if out.ChallengeName != types.ChallengeNameTypeNewPasswordRequired || aws.ToString(out.Session) == "" || out.AuthenticationResult != nil {
				t.Fatalf("challenge %+v", out)
			}
			resp := must[*cip.RespondToAuthChallengeOutput](t)(api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{
				ClientId: aws.String(pubID), ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: out.Session,
				ChallengeResponses: map[string]string{"USERNAME": "bob", "NEW_PASSWORD": "New-pass-2!"}}))
			if resp.AuthenticationResult == nil {
				t.Fatal("no tokens after challenge")
			}
			_, err := api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{
				ClientId: aws.String(pubID), ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: out.Session,
				ChallengeResponses: map[string]string{"USERNAME": "bob", "NEW_PASSWORD": "New-pass-3!"}})
			apiErr(t, err, "NotAuthorizedException", "")
			must[*cip.InitiateAuthOutput](t)(auth(pubID, map[string]string{"USERNAME": "bob", "PASSWORD": "New-pass-2!"}))
		})

		t.Run("group membership and deletion", func(t *testing.T) {
			must[*cip.AdminRemoveUserFromGroupOutput](t)(api.AdminRemoveUserFromGroup(ctx, &cip.AdminRemoveUserFromGroupInput{
				UserPoolId: aws.String(poolID), Username: aws.String("alice"), GroupName: aws.String("staff")}))
			out := must[*cip.InitiateAuthOutput](t)(auth(pubID, map[string]string{"USERNAME": "alice", "PASSWORD": password}))
			if g := e.verify(t, poolID, aws.ToString(out.AuthenticationResult.AccessToken))["cognito:groups"]; fmt.Sprint(g) != "[pet-veterinarian]" {
				t.Fatalf("groups after removal %v", g)
			}
			must[*cip.AdminDisableUserOutput](t)(api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")}))
			_, err := auth(pubID, map[string]string{"USERNAME": "alice", "PASSWORD": password})
			apiErr(t, err, "NotAuthorizedException", "User is disabled.")
			_, err = api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
				ClientId: aws.String(pubID), AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(out.AuthenticationResult.RefreshToken)}})
			apiErr(t, err, "NotAuthorizedException", "User is disabled.")
			must[*cip.AdminDeleteUserOutput](t)(api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")}))
			_, err = api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")})
			apiErr(t, err, "UserNotFoundException", "")
		})

		t.Run("admin calls need the management credentials", func(t *testing.T) {
			wrong := sdkClient(t, e.srv.URL, "AKIDUNKNOWN", "x")
			_, err := wrong.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(10)})
			apiErr(t, err, "UnrecognizedClientException", "")
			badSecret := sdkClient(t, e.srv.URL, adminKey, "not-the-secret")
			_, err = badSecret.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(10)})
			apiErr(t, err, "InvalidSignatureException", "")
			// Unsigned admin call over raw HTTP.
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(`{"MaxResults":10}`))
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.ListUserPools")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "AccessDeniedException") {
				t.Fatalf("unsigned admin call: %d %s", resp.StatusCode, b)
			}
			pools := must[*cip.ListUserPoolsOutput](t)(api.ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(10)}))
			if len(pools.UserPools) != 1 || aws.ToString(pools.UserPools[0].Id) != poolID {
				t.Fatalf("ListUserPools %+v", pools.UserPools)
			}
		})

		t.Run("deleted pool", func(t *testing.T) {
			other := must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("scratch")})).UserPool
			c := must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
				UserPoolId: other.Id, ClientName: aws.String("c"),
				ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient
			_, err := auth(aws.ToString(c.ClientId), map[string]string{"USERNAME": "alice", "PASSWORD": password})
			apiErr(t, err, "UserNotFoundException", "")
			must[*cip.DeleteUserPoolOutput](t)(api.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: other.Id}))
			_, err = auth(aws.ToString(c.ClientId), map[string]string{"USERNAME": "alice", "PASSWORD": password})
			apiErr(t, err, "ResourceNotFoundException", "")
			_, err = api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: other.Id})
			apiErr(t, err, "ResourceNotFoundException", "")
		})

		t.Run("user pool clients describe", func(t *testing.T) {
			d := must[*cip.DescribeUserPoolClientOutput](t)(api.DescribeUserPoolClient(ctx, &cip.DescribeUserPoolClientInput{
				UserPoolId: aws.String(poolID), ClientId: aws.String(secID)})).UserPoolClient
			if aws.ToString(d.ClientSecret) != secret || d.PreventUserExistenceErrors != types.PreventUserExistenceErrorTypesEnabled ||
				!slices.Contains(d.ExplicitAuthFlows, types.ExplicitAuthFlowsTypeAllowUserPasswordAuth) {
				t.Fatalf("describe %+v", d)
			}
		})
	})
}

// TestInitiateAuthKeyOrder checks the raw body: scripts cut the access token out by position.
func TestInitiateAuthKeyOrder(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	pool := must[*idpPool](t)(createPool(ctx, e))
	body := fmt.Sprintf(`{"AuthFlow":"USER_PASSWORD_AUTH","ClientId":%q,"AuthParameters":{"USERNAME":"alice","PASSWORD":%q}}`, pool.clientID, password)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	re := regexp.MustCompile(`^\{"AuthenticationResult":\{"AccessToken":"[^"]+","ExpiresIn":3600,"IdToken":"[^"]+","RefreshToken":"[^"]+","TokenType":"Bearer"\},"ChallengeParameters":\{\}\}$`)
	if resp.StatusCode != http.StatusOK || !re.Match(b) {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	// The sample's extraction: cut -d':' -f 3 | cut -d'"' -f 2.
	field3 := strings.Split(string(b), ":")[2]
	tok := strings.Split(field3, `"`)[1]
	e.verify(t, pool.id, tok)

	// Wrong password: Cognito's error body.
	body = strings.Replace(body, password, "Wrong-pass1!", 1)
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	b, _ = io.ReadAll(resp2.Body)
	if resp2.StatusCode != http.StatusBadRequest || string(b) != `{"__type":"NotAuthorizedException","message":"Incorrect username or password."}` {
		t.Fatalf("%d %s", resp2.StatusCode, b)
	}
}
