// Package authz decides Cedar authorization requests against policy stores: plain requests
// (AVP's IsAuthorized) and requests whose principal comes from a validated token (AVP's
// IsAuthorizedWithToken). It knows nothing of HTTP; the AVP-compatible API and the gateway's
// cedar authorizer both call it, so a request is decided the same way on either path.
package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// Snapshots yields the current compiled snapshot of a policy store.
type Snapshots interface {
	Get(ctx context.Context, storeID string) (*policystore.Snapshot, error)
}

// TokenValidator validates a bearer token against a store's identity sources.
type TokenValidator interface {
	Validate(ctx context.Context, raw string, use identity.TokenUse, sources []*identity.Source) (*identity.Token, *identity.Source, error)
}

// Decider decides requests. It is safe for concurrent use.
type Decider struct {
	snaps  Snapshots
	tokens TokenValidator
}

// New returns a Decider. tokens may be nil when no token operations are needed.
func New(snaps Snapshots, tokens TokenValidator) *Decider {
	return &Decider{snaps: snaps, tokens: tokens}
}

// Request is a Cedar request with the caller's entities (which take precedence over the
// store's entities of the same identifier).
type Request struct {
	Principal types.EntityUID
	Action    types.EntityUID
	Resource  types.EntityUID
	Context   types.Record
	Entities  types.EntityMap
}

// Result is a decision with AVP's determining policies and errors.
type Result struct {
	Decision            cedar.Decision
	DeterminingPolicies []string
	Errors              []engine.PolicyError
	// Principal is the principal decided on (derived from the token for token requests).
	Principal types.EntityUID
	// Revision is the policy store revision the decision was made at.
	Revision int64
	// Token facts for audit: the validated tokens' ids, never the tokens.
	TokenIDs []string
}

// InputError is a request that cannot be decided as sent; Field names the offending input.
type InputError struct {
	Field   string
	Message string
}

func (e *InputError) Error() string { return e.Field + ": " + e.Message }

// TokenError wraps a token that failed validation; errors.Is works with identity's classes.
type TokenError struct {
	Field string // identityToken or accessToken
	Err   error
}

