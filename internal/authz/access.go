package authz

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/eval"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// Access queries answer "what can this principal access?", which Verified Permissions cannot.
// They are exact because they are made of ordinary decisions: every candidate is decided by
// the same path as IsAuthorized (schema conformance, the indexed engine, stored entities
// overlaid by the caller's), so an answer can never disagree with the decision it predicts.
// Only the candidates are enumerated here:
//   - actions: the schema's actions, the stored Action entities and every action named in a
//     policy's scope. Without a schema, an action that appears nowhere is allowed only by a
//     policy with an open action scope; the answer lists AnyAction for that case instead of
//     an infinite set.
//   - resources: the stored (and request-supplied) entities of the type asked for, decided one
//     by one; for resources that are not stored, the residual policies — each policy partially
//     evaluated with the resource unknown (cedar-go x/exp/eval) — say which conditions a
//     resource must meet.

// ActionsQuery asks which actions Principal may take on Resource.
type ActionsQuery struct {
	Principal types.EntityUID
	Resource  types.EntityUID
	Context   types.Record
	Entities  types.EntityMap
}

// ActionAccess is the decision for one candidate action.
type ActionAccess struct {
	Action types.EntityUID
	Result Result
	// InputError is set when the request could not be decided for this action (its context
	// does not conform to the action's schema); Result is then a Deny.
	InputError string
}

// ActionsAnswer lists every candidate action with its decision, sorted by action.
type ActionsAnswer struct {
	Revision int64
	Actions  []ActionAccess
	// AnyAction names the permit policies whose action scope is open and whose principal and
	// resource scope hold: without a schema they may allow actions not listed.
	AnyAction []string
}

// ListActions decides Principal × every candidate action × Resource.
func (d *Decider) ListActions(ctx context.Context, storeID string, q ActionsQuery) (ActionsAnswer, error) {
	snap, err := d.snaps.Get(ctx, storeID)
	if err != nil {
		return ActionsAnswer{}, err
	}
	ents, err := conformEntities(snap, q.Entities)
	if err != nil {
		return ActionsAnswer{}, err
	}
	ans := ActionsAnswer{Revision: snap.Revision}
	for _, a := range candidateActions(snap, ents) {
		acc := ActionAccess{Action: a}
		c, err := conformContext(snap, a, q.Context)
		if err != nil {
			acc.InputError = err.Error()
			acc.Result = Result{Decision: cedar.Deny, Principal: q.Principal, Revision: snap.Revision}
		} else {
			acc.Result = decide(snap, Request{Principal: q.Principal, Action: a, Resource: q.Resource, Context: c, Entities: ents})
		}
		ans.Actions = append(ans.Actions, acc)
	}
	if snap.Schema == nil {
		ans.AnyAction = openActionPermits(snap, q.Principal, q.Resource, ents)
	}
	return ans, nil
}

// candidateActions returns the sorted, distinct actions a request can name meaningfully.
func candidateActions(snap *policystore.Snapshot, overlay types.EntityMap) []types.EntityUID {
	seen := map[types.EntityUID]bool{}
	if snap.Schema != nil {
		for _, e := range snap.Schema.Actions() {
			seen[e.UID] = true
		}
	}
	for _, m := range []types.EntityMap{snap.Engine.Entities(), overlay} {
		for uid := range m {
			if isActionType(uid.Type) {
				seen[uid] = true
			}
		}
	}
	for _, uid := range snap.Engine.NamedActions() {
		seen[uid] = true
	}
	out := make([]types.EntityUID, 0, len(seen))
	for uid := range seen {
		out = append(out, uid)
	}
	slices.SortFunc(out, compareUID)
	return out
}

func isActionType(t types.EntityType) bool {
	return t == "Action" || strings.HasSuffix(string(t), "::Action")
}

func compareUID(a, b types.EntityUID) int {
	return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
}

