package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// TestSignInThrottleSettings: a node's signIn* settings are the limits its IdP applies. With
// signInMaxFailuresPerUser 2, two wrong passwords lock the user out, so the right password is
// refused next ("Password attempts exceeded"); under the defaults (5 free failures) it would
// sign in.
func TestSignInThrottleSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.SignInFreeFailures, cfg.SignInMaxFailuresPerUser = 1, 2
	n := apptest.Start(t, cfg)
	pool, err := n.IdP.CreatePool(ctx, idp.PoolInput{Name: "corp"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := n.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web", ExplicitAuthFlows: []string{idp.FlowUserPassword}})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if _, err := n.IdP.CreateUser(ctx, pool.ID, u, "Correct-Horse-9", nil); err != nil {
			t.Fatal(err)
		}
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	cognito := cip.NewFromConfig(awsCfg, func(o *cip.Options) { o.BaseEndpoint = aws.String("http://" + cfg.IdPListen) })
	signIn := func(user, password string) error {
		_, err := cognito.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(client.ID),
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})
		return err
	}
	for range 2 {
		var na *ciptypes.NotAuthorizedException
		if err := signIn("alice", "wrong-Password-1"); !errors.As(err, &na) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	var na *ciptypes.NotAuthorizedException
	if err := signIn("alice", "Correct-Horse-9"); !errors.As(err, &na) || aws.ToString(na.Message) != "Password attempts exceeded" {
		t.Fatalf("right password after signInMaxFailuresPerUser failures: %v, want NotAuthorizedException: Password attempts exceeded", err)
	}
	// The lockout is the user's, not the address's: another user signs in.
	if err := signIn("bob", "Correct-Horse-9"); err != nil {
		t.Fatalf("another user: %v", err)
	}
}
