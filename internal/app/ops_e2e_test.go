package app_test

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
)

func metricValue(t *testing.T, body, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[2], 64)
	return v
}

// An IdP outage shows in /metrics (JWKS fetch failures per issuer) and in /readyz (the
// issuer's last error), while tokens signed with cached keys keep being accepted.
func TestMetricsAndReadinessReflectAnIdPOutage(t *testing.T) {
	node := startNode(t, "sqlite")
	c := avpClient(t, node, testKeyID, testSecret)
	ctx := context.Background()
	idp := newOIDCIssuer(t)
	ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: ps.PolicyStoreId, PrincipalEntityType: aws.String("App::User"),
		Configuration: &types.ConfigurationMemberOpenIdConnectConfiguration{Value: types.OpenIdConnectConfiguration{Issuer: aws.String(idp.srv.URL),
			TokenSelection: &types.OpenIdConnectTokenSelectionMemberAccessTokenOnly{Value: types.OpenIdConnectAccessTokenConfiguration{Audiences: []string{"api"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: ps.PolicyStoreId, Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{
		Statement: aws.String(`permit(principal, action, resource);`)}}}); err != nil {
		t.Fatal(err)
	}
	ask := func(tok string) (types.Decision, error) {
		out, err := c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: ps.PolicyStoreId, AccessToken: aws.String(tok),
			Action: &types.ActionIdentifier{ActionType: aws.String("App::Action"), ActionId: aws.String("read")}, Resource: ent("App::Doc", "d")})
		if err != nil {
			return "", err
		}
		return out.Decision, nil
	}
	if d, err := ask(idp.token(t, jwt.MapClaims{"sub": "u", "aud": "api"})); err != nil || d != types.DecisionAllow {
		t.Fatalf("before the outage: %v %v", d, err)
	}
	_, body := httpGet(t, "http://"+node.Addr("admin")+"/metrics")
	if metricValue(t, body, "gatehouse_jwks_fetches_total") < 1 || metricValue(t, body, "gatehouse_policy_store_revision") < 1 ||
		metricValue(t, body, "gatehouse_store_up") != 1 {
		t.Fatalf("metrics before the outage:\n%s", grepMetrics(body))
	}

	idp.srv.Close() // the IdP goes down
	if d, err := ask(idp.token(t, jwt.MapClaims{"sub": "u2", "aud": "api"})); err != nil || d != types.DecisionAllow {
		t.Fatalf("cached keys must keep working during an outage: %v %v", d, err)
	}
	idp.kid = "rotated-while-down" // a key the node has never seen: refused, and the refetch is rate limited
	if _, err := ask(idp.token(t, jwt.MapClaims{"sub": "u3", "aud": "api"})); err == nil {
		t.Fatal("a token with an unknown key was accepted while the IdP is down")
	}

	// A second issuer that is down from the start: its first fetch fails and shows.
	down := newOIDCIssuer(t)
	down.srv.Close()
	_, err = c.UpdateIdentitySource(ctx, &vp.UpdateIdentitySourceInput{PolicyStoreId: ps.PolicyStoreId, IdentitySourceId: firstSource(t, c, ps.PolicyStoreId),
		UpdateConfiguration: &types.UpdateConfigurationMemberOpenIdConnectConfiguration{Value: types.UpdateOpenIdConnectConfiguration{Issuer: aws.String(down.srv.URL),
			TokenSelection: &types.UpdateOpenIdConnectTokenSelectionMemberAccessTokenOnly{Value: types.UpdateOpenIdConnectAccessTokenConfiguration{Audiences: []string{"api"}}}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ask(down.token(t, jwt.MapClaims{"sub": "u4", "aud": "api"})); err == nil {
		t.Fatal("a token was accepted with its issuer's keys unavailable")
	}
	_, body = httpGet(t, "http://"+node.Addr("admin")+"/metrics")
	if !regexp.MustCompile(`gatehouse_jwks_fetch_failures_total\{issuer="` + regexp.QuoteMeta(down.srv.URL) + `"\} [1-9]`).MatchString(body) {
		t.Fatalf("fetch failure not counted:\n%s", grepMetrics(body))
	}
	code, ready := httpGet(t, "http://"+node.Addr("admin")+"/readyz")
	var doc app.Readiness
	if err := json.Unmarshal([]byte(ready), &doc); err != nil || code != 200 {
		t.Fatalf("readyz %d %s", code, ready)
	}
	found := false
	for _, is := range doc.Issuers {
		found = found || (is.Issuer == down.srv.URL && is.LastError != "" && is.Keys == 0)
	}
	if !found {
		t.Fatalf("readiness does not show the IdP outage: %s", ready)
	}
}

func firstSource(t *testing.T, c *vp.Client, storeID *string) *string {
	t.Helper()
	list, err := c.ListIdentitySources(context.Background(), &vp.ListIdentitySourcesInput{PolicyStoreId: storeID})
	if err != nil || len(list.IdentitySources) == 0 {
		t.Fatalf("list identity sources: %v", err)
	}
	return list.IdentitySources[0].IdentitySourceId
}

func grepMetrics(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "gatehouse_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// A node that starts with its database unreachable and no snapshot serves, but denies
// everything and is not ready.
func TestNodeWithoutStoreDeniesAndIsNotReady(t *testing.T) {
	cfg := apptest.Config(t, "sqlite")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	cfg.DB = "postgres://postgres@" + dead + "/test?sslmode=disable&connect_timeout=1"
	node := apptest.Start(t, cfg)
	if code, body := httpGet(t, "http://"+node.Addr("admin")+"/readyz"); code != 503 || !strings.Contains(body, "not_ready") {
		t.Fatalf("readyz %d %s", code, body)
	}
	if _, m := httpGet(t, "http://"+node.Addr("admin")+"/metrics"); metricValue(t, m, "gatehouse_store_up") != 0 {
		t.Fatalf("store_up should be 0:\n%s", grepMetrics(m))
	}
	c := avpClient(t, node, testKeyID, testSecret)
	_, err = c.IsAuthorized(context.Background(), &vp.IsAuthorizedInput{PolicyStoreId: aws.String("anything"), Principal: ent("A::User", "u"),
		Action: &types.ActionIdentifier{ActionType: aws.String("A::Action"), ActionId: aws.String("x")}, Resource: ent("A::R", "r")})
	asAPIError[*types.InternalServerException](t, err)
}
