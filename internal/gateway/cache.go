package gateway

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"

	"github.com/gatehouse-dev/gatehouse/internal/iam"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// entry is a cached authorizer result. For jwt and iam authorizers it is the identity (the
// route-specific checks and the IAM evaluation run on every request, since they depend on the
// route, the client address and the time); for cedar it is the decision itself, keyed by every
// input of the Cedar request.
type entry struct {
	principal string
	groups    []string
	claims    []string // values aligned with api.claimHeaders ("" = absent)
	scopes    map[string]bool
	policies  []*iam.Policy // shared with the compiled state; not weighed
	exp       time.Time
	keys      identity.KeyStamp // the key material that verified the token

	// cedar
	determining []string // determining policies
	allow       bool
	resp        string // resp, message and reason are constants; not weighed
	message     string
	reason      Reason

	// set by authzCache.Set
	owner  *authzCache
	until  time.Time // min(stored + the authorizer's TTL, exp)
	weight uint32
}

type otterClock struct{ now func() time.Time }

func (c otterClock) NowNano() int64                      { return c.now().UnixNano() }
func (c otterClock) Tick(time.Duration) <-chan time.Time { return nil }

// decisionCache is the gateway's one decision cache. Every authorizer of every API stores its
// entries here, so one byte budget bounds them all however many authorizers there are; the
// keys start with the authorizer's key, so authorizers never see each other's entries.
type decisionCache struct {
	c   *otter.Cache[[32]byte, *entry]
	now func() time.Time
}

// newDecisionCache returns a cache holding at most maxBytes of entries (by weigh), or nil when
// maxBytes is 0.
func newDecisionCache(maxBytes uint64, now func() time.Time) *decisionCache {
	if maxBytes == 0 {
		return nil
	}
	return &decisionCache{now: now, c: otter.Must(&otter.Options[[32]byte, *entry]{
		MaximumWeight: maxBytes,
		Weigher:       func(_ [32]byte, e *entry) uint32 { return e.weight },
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[[32]byte, *entry]) time.Duration {
			return e.Value.until.Sub(now())
		}),
		Clock: otterClock{now},
	})}
}

// forAuthorizer returns an authorizer's view of the cache, or nil (no caching) when the cache
// is off or ttl is 0.
func (d *decisionCache) forAuthorizer(ttl time.Duration) *authzCache {
	if d == nil || ttl <= 0 {
		return nil
	}
	return &authzCache{d: d, ttl: ttl}
}

// authzCache is one authorizer's view of the decision cache: its TTL and its own entries.
type authzCache struct {
	d   *decisionCache
	ttl time.Duration
}

func (a *authzCache) GetIfPresent(key [32]byte) (*entry, bool) { return a.d.c.GetIfPresent(key) }

// Set stores e until the authorizer's TTL or the token's exp, whichever comes first.
func (a *authzCache) Set(key [32]byte, e *entry) {
	e.owner = a
	e.until = a.d.now().Add(a.ttl)
	if e.exp.Before(e.until) {
		e.until = e.exp
	}
	e.weight = weigh(e)
	a.d.c.Set(key, e)
}

func (a *authzCache) Invalidate(key [32]byte) { a.d.c.Invalidate(key) }

// InvalidateAll drops this authorizer's entries (a walk of the shared cache: an operator action,
// not a request path).
func (a *authzCache) InvalidateAll() {
	for k, e := range a.d.c.All() {
		if e.owner == a {
			a.d.c.Invalidate(k)
		}
	}
}

// Heap cost estimates for weigh, calibrated with TestCacheMemoryMeasurement: otter's node and
// hash-table slot for a [32]byte key, a string or slice header, and a small map's fixed part and
// per-element cost.
const (
	nodeOverhead    = 160
	headerSize      = 16
	mapOverhead     = 48 + 8*16
	mapSlotOverhead = 24
)

// weigh estimates the heap bytes an entry holds, so the cache is bounded by memory rather than
// by count: a token with many groups or long claims costs what it weighs.
func weigh(e *entry) uint32 {
	// The stamp may keep the whole token alive after the token cache dropped it: count it.
	n := nodeOverhead + int(unsafe.Sizeof(*e)) + len(e.principal) + e.keys.RetainedBytes()
	for _, s := range e.groups {
		n += headerSize + len(s)
	}
	for _, s := range e.claims {
		n += headerSize + len(s)
	}
	for _, s := range e.determining {
		n += headerSize + len(s)
	}
	n += 8 * len(e.policies)
	if e.scopes != nil {
		n += mapOverhead
		for s := range e.scopes {
			n += mapSlotOverhead + len(s)
		}
	}
	return uint32(min(n, 1<<31))
}

// keyer builds cache keys: SHA-256 over length-prefixed fields, so no two field lists collide.
// The fields are gathered in a pooled buffer and hashed once (sha256.Sum256 does not
// allocate).
type keyer struct{ buf []byte }

var keyers = sync.Pool{New: func() any { return &keyer{buf: make([]byte, 0, 2048)} }}

func newKeyer() *keyer {
	k := keyers.Get().(*keyer)
	k.buf = k.buf[:0]
	return k
}

func (k *keyer) str(s string) *keyer {
	k.buf = binary.BigEndian.AppendUint64(k.buf, uint64(len(s)))
	k.buf = append(k.buf, s...)
	return k
}

func (k *keyer) num(n int64) *keyer {
	k.buf = binary.BigEndian.AppendUint64(k.buf, uint64(n))
	return k
}

// sum returns the key and recycles the keyer.
func (k *keyer) sum() [32]byte {
	out := sha256.Sum256(k.buf)
	if cap(k.buf) <= 64<<10 {
		keyers.Put(k)
	}
	return out
}

// cacheable reports whether an entry may be stored: its token has not expired.
func cacheable(e *entry, now time.Time) bool { return e.exp.After(now) }
