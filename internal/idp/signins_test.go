package idp_test

import (
	"context"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Every sign-in through the real Cognito API is reported once with its pool and result:
// right and wrong passwords, unknown users, and attempts refused by throttling.
func TestSignInObserverReportsEachAttempt(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		var mu sync.Mutex
		got := map[[2]string]int{}
		e := newEnv(t, st, idp.WithSignInObserver(func(pool, result string) {
			mu.Lock()
			defer mu.Unlock()
			got[[2]string{pool, result}]++
		}))
		pool := must[*idpPool](t)(createPool(context.Background(), e))
		const from1 = "127.0.0.4"
		if r := signIn(t, e, from1, pool.clientID, "alice", password); r != "" {
			t.Fatalf("right password: %s", r)
		}
		if r := signIn(t, e, from1, pool.clientID, "nobody", "Wrong-pass1!"); r == "" {
			t.Fatal("unknown user signed in")
		}
		for range idp.DefaultThrottle.FreeFailures {
			if r := signIn(t, e, from1, pool.clientID, "alice", "Wrong-pass1!"); r != incorrect {
				t.Fatalf("wrong password: %s", r)
			}
		}
		if r := signIn(t, e, from1, pool.clientID, "alice", password); r != exceeded {
			t.Fatalf("throttled attempt: %s", r)
		}
		mu.Lock()
		defer mu.Unlock()
		want := map[[2]string]int{
			{pool.id, idp.SignInSuccess}:   1,
			{pool.id, idp.SignInFailure}:   1 + idp.DefaultThrottle.FreeFailures,
			{pool.id, idp.SignInThrottled}: 1,
		}
		if len(got) != len(want) {
			t.Fatalf("reported %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("reported %v, want %v", got, want)
			}
		}
	})
}
