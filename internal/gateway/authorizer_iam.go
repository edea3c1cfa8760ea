package gateway

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/iam"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// iamKind is article 001's pattern: the access token's groups select the API's group policies,
// evaluated on the method ARN. The identity is cached; the evaluation runs every time since
// conditions read the client address and the clock.
type iamKind struct{}

func (iamKind) typeName() string { return apidef.TypeIAM }

func (iamKind) decide(ctx context.Context, g *Gateway, q *request, a *authorizer, tok bearerToken) outcome {
	if tok.multiple {
		return deny(respAccessDenied, msgImplicitDeny, ReasonMultipleTokens)
	}
	key := newKeyer().str("iam").str(a.key).num(int64(a.tokenUse)).str(tok.raw).num(q.rev).sum()
	e := g.lookup(a, key)
	cached := e != nil
	if e == nil {
		t, src, err := g.deps.Tokens.Validate(ctx, tok.raw, a.tokenUse, a.sources)
		if err != nil {
			return deny(respAccessDenied, msgImplicitDeny, Reason(identity.Reason(err)))
		}
		e = identityEntry(q.api, t, src)
		for _, grp := range e.groups {
			if p := q.api.groupPolicies[grp]; p != nil {
				e.policies = append(e.policies, p)
			}
		}
		g.remember(a, key, e)
	}
	out := g.iamEvaluate(q, e)
	out.cached = cached
	return out
}

func (g *Gateway) iamEvaluate(q *request, e *entry) outcome {
	if len(e.groups) == 0 {
		return e.denied(respAccessDenied, msgImplicitDeny, ReasonIAMNoGroups)
	}
	if len(e.policies) == 0 {
		return e.denied(respAccessDenied, msgImplicitDeny, ReasonIAMNoPolicy)
	}
	arn := iam.MethodARN(q.api.region, g.account, q.api.id, q.api.stage, q.match.Method, q.sub)
	switch iam.Evaluate(iam.Request{Resource: arn, SourceIP: q.client, SecureTransport: q.secure, Now: g.now()}, e.policies...) {
	case iam.Allow:
		return e.allowed()
	case iam.ExplicitDeny:
		return e.denied(respAccessDenied, msgExplicitDeny, ReasonIAMExplicitDeny)
	}
	return e.denied(respAccessDenied, msgImplicitDeny, ReasonIAMImplicitDeny)
}
