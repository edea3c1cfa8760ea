package gateway

import (
	"context"
	"errors"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// jwtKind is API Gateway's Cognito authorizer plus group lists: a route without scopes takes an
// ID token, a route with scopes an access token carrying any of them (unless the authorizer's
// tokenType forces one kind). The validated identity is cached; scopes and groups are checked
// on every request, since they depend on the route.
type jwtKind struct{}

func (jwtKind) typeName() string { return apidef.TypeJWT }

func (jwtKind) decide(ctx context.Context, g *Gateway, q *request, a *authorizer, tok bearerToken) outcome {
	if tok.multiple {
		return deny(respUnauthorized, msgUnauthorized, ReasonMultipleTokens)
	}
	rt := q.route
	use := a.tokenUse
	if use == 0 {
		use = identity.UseID
		if len(rt.scopes) > 0 {
			use = identity.UseAccess
		}
	}
	key := newKeyer().str("jwt").str(a.key).num(int64(use)).str(tok.raw).num(q.rev).sum()
	e := g.lookup(a, key)
	cached := e != nil
	if e == nil {
		t, src, err := g.deps.Tokens.Validate(ctx, tok.raw, use, a.sources)
		if err != nil {
			if errors.Is(err, identity.ErrExpired) {
				return deny(respExpiredToken, msgExpired, Reason(identity.Reason(err)))
			}
			return deny(respUnauthorized, msgUnauthorized, Reason(identity.Reason(err)))
		}
		e = identityEntry(q.api, t, src)
		if s, ok := t.Claims["scope"].(string); ok {
			e.scopes = map[string]bool{}
			for _, sc := range strings.Fields(s) {
				e.scopes[sc] = true
			}
		}
		g.remember(a, key, e)
	}
	out := jwtRouteChecks(rt, e)
	out.cached = cached
	return out
}

// jwtRouteChecks applies a route's scopes (any of, else 401) and groups (any of, widened by the
// role hierarchy at compile time, else 403) to a validated identity.
func jwtRouteChecks(rt *route, e *entry) outcome {
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
