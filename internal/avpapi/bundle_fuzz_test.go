package avpapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// FuzzApplyBundle: any request body gets an answer or a 4xx error, never a panic or an
// internal error (seeds below; go test -fuzz FuzzApplyBundle ./internal/avpapi).
func FuzzApplyBundle(f *testing.F) {
	schema := `namespace A { entity G; entity U in [G]; entity App; action "read" appliesTo { principal: [U], resource: [App] }; }`
	for _, s := range []string{
		`{}`,
		`{"dryRun":true,"policyStore":{"policyStoreId":"s1","validationMode":"OFF"}}`,
		`{"policyStore":{"policyStoreId":"s1","validationMode":"STRICT","schema":` + quote(schema) + `,
		  "policies":[{"name":"p","statement":"permit (principal in A::G::\"g\", action == A::Action::\"read\", resource);"}],
		  "templates":[{"name":"t","statement":"permit (principal == ?principal, action, resource);"}],
		  "links":[{"name":"l","template":"t","principal":{"entityType":"A::U","entityId":"u"}}],
		  "entities":[{"uid":{"type":"A::App","id":"a"},"attrs":{},"parents":[]}]},"prune":true}`,
		`{"policyStore":{"policyStoreId":"s1","validationMode":"STRICT","policies":[{"name":"p","statement":"permit (principal, action, resource) when { principal.nope };"}]}}`,
		`{"apis":["name: x\nbasePath: /x\nroutes: []\n"],"groupPolicies":[{"api":"x","group":"g","policyDocument":"{}"}]}`,
		`{"expectedRevision":-1,"policyStore":{"policyStoreId":"gateway","validationMode":"OFF"}}`,
		`{"policyStore":{"policyStoreId":"s2","validationMode":"OFF","links":[{"name":"l","template":"missing"}]}}`,
		`{"policyStore":{"policyStoreId":"s3","validationMode":"OFF","identitySources":[{"configuration":{}}]}}`,
	} {
		f.Add(s)
	}
	st := storetest.Open(f, "sqlite")
	ops := avpapi.New(policystore.New(st), nil).GatehouseOps()
	f.Fuzz(func(t *testing.T, body string) {
		_, err := ops["ApplyBundle"](context.Background(), []byte(body))
		if err == nil {
			return
		}
		var ae *awsjson.Error
		if !errors.As(err, &ae) || ae.Status >= 500 {
			t.Fatalf("body %q: error %T %v", body, err, err)
		}
	})
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}
