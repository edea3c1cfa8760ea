package idp_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestRevocationReachesValidation: each way of ending a user's sessions, driven through the AWS
// SDK, makes the tokens already issued fail in the gateway's validator (a registry with the IdP
// as its RevocationChecker) — a verified-token cache hit and a decision cache's KeyStamp
// included — while tokens issued afterwards (and other sessions, for RevokeToken) still pass.
func TestRevocationReachesValidation(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		api := e.api
		poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p")})).UserPool.Id)
		clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
		})).UserPoolClient.ClientId)

		reg := identity.New(identity.WithClock(e.clock.Now), identity.WithRevocationChecker(e.idp))
		defer reg.Close()
		src := []*identity.Source{{ID: "builtin", Kind: identity.KindCognito, Issuer: e.idp.Issuer(poolID),
			ClientIDs: []string{clientID}, EntityIDPrefix: poolID, PrincipalEntityType: "App::User"}}

		signIn := func(t *testing.T, user string) *types.AuthenticationResultType {
			t.Helper()
			return must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
				ClientId: aws.String(clientID), AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})).AuthenticationResult
		}
		// valid validates both tokens twice (the second from the cache) and returns the access
		// token's stamp, as the gateway keeps it in a decision cache entry.
		valid := func(t *testing.T, r *types.AuthenticationResultType) identity.KeyStamp {
			t.Helper()
			var stamp identity.KeyStamp
			for range 2 {
				tok, _, err := reg.Validate(ctx, aws.ToString(r.AccessToken), identity.UseAccess, src)
				if err != nil {
					t.Fatalf("access token: %v", err)
				}
				if _, _, err := reg.Validate(ctx, aws.ToString(r.IdToken), identity.UseID, src); err != nil {
					t.Fatalf("ID token: %v", err)
				}
				stamp = tok.Keys()
			}
			return stamp
		}
		revoked := func(t *testing.T, r *types.AuthenticationResultType, stamp identity.KeyStamp) {
			t.Helper()
			for _, c := range []struct {
				raw string
				use identity.TokenUse
			}{{aws.ToString(r.AccessToken), identity.UseAccess}, {aws.ToString(r.IdToken), identity.UseID}} {
				if _, _, err := reg.Validate(ctx, c.raw, c.use, src); !errors.Is(err, identity.ErrRevoked) {
					t.Fatalf("%v token after revocation: %v, want ErrRevoked", c.use, err)
				}
			}
			if stamp.Current() {
				t.Fatal("a decision cached from the revoked token would still be used")
			}
			_, err := api.GetUser(ctx, &cip.GetUserInput{AccessToken: r.AccessToken})
			apiErr(t, err, "NotAuthorizedException", "")
		}
		refreshFails := func(t *testing.T, r *types.AuthenticationResultType) {
			t.Helper()
			_, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth, ClientId: aws.String(clientID),
				AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(r.RefreshToken)}})
			apiErr(t, err, "NotAuthorizedException", "")
		}

		for _, tc := range []struct {
			name   string
			revoke func(t *testing.T, user string, r *types.AuthenticationResultType) error
			again  bool // the user can sign in again afterwards
		}{
			{"GlobalSignOut", func(_ *testing.T, _ string, r *types.AuthenticationResultType) error {
				_, err := api.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: r.AccessToken})
				return err
			}, true},
			{"AdminUserGlobalSignOut", func(_ *testing.T, user string, _ *types.AuthenticationResultType) error {
				_, err := api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String(poolID), Username: aws.String(user)})
				return err
			}, true},
			{"AdminDisableUser", func(_ *testing.T, user string, _ *types.AuthenticationResultType) error {
				_, err := api.AdminDisableUser(ctx, &cip.AdminDisableUserInput{UserPoolId: aws.String(poolID), Username: aws.String(user)})
				return err
			}, false},
			{"AdminDeleteUser", func(_ *testing.T, user string, _ *types.AuthenticationResultType) error {
				_, err := api.AdminDeleteUser(ctx, &cip.AdminDeleteUserInput{UserPoolId: aws.String(poolID), Username: aws.String(user)})
				return err
			}, false},
			{"RevokeToken", func(_ *testing.T, _ string, r *types.AuthenticationResultType) error {
				_, err := api.RevokeToken(ctx, &cip.RevokeTokenInput{ClientId: aws.String(clientID), Token: r.RefreshToken})
				return err
			}, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				user := "u-" + tc.name
				if _, err := e.idp.CreateUser(ctx, poolID, user, password, nil); err != nil {
					t.Fatal(err)
				}
				r, other := signIn(t, user), signIn(t, user)
				stamp := valid(t, r)
				valid(t, other)
				if err := tc.revoke(t, user, r); err != nil {
					t.Fatal(err)
				}
				revoked(t, r, stamp)
				refreshFails(t, r)
				if tc.name == "RevokeToken" {
					valid(t, other) // only that session ends
				}
				if tc.again {
					valid(t, signIn(t, user)) // in the same second as the revocation
				}
			})
		}

		_, err := api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String(poolID), Username: aws.String("nobody")})
		apiErr(t, err, "UserNotFoundException", "")

		// Deleting the pool revokes its tokens, though validators still hold its keys.
		if _, err := e.idp.CreateUser(ctx, poolID, "last", password, nil); err != nil {
			t.Fatal(err)
		}
		last := signIn(t, "last")
		stamp := valid(t, last)
		must[*cip.DeleteUserPoolOutput](t)(api.DeleteUserPool(ctx, &cip.DeleteUserPoolInput{UserPoolId: aws.String(poolID)}))
		if _, _, err := reg.Validate(ctx, aws.ToString(last.AccessToken), identity.UseAccess, src); !errors.Is(err, identity.ErrRevoked) {
			t.Fatalf("token of a deleted pool: %v, want ErrRevoked", err)
		}
		if stamp.Current() {
			t.Fatal("a decision cached from a deleted pool's token would still be used")
		}

		_, err = api.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: aws.String("not-a-token")})
		apiErr(t, err, "NotAuthorizedException", "")
		_, err = api.AdminUserGlobalSignOut(ctx, &cip.AdminUserGlobalSignOutInput{UserPoolId: aws.String("us-east-1_nope"), Username: aws.String("nobody")})
		apiErr(t, err, "ResourceNotFoundException", "")
	})
}
