package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// policyIndex keeps, per policy store, the policies' list rows in id order at one revision,
// so that paging and search over 100,000 policies scan memory instead of the database. A
// newer revision is caught up with store.Changes (only the changed rows are read); a reset
// history reads the scope again.
type policyIndex struct {
	st store.Store
	mu sync.Mutex
	m  map[string]*storeIndex
}

type storeIndex struct {
	mu   sync.Mutex
	rev  int64
	rows []policyRow // id order
}

// policyRow is one policy as the list shows and searches it.
type policyRow struct {
	ID, Name, Type, Effect, Principal, Resource, Actions, Statement, TemplateID string
	// search is the lowercased text a query is matched against.
	search string
}

func newPolicyIndex(st store.Store) *policyIndex {
	return &policyIndex{st: st, m: map[string]*storeIndex{}}
}

func entityText(e *policystore.EntityID) string {
	if e == nil {
		return ""
	}
	return fmt.Sprintf("%s::%q", e.Type, e.ID)
}

func rowOf(o store.Object) (policyRow, error) {
	var p policystore.Policy
	// json/v2, as policystore decodes its own documents: several times faster than
	// encoding/json, which dominates building the index of a large store.
	if err := jsonv2.Unmarshal(o.Data, &p); err != nil {
		return policyRow{}, fmt.Errorf("policy %s: %w", o.ID, err)
	}
	acts := make([]string, len(p.Actions))
	for i, a := range p.Actions {
		acts[i] = entityText(&a)
	}
	r := policyRow{ID: p.ID, Name: strings.TrimPrefix(p.Name, "name/"), Type: p.Type, Effect: p.Effect, Principal: entityText(p.Principal),
		Resource: entityText(p.Resource), Actions: strings.Join(acts, ", "), Statement: p.Statement, TemplateID: p.TemplateID}
	r.search = strings.ToLower(strings.Join([]string{r.ID, r.Name, r.Effect, r.Principal, r.Resource, r.Actions, r.Statement, r.TemplateID, p.Description}, "\n"))
	return r, nil
}

// current returns the store's rows at its current revision.
func (ix *policyIndex) current(ctx context.Context, storeID string) ([]policyRow, error) {
	ix.mu.Lock()
	si := ix.m[storeID]
	if si == nil {
		si = &storeIndex{rev: -1}
		ix.m[storeID] = si
	}
	ix.mu.Unlock()

	si.mu.Lock()
	defer si.mu.Unlock()
	rev, err := ix.st.Revision(ctx, storeID)
	if err != nil {
		return nil, err
	}
	if rev == si.rev {
		return si.rows, nil
	}
	if si.rev >= 0 {
		changes, err := ix.st.Changes(ctx, storeID, si.rev)
		if err == nil {
			// Changes reads one consistent state at or after rev: a later re-read of the
			// revision makes the next call catch up again, never skip a change.
			if err := si.apply(changes); err != nil {
				return nil, err
			}
			si.rev = rev
			return si.rows, nil
		}
		if !errors.Is(err, store.ErrHistoryReset) {
			return nil, err
		}
	}
	objs, _, err := ix.st.List(ctx, store.Query{Scope: storeID, Kind: policystore.KindPolicy})
	if err != nil {
		return nil, err
	}
	rows := make([]policyRow, 0, len(objs))
	for _, o := range objs {
		r, err := rowOf(o)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	si.rows, si.rev = rows, rev
	return rows, nil
}

// apply builds a new row slice (pages handed out earlier keep the old one).
func (si *storeIndex) apply(changes []store.Change) error {
	rows := si.rows
	copied := false
	for _, ch := range changes {
		if ch.Kind != policystore.KindPolicy {
			continue
		}
		if !copied {
			rows = slices.Clone(rows)
			copied = true
		}
		i, found := slices.BinarySearchFunc(rows, ch.ID, func(r policyRow, id string) int { return strings.Compare(r.ID, id) })
		switch {
		case ch.Deleted && found:
			rows = slices.Delete(rows, i, i+1)
		case ch.Deleted:
		default:
			r, err := rowOf(ch.Object)
			if err != nil {
				return err
			}
			if found {
				rows[i] = r
			} else {
				rows = slices.Insert(rows, i, r)
			}
		}
	}
	si.rows = rows
	return nil
}

// page returns up to n rows after id after whose text contains every word of q (case
// insensitive), the total number of matches, and the id to continue after ("" at the end).
func (ix *policyIndex) page(ctx context.Context, storeID, q, after string, n int) ([]policyRow, int, string, error) {
	rows, err := ix.current(ctx, storeID)
	if err != nil {
		return nil, 0, "", err
	}
	words := strings.Fields(strings.ToLower(q))
	start := 0
	if after != "" {
		start, _ = slices.BinarySearchFunc(rows, after, func(r policyRow, id string) int { return strings.Compare(r.ID, id) })
		if start < len(rows) && rows[start].ID == after {
			start++
		}
	}
	var out []policyRow
	total := 0
	next := ""
	for i, r := range rows {
		if !matchesAll(r.search, words) {
			continue
		}
		total++
		if i < start {
			continue
		}
		if len(out) < n {
			out = append(out, r)
		} else if next == "" {
			next = out[len(out)-1].ID
		}
	}
	return out, total, next, nil
}

func matchesAll(text string, words []string) bool {
	for _, w := range words {
		if !strings.Contains(text, w) {
			return false
		}
	}
	return true
}
