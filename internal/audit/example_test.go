package audit_test

import (
	"bytes"
	"context"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

func Example() {
	var trail bytes.Buffer
	w := audit.New(&trail, audit.WithInstance("node-1"))
	_ = w.Write(audit.Record{
		Kind:      audit.KindDecision,
		Source:    audit.SourceGateway,
		Method:    "GET",
		Path:      "/pets/1",
		TokenHash: audit.TokenHash("eyJhbGciOi..."), // never the token itself
		Decision:  "ALLOW",
	})
	_ = w.Write(audit.Record{Kind: audit.KindWrite, Source: audit.SourceAdmin, Actor: "admin",
		Operation: "CreatePolicy", Target: "ps-1/policy-9", Revision: 8, RevisionBefore: 7})
	if err := w.Close(context.Background()); err != nil {
		fmt.Println(err)
	}

	rep, err := audit.Verify(audit.Source{Name: "trail", R: &trail})
	fmt.Println(rep.Records, err)
	// Output: 3 <nil>
}
