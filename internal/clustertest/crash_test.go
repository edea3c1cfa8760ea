package clustertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestCrashConsistency kills a node with SIGKILL while four clients create policies, restarts
// it, and checks after every restart that each acknowledged write is there, that nothing was
// half written, and that the store's revision counts exactly the writes that committed.
func TestCrashConsistency(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			dsn := ""
			if backend == "postgres" {
				dsn = postgresDSN(t)
			} else {
				dsn = storetest.DSN(t, "sqlite")
			}
			crashLoop(t, dsn)
		})
	}
}

// A policy written by writer w in round r, number i.
func crashPolicy(round, w, i int) (name, statement string) {
	id := fmt.Sprintf("r%d-w%d-%d", round, w, i)
	return "name/" + id, fmt.Sprintf(`permit(principal == User::%q, action == Action::"view", resource == Doc::"d1");`, id)
}

func crashLoop(t *testing.T, dsn string) {
	const (
		rounds  = 5
		writers = 4
	)
	ctx := context.Background()
	n := startNode(t, "node", dsn)
	storeID := createStore(t, n.client)

	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	rev, err := db.Revision(ctx, storeID)
	if err != nil || rev != 1 {
		t.Fatalf("revision of a new store: %d, %v; want 1", rev, err)
	}

	attempted := map[string]string{} // name → statement, every call ever sent
	acked := map[string]bool{}       // every call answered 200
	for round := range rounds {
		// Writers run until the first failed call, which is expected only after the kill.
		var (
			mu         sync.Mutex
			killed     atomic.Bool
			wg         sync.WaitGroup
			roundAcked []string
		)
		for w := range writers {
			wg.Go(func() {
				for i := 0; ; i++ {
					name, stmt := crashPolicy(round, w, i)
					mu.Lock()
					attempted[name] = stmt
					mu.Unlock()
					_, err := createPolicy(ctx, n.client, storeID, name, stmt)
					if err != nil {
						if !killed.Load() {
							t.Errorf("round %d: %s failed before the kill: %v", round, name, err)
						}
						return
					}
					mu.Lock()
					acked[name] = true
					roundAcked = append(roundAcked, name)
					mu.Unlock()
				}
			})
		}
		killAfter := time.Duration(100+rand.IntN(400)) * time.Millisecond
		time.Sleep(killAfter)
		killed.Store(true)
		n.kill()
		wg.Wait()
		if t.Failed() {
			return
		}

		n = startNode(t, "node", dsn)
		present := checkPolicies(t, n.client, db, storeID, attempted, acked, roundAcked)
		newRev, err := db.Revision(ctx, storeID)
		if err != nil {
			t.Fatal(err)
		}
		if newRev < rev {
			t.Fatalf("round %d: revision went backwards across the restart: %d → %d", round, rev, newRev)
		}
		// Only CreatePolicy touches the store after its creation, one transaction each.
		if newRev != int64(1+present) {
			t.Errorf("round %d: revision %d with %d policies present, want 1 + %d", round, newRev, present, present)
		}
		t.Logf("round %d (killed after %v): %d acknowledged this round; in all %d attempted, %d acknowledged, %d present; revision %d → %d",
			round, killAfter, len(roundAcked), len(attempted), len(acked), present, rev, newRev)
		rev = newRev
	}
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged in any round: the test exercised nothing")
	}
}

// checkPolicies lists the store through the API and directly, and checks every policy is one
// that was attempted, complete, and that every acknowledged one is there; lookups are also
// read back by name. It returns how many policies the store holds.
func checkPolicies(t *testing.T, c *mgmtclient.Client, db *sqldb.DB, storeID string, attempted map[string]string, acked map[string]bool, lookups []string) int {
	t.Helper()
	ctx := context.Background()
	listed := map[string]avpapi.PolicyItem{}
	token := ""
	for {
		var out avpapi.ListPoliciesOutput
		limit := int32(50)
		in := avpapi.ListPoliciesInput{PolicyStoreID: storeID, NextToken: token, MaxResults: &limit}
		if err := c.Call(ctx, "VerifiedPermissions.ListPolicies", in, &out); err != nil {
			t.Fatalf("list policies: %v", err)
		}
		for _, p := range out.Policies {
			listed[p.PolicyID] = p
		}
		if out.NextToken == "" {
			break
		}
		token = out.NextToken
	}

	// The raw rows: every one must decode into a complete policy with its derived fields.
	rows, _, err := db.List(ctx, store.Query{Scope: storeID, Kind: policystore.KindPolicy})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(listed) {
		t.Errorf("the API lists %d policies, the database holds %d", len(listed), len(rows))
	}
	names := map[string]bool{}
	for _, o := range rows {
		var p policystore.Policy
		if err := json.Unmarshal(o.Data, &p); err != nil {
			t.Errorf("policy row %s does not decode: %v", o.ID, err)
			continue
		}
		stmt, ok := attempted[p.Name]
		switch {
		case !ok:
			t.Errorf("policy %s has name %q, which no client sent", o.ID, p.Name)
			continue
		case o.Name != p.Name || p.ID != o.ID:
			t.Errorf("policy row %s/%s holds document %s/%s", o.ID, o.Name, p.ID, p.Name)
		case p.Statement != stmt || p.Type != policystore.TypeStatic || p.Effect != "Permit":
			t.Errorf("policy %s is incomplete: %+v", p.Name, p)
		case p.Principal == nil || p.Resource == nil || len(p.Actions) != 1:
			t.Errorf("policy %s lacks derived fields: %+v", p.Name, p)
		case o.Created.IsZero() || o.Updated.IsZero():
			t.Errorf("policy %s lacks timestamps: %+v", p.Name, o)
		}
		if names[p.Name] {
			t.Errorf("name %s stored twice", p.Name)
		}
		names[p.Name] = true

		item, ok := listed[p.ID]
		if !ok {
			t.Errorf("policy %s is in the database but not listed", p.ID)
			continue
		}
		principalID := p.Name[len("name/"):]
		if item.Name != p.Name || item.Effect != avpapi.EffectPermit || item.PolicyType != avpapi.PolicyTypeStatic ||
			item.Principal == nil || item.Principal.EntityID != principalID ||
			item.Resource == nil || item.Resource.EntityID != "d1" ||
			len(item.Actions) != 1 || item.Actions[0].ActionID != "view" ||
			item.CreatedDate.IsZero() {
			b, _ := json.Marshal(item)
			t.Errorf("listed policy %s is incomplete: %s", p.ID, b)
		}
	}

	for name := range acked {
		if !names[name] {
			t.Errorf("acknowledged policy %s is missing after the restart", name)
		}
	}
	for _, name := range lookups {
		var out avpapi.GetPolicyOutput
		err := c.Call(ctx, "VerifiedPermissions.GetPolicy", avpapi.GetPolicyInput{PolicyStoreID: storeID, PolicyID: name}, &out)
		if err != nil {
			if errors.Is(err, mgmtclient.NotFound) {
				t.Errorf("GetPolicy(%s): not found although listed", name)
			} else {
				t.Errorf("GetPolicy(%s): %v", name, err)
			}
			continue
		}
		if out.Definition == nil || out.Definition.Static == nil || out.Definition.Static.Statement != attempted[name] {
			t.Errorf("GetPolicy(%s) returns definition %+v, want %q", name, out.Definition, attempted[name])
		}
	}
	return len(rows)
}
