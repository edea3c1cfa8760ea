// Command gwsetup prepares the gateway benchmark's identities through the built-in IdP's
// Cognito API (the AWS SDK's own client, SigV4-signed with the management credentials): a user
// pool, an app client allowing USER_PASSWORD_AUTH, a group, a user in it, and that user's
// tokens. It prints shell assignments for `eval`:
//
//	POOL_ID='us-east-1_...' POOL_ARN='arn:aws:cognito-idp:...' CLIENT_ID='...'
//	ACCESS_TOKEN='...' ID_TOKEN='...'
//
// Credentials come from GATEHOUSE_ACCESS_KEY_ID / GATEHOUSE_SECRET_ACCESS_KEY.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
)

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gwsetup:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gwsetup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("idp", "http://127.0.0.1:9229", "built-in IdP URL")
	region := fs.String("region", "us-east-1", "region")
	poolName := fs.String("pool-name", "bench", "user pool name")
	group := fs.String("group", "employees", "group of the user")
	username := fs.String("user", "alice", "user name")
	password := fs.String("password", "Bench-Passw0rd!", "user password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	key, secret := os.Getenv("GATEHOUSE_ACCESS_KEY_ID"), os.Getenv("GATEHOUSE_SECRET_ACCESS_KEY")
	if key == "" || secret == "" {
		return errors.New("set GATEHOUSE_ACCESS_KEY_ID and GATEHOUSE_SECRET_ACCESS_KEY")
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(*region), config.WithRetryMaxAttempts(1),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")))
	if err != nil {
		return fmt.Errorf("aws config: %w", err)
	}
	api := cip.NewFromConfig(cfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(*endpoint) })

	pool, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: poolName})
	if err != nil {
		return fmt.Errorf("create user pool: %w", err)
	}
	poolID := aws.ToString(pool.UserPool.Id)
	client, err := api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(poolID), ClientName: aws.String("bench"),
		ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth},
	})
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	clientID := aws.ToString(client.UserPoolClient.ClientId)
	if _, err := api.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: aws.String(poolID), GroupName: group}); err != nil {
		return fmt.Errorf("create group: %w", err)
	}
	if _, err := api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: username,
		MessageAction: types.MessageActionTypeSuppress}); err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	if _, err := api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID), Username: username,
		Password: password, Permanent: true}); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if _, err := api.AdminAddUserToGroup(ctx, &cip.AdminAddUserToGroupInput{UserPoolId: aws.String(poolID), Username: username, GroupName: group}); err != nil {
		return fmt.Errorf("add user to group: %w", err)
	}
	auth, err := api.InitiateAuth(ctx, &cip.InitiateAuthInput{ClientId: aws.String(clientID), AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		AuthParameters: map[string]string{"USERNAME": *username, "PASSWORD": *password}})
	if err != nil {
		return fmt.Errorf("initiate auth: %w", err)
	}
	if auth.AuthenticationResult == nil {
		return fmt.Errorf("initiate auth: got challenge %s, want tokens", auth.ChallengeName)
	}
	arn := pool.UserPool.Arn
	if arn == nil {
		return errors.New("create user pool: answer has no Arn")
	}
	for _, kv := range [][2]string{
		{"POOL_ID", poolID}, {"POOL_ARN", aws.ToString(arn)}, {"CLIENT_ID", clientID},
		{"ACCESS_TOKEN", aws.ToString(auth.AuthenticationResult.AccessToken)},
		{"ID_TOKEN", aws.ToString(auth.AuthenticationResult.IdToken)},
	} {
		fmt.Fprintf(stdout, "%s=%s\n", kv[0], shellQuote(kv[1]))
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
