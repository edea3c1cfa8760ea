package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// authorizerKind is one authorizer type: none (authorizer_none.go), jwt (authorizer_jwt.go),
// iam (authorizer_iam.go) or cedar (authorizer_cedar.go). A kind holds no state of its own:
// the configuration and the cache view are in the *authorizer it is given.
type authorizerKind interface {
	// typeName is the apidef type name (jwt, cedar, iam, none).
	typeName() string
	// decide answers a routed request; tok is its bearer token, read by authorize.
	decide(ctx context.Context, g *Gateway, q *request, a *authorizer, tok bearerToken) outcome
}

// bearerToken is the token of a request that carries one.
type bearerToken struct {
	raw string
	// multiple: the request has several Authorization headers. Each kind refuses it with its
	// own invalid-token answer: one source, one value.
	multiple bool
}

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

// authorize runs the route's authorizer. Every kind but none needs a token: a missing one is
// 401 whatever the kind, as API Gateway answers.
func (g *Gateway) authorize(ctx context.Context, q *request) outcome {
	a := q.route.authz
	if a.kind == (noneKind{}) {
		return a.kind.decide(ctx, g, q, a, bearerToken{})
	}
	if g.deps.Tokens == nil {
		return deny(respAuthorizerFail, "", ReasonTokenValidationNotSet)
	}
	raw, ts := bearer(q.header)
	if ts == tokenMissing {
		return deny(respUnauthorized, msgUnauthorized, ReasonMissingToken)
	}
	out := a.kind.decide(ctx, g, q, a, bearerToken{raw: raw, multiple: ts == tokenInvalid})
	if g.deps.OnDecision != nil && raw != "" {
		out.tokenHash = audit.TokenHash(raw)
	}
	return out
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

// lookup returns the authorizer's cached entry for key, or nil.
func (g *Gateway) lookup(a *authorizer, key [32]byte) *entry {
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
	return e
}

func (g *Gateway) remember(a *authorizer, key [32]byte, e *entry) {
	if a.cache != nil && cacheable(e, g.now()) {
		a.cache.Set(key, e)
	}
}
