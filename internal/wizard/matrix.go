package wizard

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// Access values of a matrix cell other than the engine's allow and deny.
const (
	Allow         = "allow"
	Deny          = "deny"
	Public        = "public"
	Authenticated = "authenticated"
	IAM           = "iam"
)

// MatrixPrincipal is the id of the synthetic user evaluated for each group.
const MatrixPrincipal = "matrix"

// MatrixOptions selects what AccessMatrix evaluates.
type MatrixOptions struct {
	// API names the API; default the directory's only one.
	API string
	// Groups to evaluate, by name ("employees") or full entity id ("<prefix>|employees");
	// default every group a policy's principal scope names.
	Groups []string
}

// Matrix is routes × groups → access, for access reviews.
type Matrix struct {
	API       string      `json:"api"`
	Namespace string      `json:"namespace,omitempty"`
	Groups    []string    `json:"groups"`
	Rows      []MatrixRow `json:"rows"`
}

// MatrixRow is one route (a cedar route's ANY expanded to one row per method).
type MatrixRow struct {
	Route      string `json:"route"`
	Authorizer string `json:"authorizer"`
	Type       string `json:"type"` // none, jwt, cedar or iam
	// Access maps each group to allow or deny (cedar, and jwt routes limited to groups), or to
	// what the route requires of everyone: public, authenticated, scope:<s>[|<s>...], iam.
	Access map[string]string `json:"access"`
	// Determining maps each group whose cell the engine decided by policies to those policies
	// (bundle names: a policy's name, else its id; a template link's name): the permits of an
	// allow, the forbids of a deny. A cell denied because nothing permits it has none.
	Determining map[string][]string `json:"determining,omitempty"`
	// action is the row's action (ActionMatrix rows).
	action types.EntityUID
}

// matrixGroup is one evaluated group.
type matrixGroup struct {
	name string
	uid  types.EntityUID
}

