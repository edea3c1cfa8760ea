package gateway

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// TestDecisionCacheSharedByteBudget: however many authorizers store entries, the one cache
// stays within its byte budget, and flushing one authorizer leaves the others' entries.
func TestDecisionCacheSharedByteBudget(t *testing.T) {
	t.Parallel()
	const budget = 1 << 20
	d := newDecisionCache(budget, time.Now)
	views := []*authzCache{d.forAuthorizer(time.Hour), d.forAuthorizer(time.Hour), d.forAuthorizer(time.Minute)}
	exp := time.Now().Add(time.Hour)
	var stored uint64
	for i := range 30000 {
		e := &entry{exp: exp, principal: fmt.Sprintf("pool|%036d", i), groups: []string{"readers", "writers"},
			claims: []string{fmt.Sprint("user", i)}, scopes: map[string]bool{"api/read": true}}
		a := views[i%len(views)]
		a.Set(newKeyer().num(int64(i%len(views))).num(int64(i)).sum(), e)
		stored += uint64(e.weight)
	}
	d.c.CleanUp()
	if w := d.c.WeightedSize(); w > budget {
		t.Fatalf("cache weighs %d bytes, budget %d", w, budget)
	}
	if stored < 10*budget {
		t.Fatalf("test stored only %d bytes; it must overfill the budget", stored)
	}
	count := func(a *authzCache) (n int) {
		for _, e := range d.c.All() {
			if e.owner == a {
				n++
			}
		}
		return n
	}
	if count(views[0]) == 0 || count(views[1]) == 0 {
		t.Fatal("an authorizer has no entries left")
	}
	keep := count(views[1])
	views[0].InvalidateAll()
	if count(views[0]) != 0 || count(views[1]) != keep {
		t.Fatalf("flush of one authorizer: %d left of its own, %d of %d of another's", count(views[0]), count(views[1]), keep)
	}
	if d.forAuthorizer(0) != nil || (*decisionCache)(nil).forAuthorizer(time.Hour) != nil {
		t.Fatal("ttl 0 or no cache must mean no caching")
	}
}

// TestEntryExpiry: an entry lives until the authorizer's TTL or the token's exp, whichever is
// first.
func TestEntryExpiry(t *testing.T) {
	t.Parallel()
	var ns atomic.Int64 // otter reads the clock from its maintenance goroutine
	ns.Store(time.Unix(1_800_000_000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, ns.Load()) }
	now := clock()
	d := newDecisionCache(1<<20, clock)
	a := d.forAuthorizer(5 * time.Minute)
	short := &entry{exp: now.Add(time.Minute)}
	long := &entry{exp: now.Add(time.Hour)}
	a.Set([32]byte{1}, short)
	a.Set([32]byte{2}, long)
	if !short.until.Equal(now.Add(time.Minute)) || !long.until.Equal(now.Add(5*time.Minute)) {
		t.Fatalf("until %v and %v", short.until, long.until)
	}
	ns.Add(int64(2 * time.Minute))
	if _, ok := a.GetIfPresent([32]byte{1}); ok {
		t.Fatal("entry outlived its token")
	}
	if _, ok := a.GetIfPresent([32]byte{2}); !ok {
		t.Fatal("entry dropped before its TTL")
	}
	ns.Add(int64(4 * time.Minute))
	if _, ok := a.GetIfPresent([32]byte{2}); ok {
		t.Fatal("entry outlived the authorizer's TTL")
	}
}
