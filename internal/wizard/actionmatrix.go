package wizard

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// ActionMatrix is the access matrix of a policy store without routes: principal groups × the
// actions the policies name, decided by the engine for a user whose only group is the column's,
// on the store's application resource (<ns>::Application::"<ns>", the resource of gateway routes
// without a path template). Groups default to those the policies' principal scopes name. The
// rows are the actions the policies name, every action of the schema (a permit with an open
// action scope grants them too), and extra: a comparison of two states passes the union of
// both sides' rows, so that a cell one side lacks is decided, not assumed.
func ActionMatrix(d *apply.Dir, groups []string, extra ...types.EntityUID) (*Matrix, error) {
	var schema *policy.Schema
	ns := ""
	if d.Schema != "" {
		var err error
		if schema, err = policy.ParseSchema([]byte(d.Schema)); err != nil {
			return nil, err
		}
		if n := schema.Namespaces(); len(n) == 1 {
			ns = n[0]
		}
	}
	principalType, srcs, err := principalTypes(d, ns)
	if err != nil {
		return nil, err
	}
	statics, err := dirPolicies(d)
	if err != nil {
		return nil, err
	}
	display := func(u types.EntityUID) string {
		for _, s := range srcs {
			if name, ok := strings.CutPrefix(string(u.ID), s.prefix+"|"); ok && s.groupType == u.Type && s.prefix != "" {
				return name
			}
		}
		return string(u.ID)
	}
	byName := map[string]types.EntityUID{}
	actions := slices.Clone(extra)
	add := func(a types.EntityUID) {
		if !slices.Contains(actions, a) {
			actions = append(actions, a)
		}
	}
	for _, s := range statics {
		if u := s.st.Principal; u != nil && slices.ContainsFunc(srcs, func(g groupSource) bool { return g.groupType == u.Type }) {
			byName[display(*u)] = *u
		}
		for _, a := range s.st.Actions {
			add(a)
		}
	}
	if schema != nil {
		for _, a := range schema.Actions() {
			add(a.UID)
		}
	}
	if len(groups) == 0 {
		for g := range byName {
			groups = append(groups, g)
		}
	}
	groups = slices.Clone(groups)
	slices.Sort(groups)
	slices.SortFunc(actions, func(a, b types.EntityUID) int { return strings.Compare(a.String(), b.String()) })
	for _, g := range groups {
		if _, ok := byName[g]; !ok {
			id := g
			if !strings.Contains(g, "|") && srcs[0].prefix != "" {
				id = srcs[0].prefix + "|" + g
			}
			byName[g] = types.NewEntityUID(srcs[0].groupType, types.String(id))
		}
	}
	ents := types.EntityMap{}
	if d.Entities != nil {
		if err := json.Unmarshal(d.Entities, &ents); err != nil {
			return nil, fmt.Errorf("entities.json: %w", err)
		}
	}
	if schema != nil {
		for _, a := range schema.Actions() {
			ents[a.UID] = a
		}
	}
	in := engine.Input{Entities: ents}
	for _, s := range statics {
		in.Policies = append(in.Policies, engine.Policy{ID: s.id, Policy: s.st.Policy})
	}
	snap, err := engine.Build(in)
	if err != nil {
		return nil, err
	}
	resource := types.NewEntityUID(types.EntityType(qualify(ns, AppType)), types.String(ns))
	user := types.NewEntityUID(principalType, MatrixPrincipal)
	m := &Matrix{Namespace: ns, Groups: groups}
	for _, a := range actions {
		row := MatrixRow{Route: a.String(), Type: apidef.TypeCedar, Access: map[string]string{}, action: a}
		for _, g := range groups {
			uid := byName[g]
			overlay := types.EntityMap{user: {UID: user, Parents: types.NewEntityUIDSet(uid)}}
			if _, ok := ents[uid]; !ok {
				overlay[uid] = types.Entity{UID: uid}
			}
			req := cedar.Request{Principal: user, Action: a, Resource: resource, Context: types.NewRecord(nil)}
			row.Access[g] = Deny
			res := snap.Authorize(req, overlay)
			if res.Decision == cedar.Allow {
				row.Access[g] = Allow
			}
			row.determined(g, res.DeterminingPolicies)
		}
		m.Rows = append(m.Rows, row)
	}
	return m, nil
}
