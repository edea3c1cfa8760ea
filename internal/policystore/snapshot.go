package policystore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"slices"
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
	// statements caches parsed static policies by text so a full load re-parses only changes.
	// Next passes it on unchanged: it is shared and never written after the load that made it.
	statements map[string]engine.Policy
	// templates are the store's parsed templates by id, shared until a change touches one.
	templates map[string]*policy.Template
}

// Snapshots keeps the current compiled snapshot of every policy store used on this node.
//
// Invariants:
//   - a write committed through this node is acknowledged only after the snapshot of its
//     revision is built (the store calls observe before Update returns, and observe builds),
//     so the next Get never serves the pre-change snapshot and does not wait for a build;
//   - Get never returns a snapshot older than the newest revision this node had heard of
//     when Get was called: if that revision cannot be built, Get fails and callers deny.
//     When the store fails with no change heard of, the last good snapshot is served until
//     maxStale;
//   - a build does not inherit the cancellation of whichever caller started it: it runs
//     detached, bounded by buildTimeout, and every caller waits only as long as its own
//     context allows;
//   - a changed revision is built from the previous snapshot by reading only the objects
//     the store reports changed since (store.Store.Changes) and re-indexing only the changed
//     policies (engine.Snapshot.Apply).
//
// Changes from other nodes arrive through the store's notifications (built at once, the
// same way) or polling.
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

// buildTimeout bounds one snapshot build, which runs detached from its callers' contexts.
const buildTimeout = 2 * time.Minute

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
	// compacting is set while a background compaction of current runs.
	compacting atomic.Bool
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

// observe records newer revisions and builds their snapshots before returning: on the node
// that wrote, that is before the write is acknowledged.
func (m *Snapshots) observe(revs map[string]int64) { m.advance(context.Background(), revs) }

func (m *Snapshots) advance(ctx context.Context, revs map[string]int64) {
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
		if cur := e.current.Load(); cur == nil || cur.Revision >= rev {
			continue // nothing to move forward (a first Get is loading it)
		}
		if _, err := m.build(ctx, scope, e, rev); err != nil && !errors.Is(err, store.ErrNotFound) {
			// The next Get retries; until it succeeds it serves nothing older silently.
			m.logger.Warn("building a changed policy store snapshot", "policyStoreId", scope, "revision", rev, "err", err)
		}
	}
}

// Get returns the current snapshot of a policy store. The fast path (no change heard of) does
// no I/O and takes no lock.
func (m *Snapshots) Get(ctx context.Context, storeID string) (*Snapshot, error) {
	e := m.entry(storeID)
	cur := e.current.Load()
	want := e.wanted.Load()
	if cur != nil && cur.Revision >= want {
		if err := m.Fresh(); err != nil {
			return nil, err
		}
		return cur, nil
	}
	// A change is known that the current snapshot lacks. If it cannot be built, the request
	// fails (callers deny) rather than being decided on the snapshot the change made stale:
	// the change may be the forbid or revocation that matters. The last good snapshot is
	// served on outages only while no change is known (the fast path above).
	snap, err := m.build(ctx, storeID, e, want)
	if err != nil {
		if cur != nil && ctx.Err() == nil {
			m.logger.Warn("a changed policy store snapshot cannot be built: denying until it can",
				"policyStoreId", storeID, "revision", cur.Revision, "wanted", want, "err", err)
		}
		return nil, err
	}
	return snap, nil
}

// build returns a snapshot of at least revision want, sharing one build among concurrent
// callers. The build itself runs detached from ctx (bounded by buildTimeout), so a caller
// that gives up fails alone; a caller that joined a build which started before want was
// committed waits for the next one.
func (m *Snapshots) build(ctx context.Context, storeID string, e *entry, want int64) (*Snapshot, error) {
	for attempt := 0; ; attempt++ {
		ch := m.group.DoChan(storeID, func() (any, error) {
			bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
			defer cancel()
			return m.reload(bctx, storeID, e)
		})
		var r singleflight.Result
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("policy store %s: %w", storeID, ctx.Err())
		case r = <-ch:
		}
		if r.Err != nil {
			return nil, r.Err
		}
		snap := r.Val.(*Snapshot)
		// A build that starts after want was committed reads at least want, so the
		// second attempt always suffices; the third is never reached in practice.
		if snap.Revision >= want || attempt == 2 {
			return snap, nil
		}
	}
}

