package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/clustertest"
	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestStaleStoreFailsEveryRouteClosed cuts a node off PostgreSQL for longer than
// maxStaleness: every gateway route — none, jwt and cedar — and the forward-auth endpoint
// answer 503 with the stable reason store_unavailable, and IsAuthorized a retryable error;
// all serve again once the store is back. (Before, the jwt and none routes kept allowing
// from the stale route table while cedar routes answered 500.)
func TestStaleStoreFailsEveryRouteClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := apptest.Config(t, "postgres")
	u, err := url.Parse(cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := clustertest.NewProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { proxy.Close() })
	u.Host = proxy.Addr()
	cfg.DB = u.String()
	cfg.MaxStaleness = config.Duration(time.Second)
	cfg.PollInterval = config.Duration(100 * time.Millisecond)
	cfg.StoreTimeout = config.Duration(time.Second)
	cfg.ForwardAuthListen = "127.0.0.1:0"
	node := apptest.Start(t, cfg)
	c := avpClient(t, node, testKeyID, testSecret)
	idp := newOIDCIssuer(t)

	ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
	if err != nil {
		t.Fatal(err)
	}
	tokenSelection := &types.OpenIdConnectTokenSelectionMemberAccessTokenOnly{Value: types.OpenIdConnectAccessTokenConfiguration{Audiences: []string{"api"}}}
	if _, err := c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: ps.PolicyStoreId, PrincipalEntityType: aws.String("User"),
		Configuration: &types.ConfigurationMemberOpenIdConnectConfiguration{Value: types.OpenIdConnectConfiguration{Issuer: aws.String(idp.srv.URL),
			TokenSelection: tokenSelection}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: ps.PolicyStoreId, Definition: &types.PolicyDefinitionMemberStatic{
		Value: types.StaticPolicyDefinition{Statement: aws.String(`permit(principal, action, resource);`)}}}); err != nil {
		t.Fatal(err)
	}
	def := fmt.Sprintf(`{"name": "Stale", "basePath": "/", "upstream": "http://127.0.0.1:1",
		"authorizers": {
			"oidc": {"type": "jwt", "tokenType": "accessToken", "identitySources": [{"configuration": {"openIdConnectConfiguration": {
				"issuer": %q, "tokenSelection": {"accessTokenOnly": {"audiences": ["api"]}}}}}]},
			"avp": {"type": "cedar", "policyStoreId": %q}},
		"routes": [
			{"route": "GET /public", "authorizer": "none", "mock": {"status": 200, "body": "ok"}},
			{"route": "GET /jwt", "authorizer": "oidc", "mock": {"status": 200, "body": "ok"}},
			{"route": "GET /cedar", "authorizer": "avp", "mock": {"status": 200, "body": "ok"}}]}`, idp.srv.URL, *ps.PolicyStoreId)
	if err := apptest.Client(node).Call(ctx, "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: def}, nil); err != nil {
		t.Fatalf("put api: %v", err)
	}
	token := idp.token(t, jwt.MapClaims{"sub": "alice", "aud": "api"})

	type answer struct {
		status int
		body   string
	}
	send := func(req *http.Request) answer {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return answer{resp.StatusCode, string(b)}
	}
	requests := map[string]func() *http.Request{}
	for _, path := range []string{"/public", "/jwt", "/cedar"} {
		requests["gateway "+path] = func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, "http://"+node.Addr("gateway")+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			return req
		}
		requests["forward-auth "+path] = func() *http.Request {
			req, _ := http.NewRequest(http.MethodGet, "http://"+node.Addr("forward-auth")+"/apis/Stale", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("X-Original-Method", http.MethodGet)
			req.Header.Set("X-Original-Uri", path)
			return req
		}
	}
	isAuthorized := func() error {
		_, err := c.IsAuthorized(ctx, &vp.IsAuthorizedInput{PolicyStoreId: ps.PolicyStoreId, Principal: ent("User", "alice"),
			Action: &types.ActionIdentifier{ActionType: aws.String("Action"), ActionId: aws.String("read")}, Resource: ent("Doc", "d")})
		return err
	}
	allServe := func(when string) {
		t.Helper()
		for name, req := range requests {
			if a := send(req()); a.status != http.StatusOK {
				t.Fatalf("%s %s: HTTP %d %s, want 200", when, name, a.status, a.body)
			}
		}
		if err := isAuthorized(); err != nil {
			t.Fatalf("%s IsAuthorized: %v", when, err)
		}
	}
	allServe("before the outage:")

	proxy.Cut()
	waitReadiness(t, node, "not_ready", 15*time.Second)
	for name, req := range requests {
		a := send(req())
		var body struct{ Reason string }
		_ = json.Unmarshal([]byte(a.body), &body)
		if a.status != http.StatusServiceUnavailable || body.Reason != "store_unavailable" {
			t.Errorf("past maxStaleness %s: HTTP %d %s; want 503 with reason store_unavailable", name, a.status, a.body)
		}
	}
	err = isAuthorized()
	asAPIError[*types.InternalServerException](t, err)
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary {
		t.Errorf("the AWS SDK would not retry %v", err)
	}

	proxy.Resume()
	waitReadiness(t, node, "ready", 15*time.Second)
	allServe("after the outage:")
}

func waitReadiness(t *testing.T, node *app.Node, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r, _ := node.Readiness(context.Background())
		if r.Status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("readiness %q, want %q within %v", r.Status, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
