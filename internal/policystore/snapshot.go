package policystore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Snapshot is one policy store compiled at one revision. It is immutable: a change produces a
// new Snapshot, never edits this one.
type Snapshot struct {
	StoreID  string
	Revision int64
	Settings PolicyStore
	// Schema is nil when the store has none.
	Schema *policy.Schema
	Engine *engine.Snapshot
	// IdentitySources are the store's identity sources in id order, and Sources the same
	// compiled for token validation.
	IdentitySources []IdentitySource
	Sources         []*identity.Source
	// LoadedAt is when this node built the snapshot.
	LoadedAt time.Time
	// statements caches parsed policies by text so the next build re-parses only changes.
	statements map[string]*cedar.Policy
}

// Snapshots keeps the current compiled snapshot of every policy store used on this node and
// rebuilds one when its revision moves. A change committed through this node is seen by the
// very next Get (the store calls back before Update returns); changes from other nodes arrive
// through the store's notifications or polling.
type Snapshots struct {
	st     store.Store
	logger *slog.Logger
	now    func() time.Time

	entries sync.Map // store id → *entry
	group   singleflight.Group

	// maxStale bounds how long a snapshot is served after the store last answered
	// (lastContact); 0 means forever.
	maxStale    time.Duration
	lastContact func() time.Time
}

// SnapshotsOption configures NewSnapshots.
type SnapshotsOption func(*Snapshots)

// WithMaxStaleness stops serving snapshots (Get returns ErrUnavailable, so callers deny)
// once the store has not answered for longer than d; lastContact reports when it last did
// (zero before the first contact) and must be cheap: it runs on every decision.
func WithMaxStaleness(d time.Duration, lastContact func() time.Time) SnapshotsOption {
	return func(m *Snapshots) { m.maxStale, m.lastContact = d, lastContact }
}

type entry struct {
	current atomic.Pointer[Snapshot]
	// wanted is the newest revision this node has heard of; 0 means "unknown, check".
	wanted atomic.Int64
	// checked is when the store last answered for this entry (unix nanos).
	checked atomic.Int64
}

// ErrUnavailable means no snapshot could be loaded and none is cached: callers must deny.
var ErrUnavailable = errors.New("policy store unavailable")

// NewSnapshots returns a snapshot manager wired to st's change notifications.
func NewSnapshots(st store.Store, logger *slog.Logger, opts ...SnapshotsOption) *Snapshots {
	if logger == nil {
		logger = slog.Default()
	}
	m := &Snapshots{st: st, logger: logger, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	st.OnChange(m.observe)
	return m
}

func (m *Snapshots) entry(id string) *entry {
	if e, ok := m.entries.Load(id); ok {
		return e.(*entry)
	}
	e, _ := m.entries.LoadOrStore(id, &entry{})
	return e.(*entry)
}

// observe records newer revisions; the rebuild happens lazily on the next Get.
func (m *Snapshots) observe(revs map[string]int64) {
	for scope, rev := range revs {
		if scope == "" {
			continue
		}
		v, ok := m.entries.Load(scope)
		if !ok {
			continue // never used on this node: its first Get loads it fresh
		}
		e := v.(*entry)
		for {
			cur := e.wanted.Load()
			if rev <= cur || e.wanted.CompareAndSwap(cur, rev) {
				break
			}
		}
	}
}

// Get returns the current snapshot of a policy store. The fast path (no change heard of) does
// no I/O and takes no lock.
func (m *Snapshots) Get(ctx context.Context, storeID string) (*Snapshot, error) {
	e := m.entry(storeID)
	cur := e.current.Load()
	if cur != nil && cur.Revision >= e.wanted.Load() {
		if m.expired() {
			return nil, fmt.Errorf("%w: store unreachable for longer than %v", ErrUnavailable, m.maxStale)
		}
		return cur, nil
	}
	v, err, _ := m.group.Do(storeID, func() (any, error) {
		return m.reload(ctx, storeID, e)
	})
	if err != nil {
		if cur != nil && !errors.Is(err, store.ErrNotFound) && !m.expired() {
			m.logger.Warn("serving the last good snapshot", "policyStoreId", storeID, "revision", cur.Revision, "err", err)
			return cur, nil
		}
		return nil, err
	}
	return v.(*Snapshot), nil
}

// expired reports whether the store has not answered for longer than maxStale.
func (m *Snapshots) expired() bool {
	if m.maxStale <= 0 || m.lastContact == nil {
		return false
	}
	last := m.lastContact()
	return !last.IsZero() && m.now().Sub(last) > m.maxStale
}

func (m *Snapshots) reload(ctx context.Context, storeID string, e *entry) (*Snapshot, error) {
	prev := e.current.Load()
	snap, err := Load(ctx, m.st, storeID, prev)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			e.current.Store(nil)
			e.wanted.Store(0)
		}
		return nil, err
	}
	e.checked.Store(m.now().UnixNano())
	e.current.Store(snap)
	for {
		w := e.wanted.Load()
		if snap.Revision <= w && w != 0 {
			break
		}
		if e.wanted.CompareAndSwap(w, snap.Revision) {
			break
		}
	}
	return snap, nil
}

// Refresh re-reads the revision of every cached store and marks changed ones; the poller of a
// multi-node deployment calls it when notifications may have been missed.
func (m *Snapshots) Refresh(ctx context.Context) error {
	revs, err := m.st.Revisions(ctx)
	if err != nil {
		return err
	}
	m.observe(revs)
	return nil
}

