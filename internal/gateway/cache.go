package gateway

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

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
	policies  []*iam.Policy
	exp       time.Time
	keys      identity.KeyStamp // the key material that verified the token

	// cedar
	determining []string // determining policies
	allow       bool
	resp        string
	message     string
	reason      string
}

type otterClock struct{ now func() time.Time }

func (c otterClock) NowNano() int64                      { return c.now().UnixNano() }
func (c otterClock) Tick(time.Duration) <-chan time.Time { return nil }

func newDecisionCache(size int, ttl time.Duration, now func() time.Time) *otter.Cache[[32]byte, *entry] {
	return otter.Must(&otter.Options[[32]byte, *entry]{
		MaximumSize: size,
		ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[[32]byte, *entry]) time.Duration {
			// Never outlive the token.
			return min(ttl, e.Value.exp.Sub(now()))
		}),
		Clock: otterClock{now},
	})
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
