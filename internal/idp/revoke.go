package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Revocations live in their own scope so that every node learns of them through the store's
// change notifications (a bump of this scope's revision) and reads only what changed.
const (
	revocationScope            = "_idp_revocations"
	kindRevocation  store.Kind = "idp_revocation"
	// revocationKeep bounds how long a revocation must be remembered: no access or ID token
	// lives longer than 24 h (the client validity limit), plus the validators' clock leeway.
	revocationKeep = 24*time.Hour + 2*time.Minute
)

// revocation is a user epoch (Sub and NotBefore: every token of the user issued before
// NotBefore), a session (Origin: every token carrying that origin_jti) or a deleted pool
// (neither: every token of the issuer issued before NotBefore).
type revocation struct {
	Issuer    string    `json:"issuer"`
	Sub       string    `json:"sub,omitempty"`
	NotBefore int64     `json:"notBefore,omitempty"` // unix seconds
	Origin    string    `json:"origin,omitempty"`
	Expires   time.Time `json:"expires"` // no token it covers is valid after this
}

func userRevocationID(iss, sub string) string      { return "u" + hashSecret(iss+"\x00"+sub) }
func originRevocationID(iss, origin string) string { return "o" + hashSecret(iss+"\x00"+origin) }

// revTable is an immutable in-memory copy of the revocation scope at revision rev.
type revTable struct {
	rev     int64
	byID    map[string]revocation
	users   map[revKey]int64    // (iss, sub) -> notBefore
	origins map[revKey]struct{} // (iss, origin_jti)
	issuers map[string]int64    // deleted pools: iss -> notBefore
}

// revKey is a struct, not a concatenated string, so a lookup allocates nothing.
type revKey struct{ iss, id string }

func newRevTable(rev int64, byID map[string]revocation) *revTable {
	t := &revTable{rev: rev, byID: byID, users: map[revKey]int64{}, origins: map[revKey]struct{}{}, issuers: map[string]int64{}}
	for _, r := range byID {
		switch {
		case r.Origin != "":
			t.origins[revKey{r.Issuer, r.Origin}] = struct{}{}
		case r.Sub != "":
			k := revKey{r.Issuer, r.Sub}
			t.users[k] = max(t.users[k], r.NotBefore)
		default:
			t.issuers[r.Issuer] = max(t.issuers[r.Issuer], r.NotBefore)
		}
	}
	return t
}

// revocations keeps this node's copy of the revocation scope current.
type revocations struct {
	mu    sync.Mutex // serialises loads
	table atomic.Pointer[revTable]
}