func (e *TokenError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

// IsAuthorized decides one request.
func (d *Decider) IsAuthorized(ctx context.Context, storeID string, req Request) (Result, error) {
	snap, err := d.snaps.Get(ctx, storeID)
	if err != nil {
		return Result{}, err
	}
	if req.Entities, err = conformEntities(snap, req.Entities); err != nil {
		return Result{}, err
	}
	if req.Context, err = conformContext(snap, req.Action, req.Context); err != nil {
		return Result{}, err
	}
	return decide(snap, req), nil
}

// IsAuthorizedBatch decides several requests against one snapshot, so they see the same
// policies.
func (d *Decider) IsAuthorizedBatch(ctx context.Context, storeID string, entities types.EntityMap, reqs []Request) ([]Result, error) {
	snap, err := d.snaps.Get(ctx, storeID)
	if err != nil {
		return nil, err
	}
	if entities, err = conformEntities(snap, entities); err != nil {
		return nil, err
	}
	out := make([]Result, len(reqs))
	for i, r := range reqs {
		r.Entities = entities
		if r.Context, err = conformContext(snap, r.Action, r.Context); err != nil {
			return nil, err
		}
		out[i] = decide(snap, r)
	}
	return out, nil
}

// conformEntities reads the caller's entities with the store's schema, as Cedar does: entity
// references and extension values written as plain JSON become what the schema declares, and
// a value of the wrong type is the caller's error. Without a schema they are taken as sent.
func conformEntities(snap *policystore.Snapshot, ents types.EntityMap) (types.EntityMap, error) {
	if snap.Schema == nil || len(ents) == 0 {
		return ents, nil
	}
	out := make(types.EntityMap, len(ents))
	for uid, e := range ents {
		c, err := snap.Schema.ConformEntity(e)
		if err != nil {
			return nil, &InputError{Field: "entities", Message: fmt.Sprintf("entity %s does not conform to the schema: %v", uid, err)}
		}
		out[uid] = c
	}
	return out, nil
}

// conformContext reads a request context with the store's schema (see conformEntities).
func conformContext(snap *policystore.Snapshot, action types.EntityUID, c types.Record) (types.Record, error) {
	if snap.Schema == nil {
		return c, nil
	}
	out, err := snap.Schema.ConformContext(action, c)
	if err != nil {
		var ce *policy.ConformError
		if errors.As(err, &ce) {
			return c, &InputError{Field: strings.TrimSuffix("context."+ce.Path, "."), Message: "does not conform to the schema: " + ce.Message}
		}
		return c, &InputError{Field: "context", Message: err.Error()}
	}
	return out, nil
}

func decide(snap *policystore.Snapshot, req Request) Result {
	var overlay types.EntityGetter
	if len(req.Entities) > 0 {
		overlay = req.Entities
	}
	r := snap.Engine.Authorize(cedar.Request{Principal: req.Principal, Action: req.Action, Resource: req.Resource, Context: req.Context}, overlay)
	return Result{Decision: r.Decision, DeterminingPolicies: r.DeterminingPolicies, Errors: r.Errors, Principal: req.Principal, Revision: snap.Revision}
}

// TokenRequest is an IsAuthorizedWithToken request: the principal comes from the tokens.
type TokenRequest struct {
	IdentityToken string
	AccessToken   string
	Action        types.EntityUID
	Resource      types.EntityUID
	Context       types.Record
	Entities      types.EntityMap
}

// Principal is what a token request maps to: the principal entity (attributes from an ID
// token, parents from groups) and, for an access token, the context.token record.
type Principal struct {
	Entity    types.Entity
	Token     *types.Record
	Source    *identity.Source
	TokenIDs  []string
	ExpiresAt time.Time
}

// ResolveTokens validates the tokens of a request against the store's identity sources and
// maps them to Cedar exactly as AVP does.
func (d *Decider) ResolveTokens(ctx context.Context, snap *policystore.Snapshot, idToken, accessToken string) (Principal, error) {
	if idToken == "" && accessToken == "" {
		return Principal{}, &InputError{Field: "identityToken", Message: "one of identityToken and accessToken is required"}
	}
	if d.tokens == nil || len(snap.Sources) == 0 {
		return Principal{}, &InputError{Field: "policyStoreId", Message: "the policy store has no identity source"}
	}
	var (
		p       Principal
		idTok   *identity.Token
		idSrc   *identity.Source
		accTok  *identity.Token
		accSrc  *identity.Source
		err     error
		expires time.Time
	)
	if idToken != "" {
		if idTok, idSrc, err = d.tokens.Validate(ctx, idToken, identity.UseID, snap.Sources); err != nil {
			return Principal{}, &TokenError{Field: "identityToken", Err: err}
		}
		p.TokenIDs = append(p.TokenIDs, idTok.JTI)
		expires = idTok.Expiry
	}
	if accessToken != "" {
		if accTok, accSrc, err = d.tokens.Validate(ctx, accessToken, identity.UseAccess, snap.Sources); err != nil {
			return Principal{}, &TokenError{Field: "accessToken", Err: err}
		}
		p.TokenIDs = append(p.TokenIDs, accTok.JTI)
		if expires.IsZero() || accTok.Expiry.Before(expires) {
			expires = accTok.Expiry
		}
	}
	p.ExpiresAt = expires
	return principalOf(snap, p, idTok, idSrc, accTok, accSrc)
}

// PrincipalFromToken maps one token that the caller has already validated against
// snap.Sources (an ID token when use is identity.UseID, else an access token) to Cedar exactly
// as ResolveTokens does, without validating it again: the gateway's cedar authorizer validates
// the token itself, and a second signature check per decision would only cost time.
func PrincipalFromToken(snap *policystore.Snapshot, tok *identity.Token, src *identity.Source, use identity.TokenUse) (Principal, error) {
	p := Principal{TokenIDs: []string{tok.JTI}, ExpiresAt: tok.Expiry}
	if use == identity.UseID {
		return principalOf(snap, p, tok, src, nil, nil)
	}
	return principalOf(snap, p, nil, nil, tok, src)
}

// principalOf maps validated tokens to the principal entity and context.token.
func principalOf(snap *policystore.Snapshot, p Principal, idTok *identity.Token, idSrc *identity.Source, accTok *identity.Token, accSrc *identity.Source) (Principal, error) {
	if idTok != nil {
		var declared func(string) bool
		if snap.Schema != nil {
			uid, err := idSrc.Principal(idTok)
			if err != nil {
				return Principal{}, &TokenError{Field: "identityToken", Err: err}
			}
			if attrs, ok := snap.Schema.EntityAttributes(uid.Type); ok {
				declared = func(name string) bool { return attrs[name] }
			} else {
				declared = func(string) bool { return false }
			}
		}
		var err error
		if p.Entity, err = idSrc.Entity(idTok, declared); err != nil {
			return Principal{}, &TokenError{Field: "identityToken", Err: err}
		}
		p.Source = idSrc
	}
	if accTok != nil {
		e, err := accSrc.Entity(accTok, nil)
		if err != nil {
			return Principal{}, &TokenError{Field: "accessToken", Err: err}
		}
		if idTok != nil && (accSrc != idSrc || e.UID != p.Entity.UID) {
			return Principal{}, &InputError{Field: "accessToken", Message: "identityToken and accessToken belong to different principals"}
		}
		if idTok == nil {
			p.Entity, p.Source = e, accSrc
		}
		tok := accSrc.ContextToken(accTok)
		p.Token = &tok
	}
	return p, nil
}

// checkEntities enforces AVP's rule: the caller may not supply entities of the identity
// source's user or group types — those come only from the token.
func checkEntities(src *identity.Source, principal types.EntityUID, ents types.EntityMap) error {
	for uid := range ents {
		if uid.Type == principal.Type || (src.GroupEntityType != "" && string(uid.Type) == src.GroupEntityType) {
			return &InputError{Field: "entities", Message: fmt.Sprintf("entity %s has the identity source's %s type; principals and groups come from the token", uid, uid.Type)}
		}
	}
	return nil
}

// withToken builds the overlay and context of a token request.
func withToken(p Principal, ctxRec types.Record, ents types.EntityMap) (types.Record, types.EntityMap, error) {
	if err := checkEntities(p.Source, p.Entity.UID, ents); err != nil {
		return types.Record{}, nil, err
	}
	overlay := make(types.EntityMap, len(ents)+1)
	for k, v := range ents {
		overlay[k] = v
	}
	overlay[p.Entity.UID] = p.Entity
	if p.Token != nil {
		m := types.RecordMap{}
		for k, v := range ctxRec.All() {
			m[k] = v
		}
		if _, taken := m["token"]; taken {
			return types.Record{}, nil, &InputError{Field: "context", Message: "context.token is reserved for the access token's claims"}
		}
		m["token"] = *p.Token
		ctxRec = types.NewRecord(m)
	}
	return ctxRec, overlay, nil
}

// IsAuthorizedWithToken decides a request whose principal comes from the tokens.
func (d *Decider) IsAuthorizedWithToken(ctx context.Context, storeID string, req TokenRequest) (Result, error) {
	res, err := d.IsAuthorizedWithTokenBatch(ctx, storeID, req.IdentityToken, req.AccessToken, req.Entities,
		[]Request{{Action: req.Action, Resource: req.Resource, Context: req.Context}})
	if err != nil {
		return Result{}, err
	}
	return res[0], nil
}

// IsAuthorizedWithTokenBatch decides several requests for the principal of the tokens.
func (d *Decider) IsAuthorizedWithTokenBatch(ctx context.Context, storeID, idToken, accessToken string, entities types.EntityMap, reqs []Request) ([]Result, error) {
	snap, err := d.snaps.Get(ctx, storeID)
	if err != nil {
		return nil, err
	}
	p, err := d.ResolveTokens(ctx, snap, idToken, accessToken)
	if err != nil {
		return nil, err
	}
	if entities, err = conformEntities(snap, entities); err != nil {
		return nil, err
	}
	out := make([]Result, len(reqs))
	for i, r := range reqs {
		if r.Context, err = conformContext(snap, r.Action, r.Context); err != nil {
			return nil, err
		}
		c, overlay, err := withToken(p, r.Context, entities)
		if err != nil {
			return nil, err
		}
		r.Principal, r.Context, r.Entities = p.Entity.UID, c, overlay
		out[i] = decide(snap, r)
		out[i].TokenIDs = p.TokenIDs
	}
	return out, nil
}

// DecideWithPrincipal decides a request for an already resolved principal (the gateway's
// cedar authorizer resolves the token once and caches it).
func DecideWithPrincipal(snap *policystore.Snapshot, p Principal, req Request) (Result, error) {
	c, overlay, err := withToken(p, req.Context, req.Entities)
	if err != nil {
		return Result{}, err
	}
	req.Principal, req.Context, req.Entities = p.Entity.UID, c, overlay
	r := decide(snap, req)
	r.TokenIDs = p.TokenIDs
	return r, nil
}

// IsInputError reports whether err is the caller's fault (a 4xx), as opposed to an outage.
func IsInputError(err error) bool {
	var ie *InputError
	var te *TokenError
	return errors.As(err, &ie) || errors.As(err, &te)
}
