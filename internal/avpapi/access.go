package avpapi

import (
	"context"
	"errors"
	"net/netip"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// Gatehouse.ListAllowedActions and Gatehouse.ListAllowedResources answer "what can this
// principal access?" (authz.ListActions, authz.ListResources). Verified Permissions has no
// such operation; the shapes follow IsAuthorized's.

// ListAllowedActionsInput asks which actions a principal may take on a resource.
type ListAllowedActionsInput struct {
	PolicyStoreID string              `json:"policyStoreId"`
	Principal     *EntityIdentifier   `json:"principal,omitempty"`
	Resource      *EntityIdentifier   `json:"resource,omitempty"`
	Context       *ContextDefinition  `json:"context,omitempty"`
	Entities      *EntitiesDefinition `json:"entities,omitempty"`
	// IncludeDenied lists every candidate action with its decision, not only the allowed ones.
	IncludeDenied bool `json:"includeDenied,omitempty"`
}

// ActionDecisionItem is one candidate action and its decision.
type ActionDecisionItem struct {
	Action              ActionIdentifier        `json:"action"`
	Decision            string                  `json:"decision"`
	DeterminingPolicies []DeterminingPolicyItem `json:"determiningPolicies"`
	Errors              []EvaluationErrorItem   `json:"errors"`
}

// ListAllowedActionsOutput lists the actions, sorted by type and id.
type ListAllowedActionsOutput struct {
	Actions []ActionDecisionItem `json:"actions"`
	// AnyActionPolicies: without a schema, permit policies whose action scope is open may allow
	// actions that appear nowhere in the store; they are named here.
	AnyActionPolicies []string `json:"anyActionPolicies"`
	Revision          int64    `json:"revision"`
}

func (a *API) listAllowedActions(ctx context.Context, in *ListAllowedActionsInput) (*ListAllowedActionsOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if in.Principal == nil {
		return nil, invalid("principal", "member must not be null")
	}
	if in.Resource == nil {
		return nil, invalid("resource", "member must not be null")
	}
	req, err := requestParts("", in.Principal, nil, in.Resource, in.Context)
	if err != nil {
		return nil, err
	}
	ents, err := entitiesOf(in.Entities)
	if err != nil {
		return nil, err
	}
	ans, err := a.decider.ListActions(ctx, in.PolicyStoreID, authz.ActionsQuery{Principal: req.Principal, Resource: req.Resource, Context: req.Context, Entities: ents})
	if err != nil {
		return nil, notFoundStore(err, in.PolicyStoreID)
	}
	out := &ListAllowedActionsOutput{Actions: []ActionDecisionItem{}, AnyActionPolicies: ans.AnyAction, Revision: ans.Revision}
	if out.AnyActionPolicies == nil {
		out.AnyActionPolicies = []string{}
	}
	for _, act := range ans.Actions {
		d, det, errs := resultWire(act.Result)
		if act.InputError != "" {
			errs = append(errs, EvaluationErrorItem{ErrorDescription: act.InputError})
		}
		if d != "ALLOW" && !in.IncludeDenied {
			continue
		}
		out.Actions = append(out.Actions, ActionDecisionItem{Action: ActionIdentifierFrom(act.Action), Decision: d, DeterminingPolicies: det, Errors: errs})
	}
	return out, nil
}

// ListAllowedResourcesInput asks on which resources of a type a principal may take an action.
type ListAllowedResourcesInput struct {
	PolicyStoreID string              `json:"policyStoreId"`
	Principal     *EntityIdentifier   `json:"principal,omitempty"`
	Action        *ActionIdentifier   `json:"action,omitempty"`
	ResourceType  string              `json:"resourceType"`
	Context       *ContextDefinition  `json:"context,omitempty"`
	Entities      *EntitiesDefinition `json:"entities,omitempty"`
}

// AllowedResourceItem is one allowed stored resource.
type AllowedResourceItem struct {
	Resource            EntityIdentifier        `json:"resource"`
	DeterminingPolicies []DeterminingPolicyItem `json:"determiningPolicies"`
}

// ResidualPolicyItem is a policy partially evaluated with the resource unknown.
type ResidualPolicyItem struct {
	PolicyID string `json:"policyId"`
	Effect   string `json:"effect"`
	Policy   string `json:"policy"`
}

// ListAllowedResourcesOutput lists the allowed stored resources (sorted) and, for resources
// that are not stored, the residual policies: such a resource is allowed when a permit residual
// holds for it and no forbid residual does.
type ListAllowedResourcesOutput struct {
	Resources        []AllowedResourceItem `json:"resources"`
	ResidualPolicies []ResidualPolicyItem  `json:"residualPolicies"`
	ResourcesChecked int                   `json:"resourcesChecked"`
	Revision         int64                 `json:"revision"`
}

func (a *API) listAllowedResources(ctx context.Context, in *ListAllowedResourcesInput) (*ListAllowedResourcesOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if in.Principal == nil {
		return nil, invalid("principal", "member must not be null")
	}
	if in.Action == nil {
		return nil, invalid("action", "member must not be null")
	}
	if err := required("resourceType", in.ResourceType); err != nil {
		return nil, err
	}
	req, err := requestParts("", in.Principal, in.Action, nil, in.Context)
	if err != nil {
		return nil, err
	}
	ents, err := entitiesOf(in.Entities)
	if err != nil {
		return nil, err
	}
	ans, err := a.decider.ListResources(ctx, in.PolicyStoreID, authz.ResourcesQuery{Principal: req.Principal, Action: req.Action,
		ResourceType: types.EntityType(in.ResourceType), Context: req.Context, Entities: ents})
	if err != nil {
		return nil, notFoundStore(err, in.PolicyStoreID)
	}
	out := &ListAllowedResourcesOutput{Resources: []AllowedResourceItem{}, ResidualPolicies: []ResidualPolicyItem{},
		ResourcesChecked: ans.Checked, Revision: ans.Revision}
	for _, r := range ans.Resources {
		det := make([]DeterminingPolicyItem, 0, len(r.DeterminingPolicies))
		for _, p := range r.DeterminingPolicies {
			det = append(det, DeterminingPolicyItem{PolicyID: p})
		}
		out.Resources = append(out.Resources, AllowedResourceItem{Resource: EntityIdentifierFrom(r.Resource), DeterminingPolicies: det})
	}
	for _, r := range ans.Residuals {
		out.ResidualPolicies = append(out.ResidualPolicies, ResidualPolicyItem{PolicyID: r.PolicyID, Effect: r.Effect, Policy: r.Policy})
	}
	return out, nil
}

// Gatehouse.ListAllowedRoutes: for a token, the gateway routes of an API it may call, each
// decided through the gateway's own decision (gateway.Gateway.RouteAccess).

// RouteAccessor answers RouteAccess (a *gateway.Gateway).
type RouteAccessor interface {
	RouteAccess(ctx context.Context, q gateway.RouteQuery) ([]gateway.RouteDecision, error)
}

// ListAllowedRoutesInput names the API and the token; PathParameters give values to path
// parameters (others are assumed "x" and named in each answer).
type ListAllowedRoutesInput struct {
	API            string            `json:"api"`
	Token          string            `json:"token,omitempty"`
	PathParameters map[string]string `json:"pathParameters,omitempty"`
	SourceIP       string            `json:"sourceIp,omitempty"`
}

// RouteDecisionItem is one route and method.
type RouteDecisionItem struct {
	Method  string   `json:"method"`
	Route   string   `json:"route"`
	Allowed bool     `json:"allowed"`
	Status  int      `json:"status,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Assumed []string `json:"assumedPathParameters,omitempty"`
}

// ListAllowedRoutesOutput lists every route of the API with its decision.
type ListAllowedRoutesOutput struct {
	Routes []RouteDecisionItem `json:"routes"`
}

// RouteAccessOps returns Gatehouse.ListAllowedRoutes over g.
func RouteAccessOps(g RouteAccessor) map[string]awsjson.Op {
	return map[string]awsjson.Op{
		"ListAllowedRoutes": op(func(ctx context.Context, in *ListAllowedRoutesInput) (*ListAllowedRoutesOutput, error) {
			if err := required("api", in.API); err != nil {
				return nil, err
			}
			q := gateway.RouteQuery{API: in.API, Token: in.Token, Params: in.PathParameters}
			if in.SourceIP != "" {
				a, err := netip.ParseAddr(in.SourceIP)
				if err != nil {
					return nil, invalid("sourceIp", "not an IP address")
				}
				q.Client = a
			}
			got, err := g.RouteAccess(ctx, q)
			if errors.Is(err, gateway.ErrUnknownAPI) {
				return nil, awsjson.NotFound(err.Error(), in.API, "Api")
			}
			if err != nil {
				return nil, err
			}
			out := &ListAllowedRoutesOutput{Routes: []RouteDecisionItem{}}
			for _, d := range got {
				item := RouteDecisionItem{Method: d.Method, Route: d.Route, Allowed: d.Allow, Reason: string(d.Reason), Assumed: d.Assumed}
				if !d.Allow {
					item.Status = d.Status
				}
				out.Routes = append(out.Routes, item)
			}
			return out, nil
		}),
	}
}
