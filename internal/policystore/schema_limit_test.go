package policystore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// bigSchema is a schema of a large API (one action per operation) over AVP's 100,000 bytes.
func bigSchema(actions int) string {
	var b strings.Builder
	b.WriteString("namespace Big {\n  entity UserGroup;\n  entity User in [UserGroup];\n  entity Application;\n")
	for i := range actions {
		fmt.Fprintf(&b, "  action \"get /resources/%d/{id}\" appliesTo {\n    principal: [User], resource: [Application],\n    context: {pathParameters: {id: String}, queryStringParameters: {limit?: String, offset?: String}}\n  };\n", i)
	}
	b.WriteString("}\n")
	return b.String()
}

// The schema limit is a setting: by default a large API's schema is accepted, and AVP's quota
// is available for setups that must stay portable.
func TestSchemaSizeLimit(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		text := bigSchema(800)
		if len(text) <= policystore.AVPMaxSchemaBytes || len(text) > policystore.DefaultMaxSchemaBytes {
			t.Fatalf("schema of %d bytes does not test the limits", len(text))
		}
		def := policystore.New(s)
		ps, err := def.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: policystore.ModeStrict})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := def.PutSchema(ctx, ps.ID, text); err != nil {
			t.Fatalf("default limit refused a %d-byte schema: %v", len(text), err)
		}
		avp := policystore.New(s, policystore.WithMaxSchemaBytes(policystore.AVPMaxSchemaBytes))
		_, err = avp.PutSchema(ctx, ps.ID, text)
		wantValidation(t, err, "definition.cedarJson")
		if _, err := avp.PutSchema(ctx, ps.ID, bigSchema(10)); err != nil {
			t.Fatalf("AVP limit refused a small schema: %v", err)
		}
	})
}
