// Package memstore is a store.Store kept in process memory: nothing is written to disk, and
// everything is gone when the process ends. It serves the Lambda authorizer mode, where the
// state is a bundle directory applied once per cold start through the same code the admin API
// uses, and tests that want a store without a file.
//
// Invariants (the storetest conformance suite checks the store.Store ones):
//   - writers are serialized: one Update runs at a time, so commit order is revision order and
//     Tx.Revision holds until the transaction ends without further locking;
//   - a transaction's writes live in an overlay until commit and are published in one step
//     under the state lock, so readers see all of a commit or none of it;
//   - objects handed in or out are copies: no caller can change stored data through a slice;
//   - the change log keeps, per scope, the revision of the commit that last wrote each object;
//     deleting a container drops its log and records the revision at which history was reset,
//     exactly as sqldb's triggers do;
//   - Freeze makes every later Update fail with ErrReadOnly: after it the state never changes.
package memstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// ErrReadOnly is returned by Update once the store is frozen.
var ErrReadOnly = errors.New("store is read-only")

type key struct {
	scope string
	kind  store.Kind
	id    string
}

type scopeKind struct {
	scope string
	kind  store.Kind
}

type nameKey struct {
	scope string
	kind  store.Kind
	name  string
}

type logKey struct {
	kind store.Kind
	id   string
}

// Store is an in-memory store.Store. The zero value is not usable; call New.
type Store struct {
	writer sync.Mutex // serializes Update
	frozen atomic.Bool

	mu      sync.RWMutex
	objects map[key]store.Object
	names   map[nameKey]string
	// ids keeps the sorted ids of every (scope, kind), so List pages in byte order without
	// sorting on each call.
	ids     map[scopeKind][]string
	revs    map[string]int64
	changes map[string]map[logKey]int64
	// resetAt is the revision at which a container's history was reset (it was deleted).
	resetAt map[string]int64

	hooksMu sync.Mutex
	hooks   []store.ChangeFunc
}

var _ store.Store = (*Store)(nil)

// New returns an empty store.
func New() *Store {
	return &Store{
		objects: map[key]store.Object{},
		names:   map[nameKey]string{},
		ids:     map[scopeKind][]string{},
		revs:    map[string]int64{},
		changes: map[string]map[logKey]int64{},
		resetAt: map[string]int64{},
	}
}

// Freeze makes the store read-only: every later Update returns ErrReadOnly. It waits for a
// running Update to finish.
func (s *Store) Freeze() {
	s.writer.Lock()
	s.frozen.Store(true)
	s.writer.Unlock()
}

// ReadOnly reports whether Freeze was called.
func (s *Store) ReadOnly() bool { return s.frozen.Load() }

func clone(o store.Object) store.Object {
	o.Data = slices.Clone(o.Data)
	return o
}

