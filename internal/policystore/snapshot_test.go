package policystore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

func group(i int) types.EntityUID {
	return types.NewEntityUID("PetStore::UserGroup", types.String(fmt.Sprintf("pool|g%d", i)))
}

func groupPolicy(i int, action string) string {
	return fmt.Sprintf(`permit(principal in PetStore::UserGroup::"pool|g%d", action in [PetStore::Action::%q], resource);`, i, action)
}

// The decision after an acknowledged write never uses the pre-change snapshot, and the
// snapshot of the write's revision is already built when the write returns (the next
// decision does not wait for a rebuild), while other goroutines keep deciding (and so keep
// joining builds) throughout.
func TestDecisionAfterAcknowledgedWrite(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeOff)
		alice := types.NewEntityUID("PetStore::User", "alice")
		if d, _ := f.decide(t, alice, nil, "post /pets"); d != cedar.Deny {
			t.Fatal("empty store allows")
		}
		stop := make(chan struct{})
		var readers sync.WaitGroup
		var readerErr atomic.Value
		for range 2 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := f.snaps.Get(ctx, f.id); err != nil {
						readerErr.Store(err)
						return
					}
				}
			}()
		}
		defer func() { close(stop); readers.Wait() }()

		built := func(what string) {
			t.Helper()
			rev, err := s.Revision(ctx, f.id)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range f.snaps.States() {
				if st.PolicyStoreID == f.id && st.Revision != rev {
					t.Fatalf("%s: held snapshot at revision %d when the write returned, store at %d", what, st.Revision, rev)
				}
			}
		}
		for i := range 40 {
			p, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: groupPolicy(i, "post /pets")}})
			if err != nil {
				t.Fatal(err)
			}
			built("create")
			if d, det := f.decide(t, alice, []types.EntityUID{group(i)}, "post /pets"); d != cedar.Allow || !slices.Equal(det, []string{p.ID}) {
				t.Fatalf("iteration %d: decision after create: %v %v", i, d, det)
			}
			if _, err := f.svc.UpdatePolicy(ctx, f.id, p.ID, policystore.UpdatePolicyInput{Statement: groupPolicy(i, "get /pets")}); err != nil {
				t.Fatal(err)
			}
			built("update")
			if d, _ := f.decide(t, alice, []types.EntityUID{group(i)}, "post /pets"); d != cedar.Deny {
				t.Fatalf("iteration %d: the pre-update policy decided", i)
			}
			if d, _ := f.decide(t, alice, []types.EntityUID{group(i)}, "get /pets"); d != cedar.Allow {
				t.Fatalf("iteration %d: the updated policy did not decide", i)
			}
			if i%2 == 0 {
				if err := f.svc.DeletePolicy(ctx, f.id, p.ID); err != nil {
					t.Fatal(err)
				}
				built("delete")
				if d, _ := f.decide(t, alice, []types.EntityUID{group(i)}, "get /pets"); d != cedar.Deny {
					t.Fatalf("iteration %d: a deleted policy decided", i)
				}
			}
		}
		if err, _ := readerErr.Load().(error); err != nil {
			t.Fatal(err)
		}
	})
}

