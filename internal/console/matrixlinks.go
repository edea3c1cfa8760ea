package console

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// cellLinks maps route → group → the policy ids that decided that cell.
type cellLinks map[string]map[string][]string

// matrixCellLinks links each cell the matrix decided by policies to those policies: the
// engine's determining policies come with the cell (wizard.MatrixRow.Determining, from the same
// evaluation that gave the cell its value, so they always agree with it) under their bundle
// names, which are turned into the store's policy ids here. A name is linked only when the
// stored policy of that name is the one the matrix evaluated (the same statement; for a
// template link, the same entities), so a policy renamed or edited between the export and this
// lookup is never named for a cell it did not decide; cells denied by default have no
// determining policy and no link.
func (c *Console) matrixCellLinks(ctx context.Context, d *apply.Dir, m *wizard.Matrix, storeID string) cellLinks {
	out := cellLinks{}
	if storeID == "" || d.Manifest.PolicyStoreID != storeID {
		return out
	}
	ids := c.policyIDs(ctx, d, storeID)
	for _, row := range m.Rows {
		for g, names := range row.Determining {
			var linked []string
			for _, n := range names {
				if id, ok := ids[n]; ok {
					linked = append(linked, id)
				}
			}
			// A cell decided by several policies links only when all of them are known.
			if len(linked) == 0 || len(linked) != len(names) {
				continue
			}
			if out[row.Route] == nil {
				out[row.Route] = map[string][]string{}
			}
			out[row.Route][g] = linked
		}
	}
	return out
}

// policyIDs maps the bundle names of d's policies and template links to the ids of the stored
// policies they are, for those whose stored form is still what d holds. Names that two stored
// policies answer to (a name equal to another policy's id) are left out.
func (c *Console) policyIDs(ctx context.Context, d *apply.Dir, storeID string) map[string]string {
	rows, err := c.index.current(ctx, storeID)
	if err != nil {
		c.d.Logger.Warn("console matrix links", "store", storeID, "err", err)
		return nil
	}
	texts := map[string]string{}
	for _, p := range d.Policies {
		texts[p.Name] = p.Text
	}
	links := map[string]apply.Link{}
	for _, l := range d.Links {
		links[l.Name] = l
	}
	out := map[string]string{}
	seen := map[string]int{}
	for _, r := range rows {
		name := r.ID
		if r.Name != "" {
			name = r.Name
		}
		seen[name]++
		switch r.Type {
		case policystore.TypeStatic:
			if t, ok := texts[name]; ok && strings.TrimSpace(t) == strings.TrimSpace(r.Statement) {
				out[name] = r.ID
			}
		case policystore.TypeTemplateLinked:
			l, ok := links[name]
			if !ok {
				continue
			}
			p, err := c.d.Policies.GetPolicy(ctx, storeID, r.ID)
			if err == nil && sameID(p.LinkPrincipal, l.Principal) && sameID(p.LinkResource, l.Resource) {
				out[name] = r.ID
			}
		}
	}
	for n, k := range seen {
		if k > 1 {
			delete(out, n)
		}
	}
	return out
}

func sameID(a *policystore.EntityID, b *avpapi.EntityIdentifier) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Type == b.EntityType && a.ID == b.EntityID
}
