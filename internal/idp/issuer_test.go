package idp_test

import (
	"context"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestIssuerBelongsToPool: a pool keeps the issuer it was created with, whatever base URL a
// later process (the CLI run without the server's configuration) is started with.
func TestIssuerBelongsToPool(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool := must[*idp.Pool](t)(e.idp.CreatePool(ctx, idp.PoolInput{Name: "corp"}))
		if want := e.srv.URL + "/" + pool.ID; pool.Issuer != want {
			t.Fatalf("stored issuer %q, want %q", pool.Issuer, want)
		}
		client := must[*idp.Client](t)(e.idp.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web"}))
		must[*idp.User](t)(e.idp.CreateUser(ctx, pool.ID, "alice", password, nil))

		cli := idp.New(st, idp.WithArgon2(cheapArgon)) // default base URL
		tok := must[*idp.Tokens](t)(cli.IssueTokens(ctx, pool.ID, client.ID, "alice"))
		if c := e.verify(t, pool.ID, tok.AccessToken); c["iss"] != pool.Issuer {
			t.Fatalf("iss %v, want %s", c["iss"], pool.Issuer)
		}
	})
}
