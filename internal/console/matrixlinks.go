package console

import (
	"context"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// cellLinks maps route → group → the policy ids that decided that cell.
type cellLinks map[string]map[string][]string

// matrixCellLinks finds, for each allow/deny cell of a cedar route, the policies that decided
// it: wizard.AccessMatrix does not return them, so each cell's request is asked again of the
// store through the decision engine (authz.Decider) and its DeterminingPolicies are used. A
// link is kept only when that answer agrees with the cell, so a link never names a policy the
// grid did not follow; cells denied by default have no determining policy and no link.
func (c *Console) matrixCellLinks(ctx context.Context, def *apidef.Definition, d *apply.Dir, m *wizard.Matrix, storeID string) cellLinks {
	out := cellLinks{}
	if storeID == "" {
		return out
	}
	ns := m.Namespace
	principalType := types.EntityType(qualifyNS(ns, wizard.UserType))
	if len(d.IdentitySources) > 0 && d.IdentitySources[0].PrincipalEntityType != "" {
		principalType = types.EntityType(d.IdentitySources[0].PrincipalEntityType)
	}
	user := types.NewEntityUID(principalType, wizard.MatrixPrincipal)
	for _, rt := range def.Routes {
		a, ok := def.Authorizers[rt.Authorizer]
		if !ok || a.Type != apidef.TypeCedar || a.PolicyStoreID != storeID {
			continue
		}
		method, path, err := apidef.SplitRoute(rt.Route)
		if err != nil {
			continue
		}
		var tmpl *apidef.ResourceTemplate
		if rt.Resource != "" {
			t, err := apidef.ParseResourceTemplate(rt.Resource)
			if err != nil {
				continue
			}
			tmpl = &t
		}
		resource := gateway.CedarResource(ns, tmpl, nil, def.Name)
		pp := types.RecordMap{}
		for _, seg := range strings.Split(path, "/") {
			if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
				pp[types.String(strings.TrimSuffix(seg[1:len(seg)-1], "+"))] = types.String("")
			}
		}
		rctx := types.NewRecord(types.RecordMap{"pathParameters": types.NewRecord(pp), "queryStringParameters": types.NewRecord(nil)})
		for _, row := range m.Rows {
			meth, rpath, ok := strings.Cut(row.Route, " ")
			if !ok || rpath != path || (method != "ANY" && meth != method) {
				continue
			}
			action := gateway.CedarAction(ns, rt.Action, strings.ToLower(meth), path)
			for _, g := range m.Groups {
				want := row.Access[g]
				if want != wizard.Allow && want != wizard.Deny {
					continue
				}
				for _, gu := range groupCandidates(d, ns, g) {
					ents := types.EntityMap{user: {UID: user, Parents: types.NewEntityUIDSet(gu)}, gu: {UID: gu}}
					req := authz.Request{Principal: user, Action: action, Resource: resource, Context: rctx, Entities: ents}
					res, err := c.d.Decider.IsAuthorized(ctx, storeID, req)
					if err != nil {
						// A STRICT store whose schema declares no such context refuses it;
						// the matrix's engine ignores the context then, so ask without it.
						req.Context = types.Record{}
						res, err = c.d.Decider.IsAuthorized(ctx, storeID, req)
					}
					if err != nil || len(res.DeterminingPolicies) == 0 {
						continue
					}
					if (res.Decision == cedar.Allow) != (want == wizard.Allow) {
						continue
					}
					if out[row.Route] == nil {
						out[row.Route] = map[string][]string{}
					}
					out[row.Route][g] = res.DeterminingPolicies
					break
				}
			}
		}
	}
	return out
}

// groupCandidates are the entity ids a matrix column may stand for: the grid shows a group
// without its identity source's prefix, so each source's group type and prefix is tried, as
// wizard.AccessMatrix builds them.
func groupCandidates(d *apply.Dir, ns, name string) []types.EntityUID {
	def := types.EntityType(qualifyNS(ns, wizard.GroupType))
	var out []types.EntityUID
	add := func(t types.EntityType, prefix string) {
		id := name
		if prefix != "" && !strings.Contains(name, "|") {
			id = prefix + "|" + name
		}
		out = append(out, types.NewEntityUID(t, types.String(id)))
	}
	for _, is := range d.IdentitySources {
		c := is.Configuration
		if c == nil {
			continue
		}
		switch {
		case c.CognitoUserPoolConfiguration != nil:
			_, pool, err := identity.CognitoIssuer(c.CognitoUserPoolConfiguration.UserPoolArn, "")
			if err != nil {
				continue
			}
			t := def
			if g := c.CognitoUserPoolConfiguration.GroupConfiguration; g != nil && g.GroupEntityType != "" {
				t = types.EntityType(g.GroupEntityType)
			}
			add(t, pool)
		case c.OpenIDConnectConfiguration != nil:
			o := c.OpenIDConnectConfiguration
			prefix := o.EntityIDPrefix
			if prefix == "" {
				prefix = strings.TrimPrefix(o.Issuer, "https://")
			}
			t := def
			if g := o.GroupConfiguration; g != nil && g.GroupEntityType != "" {
				t = types.EntityType(g.GroupEntityType)
			}
			add(t, prefix)
		}
	}
	add(def, "")
	return out
}

func qualifyNS(ns, typ string) string {
	if ns == "" || strings.Contains(typ, "::") {
		return typ
	}
	return ns + "::" + typ
}
