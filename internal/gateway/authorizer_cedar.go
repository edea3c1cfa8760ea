package gateway

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// cedarKind is the AVP authorizer: the token is resolved against the policy store's identity
// sources and the request decided by the store's policies and entities. The decision itself is
// cached, keyed by every input of the Cedar request. A miss validates the token once: the
// validated token is mapped to its principal by authz.PrincipalFromToken, not validated again.
type cedarKind struct{}

func (cedarKind) typeName() string { return apidef.TypeCedar }

func (cedarKind) decide(ctx context.Context, g *Gateway, q *request, a *authorizer, tok bearerToken) outcome {
	if tok.multiple {
		return deny(respAccessDenied, msgExplicitDeny, ReasonMultipleTokens)
	}
	if g.deps.Snapshots == nil || g.deps.Tokens == nil {
		return deny(respAuthorizerFail, "", ReasonCedarNotConfigured)
	}
	snap, err := g.deps.Snapshots.Get(ctx, a.storeID)
	if err != nil {
		g.log.ErrorContext(ctx, "policy store unavailable", "policyStoreId", a.storeID, "err", err)
		return deny(respAuthorizerFail, "", ReasonPolicyStoreDown)
	}
	key := newKeyer().str("cedar").str(a.key).str(tok.raw).str(q.match.Method).str(q.sub).str(q.rawQuery).
		str(q.clientStr).num(q.rev).num(snap.Revision).sum()
	e := g.lookup(a, key)
	cached := e != nil
	if e == nil {
		var out outcome
		if e, out = cedarDecide(ctx, g, q, a, tok.raw, snap); e == nil {
			out.storeID, out.storeRev = a.storeID, snap.Revision
			return out
		}
		g.remember(a, key, e)
	}
	var out outcome
	if e.allow {
		out = e.allowed()
	} else {
		out = e.denied(e.resp, e.message, e.reason)
	}
	out.cached, out.storeID, out.storeRev, out.policies = cached, a.storeID, snap.Revision, e.determining
	return out
}

// cedarDecide validates the token and decides the request: an entry to cache, or nil and the
// refusal of a request that could not be decided (not cached).
func cedarDecide(ctx context.Context, g *Gateway, q *request, a *authorizer, raw string, snap *policystore.Snapshot) (*entry, outcome) {
	if len(snap.Sources) == 0 {
		return nil, deny(respAuthorizerFail, "", ReasonNoIdentitySource)
	}
	tok, src, err := g.deps.Tokens.Validate(ctx, raw, a.tokenUse, snap.Sources)
	if err != nil {
		return nil, deny(respAccessDenied, msgExplicitDeny, Reason(identity.Reason(err)))
	}
	p, err := authz.PrincipalFromToken(snap, tok, src, a.tokenUse)
	if err != nil {
		return nil, deny(respAccessDenied, msgExplicitDeny, ReasonTokenMapping)
	}
	req, err := cedarRequest(q, a, snap)
	if err != nil {
		return nil, deny(respAccessDenied, msgExplicitDeny, ReasonBadQuery)
	}
	res, err := authz.DecideWithPrincipal(snap, p, req)
	e := identityEntry(q.api, tok, src)
	e.determining = res.DeterminingPolicies
	switch {
	case err != nil:
		e.resp, e.message, e.reason = respAccessDenied, msgExplicitDeny, ReasonCedarRequestInvalid
	case res.Decision == cedar.Allow:
		e.allow = true
	case len(res.Errors) > 0 && len(res.DeterminingPolicies) == 0:
		e.resp, e.message, e.reason = respAccessDenied, msgExplicitDeny, ReasonPolicyError
	default:
		e.resp, e.message, e.reason = respAccessDenied, msgExplicitDeny, ReasonPolicyDeny
	}
	return e, outcome{}
}

// namespace returns the authorizer's namespace: configured, else the schema's only one.
func namespace(a *authorizer, snap *policystore.Snapshot) string {
	if a.namespace != "" {
		return a.namespace
	}
	if snap.Schema != nil {
		if ns := snap.Schema.Namespaces(); len(ns) == 1 {
			return ns[0]
		}
	}
	return ""
}

func qualify(ns, typ string) types.EntityType {
	if ns == "" || strings.Contains(typ, "::") {
		return types.EntityType(typ)
	}
	return types.EntityType(ns + "::" + typ)
}

var errBadQuery = errors.New("query string does not parse")

// cedarRequest builds the Cedar request of a route: action "<lowercase method> <route path>",
// resource the route's template or <NS>::Application::"<NS>", and context with the path and
// query parameters and the source address.
func cedarRequest(q *request, a *authorizer, snap *policystore.Snapshot) (authz.Request, error) {
	rt := q.route
	ns := namespace(a, snap)
	req := authz.Request{
		Action:   CedarAction(ns, rt.action, q.match.Method, rt.path),
		Resource: CedarResource(ns, rt.resource, q.match.Params, q.api.name),
	}
	pp := types.RecordMap{}
	for k, v := range q.match.Params {
		pp[types.String(k)] = types.String(v)
	}
	qs := types.RecordMap{}
	if q.rawQuery != "" {
		vals, err := url.ParseQuery(q.rawQuery)
		if err != nil {
			// A query the gateway cannot read one way only must not reach a policy that reads it.
			return authz.Request{}, errBadQuery
		}
		for k, vs := range vals {
			qs[types.String(k)] = types.String(vs[len(vs)-1])
		}
	}
	rec := types.RecordMap{
		"pathParameters":        types.NewRecord(pp),
		"queryStringParameters": types.NewRecord(qs),
	}
	if ip := q.client; ip.IsValid() {
		rec["sourceIp"] = types.IPAddr(netip.PrefixFrom(ip, ip.BitLen()))
	}
	req.Context = types.NewRecord(rec)
	return req, nil
}

// substitute replaces each {name} of a resource template with the decoded parameter, in one
// pass, so a parameter value that looks like "{other}" is never expanded again.
func substitute(tmpl string, params map[string]string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			break
		}
		name := tmpl[i+1 : i+j]
		val, ok := params[name]
		if !ok {
			b.WriteString(tmpl[:i+j+1])
		} else {
			b.WriteString(tmpl[:i])
			b.WriteString(val)
		}
		tmpl = tmpl[i+j+1:]
	}
	b.WriteString(tmpl)
	return b.String()
}
