package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/audit/audittest"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// fill writes path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for range 1 << 10 {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
	t.Fatal("the file system did not fill up")
}

// With auditFailure: deny, gateway and AVP decisions answer 503 while the trail's file system
// is full and decide again once it has room; the trail then verifies, with its signed digests
// and the one anchored in the store, and reports every lost record.
func TestAuditDenyModeWhileTrailUnwritable(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dir := audittest.SmallFS(t)
			cfg := apptest.Config(t, backend)
			cfg.AuditFile = filepath.Join(dir, "audit.log")
			cfg.AuditFailure = "deny"
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			node, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			defer node.Close()
			if err := node.Listen(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- node.Serve(ctx) }()

			def, err := apidef.Parse([]byte("name: Hello\nstage: v1\nroutes:\n  - {route: \"GET /hello\", authorizer: none, mock: {status: 200, body: 'hi'}}\n"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := node.APIs.Put(ctx, def); err != nil {
				t.Fatal(err)
			}
			c := avpClient(t, node, testKeyID, testSecret)
			ps, err := c.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.CreatePolicy(ctx, &vp.CreatePolicyInput{PolicyStoreId: ps.PolicyStoreId, Definition: &types.PolicyDefinitionMemberStatic{Value: types.StaticPolicyDefinition{
				Statement: aws.String(`permit(principal, action, resource);`)}}}); err != nil {
				t.Fatal(err)
			}
			decide := func() error {
				_, err := c.IsAuthorized(ctx, &vp.IsAuthorizedInput{PolicyStoreId: ps.PolicyStoreId, Principal: ent("App::User", "alice"),
					Action: &types.ActionIdentifier{ActionType: aws.String("App::Action"), ActionId: aws.String("read")}, Resource: ent("App::Doc", "d")})
				return err
			}
			gw := "http://" + node.Addr("gateway") + "/v1/hello"
			if code, _ := httpGet(t, gw); code != 200 {
				t.Fatalf("gateway with a writable trail: %d", code)
			}
			if err := decide(); err != nil {
				t.Fatalf("IsAuthorized with a writable trail: %v", err)
			}

			filler := filepath.Join(dir, "filler")
			fill(t, filler)
			waitStatus(t, gw, 503)
			var re *awshttp.ResponseError
			if err := decide(); !errors.As(err, &re) || re.HTTPStatusCode() != 503 {
				t.Fatalf("IsAuthorized while the trail is unwritable = %v, want 503", err)
			}
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
			waitStatus(t, gw, 200)
			if err := decide(); err != nil {
				t.Fatalf("IsAuthorized after the trail recovered: %v", err)
			}
			_, page := httpGet(t, "http://"+node.Addr("admin")+"/metrics")
			lost := metricValue(t, page, "gatehouse_audit_lost_total")

			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			node.Close()
			if err := node.AuditErr(); err != nil {
				t.Fatalf("audit trail after recovery: %v", err)
			}
			st, err := sqldb.Open(context.Background(), cfg.DB)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			opts, err := app.AuditVerifyOptions(context.Background(), st, app.AuditTrailName(cfg.AuditFile))
			if err != nil {
				t.Fatal(err)
			}
			rep, err := audit.VerifyPathsWith(opts, cfg.AuditFile)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if lost == 0 || float64(rep.Dropped) != lost || rep.Anchors != 1 || rep.Digests == 0 {
				t.Fatalf("lost_total %v, report %+v: want the lost records reported by gap records and the anchored digest found", lost, rep)
			}
			data, _ := os.ReadFile(cfg.AuditFile)
			if !bytes.HasSuffix(data, []byte("\"}\n")) {
				t.Fatal("the trail ends with a partial record")
			}
		})
	}
}

// waitStatus polls url for up to ten seconds until it answers want.
func waitStatus(t *testing.T, url string, want int) {
	t.Helper()
	var code int
	for range 500 {
		if code, _ = httpGet(t, url); code == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s kept answering %d, want %d", url, code, want)
}
