package clustertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
)

func putStore(t *testing.T, c *mgmtclient.Client, id string) {
	t.Helper()
	err := c.Call(context.Background(), "Gatehouse.PutPolicyStore", map[string]any{
		"policyStoreId":      id,
		"validationSettings": avpapi.ValidationSettings{Mode: avpapi.ValidationModeOff},
	}, nil)
	if err != nil {
		t.Fatalf("put policy store %s: %v", id, err)
	}
}

// TestSchemasDoNotShareNotifications runs two deployments in two schemas of one PostgreSQL
// database, both with a policy store named "shared" (PutPolicyStore and apply choose ids).
// The busier deployment's change notifications must not hide the other's changes.
func TestSchemasDoNotShareNotifications(t *testing.T) {
	ctx := context.Background()
	dsnA, dsnB := postgresDSN(t), postgresDSN(t)
	a := startNode(t, "a1", dsnA)
	b1, b2 := startNode(t, "b1", dsnB), startNode(t, "b2", dsnB)

	// Deployment A's "shared" store moves to revision 11 while b1 has not used its own yet.
	putStore(t, a.client, "shared")
	for i := range 10 {
		if _, err := createPolicy(ctx, a.client, "shared", fmt.Sprintf("name/a%d", i), permitAlice); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // let the notifications reach every listener

	putStore(t, b2.client, "shared")
	permit, err := createPolicy(ctx, b2.client, "shared", "", permitAlice)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := waitDecision(ctx, b1, "shared", avpapi.DecisionAllow, time.Now(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := deletePolicy(ctx, b2.client, "shared", permit.PolicyID); err != nil {
		t.Fatal(err)
	}
	if _, err := waitDecision(ctx, b1, "shared", avpapi.DecisionDeny, time.Now(), 3*time.Second); err != nil {
		t.Fatalf("a change in schema B never reached its other node: %v", err)
	}
}
