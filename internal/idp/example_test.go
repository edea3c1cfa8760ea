package idp_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// A pool, an app client and a user, then tokens for a script — what `gatehouse idp token` does.
func ExampleIdP_IssueTokens() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "idp-example")
	defer os.RemoveAll(dir)
	st, err := sqldb.Open(ctx, filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	p := idp.New(st, idp.WithBaseURL("http://127.0.0.1:9229"))
	pool, _ := p.CreatePool(ctx, idp.PoolInput{Name: "petstore"})
	client, _ := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "cli",
		ExplicitAuthFlows: []string{idp.FlowUserPassword, idp.FlowRefreshToken}})
	_, _ = p.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: "pet-veterinarian"})
	_, _ = p.CreateUser(ctx, pool.ID, "alice", "Corr3ct-Horse!", map[string]string{"email": "alice@example.com"})
	_ = p.AddUserToGroup(ctx, pool.ID, "alice", "pet-veterinarian")

	tok, err := p.IssueTokens(ctx, pool.ID, client.ID, "alice")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.Count(tok.AccessToken, "."), tok.TokenType, tok.ExpiresIn, tok.RefreshToken != "")
	fmt.Println(strings.HasPrefix(p.Issuer(pool.ID), "http://127.0.0.1:9229/us-east-1_"))
	// Output:
	// 2 Bearer 3600 true
	// true
}