// An incrementally moved snapshot decides exactly as a full load of the same revision,
// through random sequences of every kind of write the service offers.
func TestNextMatchesFullLoad(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeOff)
		seed := uint64(time.Now().UnixNano())
		r := rand.New(rand.NewPCG(seed, 1))
		actions := []string{"get /pets", "post /pets", "get /admin/{proxy+}"}
		var (
			static    []string // policy ids
			templates []string
			users     []types.EntityUID
		)
		for i := range 4 {
			users = append(users, types.NewEntityUID("PetStore::User", types.String(fmt.Sprint("u", i))))
		}
		// The first Get loads in full; every later one is built by the writes.
		if _, err := f.snaps.Get(ctx, f.id); err != nil {
			t.Fatal(err)
		}
		pick := func(xs []string) (string, int) { i := r.IntN(len(xs)); return xs[i], i }
		for step := range 120 {
			var op string
			var err error
			switch k := r.IntN(12); {
			case k < 3 || len(static) == 0:
				op = "create static"
				effect := "permit"
				if r.IntN(4) == 0 {
					effect = "forbid"
				}
				var p policystore.Policy
				p, err = f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{
					Statement: fmt.Sprintf(`%s(principal in PetStore::UserGroup::"pool|g%d", action in [PetStore::Action::%q], resource);`, effect, r.IntN(3), actions[r.IntN(3)])}})
				if err == nil {
					static = append(static, p.ID)
				}
			case k < 4:
				op = "update static"
				id, _ := pick(static)
				var old policystore.Policy
				if old, err = f.svc.GetPolicy(ctx, f.id, id); err == nil {
					// The same head, another action list (effect and scopes may not change).
					stmt := old.Statement
					for _, a := range actions {
						if q := fmt.Sprintf("%q", a); strings.Contains(stmt, q) {
							stmt = strings.Replace(stmt, q, fmt.Sprintf("%q", actions[r.IntN(3)]), 1)
							break
						}
					}
					_, err = f.svc.UpdatePolicy(ctx, f.id, id, policystore.UpdatePolicyInput{Statement: stmt})
				}
			case k < 5:
				op = "delete static"
				id, i := pick(static)
				err = f.svc.DeletePolicy(ctx, f.id, id)
				static = slices.Delete(static, i, i+1)
			case k < 6:
				op = "create template"
				var tpl policystore.Template
				tpl, err = f.svc.CreatePolicyTemplate(ctx, f.id, policystore.CreateTemplateInput{
					Statement: fmt.Sprintf(`permit(principal in ?principal, action in [PetStore::Action::%q], resource);`, actions[r.IntN(3)])})
				if err == nil {
					templates = append(templates, tpl.ID)
				}
			case k < 7 && len(templates) > 0:
				op = "link"
				id, _ := pick(templates)
				g := group(r.IntN(3))
				_, err = f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Linked: &policystore.LinkedDefinition{TemplateID: id,
					Principal: &policystore.EntityID{Type: string(g.Type), ID: string(g.ID)}}})
			case k < 8 && len(templates) > 0:
				op = "update template"
				id, _ := pick(templates)
				_, err = f.svc.UpdatePolicyTemplate(ctx, f.id, id, policystore.UpdateTemplateInput{
					Statement: fmt.Sprintf(`permit(principal in ?principal, action in [PetStore::Action::%q], resource);`, actions[r.IntN(3)])})
			case k < 9 && len(templates) > 0:
				op = "delete template"
				id, i := pick(templates)
				err = f.svc.DeletePolicyTemplate(ctx, f.id, id)
				templates = slices.Delete(templates, i, i+1)
			case k < 10:
				op = "put entities"
				u := users[r.IntN(len(users))]
				err = f.svc.PutEntities(ctx, f.id, []types.Entity{{UID: u, Parents: types.NewEntityUIDSet(group(r.IntN(3)), group(r.IntN(3)))}})
			case k < 11:
				op = "delete entities"
				err = f.svc.DeleteEntities(ctx, f.id, []types.EntityUID{users[r.IntN(len(users))]})
			default:
				op = "put schema"
				_, err = f.svc.PutSchema(ctx, f.id, petStoreSchema)
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("seed %d step %d %s: %v", seed, step, op, err)
			}
			got, err := f.snaps.Get(ctx, f.id)
			if err != nil {
				t.Fatal(err)
			}
			want, err := policystore.Load(ctx, s, f.id, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got.Revision != want.Revision || got.Engine.Len() != want.Engine.Len() {
				t.Fatalf("seed %d step %d %s: revision %d, %d policies; full load: %d, %d", seed, step, op,
					got.Revision, got.Engine.Len(), want.Revision, want.Engine.Len())
			}
			for _, u := range users {
				for _, a := range actions {
					req := cedar.Request{Principal: u, Action: types.NewEntityUID("PetStore::Action", types.String(a)),
						Resource: types.NewEntityUID("PetStore::Application", "x"), Context: types.NewRecord(nil)}
					g, w := got.Engine.Authorize(req, nil), want.Engine.Authorize(req, nil)
					if !sameResult(g, w) {
						t.Fatalf("seed %d step %d %s: %s %s: incremental %+v, full load %+v", seed, step, op, u, a, g, w)
					}
				}
			}
		}
	})
}

func sameResult(a, b engine.Result) bool {
	return a.Decision == b.Decision && slices.Equal(a.DeterminingPolicies, b.DeterminingPolicies) && slices.Equal(a.Errors, b.Errors)
}

// gatedStore holds every List until gate is closed (or the caller's context ends), so a
// test can cancel a caller while its build is under way.
type gatedStore struct {
	store.Store
	gate    chan struct{}
	entered chan struct{}
	once    sync.Once
}