// AccessMatrix computes, for one API of a directory, each route's access for each group, with
// the decision engine over the directory's policies, template links, entities and the schema's
// actions. The principal is a user whose only parent is the group.
func AccessMatrix(d *apply.Dir, opts MatrixOptions) (*Matrix, error) {
	var def apidef.Definition
	var names []string
	found := false
	for _, a := range d.APIs {
		names = append(names, a.Name)
		if opts.API == "" && len(d.APIs) == 1 || a.Name == opts.API {
			var err error
			if def, err = apidef.Parse([]byte(a.Text)); err != nil {
				return nil, fmt.Errorf("%s: %w", a.File, err)
			}
			found = true
		}
	}
	switch {
	case len(d.APIs) == 0:
		return nil, fmt.Errorf("%s: no apis/*.yaml", d.Path)
	case !found && opts.API == "":
		return nil, fmt.Errorf("%s holds several APIs (%s): name one", d.Path, strings.Join(names, ", "))
	case !found:
		return nil, fmt.Errorf("%s: no API named %q (%s)", d.Path, opts.API, strings.Join(names, ", "))
	}

	var schema *policy.Schema
	if d.Schema != "" {
		var err error
		if schema, err = policy.ParseSchema([]byte(d.Schema)); err != nil {
			return nil, err
		}
	}
	ns := ""
	for _, a := range def.Authorizers {
		if a.Type == apidef.TypeCedar && a.Namespace != "" {
			ns = a.Namespace
		}
	}
	if ns == "" && schema != nil {
		if n := schema.Namespaces(); len(n) == 1 {
			ns = n[0]
		}
	}
	principalType, srcs, err := principalTypes(d, ns)
	if err != nil {
		return nil, err
	}
	isGroupType := func(t types.EntityType) bool {
		return slices.ContainsFunc(srcs, func(s groupSource) bool { return s.groupType == t })
	}
	// display strips the prefix of the source the id belongs to.
	display := func(u types.EntityUID) string {
		for _, s := range srcs {
			if name, ok := strings.CutPrefix(string(u.ID), s.prefix+"|"); ok && s.groupType == u.Type && s.prefix != "" {
				return name
			}
		}
		return string(u.ID)
	}
	byName := func(g string) types.EntityUID {
		id := g
		if !strings.Contains(g, "|") && srcs[0].prefix != "" {
			id = srcs[0].prefix + "|" + g
		}
		return types.NewEntityUID(srcs[0].groupType, types.String(id))
	}

	statics, err := dirPolicies(d)
	if err != nil {
		return nil, err
	}
	var groups []matrixGroup
	if len(opts.Groups) > 0 {
		for _, g := range opts.Groups {
			groups = append(groups, matrixGroup{name: g, uid: byName(g)})
		}
	} else {
		seen := map[types.EntityUID]bool{}
		add := func(name string, u types.EntityUID) {
			if !seen[u] {
				seen[u] = true
				groups = append(groups, matrixGroup{name: name, uid: u})
			}
		}
		for _, s := range statics {
			if u := s.st.Principal; u != nil && isGroupType(u.Type) {
				add(display(*u), *u)
			}
		}
		// Groups routes name without a policy: jwt route groups, role hierarchies and the
		// API's group IAM policies.
		var named []string
		for _, rt := range def.Routes {
			named = append(named, rt.Groups...)
		}
		for _, a := range def.Authorizers {
			named = append(named, a.RoleHierarchy...)
		}
		for _, gp := range d.GroupPolicies {
			if gp.API == def.Name {
				named = append(named, gp.Group)
			}
		}
		for _, g := range named {
			add(g, byName(g))
		}
		// Names that collide across sources are shown in full.
		count := map[string]int{}
		for _, g := range groups {
			count[g.name]++
		}
		for i, g := range groups {
			if count[g.name] > 1 {
				groups[i].name = string(g.uid.ID)
			}
		}
		slices.SortFunc(groups, func(a, b matrixGroup) int { return strings.Compare(a.name, b.name) })
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

	m := &Matrix{API: def.Name, Namespace: ns}
	for _, g := range groups {
		if slices.Contains(m.Groups, g.name) {
			return nil, fmt.Errorf("group %q listed twice", g.name)
		}
		m.Groups = append(m.Groups, g.name)
	}
	user := types.NewEntityUID(principalType, MatrixPrincipal)
	for _, rt := range def.Routes {
		method, path, err := apidef.SplitRoute(rt.Route)
		if err != nil {
			return nil, fmt.Errorf("route %q: %w", rt.Route, err)
		}
		a := def.Authorizers[rt.Authorizer]
		typ := a.Type
		if rt.Authorizer == apidef.AuthorizerNone {
			typ = apidef.AuthorizerNone
		}
		row := func(route string) MatrixRow {
			return MatrixRow{Route: route, Authorizer: rt.Authorizer, Type: typ, Access: map[string]string{}}
		}
		switch typ {
		case apidef.TypeCedar:
			methods := []string{strings.ToLower(method)}
			if method == "ANY" {
				methods = anyMethods
			}
			resource, err := matrixResource(rt, ns, def.Name)
			if err != nil {
				return nil, err
			}
			pp := types.RecordMap{}
			for _, p := range templateParams(path) {
				pp[types.String(p)] = types.String("")
			}
			// A partial segment's action ({Sid}.json on route segment {Sid}) allows only values
			// with its literal part: ask with such a value.
			if _, actPath, ok := strings.Cut(rt.Action, " "); ok {
				for k, v := range partialSamples(path, actPath) {
					pp[types.String(k)] = types.String(v)
				}
			}
			ctx := types.NewRecord(types.RecordMap{"pathParameters": types.NewRecord(pp), "queryStringParameters": types.NewRecord(nil)})
			for _, meth := range methods {
				r := row(strings.ToUpper(meth) + " " + path)
				req := cedar.Request{Principal: user, Action: gateway.CedarAction(ns, rt.Action, meth, path),
					Resource: resource, Context: ctx}
				for _, g := range groups {
					overlay := types.EntityMap{user: {UID: user, Parents: types.NewEntityUIDSet(g.uid)}}
					if _, ok := ents[g.uid]; !ok {
						overlay[g.uid] = types.Entity{UID: g.uid}
					}
					access := Deny
					if a.PolicyStoreID == d.Manifest.PolicyStoreID {
						res := snap.Authorize(req, overlay)
						if res.Decision == cedar.Allow {
							access = Allow
						}
						r.determined(g.name, res.DeterminingPolicies)
					}
					r.Access[g.name] = access
				}
				m.Rows = append(m.Rows, r)
			}
		default:
			r := row(rt.Route)
			for _, g := range groups {
				r.Access[g.name] = staticAccess(typ, rt, a, g.name)
			}
			m.Rows = append(m.Rows, r)
		}
	}
	return m, nil
}

// staticAccess is the access of a route whose authorizer is not a policy store.
func staticAccess(typ string, rt apidef.Route, a apidef.Authorizer, group string) string {
	switch typ {
	case apidef.AuthorizerNone:
		return Public
	case apidef.TypeIAM:
		return IAM
	}
	need := Authenticated
	if len(rt.Scopes) > 0 {
		need = "scope:" + strings.Join(rt.Scopes, "|")
	}
	if len(rt.Groups) == 0 {
		return need
	}
	ok := slices.Contains(rt.Groups, group)
	if i := slices.Index(a.RoleHierarchy, group); i >= 0 && !ok {
		for _, req := range rt.Groups {
			if j := slices.Index(a.RoleHierarchy, req); j >= i {
				ok = true
			}
		}
	}
	if !ok {
		return Deny
	}
	if need == Authenticated {
		return Allow
	}
	return Allow + " (" + need + ")"
}

func qualify(ns, typ string) string {
	if ns == "" || strings.Contains(typ, "::") {
		return typ
	}
	return ns + "::" + typ
}

// matrixResource is the route's resource as the gateway builds it; template parameters stay
// unexpanded ({id}) since the matrix is per route, not per request.
func matrixResource(rt apidef.Route, ns, apiName string) (types.EntityUID, error) {
	var tmpl *apidef.ResourceTemplate
	if rt.Resource != "" {
		t, err := apidef.ParseResourceTemplate(rt.Resource)
		if err != nil {
			return types.EntityUID{}, fmt.Errorf("route %q: resource: %w", rt.Route, err)
		}
		tmpl = &t
	}
	return gateway.CedarResource(ns, tmpl, nil, apiName), nil
}

// groupSource is where group entities come from: their type and id prefix.
type groupSource struct {
	groupType types.EntityType
	prefix    string
}

// principalTypes reads the principal type from the directory's first identity source (default
// <ns>::User) and every source's group type and id prefix (default <ns>::UserGroup, no
// prefix).
func principalTypes(d *apply.Dir, ns string) (types.EntityType, []groupSource, error) {
	principal := types.EntityType(qualify(ns, UserType))
	var out []groupSource
	for i, is := range d.IdentitySources {
		if i == 0 && is.PrincipalEntityType != "" {
			principal = types.EntityType(is.PrincipalEntityType)
		}
		src := groupSource{groupType: types.EntityType(qualify(ns, GroupType))}
		switch c := is.Configuration; {
		case c == nil:
			return "", nil, fmt.Errorf("identity-sources.yaml: entry %d: configuration is required", i)
		case c.CognitoUserPoolConfiguration != nil:
			_, pool, err := identity.CognitoIssuer(c.CognitoUserPoolConfiguration.UserPoolArn, "")
			if err != nil {
				return "", nil, fmt.Errorf("identity-sources.yaml: entry %d: userPoolArn: %w", i, err)
			}
			src.prefix = pool
			if g := c.CognitoUserPoolConfiguration.GroupConfiguration; g != nil && g.GroupEntityType != "" {
				src.groupType = types.EntityType(g.GroupEntityType)
			}
		case c.OpenIDConnectConfiguration != nil:
			o := c.OpenIDConnectConfiguration
			src.prefix = o.EntityIDPrefix
			if src.prefix == "" {
				src.prefix = strings.TrimPrefix(o.Issuer, "https://")
			}
			if g := o.GroupConfiguration; g != nil && g.GroupEntityType != "" {
				src.groupType = types.EntityType(g.GroupEntityType)
			}
		}
		out = append(out, src)
	}
	if len(out) == 0 {
		out = append(out, groupSource{groupType: types.EntityType(qualify(ns, GroupType))})
	}
	return principal, out, nil
}

type namedStatic struct {
	id string
	st *policy.Static
}

// dirPolicies parses the directory's static policies and links its templates.
func dirPolicies(d *apply.Dir) ([]namedStatic, error) {
	var out []namedStatic
	for _, p := range d.Policies {
		st, err := policy.ParseStatic(p.Text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.File, err)
		}
		out = append(out, namedStatic{p.Name, st})
	}
	templates := map[string]*policy.Template{}
	for _, t := range d.Templates {
		tp, err := policy.ParseTemplate(t.Text)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.File, err)
		}
		templates[t.Name] = tp
	}
	for _, l := range d.Links {
		tp, ok := templates[l.Template]
		if !ok {
			return nil, fmt.Errorf("links.yaml: %s: no template %q", l.Name, l.Template)
		}
		var pr, rs *types.EntityUID
		if l.Principal != nil {
			u := types.NewEntityUID(types.EntityType(l.Principal.EntityType), types.String(l.Principal.EntityID))
			pr = &u
		}
		if l.Resource != nil {
			u := types.NewEntityUID(types.EntityType(l.Resource.EntityType), types.String(l.Resource.EntityID))
			rs = &u
		}
		st, err := tp.Link(pr, rs)
		if err != nil {
			return nil, fmt.Errorf("links.yaml: %s: %w", l.Name, err)
		}
		out = append(out, namedStatic{l.Name, st})
	}
	return out, nil
}

