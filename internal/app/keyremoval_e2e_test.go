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

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Two nodes share PostgreSQL. A token signed by a built-in pool's key passes both gateways
// (their registries hold the pool's JWKS, whose max-age is 300 s). The pool rotates and
// removes that key on node A: node A refuses the token as soon as RemoveKey returns, and node
// B — which has the token's verification and decision cached — as soon as it hears of the
// commit, far inside the 300 s a JWKS poll would take. Tokens of the new key keep passing.
func TestRemovedIdPKeyRefusedOnEveryNode(t *testing.T) {
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
	oldKid := pool.CurrentKid
	client, err := a.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web", ExplicitAuthFlows: []string{idp.FlowUserPassword}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.IdP.CreateUser(ctx, pool.ID, "alice", "Correct-Horse-9", nil); err != nil {
		t.Fatal(err)
	}
	api := `name: Keys
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
	status := func(node *app.Node, token string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+node.Addr("gateway")+"/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Node A serves the API too once it has read the definition.
	waitStatus := func(node *app.Node, token string, want int, within time.Duration, what string) time.Duration {
		start := time.Now()
		for {
			got := status(node, token)
			if got == want {
				return time.Since(start)
			}
			if time.Since(start) > within {
				t.Fatalf("%s: HTTP %d after %s, want %d", what, got, within, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	old := signIn()
	waitStatus(b, old, http.StatusOK, 30*time.Second, "node B before rotation")
	waitStatus(a, old, http.StatusOK, 30*time.Second, "node A before rotation")
	for range 2 { // the next answers come from the nodes' caches
		if status(a, old) != http.StatusOK || status(b, old) != http.StatusOK {
			t.Fatal("cached answer before rotation is not 200")
		}
	}
	if _, err := a.IdP.RotateKeys(ctx, pool.ID); err != nil {
		t.Fatal(err)
	}
	// A rotation keeps the old key published until its tokens expire.
	if status(a, old) != http.StatusOK {
		t.Fatal("node A refused a token of the retired (still published) key")
	}
	if err := a.IdP.RemoveKey(ctx, pool.ID, oldKid); err != nil {
		t.Fatal(err)
	}
	if got := status(a, old); got != http.StatusUnauthorized {
		t.Fatalf("node A, right after RemoveKey returned: HTTP %d, want 401", got)
	}
	// "Well under the 300 s max-age": the change reaches node B by notification (or its poll).
	took := waitStatus(b, old, http.StatusUnauthorized, 60*time.Second, "node B after the key's removal on node A")
	t.Logf("node B refused the removed key's token %s after RemoveKey on node A", took.Round(time.Millisecond))
	fresh := signIn()
	waitStatus(b, fresh, http.StatusOK, 10*time.Second, "node B, token of the new key")
	if got := status(a, fresh); got != http.StatusOK {
		t.Fatalf("node A, token of the new key: HTTP %d", got)
	}
}
