package console

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// sessionScope holds the console's sessions and started IdP sign-ins in the node's store, so
// that every node of a deployment serves every session (no sticky sessions) and a restart
// signs nobody out. A ':' can appear neither in a policy store id nor in a user pool id, so
// no other scope can ever be this one (and no store deletion can sweep it).
const sessionScope = "console:sessions"

const (
	kindSession       store.Kind = "console_session"
	kindPendingSignIn store.Kind = "console_signin"
)

// touchEvery bounds how often a session's last use is written back: reading a session costs
// one store read, and only one request a minute per person also writes. The idle timeout is
// therefore kept to within this much.
const touchEvery = time.Minute

// sweepEvery is how often a node deletes expired sessions and sign-ins (when it creates one).
const sweepEvery = 10 * time.Minute

// sessionDoc is a session as stored, under the SHA-256 of its cookie value: the store never
// holds a usable cookie.
type sessionDoc struct {
	User     string    `json:"user"`
	Roles    []string  `json:"roles"`
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"lastSeen"`
	// Expires is the absolute expiry (the sweep reads it).
	Expires time.Time `json:"expires"`
	// IdP is the ID token a sign-in through the built-in IdP was made with.
	IdP *idpIdentity `json:"idp,omitempty"`
}

// idpIdentity is what a session opened through the built-in IdP keeps of its ID token, so
// that the IdP's revocations (user disabled, deleted, signed out everywhere) end it too.
type idpIdentity struct {
	Issuer   string    `json:"iss"`
	Subject  string    `json:"sub"`
	Origin   string    `json:"originJti,omitempty"`
	IssuedAt time.Time `json:"iat"`
}

// sessions are the live console sessions, kept in the store.
type sessions struct {
	st  store.Store
	now func() time.Time

	mu        sync.Mutex
	lastSweep time.Time
}

func newSessions(st store.Store, now func() time.Time) *sessions {
	return &sessions{st: st, now: now}
}

func sessionKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

func putDoc(ctx context.Context, st store.Store, kind store.Kind, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return st.Update(ctx, func(tx store.Tx) error {
		return tx.Put(ctx, store.Object{Scope: sessionScope, Kind: kind, ID: id, Data: b})
	})
}

func (ss *sessions) create(ctx context.Context, user string, roles []string, ttl time.Duration, via *idpIdentity) (string, *session, error) {
	ss.sweep(ctx)
	id := randomToken()
	now := ss.now()
	s := &session{key: sessionKey(id), user: user, roles: roles, csrf: randomToken(), created: now, lastSeen: now, idp: via}
	doc := sessionDoc{User: user, Roles: roles, CSRF: s.csrf, Created: now, LastSeen: now, Expires: now.Add(ttl), IdP: via}
	if err := putDoc(ctx, ss.st, kindSession, s.key, doc); err != nil {
		return "", nil, fmt.Errorf("store console session: %w", err)
	}
	return id, s, nil
}

// get returns the live session of id and marks it used; an expired or idle one is deleted.
// A store that cannot be read gives no session (the person is asked to sign in again).
func (ss *sessions) get(ctx context.Context, id string, ttl, idle time.Duration) (*session, error) {
	key := sessionKey(id)
	o, err := ss.st.Get(ctx, sessionScope, kindSession, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read console session: %w", err)
	}
	var d sessionDoc
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return nil, fmt.Errorf("read console session: %w", err)
	}
	now := ss.now()
	if now.Sub(d.Created) >= ttl || now.Sub(d.LastSeen) >= idle {
		return nil, ss.delete(ctx, kindSession, key)
	}
	if now.Sub(d.LastSeen) >= touchEvery {
		d.LastSeen = now
		if err := putDoc(ctx, ss.st, kindSession, key, d); err != nil {
			return nil, fmt.Errorf("touch console session: %w", err)
		}
	}
	return &session{key: key, user: d.User, roles: d.Roles, csrf: d.CSRF, created: d.Created, lastSeen: d.LastSeen, idp: d.IdP}, nil
}

func (ss *sessions) end(ctx context.Context, s *session) error {
	return ss.delete(ctx, kindSession, s.key)
}

func (ss *sessions) delete(ctx context.Context, kind store.Kind, key string) error {
	err := ss.st.Update(ctx, func(tx store.Tx) error { return tx.Delete(ctx, sessionScope, kind, key) })
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// sweep deletes expired sessions and sign-ins, at most once per sweepEvery on this node.
// Nothing depends on it for correctness (get checks expiry itself); it keeps the scope small.
func (ss *sessions) sweep(ctx context.Context) {
	now := ss.now()
	ss.mu.Lock()
	if now.Sub(ss.lastSweep) < sweepEvery {
		ss.mu.Unlock()
		return
	}
	ss.lastSweep = now
	ss.mu.Unlock()
	for _, kind := range []store.Kind{kindSession, kindPendingSignIn} {
		token := ""
		for {
			objs, next, err := ss.st.List(ctx, store.Query{Scope: sessionScope, Kind: kind, Limit: 200, PageToken: token})
			if err != nil {
				return
			}
			for _, o := range objs {
				var d struct {
					Expires time.Time `json:"expires"`
				}
				if json.Unmarshal(o.Data, &d) != nil || !now.Before(d.Expires) {
					_ = ss.delete(ctx, kind, o.ID)
				}
			}
			if next == "" {
				break
			}
			token = next
		}
	}
}

// pendingDoc is a started IdP sign-in as stored, under the SHA-256 of its state.
type pendingDoc struct {
	Verifier string    `json:"verifier"`
	Nonce    string    `json:"nonce"`
	Next     string    `json:"next"`
	Redirect string    `json:"redirect"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
}

func (ss *sessions) putPending(ctx context.Context, state string, p *pending) error {
	ss.sweep(ctx)
	return putDoc(ctx, ss.st, kindPendingSignIn, sessionKey(state), pendingDoc{Verifier: p.verifier, Nonce: p.nonce, Next: p.next,
		Redirect: p.redirect, Created: p.created, Expires: p.created.Add(pendingTTL)})
}

// takePending removes and returns the sign-in started with state: read and delete are one
// transaction, so a state is redeemed once across every node.
func (ss *sessions) takePending(ctx context.Context, state string) (*pending, error) {
	key := sessionKey(state)
	var d pendingDoc
	err := ss.st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, sessionScope, kindPendingSignIn, key)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(o.Data, &d); err != nil {
			return err
		}
		return tx.Delete(ctx, sessionScope, kindPendingSignIn, key)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read console sign-in: %w", err)
	}
	if ss.now().Sub(d.Created) > pendingTTL {
		return nil, nil
	}
	return &pending{verifier: d.Verifier, nonce: d.Nonce, next: d.Next, redirect: d.Redirect, created: d.Created}, nil
}