func (m *Matrix) header() []string { return append([]string{"ROUTE", "AUTHORIZER"}, m.Groups...) }

func (m *Matrix) record(r MatrixRow) []string {
	rec := []string{r.Route, r.Authorizer}
	for _, g := range m.Groups {
		rec = append(rec, r.Access[g])
	}
	return rec
}

// WriteText writes an aligned table.
func (m *Matrix) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(m.header(), "\t"))
	for _, r := range m.Rows {
		fmt.Fprintln(tw, strings.Join(m.record(r), "\t"))
	}
	return tw.Flush()
}

// WriteCSV writes a header line (route, authorizer, one column per group) and a line per row.
func (m *Matrix) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	h := m.header()
	h[0], h[1] = "route", "authorizer"
	if err := cw.Write(h); err != nil {
		return err
	}
	for _, r := range m.Rows {
		if err := cw.Write(m.record(r)); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes the matrix as an indented JSON object.
func (m *Matrix) WriteJSON(w io.Writer) error {
	b, err := marshalJSON(m)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// partialSamples aligns a route template with its action's path and returns, for each route
// parameter whose action segment has literal text around a parameter ("{Sid}.json"), a value
// that has that text ("x.json").
func partialSamples(route, action string) map[string]string {
	rs, as := strings.Split(route, "/"), strings.Split(action, "/")
	if len(rs) != len(as) {
		return nil
	}
	out := map[string]string{}
	for i, seg := range rs {
		a := as[i]
		open, end := strings.IndexByte(a, '{'), strings.IndexByte(a, '}')
		if !strings.HasPrefix(seg, "{") || open < 0 || end < open || (open == 0 && end == len(a)-1) {
			continue
		}
		out[strings.Trim(seg, "{}+")] = a[:open] + "x" + a[end+1:]
	}
	return out
}