// Load compiles a policy store from st. prev, when given, lends its parsed policies so an
// unchanged statement is not parsed again. The read is optimistic: the revision is read
// before and after the data and the load retried if a write landed in between, which gives a
// consistent snapshot on every backend without long transactions.
func Load(ctx context.Context, st store.Store, storeID string, prev *Snapshot) (*Snapshot, error) {
	for attempt := 0; ; attempt++ {
		before, err := st.Revision(ctx, storeID)
		if err != nil {
			return nil, err
		}
		snap, err := load(ctx, st, storeID, before, prev)
		if err != nil {
			return nil, err
		}
		after, err := st.Revision(ctx, storeID)
		if err != nil {
			return nil, err
		}
		if after == before {
			return snap, nil
		}
		if attempt == 5 {
			return nil, fmt.Errorf("load policy store %s: revision kept moving (%d → %d)", storeID, before, after)
		}
	}
}

func load(ctx context.Context, st store.Store, storeID string, rev int64, prev *Snapshot) (*Snapshot, error) {
	ps, err := requireStore(ctx, st, storeID)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{StoreID: storeID, Revision: rev, Settings: ps, LoadedAt: time.Now(), statements: map[string]*cedar.Policy{}}
	entities := types.EntityMap{}
	if doc, err := getSchema(ctx, st, storeID); err == nil {
		if snap.Schema, err = policy.ParseSchema([]byte(doc.JSON)); err != nil {
			return nil, fmt.Errorf("stored schema of %s: %w", storeID, err)
		}
		for _, a := range snap.Schema.Actions() {
			entities[a.UID] = a
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}

	tplObjs, _, err := st.List(ctx, store.Query{Scope: storeID, Kind: KindTemplate})
	if err != nil {
		return nil, err
	}
	templates := map[string]*policy.Template{}
	for _, o := range tplObjs {
		t, err := decode[Template](o)
		if err != nil {
			return nil, err
		}
		if templates[t.ID], err = policy.ParseTemplate(t.Statement); err != nil {
			return nil, fmt.Errorf("stored template %s: %w", t.ID, err)
		}
	}

	polObjs, _, err := st.List(ctx, store.Query{Scope: storeID, Kind: KindPolicy})
	if err != nil {
		return nil, err
	}
	policies := make([]engine.Policy, 0, len(polObjs))
	for _, o := range polObjs {
		p, err := decode[Policy](o)
		if err != nil {
			return nil, err
		}
		var cp *cedar.Policy
		switch p.Type {
		case TypeStatic:
			if prev != nil {
				cp = prev.statements[p.Statement]
			}
			if cp == nil {
				s, err := policy.ParseStatic(p.Statement)
				if err != nil {
					return nil, fmt.Errorf("stored policy %s: %w", p.ID, err)
				}
				cp = s.Policy
			}
			snap.statements[p.Statement] = cp
		case TypeTemplateLinked:
			t := templates[p.TemplateID]
			if t == nil {
				return nil, fmt.Errorf("stored policy %s: template %s is missing", p.ID, p.TemplateID)
			}
			s, err := t.Link(uidPtr(p.LinkPrincipal), uidPtr(p.LinkResource))
			if err != nil {
				return nil, fmt.Errorf("stored policy %s: %w", p.ID, err)
			}
			cp = s.Policy
		default:
			return nil, fmt.Errorf("stored policy %s: unknown type %q", p.ID, p.Type)
		}
		policies = append(policies, engine.Policy{ID: p.ID, Policy: cp})
	}

	entObjs, _, err := st.List(ctx, store.Query{Scope: storeID, Kind: KindEntity})
	if err != nil {
		return nil, err
	}
	for _, o := range entObjs {
		var e types.Entity
		if err := e.UnmarshalJSON(o.Data); err != nil {
			return nil, fmt.Errorf("stored entity %s: %w", o.ID, err)
		}
		entities[e.UID] = e
	}

	isObjs, _, err := st.List(ctx, store.Query{Scope: storeID, Kind: KindIdentitySource})
	if err != nil {
		return nil, err
	}
	for _, o := range isObjs {
		src, err := decode[IdentitySource](o)
		if err != nil {
			return nil, err
		}
		src.Created, src.Updated = o.Created, o.Updated
		compiled, err := src.Source()
		if err != nil {
			return nil, fmt.Errorf("stored identity source %s: %w", src.ID, err)
		}
		snap.IdentitySources = append(snap.IdentitySources, src)
		snap.Sources = append(snap.Sources, compiled)
	}

	snap.Engine, err = engine.Build(engine.Input{Revision: rev, Policies: policies, Entities: entities})
	if err != nil {
		return nil, fmt.Errorf("compile policy store %s: %w", storeID, err)
	}
	return snap, nil
}

// encodeAfter and decodeAfter make the page tokens of filtered listings.
func encodeAfter(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("a:" + id))
}

func decodeAfter(token string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 2 || string(b[:2]) != "a:" {
		return "", invalid("nextToken", "is not a token returned by this operation")
	}
	return string(b[2:]), nil
}

// SnapshotState describes one snapshot this node holds.
type SnapshotState struct {
	PolicyStoreID string
	Revision      int64
	LoadedAt      time.Time
}

// States lists the snapshots held, for metrics and readiness.
func (m *Snapshots) States() []SnapshotState {
	var out []SnapshotState
	m.entries.Range(func(k, v any) bool {
		if s := v.(*entry).current.Load(); s != nil {
			out = append(out, SnapshotState{PolicyStoreID: s.StoreID, Revision: s.Revision, LoadedAt: s.LoadedAt})
		}
		return true
	})
	return out
}
