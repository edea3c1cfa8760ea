package awsjson_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
)

// TestJSON11PublicOp serves a JSON 1.1 service the way the built-in IdP
// does: InitiateAuth is public (the SDK never signs it), admin calls are not.
func TestJSON11PublicOp(t *testing.T) {
	t.Parallel()
	s := &awsjson.Service{
		TargetPrefix: "AWSCognitoIdentityProviderService",
		JSONVersion:  "1.1",
		Public:       map[string]bool{"InitiateAuth": true},
		Verifier:     &sigv4.Verifier{Lookup: func(string) (string, bool) { return "", false }, Services: []string{"cognito-idp"}, Region: "us-east-1"},
		Ops: map[string]awsjson.Op{
			"InitiateAuth": func(ctx context.Context, body []byte) (any, error) {
				var in struct {
					AuthFlow       string
					ClientID       string `json:"ClientId"`
					AuthParameters map[string]string
				}
				if err := awsjson.Decode(body, &in); err != nil {
					return nil, err
				}
				if in.AuthParameters["USERNAME"] != "alice" {
					return nil, &awsjson.Error{Type: "NotAuthorizedException", Message: "Incorrect username or password.", Status: 400}
				}
				return map[string]any{"AuthenticationResult": map[string]any{"AccessToken": "a.b.c", "ExpiresIn": 3600, "TokenType": "Bearer"}, "ChallengeParameters": map[string]string{}}, nil
			},
			"AdminGetUser": func(ctx context.Context, body []byte) (any, error) {
				return map[string]string{"Username": "alice"}, nil
			},
		},
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := cip.NewFromConfig(aws.Config{Region: "us-east-1", RetryMaxAttempts: 1, Credentials: aws.AnonymousCredentials{}},
		func(o *cip.Options) { o.BaseEndpoint = aws.String(srv.URL) })
	ctx := context.Background()

	out, err := c.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth, ClientId: aws.String("client"),
		AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "pw"}})
	if err != nil {
		t.Fatalf("InitiateAuth: %v", err)
	}
	if aws.ToString(out.AuthenticationResult.AccessToken) != "a.b.c" || out.AuthenticationResult.ExpiresIn != 3600 {
		t.Fatalf("result = %+v", out.AuthenticationResult)
	}

	_, err = c.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth, ClientId: aws.String("client"),
		AuthParameters: map[string]string{"USERNAME": "mallory"}})
	var na *ciptypes.NotAuthorizedException
	if !errors.As(err, &na) {
		t.Fatalf("err = %v, want NotAuthorizedException", err)
	}

	_, err = c.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String("us-east-1_x"), Username: aws.String("alice")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDeniedException" {
		t.Fatalf("unsigned admin call: err = %v", err)
	}
}
