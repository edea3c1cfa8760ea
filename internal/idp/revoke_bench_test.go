package idp_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// BenchmarkValidateCachedRevocation measures a verified-token cache hit without a
// RevocationChecker (baseline) and with the IdP as checker holding 0 and 2,000 revocations.
//
//	go test ./internal/idp/ -run '^$' -bench BenchmarkValidateCachedRevocation -count=5
func BenchmarkValidateCachedRevocation(b *testing.B) {
	ctx := context.Background()
	st := storetest.Open(b, "sqlite")
	e := newEnv(b, st)
	pool := must[*idp.Pool](b)(e.idp.CreatePool(ctx, idp.PoolInput{Name: "p"}))
	client := must[*idp.Client](b)(e.idp.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web"}))
	must[*idp.User](b)(e.idp.CreateUser(ctx, pool.ID, "alice", password, nil))
	tok := must[*idp.Tokens](b)(e.idp.IssueTokens(ctx, pool.ID, client.ID, "alice"))
	src := []*identity.Source{{ID: "s", Kind: identity.KindCognito, Issuer: pool.Issuer, ClientIDs: []string{client.ID},
		EntityIDPrefix: pool.ID, PrincipalEntityType: "App::User"}}
	run := func(b *testing.B, reg *identity.Registry) {
		defer reg.Close()
		if _, _, err := reg.Validate(ctx, tok.AccessToken, identity.UseAccess, src); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := reg.Validate(ctx, tok.AccessToken, identity.UseAccess, src); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("baseline", func(b *testing.B) { run(b, identity.New(identity.WithClock(e.clock.Now))) })
	b.Run("checker-0", func(b *testing.B) {
		run(b, identity.New(identity.WithClock(e.clock.Now), identity.WithRevocationChecker(e.idp)))
	})
	for i := range 2_000 {
		name := fmt.Sprintf("u%d", i)
		must[*idp.User](b)(e.idp.CreateUser(ctx, pool.ID, name, password, nil))
		if err := e.idp.GlobalSignOut(ctx, pool.ID, name); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("checker-2000", func(b *testing.B) {
		run(b, identity.New(identity.WithClock(e.clock.Now), identity.WithRevocationChecker(e.idp)))
	})
}
