package app_test

import (
	"context"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Two nodes share PostgreSQL: a user signs out globally on node A, and node B's gateway, which
// has the token's verification and decision cached, refuses it within a second. A new sign-in
// works at once.
func TestGlobalSignOutReachesOtherNodesGateway(t *testing.T) {
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("needs PostgreSQL (GATEHOUSE_TEST_POSTGRES)")
	}
	ctx := context.Background()
	cfgA := apptest.WithIdP(t, apptest.Config(t, "postgres"))
	cfgB := apptest.WithIdP(t, cfgA)
	cfgB.IdPIssuerBase = cfgA.IdPIssuerBase // one public issuer URL for the cluster
	a := apptest.Start(t, cfgA)
	b := apptest.Start(t, cfgB)

	pool, err := a.IdP.CreatePool(ctx, idp.PoolInput{Name: "corp"})
	if err != nil {
		t.Fatal(err)
	}
	client, err := a.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web", ExplicitAuthFlows: []string{idp.FlowUserPassword, idp.FlowRefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.IdP.CreateUser(ctx, pool.ID, "alice", "Correct-Horse-9", nil); err != nil {
		t.Fatal(err)
	}
	api := `name: Revoke
basePath: /
upstream: http://127.0.0.1:1
authorizers:
  cognito:
    type: jwt
    tokenType: accessToken
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "arn:aws:cognito-idp:us-east-1:000000000000:userpool/` + pool.ID + `"}}
    cacheTtl: 300s
routes:
  - {route: "GET /me", authorizer: cognito, mock: {status: 200, body: '{"ok":true}'}}
`
	if err := apptest.Client(b).Call(ctx, "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: api}, nil); err != nil {
		t.Fatal(err)
	}

	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	cognito := cip.NewFromConfig(awsCfg, func(o *cip.Options) { o.BaseEndpoint = aws.String("http://" + cfgA.IdPListen) })
	signIn := func() string {
		out, err := cognito.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(client.ID),
			AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Correct-Horse-9"}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.AuthenticationResult.AccessToken)
	}
	status := func(token string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.Addr("gateway")+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	old := signIn()
	for range 3 { // the second and third answers come from node B's caches
		if got := status(old); got != http.StatusOK {
			t.Fatalf("before sign-out: HTTP %d", got)
		}
	}
	if _, err := cognito.GlobalSignOut(ctx, &cip.GlobalSignOutInput{AccessToken: aws.String(old)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for status(old) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("node B still accepts the token 1 s after GlobalSignOut on node A")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := status(signIn()); got != http.StatusOK {
		t.Fatalf("new sign-in after sign-out: HTTP %d", got)
	}
}
