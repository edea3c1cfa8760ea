// Package store is Gatehouse's persistence contract: typed resources kept as revisioned JSON
// documents, written only in transactions that bump the revision of every scope they touch.
//
// Every resource is an Object addressed by (Scope, Kind, ID). Scope is the container that owns
// it (a policy store id, a user pool id) or "" for top-level containers themselves. The store
// keeps one monotonically increasing revision per scope; the revision of scope "" counts every
// committed write, so a single number tells a node that something changed anywhere.
//
// Invariants every implementation keeps (storetest checks them):
//   - a Tx either commits every write it made and the matching revision bumps, or nothing;
//   - Tx.Revision reads a revision that no other writer can move before the Tx ends;
//   - a write to object O bumps rev(O.Scope) and rev(""); when O is a container (Scope == "")
//     it also bumps rev(O.ID), so a change of a container's own settings is a change of it;
//   - Name, when set, is unique within (Scope, Kind); a clash is ErrConflict;
//   - List returns objects ordered by ID (byte order) and pages with an opaque token;
//   - Changes(scope, R) names every object of scope created, replaced or deleted by a commit
//     that moved rev(scope) past R, so a reader holding the scope at revision R catches up by
//     reading only those; deleting the container itself makes it answer ErrHistoryReset.
package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Implementations wrap them; callers test with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
	// ErrBadPageToken means a List page token was not produced by this store for this query.
	ErrBadPageToken = errors.New("invalid page token")
	// ErrHistoryReset means Changes cannot describe the scope since the given revision (its
	// container was deleted since): the caller must read the scope in full.
	ErrHistoryReset = errors.New("change history reset")
)

// Change is one object of a scope written or deleted after a revision.
type Change struct {
	Kind Kind
	ID   string
	// Deleted is set when the object no longer exists; Object is its current state otherwise.
	Deleted bool
	Object  Object
}

// Kind names a resource type.
type Kind string

// Object is one stored resource.
type Object struct {
	Scope string
	Kind  Kind
	ID    string
	// Name is an optional secondary key, unique within (Scope, Kind).
	Name string
	// Ref is an optional non-unique lookup key (for example the template a linked policy uses).
	Ref     string
	Data    []byte // JSON document
	Created time.Time
	Updated time.Time
}

// Query selects objects of one kind in one scope.
type Query struct {
	Scope string
	Kind  Kind
	Ref   string // when non-empty, only objects with this Ref
	// PageToken continues a previous List; Limit bounds the page (0 = no limit, no token).
	PageToken string
	Limit     int
}

// Reader is the read side shared by Store and Tx.
type Reader interface {
	Get(ctx context.Context, scope string, kind Kind, id string) (Object, error)
	GetByName(ctx context.Context, scope string, kind Kind, name string) (Object, error)
	// List returns one page and the token of the next one ("" when it was the last).
	List(ctx context.Context, q Query) ([]Object, string, error)
}

// Tx is a write transaction. Its methods must only be used inside the Update callback.
type Tx interface {
	Reader
	// Create inserts o; ErrConflict if (Scope, Kind, ID) or (Scope, Kind, Name) exists.
	Create(ctx context.Context, o Object) error
	// Put inserts or replaces o by (Scope, Kind, ID), keeping Created of a replaced object;
	// ErrConflict if its Name belongs to another object.
	Put(ctx context.Context, o Object) error
	// Delete removes one object; ErrNotFound if absent.
	Delete(ctx context.Context, scope string, kind Kind, id string) error
	// DeleteScope removes every object of a scope (a deleted container's contents).
	DeleteScope(ctx context.Context, scope string) error
	// Revision returns the latest committed revision of scope and orders this transaction
	// after every writer that committed before it and before every writer that commits after
	// it, so the value holds until this transaction ends (a precondition such as "the store
	// is still at revision N" checked with it cannot be raced). It counts as a write of scope
	// "" only: committing a transaction that wrote nothing else bumps rev("") alone.
	Revision(ctx context.Context, scope string) (int64, error)
}

// ChangeFunc receives the new revisions of the scopes a committed transaction touched
// (always including ""). It runs before Update returns, so its work delays the writer's
// acknowledgement: it may do bounded work that must precede it (the policy snapshot manager
// builds the changed snapshots there) but must not wait on anything unbounded.
type ChangeFunc func(revisions map[string]int64)

// Store is a transactional object store. Implementations: sqldb (SQLite and PostgreSQL) and
// memstore (process memory). Capabilities only some backends have are the optional interfaces
// below: callers test for them with a type assertion, so a backend without them (a read-only
// in-memory store) needs no stubs.
type Store interface {
	Reader
	// Update runs fn in one transaction and commits it if fn returns nil. Revisions of the
	// touched scopes are bumped in the same transaction. fn may be retried on serialization
	// failures, so it must not have side effects outside the Tx.
	Update(ctx context.Context, fn func(Tx) error) error
	// Revision returns the current revision of scope (0 if it was never written).
	Revision(ctx context.Context, scope string) (int64, error)
	// Revisions returns every scope's revision.
	Revisions(ctx context.Context) (map[string]int64, error)
	// Changes returns the objects of scope (not "") written or deleted by commits after
	// revision since, each once with its current state, ordered by Kind then ID. It reads one
	// consistent state: pair it with Revision before and after to know which revision it
	// brings the reader to.
	Changes(ctx context.Context, scope string, since int64) ([]Change, error)
	// OnChange registers fn, called after every commit on this node (synchronously, before
	// Update returns) and, where the backend supports it, after commits made by other nodes.
	OnChange(fn ChangeFunc)
	Ping(ctx context.Context) error
	Close() error
}

// Watcher is a store other processes may write: watching it (until ctx ends) is how this node
// hears of their commits and notices the backend is unreachable. A store only this process
// writes hears every commit through OnChange and needs no watching.
type Watcher interface {
	Watch(ctx context.Context, interval time.Duration)
}

// ContactReporter is a store whose backend can become unreachable: LastContact reports when it
// last answered (zero before the first contact), cheaply, so that a node stops serving
// decisions made from data older than its staleness bound.
type ContactReporter interface {
	LastContact() time.Time
}