// observe is the store's change listener: a commit touching the revocation scope (here or, via
// the store's notifications, on another node) is loaded before the listener returns, so on the
// writing node a revocation holds before the call that made it is acknowledged.
func (p *IdP) observe(revs map[string]int64) {
	rev, ok := revs[revocationScope]
	if !ok {
		return
	}
	if t := p.revs.table.Load(); t != nil && t.rev >= rev {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.loadRevocations(ctx); err != nil {
		p.log.Error("load token revocations", "err", err)
	}
}

// loadRevocations brings the table to at least the store's current revision of the scope.
func (p *IdP) loadRevocations(ctx context.Context) error {
	p.revs.mu.Lock()
	defer p.revs.mu.Unlock()
	for range 10 {
		before, err := p.st.Revision(ctx, revocationScope)
		if err != nil {
			return fmt.Errorf("revision of %s: %w", revocationScope, err)
		}
		old := p.revs.table.Load()
		if old != nil && old.rev >= before {
			return nil
		}
		var byID map[string]revocation
		if old == nil {
			byID = map[string]revocation{}
			objs, err := listAllObjects(ctx, p.st, revocationScope, kindRevocation)
			if err != nil {
				return err
			}
			for _, o := range objs {
				var r revocation
				if err := json.Unmarshal(o.Data, &r); err != nil {
					return fmt.Errorf("decode revocation %q: %w", o.ID, err)
				}
				byID[o.ID] = r
			}
		} else {
			changes, err := p.st.Changes(ctx, revocationScope, old.rev)
			if errors.Is(err, store.ErrHistoryReset) {
				p.revs.table.Store(nil)
				continue
			}
			if err != nil {
				return fmt.Errorf("changes of %s: %w", revocationScope, err)
			}
			byID = maps.Clone(old.byID)
			for _, c := range changes {
				if c.Kind != kindRevocation {
					continue
				}
				if c.Deleted {
					delete(byID, c.ID)
					continue
				}
				var r revocation
				if err := json.Unmarshal(c.Object.Data, &r); err != nil {
					return fmt.Errorf("decode revocation %q: %w", c.ID, err)
				}
				byID[c.ID] = r
			}
		}
		after, err := p.st.Revision(ctx, revocationScope)
		if err != nil {
			return fmt.Errorf("revision of %s: %w", revocationScope, err)
		}
		// What was read reflects at least revision before; a commit in between is read again.
		p.revs.table.Store(newRevTable(before, byID))
		if after == before {
			return nil
		}
	}
	return errors.New("revocations kept changing while being read")
}

func listAllObjects(ctx context.Context, r store.Reader, scope string, kind store.Kind) ([]store.Object, error) {
	var out []store.Object
	token := ""
	for {
		objs, next, err := r.List(ctx, store.Query{Scope: scope, Kind: kind, Limit: 500, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		out = append(out, objs...)
		if next == "" {
			return out, nil
		}
		token = next
	}
}

// Revoked implements identity.RevocationChecker: a token of one of this IdP's pools is revoked
// when its user signed out globally, was disabled or deleted after it was issued, or its
// session's refresh token was revoked. It answers from memory; until the table could be read
// once, every token of this IdP's issuers counts as revoked (fail closed).
func (p *IdP) Revoked(tok *identity.Token) bool {
	origin, _ := tok.Claims["origin_jti"].(string)
	return p.revoked(tok.Issuer, tok.Subject, origin, tok.IssuedAt)
}

func (p *IdP) revoked(iss, sub, origin string, iat time.Time) bool {
	t := p.revs.table.Load()
	if t == nil {
		if !p.ownsIssuer(iss) {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := p.loadRevocations(ctx)
		cancel()
		if t = p.revs.table.Load(); t == nil {
			p.log.Error("token revocations unavailable; refusing this IdP's tokens", "err", err)
			return true
		}
	}
	if len(t.users) == 0 && len(t.origins) == 0 && len(t.issuers) == 0 {
		return false
	}
	if nb, ok := t.issuers[iss]; ok && (iat.IsZero() || iat.Unix() < nb) {
		return true
	}
	if nb, ok := t.users[revKey{iss, sub}]; ok && (iat.IsZero() || iat.Unix() < nb) {
		return true
	}
	if origin != "" {
		if _, ok := t.origins[revKey{iss, origin}]; ok {
			return true
		}
	}
	return false
}

// ownsIssuer reports whether iss can be one of this IdP's pools.
func (p *IdP) ownsIssuer(iss string) bool {
	rest, ok := strings.CutPrefix(iss, p.base+"/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// userNotBefore returns the user's revocation epoch as stored (0 when none): tokens are
// issued with iat no earlier than it, so a sign-in right after a sign-out is not caught by it.
func (p *IdP) userNotBefore(ctx context.Context, r store.Reader, iss, sub string) (int64, error) {
	rec, err := getJSON[revocation](ctx, r, revocationScope, kindRevocation, userRevocationID(iss, sub))
	if errors.Is(err, store.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read revocation: %w", err)
	}
	return rec.NotBefore, nil
}

// revokeUserTx records, in tx, that every token issued to u so far is revoked. The epoch is the
// next whole second: iat has one-second resolution, so a token signed in the current second
// may predate the revocation and must be covered; tokens issued later in this second get
// iat = the epoch (see issue).
func (p *IdP) revokeUserTx(ctx context.Context, tx store.Tx, pool *Pool, u *User) error {
	now := p.now()
	iss := p.poolIssuer(pool)
	rec := revocation{Issuer: iss, Sub: u.Sub, NotBefore: now.Unix() + 1, Expires: now.Add(revocationKeep).UTC()}
	return putJSON(ctx, tx, false, revocationScope, kindRevocation, userRevocationID(iss, u.Sub), "", "", rec)
}

// revokeIssuerTx records, in tx, that every token a (deleted) pool issued so far is revoked.
func (p *IdP) revokeIssuerTx(ctx context.Context, tx store.Tx, iss string) error {
	now := p.now()
	rec := revocation{Issuer: iss, NotBefore: now.Unix() + 1, Expires: now.Add(revocationKeep).UTC()}
	return putJSON(ctx, tx, false, revocationScope, kindRevocation, "p"+hashSecret(iss), "", "", rec)
}

// revokeOriginTx records, in tx, that every token of one authentication (origin_jti) is revoked.
func (p *IdP) revokeOriginTx(ctx context.Context, tx store.Tx, iss, origin string) error {
	now := p.now()
	rec := revocation{Issuer: iss, Origin: origin, Expires: now.Add(revocationKeep).UTC()}
	return putJSON(ctx, tx, false, revocationScope, kindRevocation, originRevocationID(iss, origin), "", "", rec)
}

// GlobalSignOut revokes every token issued to the user so far: refresh tokens stop refreshing,
// and access and ID tokens fail at the gateway, forward-auth and IsAuthorizedWithToken on
// every node (which Cognito does not do for access tokens it already issued).
func (p *IdP) GlobalSignOut(ctx context.Context, poolID, username string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "GlobalSignOut", PoolID: poolID, Username: username, Detail: "every token issued so far revoked"}
	})
	return p.st.Update(ctx, func(tx store.Tx) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		u, err := p.getUser(ctx, tx, poolID, username)
		if err != nil {
			return err
		}
		return p.revokeUserTx(ctx, tx, pool, u)
	})
}

// sweepRevocations deletes revocations no token they cover can outlive.
func (p *IdP) sweepRevocations(ctx context.Context, now time.Time) (int, error) {
	return p.sweepKind(ctx, revocationScope, kindRevocation, now)
}
