package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
)

// Two nodes share PostgreSQL: a user signs out globally on node A, and node B's gateway, which
// has the token's verification and decision cached, refuses it within a second. A new sign-in
// works at once.
func TestGlobalSignOutReachesOtherNodesGateway(t *testing.T) {
	n := newTwoIdPNodes(t)
	old := n.signIn(t)
	for range 3 { // the second and third answers come from node B's caches
		if got := n.status(t, n.b, old); got != http.StatusOK {
			t.Fatalf("before sign-out: HTTP %d", got)
		}
	}
	if _, err := n.cognito.GlobalSignOut(context.Background(), &cip.GlobalSignOutInput{AccessToken: aws.String(old)}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Second)
	for n.status(t, n.b, old) != http.StatusUnauthorized {
		if time.Now().After(deadline) {
			t.Fatal("node B still accepts the token 1 s after GlobalSignOut on node A")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := n.status(t, n.b, n.signIn(t)); got != http.StatusOK {
		t.Fatalf("new sign-in after sign-out: HTTP %d", got)
	}
}