// Fresh returns ErrUnavailable once the store has not answered for longer than maxStaleness:
// from then on nothing this node compiled from the store can be trusted to be current, so
// every user of it — the gateway's route table as much as the snapshots — must fail closed.
func (m *Snapshots) Fresh() error {
	if m.expired() {
		return fmt.Errorf("%w: store unreachable for longer than %v", ErrUnavailable, m.maxStale)
	}
	return nil
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
	var (
		snap *Snapshot
		err  error
	)
	for attempt := 0; ; attempt++ {
		start := e.wanted.Load()
		if prev := e.current.Load(); prev != nil {
			snap, err = Next(ctx, m.st, prev)
		} else {
			snap, err = Load(ctx, m.st, storeID, nil)
		}
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		// A commit heard of while this read found nothing (the store being created) may be
		// newer than the read: read again rather than answer "not found" for a store that
		// exists, to every caller that joined this build.
		if e.wanted.Load() != start && attempt < 2 {
			continue
		}
		e.current.Store(nil)
		e.wanted.CompareAndSwap(start, 0)
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
	if snap.Engine.NeedsCompaction() && e.compacting.CompareAndSwap(false, true) {
		go m.compact(e, snap)
	}
	return snap, nil
}

// compact folds the engine's accumulated delta into a fresh index off the request path and
// installs the result unless a newer snapshot arrived meanwhile (whose next change then
// tries again).
func (m *Snapshots) compact(e *entry, snap *Snapshot) {
	defer e.compacting.Store(false)
	eng, err := snap.Engine.Compact()
	if err != nil {
		m.logger.Warn("compacting a policy store snapshot", "policyStoreId", snap.StoreID, "err", err)
		return
	}
	c := *snap
	c.Engine = eng
	e.current.CompareAndSwap(snap, &c)
}

// Refresh re-reads the revision of every cached store and marks changed ones; the poller of a
// multi-node deployment calls it when notifications may have been missed.
func (m *Snapshots) Refresh(ctx context.Context) error {
	revs, err := m.st.Revisions(ctx)
	if err != nil {
		return err
	}
	m.advance(ctx, revs)
	return nil
}

// Load compiles a policy store from st. prev, when given, lends its parsed policies so an
// unchanged statement is not parsed again. The read is optimistic: the revision is read
// before and after the data and the load retried if a write landed in between, which gives a
// consistent snapshot on every backend without long transactions.
func Load(ctx context.Context, st store.Store, storeID string, prev *Snapshot) (*Snapshot, error) {
	return consistent(ctx, st, storeID, func(rev int64) (*Snapshot, error) {
		return load(ctx, st, storeID, rev, prev)
	})
}

// Next brings prev to the store's current revision, reading only the objects changed since
// prev.Revision and re-indexing only the changed policies. It falls back to a full Load when
// the change history does not reach back to prev or the schema changed. The read is
// optimistic, as Load's.
func Next(ctx context.Context, st store.Store, prev *Snapshot) (*Snapshot, error) {
	snap, err := consistent(ctx, st, prev.StoreID, func(rev int64) (*Snapshot, error) {
		return next(ctx, st, prev, rev)
	})
	if errors.Is(err, errFullLoad) {
		return Load(ctx, st, prev.StoreID, prev)
	}
	return snap, err
}

// errFullLoad makes Next fall back to Load.
var errFullLoad = errors.New("changes need a full load")

// consistent runs read between two reads of the store's revision until none moved it.
func consistent(ctx context.Context, st store.Store, storeID string, read func(rev int64) (*Snapshot, error)) (*Snapshot, error) {
	for attempt := 0; ; attempt++ {
		before, err := st.Revision(ctx, storeID)
		if err != nil {
			return nil, err
		}
		snap, err := read(before)
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

// loadPage is the number of objects a full load reads per List call.
const loadPage = 8192

// listPaged hands the objects q selects to fn a page at a time, each page handled before the
// next is read: every read stays within the store's per-read bound however large the store,
// and only one page of raw rows is held at a time.
func listPaged(ctx context.Context, st store.Reader, q store.Query, fn func([]store.Object) error) error {
	q.Limit = loadPage
	for {
		page, token, err := st.List(ctx, q)
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if token == "" {
			return nil
		}
		q.PageToken = token
	}
}

func load(ctx context.Context, st store.Store, storeID string, rev int64, prev *Snapshot) (*Snapshot, error) {
	ps, err := requireStore(ctx, st, storeID)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{StoreID: storeID, Revision: rev, Settings: ps, LoadedAt: time.Now(),
		statements: map[string]engine.Policy{}, templates: map[string]*policy.Template{}}
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
	for _, o := range tplObjs {
		id, t, err := compileTemplate(o)
		if err != nil {
			return nil, err
		}
		snap.templates[id] = t
	}

	var cache map[string]engine.Policy
	if prev != nil {
		cache = prev.statements
	}
	var policies []engine.Policy
	err = listPaged(ctx, st, store.Query{Scope: storeID, Kind: KindPolicy}, func(page []store.Object) error {
		compiled, err := compilePolicies(page, snap.templates, cache, snap.statements)
		policies = append(policies, compiled...)
		return err
	})
	if err != nil {
		return nil, err
	}

	err = listPaged(ctx, st, store.Query{Scope: storeID, Kind: KindEntity}, func(page []store.Object) error {
		for _, o := range page {
			e, err := compileEntity(o)
			if err != nil {
				return err
			}
			entities[e.UID] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	if snap.IdentitySources, snap.Sources, err = loadIdentitySources(ctx, st, storeID); err != nil {
		return nil, err
	}

	snap.Engine, err = engine.Build(engine.Input{Revision: rev, Policies: policies, Entities: entities})
	if err != nil {
		return nil, fmt.Errorf("compile policy store %s: %w", storeID, err)
	}
	return snap, nil
}

// next derives the snapshot of revision rev from prev and the changes since prev.Revision.
func next(ctx context.Context, st store.Store, prev *Snapshot, rev int64) (*Snapshot, error) {
	storeID := prev.StoreID
	if rev == prev.Revision {
		return prev, nil
	}
	changes, err := st.Changes(ctx, storeID, prev.Revision)
	if errors.Is(err, store.ErrHistoryReset) {
		return nil, errFullLoad
	}
	if err != nil {
		return nil, err
	}
	// Settings are one row and are not in the scope's change log (a container's own
	// writes bump its revision only): read them every time.
	ps, err := requireStore(ctx, st, storeID)
	if err != nil {
		return nil, err
	}
	snap := &Snapshot{StoreID: storeID, Revision: rev, Settings: ps, Schema: prev.Schema, LoadedAt: time.Now(),
		IdentitySources: prev.IdentitySources, Sources: prev.Sources,
		statements: prev.statements, templates: prev.templates}
	var (
		policies  = map[string]store.Change{}
		entities  []store.Change
		templates []store.Change
		sources   bool
	)
	for _, c := range changes {
		switch c.Kind {
		case KindSchema:
			// The schema's actions are entities and its namespaces shape decisions:
			// a schema change is rare enough to rebuild everything for.
			return nil, errFullLoad
		case KindPolicy:
			policies[c.ID] = c
		case KindTemplate:
			templates = append(templates, c)
		case KindEntity:
			entities = append(entities, c)
		case KindIdentitySource:
			sources = true
		}
	}

	if len(templates) > 0 {
		snap.templates = maps.Clone(prev.templates)
		for _, c := range templates {
			if c.Deleted {
				delete(snap.templates, c.ID)
			} else {
				id, t, err := compileTemplate(c.Object)
				if err != nil {
					return nil, err
				}
				snap.templates[id] = t
			}
			// Linked policies follow their template, whether or not the writer re-wrote
			// them: relink every one, as a full load would.
			linked, _, err := st.List(ctx, store.Query{Scope: storeID, Kind: KindPolicy, Ref: c.ID})
			if err != nil {
				return nil, err
			}
			for _, o := range linked {
				if _, ok := policies[o.ID]; !ok {
					policies[o.ID] = store.Change{Kind: KindPolicy, ID: o.ID, Object: o}
				}
			}
		}
	}

	var change engine.Change
	change.Revision = rev
	for _, id := range slices.Sorted(maps.Keys(policies)) {
		c := policies[id]
		if c.Deleted {
			change.Delete = append(change.Delete, id)
			continue
		}
		p, err := compilePolicy(c.Object, snap.templates, prev.statements, nil)
		if err != nil {
			return nil, err
		}
		change.Put = append(change.Put, p)
	}

	if len(entities) > 0 {
		ents := maps.Clone(prev.Engine.Entities())
		for _, c := range entities {
			if !c.Deleted {
				e, err := compileEntity(c.Object)
				if err != nil {
					return nil, err
				}
				ents[e.UID] = e
				continue
			}
			uid, ok := entityUID(c.ID, ents)
			if !ok {
				continue // never loaded: created and deleted since prev
			}
			delete(ents, uid)
			// A stored entity may have shadowed a schema action: the action shows again.
			if snap.Schema != nil {
				for _, a := range snap.Schema.Actions() {
					if a.UID == uid {
						ents[uid] = a
					}
				}
			}
		}
		change.Entities = ents
	}

	if sources {
		if snap.IdentitySources, snap.Sources, err = loadIdentitySources(ctx, st, storeID); err != nil {
			return nil, err
		}
	}

	if snap.Engine, err = prev.Engine.Apply(change); err != nil {
		return nil, fmt.Errorf("compile policy store %s: %w", storeID, err)
	}
	return snap, nil
}

// entityUID finds the entity a stored entity key names (keys are EntityKey(uid)).
func entityUID(key string, ents types.EntityMap) (types.EntityUID, bool) {
	var uid types.EntityUID
	if uid.UnmarshalCedar([]byte(key)) == nil && EntityKey(uid) == key {
		_, ok := ents[uid]
		return uid, ok
	}
	// A type that is not a Cedar path does not parse back: look for it.
	for u := range ents {
		if EntityKey(u) == key {
			return u, true
		}
	}
	return types.EntityUID{}, false
}

func compileTemplate(o store.Object) (string, *policy.Template, error) {
	t, err := decode[Template](o)
	if err != nil {
		return "", nil, err
	}
	parsed, err := policy.ParseTemplate(t.Statement)
	if err != nil {
		return "", nil, fmt.Errorf("stored template %s: %w", t.ID, err)
	}
	return t.ID, parsed, nil
}

// compilePolicies compiles objs in parallel, one contiguous share per CPU: parsing
// dominates a full load. Each worker records its statements in its own map, merged into
// parsed afterwards; cache and templates are only read. The error reported is the one of
// the first failing object in store order, as a sequential load would report it.
func compilePolicies(objs []store.Object, templates map[string]*policy.Template, cache, parsed map[string]engine.Policy) ([]engine.Policy, error) {
	out := make([]engine.Policy, len(objs))
	workers := min(runtime.GOMAXPROCS(0), max(1, len(objs)/256))
	type share struct {
		parsed map[string]engine.Policy
		err    error
	}
	shares := make([]share, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*len(objs)/workers, (w+1)*len(objs)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh := &shares[w]
			sh.parsed = make(map[string]engine.Policy, hi-lo)
			for i := lo; i < hi; i++ {
				p, err := compilePolicy(objs[i], templates, cache, sh.parsed)
				if err != nil {
					sh.err = err
					return
				}
				out[i] = p
			}
		}()
	}
	wg.Wait()
	for _, sh := range shares { // shares are in store order
		if sh.err != nil {
			return nil, sh.err
		}
	}
	for _, sh := range shares {
		maps.Copy(parsed, sh.parsed)
	}
	return out, nil
}

// compilePolicy parses or links a stored policy. Static statements are looked up in cache
// (may be nil) first and recorded in parsed (may be nil).
func compilePolicy(o store.Object, templates map[string]*policy.Template, cache, parsed map[string]engine.Policy) (engine.Policy, error) {
	p, err := decode[Policy](o)
	if err != nil {
		return engine.Policy{}, err
	}
	var cp *cedar.Policy
	switch p.Type {
	case TypeStatic:
		c, ok := cache[p.Statement]
		if !ok {
			// A head-only statement (most of a large store) is indexed from its head and
			// compiled by cedar-go only if a request ever evaluates it.
			if head, ok := policy.ParseHead(p.Statement); ok {
				c = engine.Policy{Head: head}
			} else {
				s, err := policy.ParseStatic(p.Statement)
				if err != nil {
					return engine.Policy{}, fmt.Errorf("stored policy %s: %w", p.ID, err)
				}
				c = engine.Policy{Policy: s.Policy}
			}
		}
		if parsed != nil {
			parsed[p.Statement] = c
		}
		c.ID = p.ID
		return c, nil
	case TypeTemplateLinked:
		t := templates[p.TemplateID]
		if t == nil {
			return engine.Policy{}, fmt.Errorf("stored policy %s: template %s is missing", p.ID, p.TemplateID)
		}
		s, err := t.Link(uidPtr(p.LinkPrincipal), uidPtr(p.LinkResource))
		if err != nil {
			return engine.Policy{}, fmt.Errorf("stored policy %s: %w", p.ID, err)
		}
		cp = s.Policy
	default:
		return engine.Policy{}, fmt.Errorf("stored policy %s: unknown type %q", p.ID, p.Type)
	}
	return engine.Policy{ID: p.ID, Policy: cp}, nil
}

func compileEntity(o store.Object) (types.Entity, error) {
	var e types.Entity
	if err := e.UnmarshalJSON(o.Data); err != nil {
		return e, fmt.Errorf("stored entity %s: %w", o.ID, err)
	}
	return e, nil
}

func loadIdentitySources(ctx context.Context, st store.Reader, storeID string) ([]IdentitySource, []*identity.Source, error) {
	objs, _, err := st.List(ctx, store.Query{Scope: storeID, Kind: KindIdentitySource})
	if err != nil {
		return nil, nil, err
	}
	var (
		srcs     []IdentitySource
		compiled []*identity.Source
	)
	for _, o := range objs {
		src, err := decode[IdentitySource](o)
		if err != nil {
			return nil, nil, err
		}
		src.Created, src.Updated = o.Created, o.Updated
		c, err := src.Source()
		if err != nil {
			return nil, nil, fmt.Errorf("stored identity source %s: %w", src.ID, err)
		}
		srcs = append(srcs, src)
		compiled = append(compiled, c)
	}
	return srcs, compiled, nil
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

// Preload builds the snapshot of every policy store, so that no request after it waits for
// a load (a node reports itself ready only once it is done). A store that fails to build is
// reported in the joined error and left to its first Get; the others are still built.
func (m *Snapshots) Preload(ctx context.Context) error {
	var ids []string
	if err := listPaged(ctx, m.st, store.Query{Kind: KindPolicyStore}, func(page []store.Object) error {
		for _, o := range page {
			ids = append(ids, o.ID)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("list policy stores: %w", err)
	}
	var errs []error
	for _, id := range ids {
		if _, err := m.Get(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("policy store %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}