// openActionPermits lists the permit policies whose action scope is open and whose principal
// and resource scopes hold: they would allow an action named nowhere in the store.
func openActionPermits(snap *policystore.Snapshot, principal, resource types.EntityUID, overlay types.EntityMap) []string {
	var ents types.EntityGetter = snap.Engine.Entities()
	if len(overlay) > 0 {
		ents = overlaid{overlay: overlay, stored: ents}
	}
	var out []string
	for id, p := range snap.Engine.OpenAction() {
		x := (*xast.Policy)(p.AST())
		if x.Effect != xast.EffectPermit || !principalScopeHolds(x.Principal, principal, ents) || !resourceScopeHolds(x.Resource, resource, ents) {
			continue
		}
		out = append(out, string(id))
	}
	slices.Sort(out)
	return out
}

// principalScopeHolds and resourceScopeHolds evaluate one scope constraint as Cedar does, in
// an otherwise open policy.
func principalScopeHolds(n xast.IsPrincipalScopeNode, uid types.EntityUID, ents types.EntityGetter) bool {
	p := xast.Permit()
	p.Principal = n
	return holds(p, uid, ents)
}

func resourceScopeHolds(n xast.IsResourceScopeNode, uid types.EntityUID, ents types.EntityGetter) bool {
	p := xast.Permit()
	p.Resource = n
	return holds(p, uid, ents)
}

func holds(p *xast.Policy, uid types.EntityUID, ents types.EntityGetter) bool {
	v, err := eval.Eval(eval.PolicyToNode(p).AsIsNode(), eval.Env{Entities: ents, Principal: uid, Action: uid, Resource: uid, Context: types.Record{}})
	return err == nil && v == types.True
}

// ResourcesQuery asks on which resources of ResourceType Principal may take Action.
type ResourcesQuery struct {
	Principal    types.EntityUID
	Action       types.EntityUID
	ResourceType types.EntityType
	Context      types.Record
	Entities     types.EntityMap
}

// ResourceAccess is one allowed stored resource and the policies that allowed it.
type ResourceAccess struct {
	Resource            types.EntityUID
	DeterminingPolicies []string
}

// Residual is one policy partially evaluated with the resource unknown: Policy is its Cedar
// text, in which only `resource` remains to be known; a residual without conditions holds for
// every resource its scope admits. A subexpression that fails for this principal whatever the
// resource is shown as __cedar::partialError("why"): where it is reached, the policy errors
// and is skipped, as Cedar skips it.
type Residual struct {
	PolicyID string
	Effect   string // permit or forbid
	Policy   string
	node     *xast.Policy
}

// ResourcesAnswer lists the allowed stored resources (sorted) and the residual policies.
type ResourcesAnswer struct {
	Revision  int64
	Resources []ResourceAccess
	// Residuals decide a resource that is not stored: it is allowed when at least one permit
	// residual holds for it and no forbid residual does (errors skip a policy, as in Cedar).
	Residuals []Residual
	// Checked counts the stored resources decided.
	Checked int
	env     eval.Env // the partial-evaluation environment, resource unknown
}

// AllowsUnstored decides a resource that is not stored from the residuals alone: allowed when
// a permit residual evaluates to true for it and no forbid residual does. It is what deciding
// the request with r supplied as an entity would answer (property-tested against that).
func (a ResourcesAnswer) AllowsUnstored(r types.Entity) bool {
	env := a.env
	env.Resource = r.UID
	env.Entities = overlaid{overlay: types.EntityMap{r.UID: r}, stored: env.Entities}
	permit := false
	for _, res := range a.Residuals {
		v, err := eval.Eval(eval.PolicyToNode(res.node).AsIsNode(), env)
		if err != nil || v != types.True {
			continue // an error skips the policy, as in Cedar
		}
		if res.Effect == "forbid" {
			return false
		}
		permit = true
	}
	return permit
}

