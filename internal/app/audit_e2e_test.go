package app_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"
	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

// Every management write and every decision through the API lands in the hash-chained trail,
// which verifies after the node stops, and holds no token.
func TestAuditTrailOfAPICalls(t *testing.T) {
	cfg := apptest.Config(t, "sqlite")
	trail := filepath.Join(t.TempDir(), "audit.log")
	cfg.AuditFile = trail
	ctx, cancel := context.WithCancel(context.Background())
	node, err := app.New(ctx, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Listen(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- node.Serve(ctx) }()

	c := avpClient(t, node, testKeyID, testSecret)
	idp := newOIDCIssuer(t)
	ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateIdentitySource(ctx, &vp.CreateIdentitySourceInput{PolicyStoreId: ps.PolicyStoreId, PrincipalEntityType: aws.String("App::User"),
		Configuration: &types.ConfigurationMemberOpenIdConnectConfiguration{Value: types.OpenIdConnectConfiguration{Issuer: aws.String(idp.srv.URL),
			TokenSelection: &types.OpenIdConnectTokenSelectionMemberAccessTokenOnly{Value: types.OpenIdConnectAccessTokenConfiguration{Audiences: []string{"api"}}}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: ps.PolicyStoreId, Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{
		Statement: aws.String(`permit(principal, action == App::Action::"read", resource);`)}}}); err != nil {
		t.Fatal(err)
	}
	token := idp.token(t, jwt.MapClaims{"sub": "u1", "aud": "api", "jti": "jti-42"})
	out, err := c.IsAuthorizedWithToken(ctx, &vp.IsAuthorizedWithTokenInput{PolicyStoreId: ps.PolicyStoreId, AccessToken: aws.String(token),
		Action: &types.ActionIdentifier{ActionType: aws.String("App::Action"), ActionId: aws.String("read")}, Resource: ent("App::Doc", "d")})
	if err != nil || out.Decision != types.DecisionAllow {
		t.Fatalf("decision: %v", err)
	}
	cancel()
	<-done
	node.Close() // flushes the trail

	b, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{`"operation":"VerifiedPermissions.CreatePolicyStore"`, `"operation":"VerifiedPermissions.CreatePolicy"`,
		`"kind":"decision"`, `"decision":"ALLOW"`, `"tokenJti":"jti-42"`, `"actor":"` + testKeyID + `"`} {
		if !strings.Contains(text, want) {
			t.Errorf("trail lacks %s", want)
		}
	}
	sig := token[strings.LastIndex(token, ".")+1:]
	if strings.Contains(text, token) || strings.Contains(text, sig) {
		t.Fatal("the trail contains token material")
	}
	var report bytes.Buffer
	if err := audit.VerifyFiles(&report, audit.VerifyOptions{}, []string{trail}); err != nil {
		t.Fatalf("trail does not verify: %v\n%s", err, report.String())
	}
	// Tampering with a decision is detected.
	tampered := strings.Replace(text, `"decision":"ALLOW"`, `"decision":"DENY"`, 1)
	os.WriteFile(trail, []byte(tampered), 0o600)
	report.Reset()
	if err := audit.VerifyFiles(&report, audit.VerifyOptions{}, []string{trail}); err == nil || !strings.Contains(report.String(), "modified") {
		t.Fatalf("tampered trail verified: %s", report.String())
	}
}

// Gateway decisions reach the audit trail and the metrics.
func TestGatewayDecisionsAreAuditedAndCounted(t *testing.T) {
	cfg := apptest.Config(t, "sqlite")
	trail := filepath.Join(t.TempDir(), "audit.log")
	cfg.AuditFile = trail
	node := apptest.Start(t, cfg)
	def, err := apidef.Parse([]byte(`name: Hello
stage: v1
routes:
  - {route: "GET /hello", authorizer: none, mock: {status: 200, body: '{"hi":true}'}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.APIs.Put(context.Background(), def); err != nil {
		t.Fatal(err)
	}
	if code, _ := httpGet(t, "http://"+node.Addr("gateway")+"/v1/hello"); code != 200 {
		t.Fatalf("allowed route: %d", code)
	}
	if code, _ := httpGet(t, "http://"+node.Addr("gateway")+"/v1/nope"); code != 403 {
		t.Fatalf("unknown route: %d", code)
	}
	_, metrics := httpGet(t, "http://"+node.Addr("admin")+"/metrics")
	if !strings.Contains(metrics, `gatehouse_decisions_total{authorizer="none",policy_store="",result="allow"} 1`) ||
		!strings.Contains(metrics, `result="deny"} 1`) {
		t.Fatalf("decision metrics:\n%s", grepMetrics(metrics))
	}
	if err := node.Audit.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(trail)
	if !strings.Contains(string(b), `"source":"gateway"`) || !strings.Contains(string(b), `"path":"/v1/hello"`) || !strings.Contains(string(b), `"reason":"no_route"`) {
		t.Fatalf("gateway decisions missing from the trail:\n%s", b)
	}
}