func (g *gatedStore) List(ctx context.Context, q store.Query) ([]store.Object, string, error) {
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, "", ctx.Err()
	}
	return g.Store.List(ctx, q)
}

// A caller that gives up while the snapshot build it started runs fails alone: the callers
// that joined that build get the snapshot.
func TestBuildSurvivesCancelledFirstCaller(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		svc := policystore.New(s)
		ps, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: policystore.ModeOff})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: groupPolicy(1, "get /pets")}}); err != nil {
			t.Fatal(err)
		}
		g := &gatedStore{Store: s, gate: make(chan struct{}), entered: make(chan struct{})}
		snaps := policystore.NewSnapshots(g, nil)

		first, cancel := context.WithCancel(ctx)
		firstErr := make(chan error, 1)
		go func() {
			_, err := snaps.Get(first, ps.ID)
			firstErr <- err
		}()
		<-g.entered // the first caller's build is reading the store

		const others = 3
		results := make(chan error, others)
		for range others {
			go func() {
				snap, err := snaps.Get(ctx, ps.ID)
				if err == nil && snap.Engine.Len() != 1 {
					err = fmt.Errorf("snapshot of %d policies", snap.Engine.Len())
				}
				results <- err
			}()
		}
		// Let the others reach the shared build before the first caller gives up (if one
		// has not, it starts its own build and the test proves less, never fails).
		time.Sleep(50 * time.Millisecond)
		cancel()
		if err := <-firstErr; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled caller: %v, want context.Canceled", err)
		}
		close(g.gate)
		for range others {
			if err := <-results; err != nil {
				t.Fatalf("a caller that joined the cancelled caller's build: %v", err)
			}
		}
	})
}

// Another node builds the changed snapshot when it hears of the commit (NOTIFY on
// PostgreSQL, polling on SQLite), not on its next request.
func TestOtherNodeBuildsOnNotification(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			dsn := storetest.DSN(t, backend)
			a, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := sqldb.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			watching := make(chan struct{})
			go func() { defer close(watching); b.Watch(ctx, 100*time.Millisecond) }()
			defer func() { cancel(); <-watching }()

			svcA := policystore.New(a)
			ps, err := svcA.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
			if err != nil {
				t.Fatal(err)
			}
			snapsB := policystore.NewSnapshots(b, nil)
			if _, err := snapsB.Get(ctx, ps.ID); err != nil {
				t.Fatal(err)
			}
			for i := range 3 {
				if _, err := svcA.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: groupPolicy(i, "get /pets")}}); err != nil {
					t.Fatal(err)
				}
				rev, err := a.Revision(ctx, ps.ID)
				if err != nil {
					t.Fatal(err)
				}
				var held policystore.SnapshotState
				for tries := 0; held.Revision < rev; tries++ {
					if tries == 1000 {
						t.Fatalf("node B still holds revision %d, store at %d", held.Revision, rev)
					}
					time.Sleep(10 * time.Millisecond)
					for _, st := range snapsB.States() {
						if st.PolicyStoreID == ps.ID {
							held = st
						}
					}
				}
				snap, err := snapsB.Get(ctx, ps.ID)
				if err != nil {
					t.Fatal(err)
				}
				if snap.Revision != rev || snap.Engine.Len() != i+1 || !snap.LoadedAt.Equal(held.LoadedAt) {
					t.Fatalf("Get after the notification: revision %d, %d policies, rebuilt %v", snap.Revision, snap.Engine.Len(), !snap.LoadedAt.Equal(held.LoadedAt))
				}
			}
		})
	}
}

// failingReads makes every read after the switch is set fail, as a store that goes away
// between a commit and the snapshot build would.
type failingReads struct {
	store.Store
	fail atomic.Bool
}

var errReadsDown = errors.New("reads are down")

func (f *failingReads) List(ctx context.Context, q store.Query) ([]store.Object, string, error) {
	if f.fail.Load() {
		return nil, "", errReadsDown
	}
	return f.Store.List(ctx, q)
}

func (f *failingReads) Get(ctx context.Context, scope string, kind store.Kind, id string) (store.Object, error) {
	if f.fail.Load() {
		return store.Object{}, errReadsDown
	}
	return f.Store.Get(ctx, scope, kind, id)
}

func (f *failingReads) Changes(ctx context.Context, scope string, since int64) ([]store.Change, error) {
	if f.fail.Load() {
		return nil, errReadsDown
	}
	return f.Store.Changes(ctx, scope, since)
}

func (f *failingReads) Revisions(ctx context.Context) (map[string]int64, error) {
	if f.fail.Load() {
		return nil, errReadsDown
	}
	return f.Store.Revisions(ctx)
}