// ListResources decides Principal × Action × every stored resource of ResourceType, and
// returns the residual policies for resources that are not stored.
func (d *Decider) ListResources(ctx context.Context, storeID string, q ResourcesQuery) (ResourcesAnswer, error) {
	if q.ResourceType == "" {
		return ResourcesAnswer{}, &InputError{Field: "resourceType", Message: "member must not be null"}
	}
	snap, err := d.snaps.Get(ctx, storeID)
	if err != nil {
		return ResourcesAnswer{}, err
	}
	ents, err := conformEntities(snap, q.Entities)
	if err != nil {
		return ResourcesAnswer{}, err
	}
	c, err := conformContext(snap, q.Action, q.Context)
	if err != nil {
		return ResourcesAnswer{}, err
	}
	ans := ResourcesAnswer{Revision: snap.Revision}
	var cands []types.EntityUID
	for _, m := range []types.EntityMap{snap.Engine.Entities(), ents} {
		for uid := range m {
			if uid.Type == q.ResourceType {
				cands = append(cands, uid)
			}
		}
	}
	slices.SortFunc(cands, compareUID)
	cands = slices.Compact(cands)
	for _, r := range cands {
		if err := ctx.Err(); err != nil {
			return ResourcesAnswer{}, fmt.Errorf("list resources: %w", err)
		}
		res := decide(snap, Request{Principal: q.Principal, Action: q.Action, Resource: r, Context: c, Entities: ents})
		ans.Checked++
		if res.Decision == cedar.Allow {
			ans.Resources = append(ans.Resources, ResourceAccess{Resource: r, DeterminingPolicies: res.DeterminingPolicies})
		}
	}
	ans.Residuals, ans.env = residuals(snap, q, c, ents)
	return ans, nil
}

// residuals partially evaluates every policy with the resource unknown and keeps those that
// may still apply to a resource of the type asked for.
func residuals(snap *policystore.Snapshot, q ResourcesQuery, c types.Record, overlay types.EntityMap) ([]Residual, eval.Env) {
	var ents types.EntityGetter = snap.Engine.Entities()
	if len(overlay) > 0 {
		ents = overlaid{overlay: overlay, stored: snap.Engine.Entities()}
	}
	env := eval.Env{Principal: q.Principal, Action: q.Action, Resource: eval.Variable("resource"), Context: c, Entities: ents}
	var out []Residual
	// Only policies whose principal and action scopes hold can apply to any resource.
	for id, p := range snap.Engine.AnyResource(q.Principal, q.Action, ents) {
		x := (*xast.Policy)(p.AST())
		if !resourceTypeMayMatch(x.Resource, q.ResourceType) {
			continue
		}
		pp, keep := eval.PartialPolicy(env, x)
		if !keep || failsAlways(pp) {
			continue
		}
		effect := "permit"
		if pp.Effect == xast.EffectForbid {
			effect = "forbid"
		}
		out = append(out, Residual{PolicyID: string(id), Effect: effect, node: pp,
			Policy: string(cedar.NewPolicyFromAST((*ast.Policy)(pp)).MarshalCedar())})
	}
	return out, env
}

// failsAlways reports whether a residual has a condition that is nothing but an error: the
// policy errors for every resource, so Cedar never lets it decide.
func failsAlways(p *xast.Policy) bool {
	for _, c := range p.Conditions {
		if _, isErr := eval.ToPartialError(c.Body); isErr {
			return true
		}
	}
	return false
}

// resourceTypeMayMatch reports whether a resource scope can hold for some entity of type t.
func resourceTypeMayMatch(s xast.IsScopeNode, t types.EntityType) bool {
	switch s := s.(type) {
	case xast.ScopeTypeEq:
		return s.Entity.Type == t
	case xast.ScopeTypeIs:
		return s.Type == t
	case xast.ScopeTypeIsIn:
		return s.Type == t
	}
	return true
}

// overlaid looks entities up in the request's entities first, as decide does.
type overlaid struct {
	overlay types.EntityMap
	stored  types.EntityGetter
}

func (o overlaid) Get(uid types.EntityUID) (types.Entity, bool) {
	if e, ok := o.overlay[uid]; ok {
		return e, true
	}
	if o.stored == nil {
		return types.Entity{}, false
	}
	return o.stored.Get(uid)
}
