package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/iam"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

type tokenState uint8

const (
	tokenOK tokenState = iota
	tokenMissing
	tokenInvalid
)

// bearer reads the token from the one Authorization header; the "Bearer " prefix is optional
// (API Gateway's Cognito authorizer accepts both). Several Authorization headers are invalid:
// one source, one value.
func bearer(h http.Header) (string, tokenState) {
	vals := h["Authorization"]
	switch len(vals) {
	case 0:
		return "", tokenMissing
	case 1:
	default:
		return "", tokenInvalid
	}
	v := strings.TrimSpace(vals[0])
	if len(v) >= 7 && strings.EqualFold(v[:7], "bearer ") {
		v = strings.TrimSpace(v[7:])
	}
	if v == "" {
		return "", tokenMissing
	}
	return v, tokenOK
}

func (g *Gateway) authorize(ctx context.Context, q *reqInfo) outcome {
	a := q.route.authz
	if a == nil {
		return outcome{allow: true}
	}
	if g.deps.Tokens == nil {
		return deny(respAuthorizerFail, "", ReasonTokenValidationNotSet)
	}
	raw, ts := bearer(q.header)
	if ts == tokenMissing {
		return deny(respUnauthorized, msgUnauthorized, ReasonMissingToken)
	}
	if g.deps.OnDecision != nil && raw != "" {
		q.tokenHash = audit.TokenHash(raw)
	}
	switch a.kind {
	case kindJWT:
		if ts == tokenInvalid {
			return deny(respUnauthorized, msgUnauthorized, ReasonMultipleTokens)
		}
		return g.authorizeJWT(ctx, q, a, raw)
	case kindCedar:
		if ts == tokenInvalid {
			return deny(respAccessDenied, msgExplicitDeny, ReasonMultipleTokens)
		}
		return g.authorizeCedar(ctx, q, a, raw)
	case kindIAM:
		if ts == tokenInvalid {
			return deny(respAccessDenied, msgImplicitDeny, ReasonMultipleTokens)
		}
		return g.authorizeIAM(ctx, q, a, raw)
	}
	return deny(respAuthorizerFail, "", ReasonUnknownAuthorizer)
}

// identityEntry extracts what the gateway forwards about a validated token.
func identityEntry(a *api, tok *identity.Token, src *identity.Source) *entry {
	e := &entry{exp: tok.Expiry, keys: tok.Keys(), groups: src.GroupNames(tok)}
	if uid, err := src.Principal(tok); err == nil {
		e.principal = string(uid.ID)
	}
	if len(a.claimHeaders) > 0 {
		e.claims = make([]string, len(a.claimHeaders))
		for i, ch := range a.claimHeaders {
			e.claims[i] = claimString(tok.Claims[ch.claim])
		}
	}
	return e
}

// claimString renders a claim as an identity header value (see encodeIdentity): strings as
// is, numbers and booleans as JSON, arrays of strings as a list; anything else is dropped.
func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return encodeIdentity(x)
	case json.Number:
		return x.String()
	case bool:
		if x {
			return "true"
		}
		return "false"
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			p, ok := e.(string)
			if !ok {
				return ""
			}
			parts = append(parts, p)
		}
		return encodeIdentityList(parts)
	}
	return ""
}

func (e *entry) allowed() outcome {
	return outcome{allow: true, principal: e.principal, groups: e.groups, claims: e.claims}
}

func (e *entry) denied(resp, message string, reason Reason) outcome {
	return outcome{resp: resp, message: message, reason: reason, principal: e.principal, groups: e.groups}
}

func (g *Gateway) lookup(q *reqInfo, a *authorizer, key [32]byte) *entry {
	if a.cache == nil {
		return nil
	}
	e, ok := a.cache.GetIfPresent(key)
	if !ok {
		return nil
	}
	// A decision is only as good as the key set that verified its token: a key removed or
	// rotated out invalidates it like a policy change does.
	if !e.exp.After(g.now()) || !e.keys.Current() {
		a.cache.Invalidate(key)
		return nil
	}
	q.cached = true
	return e
}

func (g *Gateway) remember(a *authorizer, key [32]byte, e *entry) {
	if a.cache != nil && cacheable(e, g.now()) {
		a.cache.Set(key, e)
	}
}

// authorizeJWT is API Gateway's Cognito authorizer plus group lists: a route without scopes
// takes an ID token, a route with scopes an access token carrying any of them (unless the
// authorizer's tokenType forces one kind).
func (g *Gateway) authorizeJWT(ctx context.Context, q *reqInfo, a *authorizer, raw string) outcome {
	rt := q.route
	use := a.tokenUse
	if use == 0 {
		use = identity.UseID
		if len(rt.scopes) > 0 {
			use = identity.UseAccess
		}
	}
	key := newKeyer().str("jwt").str(a.key).num(int64(use)).str(raw).num(q.rev).sum()
	e := g.lookup(q, a, key)
	if e == nil {
		tok, src, err := g.deps.Tokens.Validate(ctx, raw, use, a.sources)
		if err != nil {
			if errors.Is(err, identity.ErrExpired) {
				return deny(respExpiredToken, msgExpired, Reason(identity.Reason(err)))
			}
			return deny(respUnauthorized, msgUnauthorized, Reason(identity.Reason(err)))
		}
		e = identityEntry(q.api, tok, src)
		if s, ok := tok.Claims["scope"].(string); ok {
			e.scopes = map[string]bool{}
			for _, sc := range strings.Fields(s) {
				e.scopes[sc] = true
			}
		}
		g.remember(a, key, e)
	}
	if len(rt.scopes) > 0 {
		ok := false
		for _, s := range rt.scopes {
			ok = ok || e.scopes[s]
		}
		if !ok {
			return e.denied(respUnauthorized, msgUnauthorized, ReasonScopeMismatch)
		}
	}
	if rt.groups != nil {
		ok := false
		for _, grp := range e.groups {
			ok = ok || rt.groups[grp]
		}
		if !ok {
			return e.denied(respAccessDenied, msgImplicitDeny, ReasonGroupMismatch)
		}
	}
	return e.allowed()
}

