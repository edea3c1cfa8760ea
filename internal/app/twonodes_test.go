package app_test

import (
	"context"
	"net/http"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// twoIdPNodes is two nodes sharing PostgreSQL, with one public issuer URL, a built-in pool
// "corp" created on node A (a client allowing password and refresh sign-in, a user alice),
// and an API put through node B whose GET /me is a jwt route on that pool, cached for 300 s:
// the set-up of the tests showing that a change on one node reaches the other's gateway.
type twoIdPNodes struct {
	a, b    *app.Node
	pool    *idp.Pool
	client  *idp.Client
	cognito *cip.Client
}

func newTwoIdPNodes(t *testing.T) *twoIdPNodes {
	t.Helper()
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("needs PostgreSQL (GATEHOUSE_TEST_POSTGRES)")
	}
	ctx := context.Background()
	cfgA := apptest.WithIdP(t, apptest.Config(t, "postgres"))
	cfgB := apptest.WithIdP(t, cfgA)
	cfgB.IdPIssuerBase = cfgA.IdPIssuerBase // one public issuer URL for the cluster
	n := &twoIdPNodes{a: apptest.Start(t, cfgA), b: apptest.Start(t, cfgB)}
	var err error
	if n.pool, err = n.a.IdP.CreatePool(ctx, idp.PoolInput{Name: "corp"}); err != nil {
		t.Fatal(err)
	}
	if n.client, err = n.a.IdP.CreateClient(ctx, n.pool.ID, idp.ClientInput{Name: "web",
		ExplicitAuthFlows: []string{idp.FlowUserPassword, idp.FlowRefreshToken}}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.a.IdP.CreateUser(ctx, n.pool.ID, "alice", "Correct-Horse-9", nil); err != nil {
		t.Fatal(err)
	}
	api := `name: Me
basePath: /
upstream: http://127.0.0.1:1
authorizers:
  cognito:
    type: jwt
    tokenType: accessToken
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "arn:aws:cognito-idp:us-east-1:000000000000:userpool/` + n.pool.ID + `"}}
    cacheTtl: 300s
routes:
  - {route: "GET /me", authorizer: cognito, mock: {status: 200, body: '{"ok":true}'}}
`
	if err := apptest.Client(n.b).Call(ctx, "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: api}, nil); err != nil {
		t.Fatal(err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	n.cognito = cip.NewFromConfig(awsCfg, func(o *cip.Options) { o.BaseEndpoint = aws.String("http://" + cfgA.IdPListen) })
	return n
}

// signIn returns a fresh access token of alice.
func (n *twoIdPNodes) signIn(t *testing.T) string {
	t.Helper()
	out, err := n.cognito.InitiateAuth(context.Background(), &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(n.client.ID), AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Correct-Horse-9"}})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.AuthenticationResult.AccessToken)
}

// status is the gateway's answer of node to GET /me with token.
func (n *twoIdPNodes) status(t *testing.T, node *app.Node, token string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+node.Addr("gateway")+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
