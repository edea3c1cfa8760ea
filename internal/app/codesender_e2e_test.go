package app_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// TestCodeSenderSetting: a node configured with codeSender webhook signs each code with the
// secret from its settings; the code confirms the sign-up, and the audit trail records the
// sign-up and the confirmation without the code or the password.
func TestCodeSenderSetting(t *testing.T) {
	const secret = "webhook-secret-0123456789"
	var mu sync.Mutex
	var codes []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !hmac.Equal([]byte(r.Header.Get(idp.WebhookSignatureHeader)), []byte(idp.WebhookSignature([]byte(secret), body))) {
			t.Errorf("bad signature on %s", body)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct{ Code, Destination string }
		json.Unmarshal(body, &m)
		mu.Lock()
		codes = append(codes, m.Code)
		mu.Unlock()
	}))
	defer hook.Close()

	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.CodeSender, cfg.CodeWebhookURL, cfg.CodeWebhookSecret = "webhook", hook.URL, secret
	trail := filepath.Join(t.TempDir(), "audit.log")
	cfg.AuditFile = trail
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	node, stop := apptest.StartStoppable(t, cfg)
	ctx := context.Background()
	pool, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: "shop", AutoVerifiedAttributes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	client, err := node.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("us-east-1"), config.WithRetryMaxAttempts(1))
	if err != nil {
		t.Fatal(err)
	}
	cognito := cip.NewFromConfig(awsCfg, func(o *cip.Options) { o.BaseEndpoint = aws.String(cfg.IdPIssuerBase) })
	const pw = "Sign-Up-Horse-4"
	if _, err := cognito.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(client.ID), Username: aws.String("olga"), Password: aws.String(pw),
		UserAttributes: []ciptypes.AttributeType{{Name: aws.String("email"), Value: aws.String("olga@example.com")}}}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(codes) != 1 {
		t.Fatalf("%d codes delivered", len(codes))
	}
	code := codes[0]
	mu.Unlock()
	if _, err := cognito.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(client.ID), Username: aws.String("olga"),
		ConfirmationCode: aws.String(code)}); err != nil {
		t.Fatal(err)
	}
	stop()
	b, err := os.ReadFile(trail)
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []string{"AWSCognitoIdentityProviderService.SignUp", "AWSCognitoIdentityProviderService.ConfirmSignUp"} {
		if !strings.Contains(string(b), op) {
			t.Errorf("audit trail lacks %s", op)
		}
	}
	// Every string in every record: none is the code (six digits may occur by chance inside
	// hashes or times, so only whole values or words count), the password or the secret.
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			for _, w := range strings.FieldsFunc(x, func(r rune) bool { return r < '0' || r > '9' }) {
				if w == code {
					t.Fatalf("audit trail holds the code in %q", x)
				}
			}
			if strings.Contains(x, pw) || strings.Contains(x, secret) {
				t.Fatalf("audit trail holds a secret in %q", x)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("audit line %q: %v", line, err)
		}
		walk(rec)
	}
}
