package idp_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"math/big"
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

// TestPoolAndUserCalls drives AdminListGroupsForUser, UpdateUserPool, GetSigningCertificate,
// AdminResetUserPassword and UpdateUserAttributes, with their errors, through the SDK.
func TestPoolAndUserCalls(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var changes []idp.Change
		e := newEnv(t, st, idp.WithAudit(func(_ context.Context, c idp.Change) {
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
		}))
		api := e.api
		poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p")})).UserPool.Id)
		clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}})).UserPoolClient.ClientId)
		for _, g := range []string{"owners", "staff", "other"} {
			must[*cip.CreateGroupOutput](t)(api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: aws.String(g)}))
		}
		if _, err := e.idp.CreateUser(ctx, poolID, "bob", password, map[string]string{"email": "bob@example.com", "email_verified": "true", "custom:team": "blue"}); err != nil {
			t.Fatal(err)
		}
		for _, g := range []string{"staff", "owners"} {
			if err := e.idp.AddUserToGroup(ctx, poolID, "bob", g); err != nil {
				t.Fatal(err)
			}
		}

		// AdminListGroupsForUser
		var names []string
		for pg := cip.NewAdminListGroupsForUserPaginator(api, &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"), Limit: aws.Int32(1)}); pg.HasMorePages(); {
			for _, g := range must[*cip.AdminListGroupsForUserOutput](t)(pg.NextPage(ctx)).Groups {
				names = append(names, aws.ToString(g.GroupName))
				if aws.ToString(g.UserPoolId) != poolID {
					t.Fatalf("group pool %q", aws.ToString(g.UserPoolId))
				}
			}
		}
		if strings.Join(names, ",") != "owners,staff" {
			t.Fatalf("groups %v", names)
		}
		_, err := api.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(poolID), Username: aws.String("nobody")})
		apiErr(t, err, "UserNotFoundException", "")
		_, err = api.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"), NextToken: aws.String("!!")})
		apiErr(t, err, "InvalidParameterException", "Invalid pagination token.")

		// UpdateUserPool: the hook is set, then removed by an update without LambdaConfig.
		hook := "https://hooks.example.com/pre?sig=s3cret"
		must[*cip.UpdateUserPoolOutput](t)(api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID),
			LambdaConfig: &types.LambdaConfigType{PreTokenGenerationConfig: &types.PreTokenGenerationVersionConfigType{LambdaArn: aws.String(hook), LambdaVersion: types.PreTokenGenerationLambdaVersionTypeV20}}}))
		lc := must[*cip.DescribeUserPoolOutput](t)(api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(poolID)})).UserPool.LambdaConfig
		if lc == nil || lc.PreTokenGenerationConfig == nil || aws.ToString(lc.PreTokenGenerationConfig.LambdaArn) != hook {
			t.Fatalf("hook not set: %+v", lc)
		}
		must[*cip.UpdateUserPoolOutput](t)(api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID)}))
		lc = must[*cip.DescribeUserPoolOutput](t)(api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(poolID)})).UserPool.LambdaConfig
		if lc != nil && lc.PreTokenGenerationConfig != nil {
			t.Fatalf("hook not removed: %+v", lc.PreTokenGenerationConfig)
		}
		_, err = api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID),
			LambdaConfig: &types.LambdaConfigType{PreTokenGenerationConfig: &types.PreTokenGenerationVersionConfigType{LambdaArn: aws.String("arn:aws:lambda:us-east-1:1:function:f"), LambdaVersion: types.PreTokenGenerationLambdaVersionTypeV20}}})
		apiErr(t, err, "InvalidParameterException", "")
		_, err = api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String("us-east-1_nope")})
		apiErr(t, err, "ResourceNotFoundException", "")

		// GetSigningCertificate carries the key the JWKS publishes, and is stable.
		certB64 := aws.ToString(must[*cip.GetSigningCertificateOutput](t)(api.GetSigningCertificate(ctx, &cip.GetSigningCertificateInput{UserPoolId: aws.String(poolID)})).Certificate)
		der, err := base64.StdEncoding.DecodeString(certB64)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature); err != nil {
			t.Fatalf("not self-signed: %v", err)
		}
		var jwks struct {
			Keys []struct{ N string } `json:"keys"`
		}
		getJSON(t, e.srv.URL+"/"+poolID+"/.well-known/jwks.json", &jwks)
		n, _ := base64.RawURLEncoding.DecodeString(jwks.Keys[0].N)
		if cert.PublicKey.(*rsa.PublicKey).N.Cmp(new(big.Int).SetBytes(n)) != 0 {
			t.Fatal("certificate key is not the pool's current signing key")
		}
		if again := aws.ToString(must[*cip.GetSigningCertificateOutput](t)(api.GetSigningCertificate(ctx, &cip.GetSigningCertificateInput{UserPoolId: aws.String(poolID)})).Certificate); again != certB64 {
			t.Fatal("certificate changed between calls")
		}
		_, err = api.GetSigningCertificate(ctx, &cip.GetSigningCertificateInput{UserPoolId: aws.String("us-east-1_nope")})
		apiErr(t, err, "ResourceNotFoundException", "")

		signIn := func(pw string) (*cip.InitiateAuthOutput, error) {
			return api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(clientID),
				AuthParameters: map[string]string{"USERNAME": "bob", "PASSWORD": pw}})
		}
		attrsOf := func() map[string]string {
			m := map[string]string{}
			for _, a := range must[*cip.AdminGetUserOutput](t)(api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")})).UserAttributes {
				m[aws.ToString(a.Name)] = aws.ToString(a.Value)
			}
			return m
		}

		// UpdateUserAttributes: profile attributes only; a new email is unverified.
		at := must[*cip.InitiateAuthOutput](t)(signIn(password)).AuthenticationResult.AccessToken
		for _, a := range []string{"custom:team", "email_verified", "phone_number_verified"} {
			_, err = api.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: at, UserAttributes: []types.AttributeType{{Name: aws.String(a), Value: aws.String("true")}}})
			apiErr(t, err, "NotAuthorizedException", "A client attempted to write unauthorized attribute")
		}
		_, err = api.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: aws.String("bad"), UserAttributes: []types.AttributeType{{Name: aws.String("name"), Value: aws.String("B")}}})
		apiErr(t, err, "NotAuthorizedException", "Invalid Access Token")
		_, err = api.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: at, UserAttributes: []types.AttributeType{{Name: aws.String("shoe_size"), Value: aws.String("9")}}})
		apiErr(t, err, "InvalidParameterException", "")
		must[*cip.UpdateUserAttributesOutput](t)(api.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: at, UserAttributes: []types.AttributeType{
			{Name: aws.String("name"), Value: aws.String("Bob B")}, {Name: aws.String("email"), Value: aws.String("bob@evil.example")}}}))
		got := attrsOf()
		if got["name"] != "Bob B" || got["email"] != "bob@evil.example" || got["email_verified"] != "" || got["custom:team"] != "blue" {
			t.Fatalf("attributes after self update: %v", got)
		}
		mu.Lock()
		last := changes[len(changes)-1]
		mu.Unlock()
		if last.Operation != "UpdateUserAttributes" || last.Actor != "user:bob" || last.Detail != "attributes: email,name" || strings.Contains(last.Detail, "evil") {
			t.Fatalf("audit %+v", last)
		}

		// AdminResetUserPassword: sign-in needs a new password, issued tokens stop working.
		rt := must[*cip.InitiateAuthOutput](t)(signIn(password)).AuthenticationResult.RefreshToken
		e.clock.Advance(1e9) // the revocation covers tokens issued up to the reset's second
		must[*cip.AdminResetUserPasswordOutput](t)(api.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")}))
		if s := must[*cip.AdminGetUserOutput](t)(api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob")})).UserStatus; s != types.UserStatusTypeResetRequired {
			t.Fatalf("status %s", s)
		}
		_, err = signIn(password)
		apiErr(t, err, "PasswordResetRequiredException", "")
		_, err = signIn("Wrong-Horse-1!")
		apiErr(t, err, "NotAuthorizedException", "")
		_, err = api.GetUser(ctx, &cip.GetUserInput{AccessToken: at})
		apiErr(t, err, "NotAuthorizedException", "")
		_, err = api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth, ClientId: aws.String(clientID),
			AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(rt)}})
		apiErr(t, err, "NotAuthorizedException", "")
		_, err = api.AdminResetUserPassword(ctx, &cip.AdminResetUserPasswordInput{UserPoolId: aws.String(poolID), Username: aws.String("nobody")})
		apiErr(t, err, "UserNotFoundException", "")
		must[*cip.AdminSetUserPasswordOutput](t)(api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"), Password: aws.String("New-Horse-8!"), Permanent: true}))
		must[*cip.InitiateAuthOutput](t)(signIn("New-Horse-8!"))
	})
}
