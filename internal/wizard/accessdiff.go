package wizard

import (
	"fmt"
	"github.com/cedar-policy/cedar-go/types"
	"slices"
	"sort"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
)

// NoRoute is a cell's value on a side of a comparison where its route does not exist.
const NoRoute = "no route"

// AccessDiff is one matrix compared on the current and on the proposed state, with the same
// groups on both sides: an API's routes × groups, or a policy store's principal groups ×
// actions (ActionMatrix) for callers that are not gateway routes. It is what `gatehouse plan`
// and the console's review of a pending change both show.
type AccessDiff struct {
	// API is the API's name, or "policy store <id>" for a store's action matrix (as in
	// apply.AccessChange).
	API string
	// Store is the policy store id of an action matrix ("" for an API).
	Store  string
	Groups []string
	// Rows are the routes (or actions) of either side: the current state's first, then the
	// ones only the proposed state has (actions sorted).
	Rows []string
	// Before and After are the two matrices; nil on a side where the API does not exist.
	Before, After *Matrix
	// Changes are the cells whose value differs, row by row.
	Changes []apply.AccessChange
	before  map[[2]string]string
	after   map[[2]string]string
	absent  string
}

// Cell returns a cell's value on both sides: a route missing on a side is NoRoute, an action
// no policy of a side names is deny (nobody is permitted it).
func (x *AccessDiff) Cell(row, group string) (before, after string) {
	get := func(m map[[2]string]string) string {
		if v, ok := m[[2]string{row, group}]; ok {
			return v
		}
		return x.absent
	}
	return get(x.before), get(x.after)
}

// Determining returns the policies that decided a cell on the proposed (after) or current
// side: bundle names (a policy's name, else its id; a template link's name).
func (x *AccessDiff) Determining(row, group string, after bool) []string {
	m := x.Before
	if after {
		m = x.After
	}
	if m == nil {
		return nil
	}
	for _, r := range m.Rows {
		if r.Route == row {
			return r.Determining[group]
		}
	}
	return nil
}

// DiffAccess compares the access of before (the current state; nil for none) and after (the
// proposed state): the policy store's own action matrix first, when after names a store, then
// every API either side has, by name. A matrix that cannot be computed is returned as a note
// and left out, not guessed.
func DiffAccess(before, after *apply.Dir) (diffs []AccessDiff, notes []error) {
	if before == nil {
		before = &apply.Dir{Path: "(server)"}
	}
	if sd, err := diffStore(before, after); err != nil {
		notes = append(notes, err)
	} else if sd != nil {
		diffs = append(diffs, *sd)
	}
	var names []string
	for _, d := range []*apply.Dir{before, after} {
		for _, a := range d.APIs {
			if !slices.Contains(names, a.Name) {
				names = append(names, a.Name)
			}
		}
	}
	sort.Strings(names)
	for _, api := range names {
		ad, err := diffAPI(before, after, api)
		if err != nil {
			notes = append(notes, err)
			continue
		}
		diffs = append(diffs, *ad)
	}
	return diffs, notes
}

// AccessChanges lists the changed cells of every diff, in order.
func AccessChanges(diffs []AccessDiff) []apply.AccessChange {
	out := []apply.AccessChange{}
	for _, d := range diffs {
		out = append(out, d.Changes...)
	}
	return out
}

func diffAPI(before, after *apply.Dir, api string) (*AccessDiff, error) {
	matrix := func(d *apply.Dir, groups []string) (*Matrix, error) {
		if !slices.ContainsFunc(d.APIs, func(a apply.NamedText) bool { return a.Name == api }) {
			return nil, nil
		}
		return AccessMatrix(d, MatrixOptions{API: api, Groups: groups})
	}
	var groups []string
	for _, d := range []*apply.Dir{before, after} {
		m, err := matrix(d, nil)
		if err != nil {
			return nil, fmt.Errorf("access matrix of API %s (%s): %w", api, d.Path, err)
		}
		if m != nil {
			for _, g := range m.Groups {
				if !slices.Contains(groups, g) {
					groups = append(groups, g)
				}
			}
		}
	}
	sort.Strings(groups)
	mb, errB := matrix(before, groups)
	ma, errA := matrix(after, groups)
	if errB != nil || errA != nil {
		return nil, fmt.Errorf("access matrix of API %s: %v %v", api, errB, errA)
	}
	x := &AccessDiff{API: api, Groups: groups, Before: mb, After: ma, before: cells(mb), after: cells(ma), absent: NoRoute}
	for _, m := range []*Matrix{mb, ma} {
		if m == nil {
			continue
		}
		for _, r := range m.Rows {
			if !slices.Contains(x.Rows, r.Route) {
				x.Rows = append(x.Rows, r.Route)
			}
		}
	}
	x.changes()
	return x, nil
}

// diffStore compares the policy store's own matrix (principal groups × the actions its
// policies name), which holds for stores whose callers are not gateway routes. It is nil when
// after names no store.
func diffStore(before, after *apply.Dir) (*AccessDiff, error) {
	id := after.Manifest.PolicyStoreID
	if id == "" {
		return nil, nil
	}
	if before.Manifest.PolicyStoreID != id {
		before = &apply.Dir{Path: before.Path, Manifest: apply.Manifest{PolicyStoreID: id}}
	}
	// Both sides are decided over the same groups and actions: a cell only one side has would
	// otherwise count as deny on the other, and a permit with an open action scope (granting
	// actions no policy names) would show no change when it is narrowed or removed.
	var groups []string
	var actions []types.EntityUID
	for _, d := range []*apply.Dir{before, after} {
		m, err := ActionMatrix(d, nil)
		if err != nil {
			return nil, fmt.Errorf("access matrix of policy store %s (%s): %w", id, d.Path, err)
		}
		for _, g := range m.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
		for _, r := range m.Rows {
			if !slices.ContainsFunc(actions, func(a types.EntityUID) bool { return a.String() == r.Route }) {
				actions = append(actions, r.action)
			}
		}
	}
	mb, errB := ActionMatrix(before, groups, actions...)
	ma, errA := ActionMatrix(after, groups, actions...)
	if errB != nil || errA != nil {
		return nil, fmt.Errorf("access matrix of policy store %s: %v %v", id, errB, errA)
	}
	// The union's order (each side's groups sorted), as plans have always listed the changes.
	x := &AccessDiff{API: "policy store " + id, Store: id, Groups: groups, Before: mb, After: ma,
		before: cells(mb), after: cells(ma), absent: Deny}
	for _, m := range []*Matrix{mb, ma} {
		for _, r := range m.Rows {
			if !slices.Contains(x.Rows, r.Route) {
				x.Rows = append(x.Rows, r.Route)
			}
		}
	}
	sort.Strings(x.Rows)
	x.changes()
	return x, nil
}

func (x *AccessDiff) changes() {
	x.Changes = []apply.AccessChange{}
	for _, r := range x.Rows {
		for _, g := range x.Groups {
			if b, a := x.Cell(r, g); b != a {
				x.Changes = append(x.Changes, apply.AccessChange{API: x.API, Route: r, Group: g, Before: b, After: a})
			}
		}
	}
}

func cells(m *Matrix) map[[2]string]string {
	c := map[[2]string]string{}
	if m == nil {
		return c
	}
	for _, r := range m.Rows {
		for g, v := range r.Access {
			c[[2]string{r.Route, g}] = v
		}
	}
	return c
}