// authorizeIAM is article 001's pattern: the access token's groups select the API's group
// policies, evaluated on the method ARN. The identity is cached; the evaluation runs every
// time since conditions read the client address and the clock.
func (g *Gateway) authorizeIAM(ctx context.Context, q *reqInfo, a *authorizer, raw string) outcome {
	key := newKeyer().str("iam").str(a.key).num(int64(a.tokenUse)).str(raw).num(q.rev).sum()
	e := g.lookup(q, a, key)
	if e == nil {
		tok, src, err := g.deps.Tokens.Validate(ctx, raw, a.tokenUse, a.sources)
		if err != nil {
			return deny(respAccessDenied, msgImplicitDeny, Reason(identity.Reason(err)))
		}
		e = identityEntry(q.api, tok, src)
		for _, grp := range e.groups {
			if p := q.api.groupPolicies[grp]; p != nil {
				e.policies = append(e.policies, p)
			}
		}
		g.remember(a, key, e)
	}
	if len(e.groups) == 0 {
		return e.denied(respAccessDenied, msgImplicitDeny, ReasonIAMNoGroups)
	}
	if len(e.policies) == 0 {
		return e.denied(respAccessDenied, msgImplicitDeny, ReasonIAMNoPolicy)
	}
	arn := iam.MethodARN(q.api.region, g.account, q.api.id, q.api.stage, q.match.Method, q.sub)
	switch iam.Evaluate(iam.Request{Resource: arn, SourceIP: q.clientIP, SecureTransport: q.secure, Now: g.now()}, e.policies...) {
	case iam.Allow:
		return e.allowed()
	case iam.ExplicitDeny:
		return e.denied(respAccessDenied, msgExplicitDeny, ReasonIAMExplicitDeny)
	}
	return e.denied(respAccessDenied, msgImplicitDeny, ReasonIAMImplicitDeny)
}

// authorizeCedar is the AVP authorizer: the token is resolved against the policy store's
// identity sources and the request decided by the store's policies and entities.
func (g *Gateway) authorizeCedar(ctx context.Context, q *reqInfo, a *authorizer, raw string) outcome {
	if g.deps.Snapshots == nil || g.decider == nil || g.deps.Tokens == nil {
		return deny(respAuthorizerFail, "", ReasonCedarNotConfigured)
	}
	snap, err := g.deps.Snapshots.Get(ctx, a.storeID)
	if err != nil {
		g.log.ErrorContext(ctx, "policy store unavailable", "policyStoreId", a.storeID, "err", err)
		return deny(respAuthorizerFail, "", ReasonPolicyStoreDown)
	}
	q.storeID, q.storeRev = a.storeID, snap.Revision
	method := q.match.Method
	key := newKeyer().str("cedar").str(a.key).str(raw).str(method).str(q.sub).str(q.rawQuery).
		str(q.clientStr).num(q.rev).num(snap.Revision).sum()
	if e := g.lookup(q, a, key); e != nil {
		if e.allow {
			return e.allowed()
		}
		return e.denied(e.resp, e.message, e.reason)
	}
	if len(snap.Sources) == 0 {
		return deny(respAuthorizerFail, "", ReasonNoIdentitySource)
	}
	tok, src, err := g.deps.Tokens.Validate(ctx, raw, a.tokenUse, snap.Sources)
	if err != nil {
		return deny(respAccessDenied, msgExplicitDeny, Reason(identity.Reason(err)))
	}
	var idTok, accTok string
	if a.tokenUse == identity.UseID {
		idTok = raw
	} else {
		accTok = raw
	}
	p, err := g.decider.ResolveTokens(ctx, snap, idTok, accTok)
	if err != nil {
		return deny(respAccessDenied, msgExplicitDeny, ReasonTokenMapping)
	}
	req, err := cedarRequest(q, a, snap)
	if err != nil {
		return deny(respAccessDenied, msgExplicitDeny, ReasonBadQuery)
	}
	res, err := authz.DecideWithPrincipal(snap, p, req)
	e := identityEntry(q.api, tok, src)
	e.determining = res.DeterminingPolicies
	q.policies = e.determining
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
	g.remember(a, key, e)
	if e.allow {
		return e.allowed()
	}
	return e.denied(e.resp, e.message, e.reason)
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
func cedarRequest(q *reqInfo, a *authorizer, snap *policystore.Snapshot) (authz.Request, error) {
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
	if ip := q.clientIP; ip.IsValid() {
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