// Get implements store.Reader.
func (s *Store) Get(_ context.Context, scope string, kind store.Kind, id string) (store.Object, error) {
	s.mu.RLock()
	o, ok := s.objects[key{scope, kind, id}]
	s.mu.RUnlock()
	if !ok {
		return store.Object{}, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	return clone(o), nil
}

// GetByName implements store.Reader.
func (s *Store) GetByName(ctx context.Context, scope string, kind store.Kind, name string) (store.Object, error) {
	s.mu.RLock()
	id, ok := s.names[nameKey{scope, kind, name}]
	s.mu.RUnlock()
	if !ok {
		return store.Object{}, fmt.Errorf("%s named %q: %w", kind, name, store.ErrNotFound)
	}
	return s.Get(ctx, scope, kind, id)
}

type pageToken struct {
	Scope string `json:"s"`
	Kind  string `json:"k"`
	Ref   string `json:"r,omitempty"`
	After string `json:"a"`
}

// after decodes q's page token: the id the page starts after.
func after(q store.Query) (string, bool, error) {
	if q.PageToken == "" {
		return "", false, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(q.PageToken)
	if err != nil {
		return "", false, store.ErrBadPageToken
	}
	var pt pageToken
	if err := json.Unmarshal(raw, &pt); err != nil || pt.Scope != q.Scope || pt.Kind != string(q.Kind) || pt.Ref != q.Ref {
		return "", false, store.ErrBadPageToken
	}
	return pt.After, true, nil
}

// page cuts one page out of ids (sorted) and returns the objects and the next token.
func page(q store.Query, ids []string, get func(id string) (store.Object, bool)) ([]store.Object, string, error) {
	start, has, err := after(q)
	if err != nil {
		return nil, "", err
	}
	i := 0
	if has {
		i, _ = slices.BinarySearch(ids, start)
		if i < len(ids) && ids[i] == start {
			i++
		}
	}
	var out []store.Object
	for ; i < len(ids); i++ {
		o, ok := get(ids[i])
		if !ok || (q.Ref != "" && o.Ref != q.Ref) {
			continue
		}
		if q.Limit > 0 && len(out) == q.Limit {
			pt, _ := json.Marshal(pageToken{Scope: q.Scope, Kind: string(q.Kind), Ref: q.Ref, After: out[len(out)-1].ID})
			return out, base64.RawURLEncoding.EncodeToString(pt), nil
		}
		out = append(out, clone(o))
	}
	return out, "", nil
}

// List implements store.Reader.
func (s *Store) List(_ context.Context, q store.Query) ([]store.Object, string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return page(q, s.ids[scopeKind{q.Scope, q.Kind}], func(id string) (store.Object, bool) {
		o, ok := s.objects[key{q.Scope, q.Kind, id}]
		return o, ok
	})
}

// Revision implements store.Store.
func (s *Store) Revision(_ context.Context, scope string) (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revs[scope], nil
}

// Revisions implements store.Store.
func (s *Store) Revisions(context.Context) (map[string]int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make(map[string]int64, len(s.revs))
	for k, v := range s.revs {
		out[k] = v
	}
	return out, nil
}

// Changes implements store.Store.
func (s *Store) Changes(_ context.Context, scope string, since int64) ([]store.Change, error) {
	if scope == "" {
		return nil, errors.New("changes: the top-level scope has no change log")
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r, ok := s.resetAt[scope]; ok && r > since {
		return nil, fmt.Errorf("changes of %q since %d: %w", scope, since, store.ErrHistoryReset)
	}
	var out []store.Change
	for lk, rev := range s.changes[scope] {
		if rev <= since {
			continue
		}
		c := store.Change{Kind: lk.kind, ID: lk.id}
		if o, ok := s.objects[key{scope, lk.kind, lk.id}]; ok {
			c.Object = clone(o)
		} else {
			c.Deleted = true
		}
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// OnChange implements store.Store. Only this process writes, so every commit is heard.
func (s *Store) OnChange(fn store.ChangeFunc) {
	s.hooksMu.Lock()
	s.hooks = append(s.hooks, fn)
	s.hooksMu.Unlock()
}

// Ping implements store.Store: memory always answers.
func (s *Store) Ping(context.Context) error { return nil }

// Close implements store.Store. The data stays readable: there is nothing to release.
func (s *Store) Close() error { return nil }

// Update implements store.Store.
func (s *Store) Update(ctx context.Context, fn func(store.Tx) error) error {
	s.writer.Lock()
	if s.frozen.Load() {
		s.writer.Unlock()
		return ErrReadOnly
	}
	t := &tx{s: s, pending: map[key]*store.Object{}, names: map[nameKey]string{}, touched: map[string]bool{}}
	if err := fn(t); err != nil {
		s.writer.Unlock()
		return err
	}
	if err := ctx.Err(); err != nil {
		s.writer.Unlock()
		return err
	}
	revs := s.commit(t)
	s.writer.Unlock()
	if revs == nil {
		return nil
	}
	s.hooksMu.Lock()
	hooks := slices.Clone(s.hooks)
	s.hooksMu.Unlock()
	for _, h := range hooks {
		h(revs)
	}
	return nil
}

// commit publishes t's writes and bumps the revisions of the scopes it touched; nil when the
// transaction wrote nothing.
func (s *Store) commit(t *tx) map[string]int64 {
	if !t.wrote {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	next := func(scope string) int64 { return s.revs[scope] + 1 }
	// The log first, in the order the writes happened, with the revisions this commit gives.
	for _, op := range t.ops {
		if op.scope == "" {
			if op.containerDeleted {
				delete(s.changes, op.id)
				s.resetAt[op.id] = next(op.id)
			}
			continue
		}
		m := s.changes[op.scope]
		if m == nil {
			m = map[logKey]int64{}
			s.changes[op.scope] = m
		}
		m[logKey{op.kind, op.id}] = next(op.scope)
	}
	// Ids added to or removed from each (scope, kind), to keep its sorted id list.
	added, removed := map[scopeKind][]string{}, map[scopeKind]map[string]bool{}
	for k, o := range t.pending {
		old, existed := s.objects[k]
		if existed && old.Name != "" {
			nk := nameKey{k.scope, k.kind, old.Name}
			if s.names[nk] == k.id {
				delete(s.names, nk)
			}
		}
		sk := scopeKind{k.scope, k.kind}
		switch {
		case o == nil && existed:
			delete(s.objects, k)
			if removed[sk] == nil {
				removed[sk] = map[string]bool{}
			}
			removed[sk][k.id] = true
		case o != nil:
			s.objects[k] = *o
			if !existed {
				added[sk] = append(added[sk], k.id)
			}
		}
	}
	// Names after every removal, so a name moved from one object to another in this
	// transaction lands on its new owner.
	for k, o := range t.pending {
		if o != nil && o.Name != "" {
			s.names[nameKey{k.scope, k.kind, o.Name}] = k.id
		}
	}
	for sk, gone := range removed {
		s.ids[sk] = slices.DeleteFunc(s.ids[sk], func(id string) bool { return gone[id] })
	}
	for sk, ids := range added {
		s.ids[sk] = append(s.ids[sk], ids...)
		slices.Sort(s.ids[sk])
	}
	for sk := range removed {
		if len(s.ids[sk]) == 0 {
			delete(s.ids, sk)
		}
	}
	revs := map[string]int64{"": next("")}
	for scope := range t.touched {
		revs[scope] = next(scope)
	}
	for scope, r := range revs {
		s.revs[scope] = r
	}
	return revs
}

// op is one write of a transaction, kept in order for the change log.
type op struct {
	scope            string
	kind             store.Kind
	id               string
	containerDeleted bool
}

// tx is a write transaction: reads see the committed state overlaid with its own writes.
type tx struct {
	s *Store
	// pending maps each written object to its new state (nil: deleted).
	pending map[key]*store.Object
	// names maps names this transaction assigned or freed to their owner ("" when freed).
	names   map[nameKey]string
	ops     []op
	touched map[string]bool
	wrote   bool
}

func (t *tx) lookup(k key) (store.Object, bool) {
	if o, ok := t.pending[k]; ok {
		if o == nil {
			return store.Object{}, false
		}
		return *o, true
	}
	t.s.mu.RLock()
	o, ok := t.s.objects[k]
	t.s.mu.RUnlock()
	return o, ok
}

func (t *tx) Get(_ context.Context, scope string, kind store.Kind, id string) (store.Object, error) {
	o, ok := t.lookup(key{scope, kind, id})
	if !ok {
		return store.Object{}, fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	return clone(o), nil
}

// owner returns the id of the object named name, as this transaction sees it.
func (t *tx) owner(scope string, kind store.Kind, name string) (string, bool) {
	nk := nameKey{scope, kind, name}
	if id, ok := t.names[nk]; ok {
		return id, id != ""
	}
	t.s.mu.RLock()
	id, ok := t.s.names[nk]
	t.s.mu.RUnlock()
	return id, ok
}

func (t *tx) GetByName(ctx context.Context, scope string, kind store.Kind, name string) (store.Object, error) {
	if id, ok := t.owner(scope, kind, name); ok {
		if o, err := t.Get(ctx, scope, kind, id); err == nil {
			return o, nil
		}
	}
	return store.Object{}, fmt.Errorf("%s named %q: %w", kind, name, store.ErrNotFound)
}

func (t *tx) List(_ context.Context, q store.Query) ([]store.Object, string, error) {
	t.s.mu.RLock()
	ids := slices.Clone(t.s.ids[scopeKind{q.Scope, q.Kind}])
	t.s.mu.RUnlock()
	for k, o := range t.pending {
		if o != nil && k.scope == q.Scope && k.kind == q.Kind {
			ids = append(ids, k.id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	return page(q, ids, func(id string) (store.Object, bool) { return t.lookup(key{q.Scope, q.Kind, id}) })
}

// Revision implements store.Tx. Writers are serialized, so the committed revision cannot move
// before this transaction ends; like sqldb it counts as a write of scope "".
func (t *tx) Revision(_ context.Context, scope string) (int64, error) {
	t.wrote = true
	t.s.mu.RLock()
	defer t.s.mu.RUnlock()
	return t.s.revs[scope], nil
}

func validate(o store.Object) error {
	if o.Kind == "" || o.ID == "" {
		return fmt.Errorf("object needs a kind and an id (kind %q, id %q)", o.Kind, o.ID)
	}
	if !json.Valid(o.Data) {
		return fmt.Errorf("%s %q: data is not valid JSON", o.Kind, o.ID)
	}
	return nil
}

func (t *tx) checkName(o store.Object) error {
	if o.Name == "" {
		return nil
	}
	if id, ok := t.owner(o.Scope, o.Kind, o.Name); ok && id != o.ID {
		return fmt.Errorf("%s name %q is used by %q: %w", o.Kind, o.Name, id, store.ErrConflict)
	}
	return nil
}

// write records o's new state (nil: deleted) and keeps the name index of the overlay.
func (t *tx) write(k key, o *store.Object, old store.Object, existed bool) {
	if existed && old.Name != "" {
		if id, _ := t.owner(k.scope, k.kind, old.Name); id == k.id {
			t.names[nameKey{k.scope, k.kind, old.Name}] = ""
		}
	}
	if o != nil && o.Name != "" {
		t.names[nameKey{k.scope, k.kind, o.Name}] = k.id
	}
	t.pending[k] = o
	t.wrote = true
	t.touched[k.scope] = true
	if k.scope == "" {
		t.touched[k.id] = true
	}
	t.ops = append(t.ops, op{scope: k.scope, kind: k.kind, id: k.id, containerDeleted: k.scope == "" && o == nil})
}

func (t *tx) Create(_ context.Context, o store.Object) error {
	if err := validate(o); err != nil {
		return err
	}
	k := key{o.Scope, o.Kind, o.ID}
	if _, ok := t.lookup(k); ok {
		return fmt.Errorf("%s %q already exists: %w", o.Kind, o.ID, store.ErrConflict)
	}
	if err := t.checkName(o); err != nil {
		return err
	}
	now := time.Now().UTC()
	if o.Created.IsZero() {
		o.Created = now
	}
	if o.Updated.IsZero() {
		o.Updated = now
	}
	o = clone(o)
	t.write(k, &o, store.Object{}, false)
	return nil
}

func (t *tx) Put(_ context.Context, o store.Object) error {
	if err := validate(o); err != nil {
		return err
	}
	if err := t.checkName(o); err != nil {
		return err
	}
	k := key{o.Scope, o.Kind, o.ID}
	old, existed := t.lookup(k)
	now := time.Now().UTC()
	if o.Updated.IsZero() {
		o.Updated = now
	}
	if existed {
		o.Created = old.Created
	} else if o.Created.IsZero() {
		o.Created = now
	}
	o = clone(o)
	t.write(k, &o, old, existed)
	return nil
}

func (t *tx) Delete(_ context.Context, scope string, kind store.Kind, id string) error {
	k := key{scope, kind, id}
	old, ok := t.lookup(k)
	if !ok {
		return fmt.Errorf("%s %q: %w", kind, id, store.ErrNotFound)
	}
	t.write(k, nil, old, true)
	return nil
}

func (t *tx) DeleteScope(ctx context.Context, scope string) error {
	if scope == "" {
		return errors.New("refusing to delete the top-level scope")
	}
	var doomed []key
	t.s.mu.RLock()
	for k := range t.s.objects {
		if k.scope == scope {
			doomed = append(doomed, k)
		}
	}
	t.s.mu.RUnlock()
	for k, o := range t.pending {
		if k.scope == scope && o != nil {
			doomed = append(doomed, k)
		}
	}
	slices.SortFunc(doomed, func(a, b key) int {
		if a.kind != b.kind {
			if a.kind < b.kind {
				return -1
			}
			return 1
		}
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	doomed = slices.Compact(doomed)
	for _, k := range doomed {
		if old, ok := t.lookup(k); ok {
			t.write(k, nil, old, true)
		}
	}
	// Deleting an empty scope is still a write of it, as in sqldb.
	t.wrote = true
	t.touched[scope] = true
	return nil
}
