package authz

import (
	"context"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/engine"
)

// Explanation is a request explained policy by policy (engine.Snapshot.Explain) on the
// snapshot of one revision, with the principal decided on (from the token for token
// requests).
type Explanation struct {
	engine.Explanation
	Principal types.EntityUID
	Revision  int64
}

// Explain explains a request exactly as IsAuthorized decides it: the caller's entities and
// context are read with the store's schema first, so the explanation concerns the request
// the decision saw.
func (d *Decider) Explain(ctx context.Context, storeID string, req Request, opt engine.ExplainOptions) (Explanation, error) {
	snap, err := d.snaps.Get(ctx, storeID)
	if err != nil {
		return Explanation{}, err
	}
	if req.Entities, err = conformEntities(snap, req.Entities); err != nil {
		return Explanation{}, err
	}
	if req.Context, err = conformContext(snap, req.Action, req.Context); err != nil {
		return Explanation{}, err
	}
	var overlay types.EntityGetter
	if len(req.Entities) > 0 {
		overlay = req.Entities
	}
	ex, err := snap.Engine.Explain(cedar.Request{Principal: req.Principal, Action: req.Action, Resource: req.Resource, Context: req.Context}, overlay, opt)
	if err != nil {
		return Explanation{}, &InputError{Field: "explain", Message: err.Error()}
	}
	return Explanation{Explanation: ex, Principal: req.Principal, Revision: snap.Revision}, nil
}

// ExplainWithToken explains a request whose principal comes from the tokens, exactly as
// IsAuthorizedWithToken decides it (the tokens validated against the store's identity
// sources and mapped to the principal entity and context.token).
func (d *Decider) ExplainWithToken(ctx context.Context, storeID string, req TokenRequest, opt engine.ExplainOptions) (Explanation, error) {
	snap, err := d.snaps.Get(ctx, storeID)
	if err != nil {
		return Explanation{}, err
	}
	p, err := d.ResolveTokens(ctx, snap, req.IdentityToken, req.AccessToken)
	if err != nil {
		return Explanation{}, err
	}
	ents, err := conformEntities(snap, req.Entities)
	if err != nil {
		return Explanation{}, err
	}
	c, err := conformContext(snap, req.Action, req.Context)
	if err != nil {
		return Explanation{}, err
	}
	c, overlay, err := withToken(p, c, ents)
	if err != nil {
		return Explanation{}, err
	}
	ex, err := snap.Engine.Explain(cedar.Request{Principal: p.Entity.UID, Action: req.Action, Resource: req.Resource, Context: c}, overlay, opt)
	if err != nil {
		return Explanation{}, &InputError{Field: "explain", Message: err.Error()}
	}
	return Explanation{Explanation: ex, Principal: p.Entity.UID, Revision: snap.Revision}, nil
}