// A committed change whose snapshot cannot be built is never answered from the snapshot it
// made stale: Get fails (callers deny) until the build succeeds, even within maxStaleness.
func TestKnownChangeNotServedStale(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		f := newFixture(t, s, policystore.ModeOff)
		reads := &failingReads{Store: s}
		f.snaps = policystore.NewSnapshots(reads, slog.New(slog.DiscardHandler),
			policystore.WithMaxStaleness(time.Hour, time.Now))
		alice := types.NewEntityUID("PetStore::User", "alice")
		if _, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: groupPolicy(1, "get /pets")}}); err != nil {
			t.Fatal(err)
		}
		if d, _ := f.decide(t, alice, []types.EntityUID{group(1)}, "get /pets"); d != cedar.Allow {
			t.Fatal("the permit does not allow")
		}
		// The store commits a forbid; this node's reads fail before it can build the change.
		reads.fail.Store(true)
		if _, err := f.svc.CreatePolicy(ctx, f.id, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{
			Statement: `forbid(principal in PetStore::UserGroup::"pool|g1", action, resource);`}}); err != nil {
			t.Fatal(err)
		}
		if snap, err := f.snaps.Get(ctx, f.id); err == nil {
			t.Fatalf("served the snapshot of revision %d after a newer commit that could not be built", snap.Revision)
		}
		reads.fail.Store(false)
		if d, _ := f.decide(t, alice, []types.EntityUID{group(1)}, "get /pets"); d != cedar.Deny {
			t.Fatal("the forbid does not decide once the store answers")
		}
	})
}

// lateNotFound answers the first store lookup only after gate closes, with what it read
// before: a build that looked before a commit and finishes after it.
type lateNotFound struct {
	store.Store
	entered, gate chan struct{}
	once          sync.Once
}

func (l *lateNotFound) Get(ctx context.Context, scope string, kind store.Kind, id string) (store.Object, error) {
	o, err := l.Store.Get(ctx, scope, kind, id)
	first := false
	l.once.Do(func() { first = true })
	if first {
		close(l.entered)
		<-l.gate
	}
	return o, err
}

// A store created while a build that found nothing is still running is served to the
// callers that asked after the create was acknowledged, not answered "not found".
func TestCreatedStoreNotHiddenByAnEarlierBuild(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		late := &lateNotFound{Store: s, entered: make(chan struct{}), gate: make(chan struct{})}
		snaps := policystore.NewSnapshots(late, slog.New(slog.DiscardHandler))
		early := make(chan error, 1)
		go func() { _, err := snaps.Get(ctx, "shop"); early <- err }()
		<-late.entered // the first build has read "no such store"

		if _, _, err := policystore.New(s).PutPolicyStore(ctx, "shop", policystore.CreateStoreInput{ValidationMode: policystore.ModeOff}); err != nil {
			t.Fatal(err)
		}
		after := make(chan error, 1)
		go func() { _, err := snaps.Get(ctx, "shop"); after <- err }()
		time.Sleep(50 * time.Millisecond) // let it join the running build
		close(late.gate)
		if err := <-after; err != nil {
			t.Fatalf("Get after the create was acknowledged: %v", err)
		}
		<-early // asked before the create: either answer is right
	})
}

// Preload builds every store's snapshot, on both backends, so the first request to each
// finds it built.
func TestPreloadBuildsEveryStore(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, s *sqldb.DB) {
		ctx := context.Background()
		svc := policystore.New(s)
		want := map[string]int64{}
		for i := range 3 {
			ps, err := svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ValidationMode: "OFF"})
			if err != nil {
				t.Fatal(err)
			}
			for j := range i {
				if _, err := svc.CreatePolicy(ctx, ps.ID, policystore.CreatePolicyInput{Static: &policystore.StaticDefinition{Statement: groupPolicy(j, "get /pets")}}); err != nil {
					t.Fatal(err)
				}
			}
			rev, err := s.Revision(ctx, ps.ID)
			if err != nil {
				t.Fatal(err)
			}
			want[ps.ID] = rev
		}
		snaps := policystore.NewSnapshots(s, nil)
		if err := snaps.Preload(ctx); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, st := range snaps.States() {
			got[st.PolicyStoreID] = st.Revision
		}
		for id, rev := range want {
			if got[id] != rev {
				t.Fatalf("after Preload: %v, want every store of %v", got, want)
			}
		}
	})
}
