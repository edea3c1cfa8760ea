package avpapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Ops returns the VerifiedPermissions operations.
func (a *API) Ops() map[string]awsjson.Op {
	return map[string]awsjson.Op{
		"CreatePolicyStore":          op(a.createPolicyStore),
		"GetPolicyStore":             op(a.getPolicyStore),
		"UpdatePolicyStore":          op(a.updatePolicyStore),
		"DeletePolicyStore":          op(a.deletePolicyStore),
		"ListPolicyStores":           op(a.listPolicyStores),
		"PutSchema":                  op(a.putSchema),
		"GetSchema":                  op(a.getSchema),
		"CreatePolicy":               op(a.createPolicy),
		"GetPolicy":                  op(a.getPolicy),
		"UpdatePolicy":               op(a.updatePolicy),
		"DeletePolicy":               op(a.deletePolicy),
		"ListPolicies":               op(a.listPolicies),
		"BatchGetPolicy":             op(a.batchGetPolicy),
		"CreatePolicyTemplate":       op(a.createPolicyTemplate),
		"GetPolicyTemplate":          op(a.getPolicyTemplate),
		"UpdatePolicyTemplate":       op(a.updatePolicyTemplate),
		"DeletePolicyTemplate":       op(a.deletePolicyTemplate),
		"ListPolicyTemplates":        op(a.listPolicyTemplates),
		"CreateIdentitySource":       op(a.createIdentitySource),
		"GetIdentitySource":          op(a.getIdentitySource),
		"UpdateIdentitySource":       op(a.updateIdentitySource),
		"DeleteIdentitySource":       op(a.deleteIdentitySource),
		"ListIdentitySources":        op(a.listIdentitySources),
		"IsAuthorized":               op(a.isAuthorized),
		"IsAuthorizedWithToken":      op(a.isAuthorizedWithToken),
		"BatchIsAuthorized":          op(a.batchIsAuthorized),
		"BatchIsAuthorizedWithToken": op(a.batchIsAuthorizedWithToken),
	}
}

// GatehouseOps returns Gatehouse's own operations.
func (a *API) GatehouseOps() map[string]awsjson.Op {
	ops := map[string]awsjson.Op{
		"PutPolicyStore": op(a.putPolicyStore),
		"PutEntities":    op(a.putEntities),
		"DeleteEntities": op(a.deleteEntities),
		"ListEntities":   op(a.listEntities),
		"ApplyBundle":    op(a.applyBundle),
		// What a principal may access (access.go).
		"ListAllowedActions":   op(a.listAllowedActions),
		"ListAllowedResources": op(a.listAllowedResources),
	}
	for k, v := range a.extra {
		ops[k] = v
	}
	return ops
}

// ---- Policy stores ----

func (a *API) createPolicyStore(ctx context.Context, in *CreatePolicyStoreInput) (*CreatePolicyStoreOutput, error) {
	if in.ValidationSettings == nil {
		return nil, invalid("validationSettings", "member must not be null")
	}
	ps, err := a.svc.CreatePolicyStore(ctx, policystore.CreateStoreInput{ClientToken: in.ClientToken, Description: in.Description,
		ValidationMode: in.ValidationSettings.Mode, DeletionProtection: in.DeletionProtection})
	if err != nil {
		return nil, err
	}
	return &CreatePolicyStoreOutput{PolicyStoreID: ps.ID, Arn: a.svc.ARN(ps.ID), CreatedDate: NewTimestamp(ps.Created), LastUpdatedDate: NewTimestamp(ps.Updated)}, nil
}

func (a *API) getPolicyStore(ctx context.Context, in *GetPolicyStoreInput) (*GetPolicyStoreOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	ps, err := a.svc.GetPolicyStore(ctx, in.PolicyStoreID)
	if err != nil {
		return nil, err
	}
	return &GetPolicyStoreOutput{PolicyStoreID: ps.ID, Arn: a.svc.ARN(ps.ID), ValidationSettings: &ValidationSettings{Mode: ps.ValidationMode},
		CreatedDate: NewTimestamp(ps.Created), LastUpdatedDate: NewTimestamp(ps.Updated), Description: ps.Description,
		DeletionProtection: ps.DeletionProtection, CedarVersion: CedarVersion4, EncryptionState: &EncryptionState{Default: &Unit{}}}, nil
}

func (a *API) updatePolicyStore(ctx context.Context, in *UpdatePolicyStoreInput) (*UpdatePolicyStoreOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if in.ValidationSettings == nil {
		return nil, invalid("validationSettings", "member must not be null")
	}
	upd := policystore.UpdateStoreInput{ValidationMode: in.ValidationSettings.Mode, Description: in.Description}
	if in.DeletionProtection != "" {
		upd.DeletionProtection = &in.DeletionProtection
	}
	ps, err := a.svc.UpdatePolicyStore(ctx, in.PolicyStoreID, upd)
	if err != nil {
		return nil, err
	}
	return &UpdatePolicyStoreOutput{PolicyStoreID: ps.ID, Arn: a.svc.ARN(ps.ID), CreatedDate: NewTimestamp(ps.Created), LastUpdatedDate: NewTimestamp(ps.Updated)}, nil
}

func (a *API) deletePolicyStore(ctx context.Context, in *DeletePolicyStoreInput) (struct{}, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, a.svc.DeletePolicyStore(ctx, in.PolicyStoreID)
}

func (a *API) listPolicyStores(ctx context.Context, in *ListPolicyStoresInput) (*ListPolicyStoresOutput, error) {
	list, next, err := a.svc.ListPolicyStores(ctx, in.NextToken, pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	out := &ListPolicyStoresOutput{NextToken: next, PolicyStores: []PolicyStoreItem{}}
	for _, ps := range list {
		out.PolicyStores = append(out.PolicyStores, PolicyStoreItem{PolicyStoreID: ps.ID, Arn: a.svc.ARN(ps.ID),
			CreatedDate: NewTimestamp(ps.Created), LastUpdatedDate: NewTimestamp(ps.Updated), Description: ps.Description})
	}
	return out, nil
}

// ---- Schema ----

func (a *API) putSchema(ctx context.Context, in *PutSchemaInput) (*PutSchemaOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if in.Definition == nil || in.Definition.CedarJSON == nil {
		return nil, invalid("definition.cedarJson", "member must not be null")
	}
	sch, err := a.svc.PutSchema(ctx, in.PolicyStoreID, *in.Definition.CedarJSON)
	if err != nil {
		return nil, err
	}
	return &PutSchemaOutput{PolicyStoreID: in.PolicyStoreID, Namespaces: sch.Namespaces, CreatedDate: NewTimestamp(sch.Created), LastUpdatedDate: NewTimestamp(sch.Updated)}, nil
}

func (a *API) getSchema(ctx context.Context, in *GetSchemaInput) (*GetSchemaOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	sch, err := a.svc.GetSchema(ctx, in.PolicyStoreID)
	if err != nil {
		return nil, err
	}
	return &GetSchemaOutput{PolicyStoreID: in.PolicyStoreID, Schema: sch.JSON, Namespaces: sch.Namespaces, CreatedDate: NewTimestamp(sch.Created), LastUpdatedDate: NewTimestamp(sch.Updated)}, nil
}

// ---- Policies ----

func toWireID(e *policystore.EntityID) *EntityIdentifier {
	if e == nil {
		return nil
	}
	return &EntityIdentifier{EntityType: e.Type, EntityID: e.ID}
}

func fromWireID(path string, e *EntityIdentifier) (*policystore.EntityID, error) {
	if e == nil {
		return nil, nil
	}
	uid, err := e.UID(path)
	if err != nil {
		return nil, err
	}
	return &policystore.EntityID{Type: string(uid.Type), ID: string(uid.ID)}, nil
}

// policyOutput is the Create/Update/Get form; full adds the definition and name (GetPolicy),
// item the list form (definition with description only).
func (a *API) policyOutput(storeID string, p policystore.Policy, full, item bool) *PolicyOutput {
	out := &PolicyOutput{PolicyStoreID: storeID, PolicyID: p.ID, PolicyType: p.Type, Principal: toWireID(p.Principal), Resource: toWireID(p.Resource),
		Effect: p.Effect, CreatedDate: NewTimestamp(p.Created), LastUpdatedDate: NewTimestamp(p.Updated)}
	for _, act := range p.Actions {
		out.Actions = append(out.Actions, ActionIdentifier{ActionType: act.Type, ActionID: act.ID})
	}
	if full || item {
		out.Name = p.Name
		out.Definition = definitionOf(p, item)
	}
	return out
}

func definitionOf(p policystore.Policy, descriptionOnly bool) *PolicyDefinition {
	if p.Type == policystore.TypeStatic {
		st := &StaticPolicyDefinition{Statement: p.Statement, Description: p.Description}
		if descriptionOnly {
			st.Statement = ""
		}
		return &PolicyDefinition{Static: st}
	}
	return &PolicyDefinition{TemplateLinked: &TemplateLinkedPolicyDefinition{PolicyTemplateID: p.TemplateID,
		Principal: toWireID(p.LinkPrincipal), Resource: toWireID(p.LinkResource)}}
}

func (a *API) createPolicy(ctx context.Context, in *CreatePolicyInput) (*CreatePolicyOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if in.Definition == nil {
		return nil, invalid("definition", "member must not be null")
	}
	if !ExactlyOne(in.Definition.Static != nil, in.Definition.TemplateLinked != nil) {
		return nil, invalid("definition", "exactly one of static and templateLinked must be set")
	}
	pin := policystore.CreatePolicyInput{ClientToken: in.ClientToken, Name: in.Name}
	if st := in.Definition.Static; st != nil {
		pin.Static = &policystore.StaticDefinition{Statement: st.Statement, Description: st.Description}
	} else {
		tl := in.Definition.TemplateLinked
		if err := required("definition.templateLinked.policyTemplateId", tl.PolicyTemplateID); err != nil {
			return nil, err
		}
		pr, err := fromWireID("definition.templateLinked.principal", tl.Principal)
		if err != nil {
			return nil, err
		}
		rs, err := fromWireID("definition.templateLinked.resource", tl.Resource)
		if err != nil {
			return nil, err
		}
		pin.Linked = &policystore.LinkedDefinition{TemplateID: tl.PolicyTemplateID, Principal: pr, Resource: rs}
	}
	p, err := a.svc.CreatePolicy(ctx, in.PolicyStoreID, pin)
	if err != nil {
		return nil, err
	}
	return a.policyOutput(in.PolicyStoreID, p, false, false), nil
}

func (a *API) getPolicy(ctx context.Context, in *GetPolicyInput) (*GetPolicyOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := required("policyId", in.PolicyID); err != nil {
		return nil, err
	}
	p, err := a.svc.GetPolicy(ctx, in.PolicyStoreID, in.PolicyID)
	if err != nil {
		return nil, err
	}
	return a.policyOutput(in.PolicyStoreID, p, true, false), nil
}

func (a *API) updatePolicy(ctx context.Context, in *UpdatePolicyInput) (*UpdatePolicyOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := required("policyId", in.PolicyID); err != nil {
		return nil, err
	}
	if in.Definition == nil || in.Definition.Static == nil {
		return nil, invalid("definition.static", "member must not be null")
	}
	var desc *string
	if in.Definition.Static.Description != "" {
		desc = &in.Definition.Static.Description
	}
	p, err := a.svc.UpdatePolicy(ctx, in.PolicyStoreID, in.PolicyID, policystore.UpdatePolicyInput{Statement: in.Definition.Static.Statement, Description: desc, Name: in.Name})
	if err != nil {
		return nil, err
	}
	return a.policyOutput(in.PolicyStoreID, p, false, false), nil
}

func (a *API) deletePolicy(ctx context.Context, in *DeletePolicyInput) (struct{}, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return struct{}{}, err
	}
	if err := required("policyId", in.PolicyID); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, a.svc.DeletePolicy(ctx, in.PolicyStoreID, in.PolicyID)
}

func entityRef(path string, r *EntityReference) (*policystore.EntityRef, error) {
	if r == nil {
		return nil, nil
	}
	if !ExactlyOne(r.Unspecified != nil, r.Identifier != nil) {
		return nil, invalid(path, "exactly one of unspecified and identifier must be set")
	}
	if r.Unspecified != nil {
		return &policystore.EntityRef{Unspecified: *r.Unspecified}, nil
	}
	id, err := fromWireID(path+".identifier", r.Identifier)
	if err != nil {
		return nil, err
	}
	return &policystore.EntityRef{Identifier: id}, nil
}

func (a *API) listPolicies(ctx context.Context, in *ListPoliciesInput) (*ListPoliciesOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	var f policystore.PolicyFilter
	if in.Filter != nil {
		var err error
		if f.Principal, err = entityRef("filter.principal", in.Filter.Principal); err != nil {
			return nil, err
		}
		if f.Resource, err = entityRef("filter.resource", in.Filter.Resource); err != nil {
			return nil, err
		}
		f.PolicyType, f.TemplateID = in.Filter.PolicyType, in.Filter.PolicyTemplateID
	}
	list, next, err := a.svc.ListPolicies(ctx, in.PolicyStoreID, f, in.NextToken, pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	out := &ListPoliciesOutput{NextToken: next, Policies: []PolicyItem{}}
	for _, p := range list {
		out.Policies = append(out.Policies, *a.policyOutput(in.PolicyStoreID, p, false, true))
	}
	return out, nil
}

func (a *API) batchGetPolicy(ctx context.Context, in *BatchGetPolicyInput) (*BatchGetPolicyOutput, error) {
	if len(in.Requests) == 0 || len(in.Requests) > 100 {
		return nil, invalid("requests", "must contain 1 to 100 items")
	}
	out := &BatchGetPolicyOutput{Results: []BatchGetPolicyOutputItem{}, Errors: []BatchGetPolicyErrorItem{}}
	for i, r := range in.Requests {
		if err := required(fmt.Sprintf("requests[%d].policyStoreId", i), r.PolicyStoreID); err != nil {
			return nil, err
		}
		if err := required(fmt.Sprintf("requests[%d].policyId", i), r.PolicyID); err != nil {
			return nil, err
		}
		p, err := a.svc.GetPolicy(ctx, r.PolicyStoreID, r.PolicyID)
		var nf *policystore.NotFoundError
		switch {
		case errors.As(err, &nf):
			code := "POLICY_NOT_FOUND"
			if nf.ResourceType == policystore.ResourcePolicyStore {
				code = "POLICY_STORE_NOT_FOUND"
			}
			out.Errors = append(out.Errors, BatchGetPolicyErrorItem{Code: code, PolicyStoreID: r.PolicyStoreID, PolicyID: r.PolicyID, Message: nf.Error()})
			continue
		case err != nil:
			return nil, err
		}
		def := definitionOf(p, false)
		out.Results = append(out.Results, BatchGetPolicyOutputItem{PolicyStoreID: r.PolicyStoreID, PolicyID: p.ID, PolicyType: p.Type,
			Definition: def, Name: p.Name, CreatedDate: NewTimestamp(p.Created), LastUpdatedDate: NewTimestamp(p.Updated)})
	}
	return out, nil
}

// ---- Templates ----

func (a *API) createPolicyTemplate(ctx context.Context, in *CreatePolicyTemplateInput) (*CreatePolicyTemplateOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	t, err := a.svc.CreatePolicyTemplate(ctx, in.PolicyStoreID, policystore.CreateTemplateInput{ClientToken: in.ClientToken, Name: in.Name, Description: in.Description, Statement: in.Statement})
	if err != nil {
		return nil, err
	}
	return &CreatePolicyTemplateOutput{PolicyStoreID: in.PolicyStoreID, PolicyTemplateID: t.ID, CreatedDate: NewTimestamp(t.Created), LastUpdatedDate: NewTimestamp(t.Updated)}, nil
}

func (a *API) getPolicyTemplate(ctx context.Context, in *GetPolicyTemplateInput) (*GetPolicyTemplateOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := required("policyTemplateId", in.PolicyTemplateID); err != nil {
		return nil, err
	}
	t, err := a.svc.GetPolicyTemplate(ctx, in.PolicyStoreID, in.PolicyTemplateID)
	if err != nil {
		return nil, err
	}
	return &GetPolicyTemplateOutput{PolicyStoreID: in.PolicyStoreID, PolicyTemplateID: t.ID, Statement: t.Statement, Description: t.Description,
		Name: t.Name, CreatedDate: NewTimestamp(t.Created), LastUpdatedDate: NewTimestamp(t.Updated)}, nil
}

func (a *API) updatePolicyTemplate(ctx context.Context, in *UpdatePolicyTemplateInput) (*UpdatePolicyTemplateOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := required("policyTemplateId", in.PolicyTemplateID); err != nil {
		return nil, err
	}
	t, err := a.svc.UpdatePolicyTemplate(ctx, in.PolicyStoreID, in.PolicyTemplateID, policystore.UpdateTemplateInput{Statement: in.Statement, Description: in.Description, Name: in.Name})
	if err != nil {
		return nil, err
	}
	return &UpdatePolicyTemplateOutput{PolicyStoreID: in.PolicyStoreID, PolicyTemplateID: t.ID, CreatedDate: NewTimestamp(t.Created), LastUpdatedDate: NewTimestamp(t.Updated)}, nil
}

func (a *API) deletePolicyTemplate(ctx context.Context, in *DeletePolicyTemplateInput) (struct{}, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return struct{}{}, err
	}
	if err := required("policyTemplateId", in.PolicyTemplateID); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, a.svc.DeletePolicyTemplate(ctx, in.PolicyStoreID, in.PolicyTemplateID)
}

func (a *API) listPolicyTemplates(ctx context.Context, in *ListPolicyTemplatesInput) (*ListPolicyTemplatesOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	list, next, err := a.svc.ListPolicyTemplates(ctx, in.PolicyStoreID, in.NextToken, pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	out := &ListPolicyTemplatesOutput{NextToken: next, PolicyTemplates: []PolicyTemplateItem{}}
	for _, t := range list {
		out.PolicyTemplates = append(out.PolicyTemplates, PolicyTemplateItem{PolicyStoreID: in.PolicyStoreID, PolicyTemplateID: t.ID,
			Description: t.Description, Name: t.Name, CreatedDate: NewTimestamp(t.Created), LastUpdatedDate: NewTimestamp(t.Updated)})
	}
	return out, nil
}

// ---- Identity sources ----

// configIn converts the wire configuration to identity's shape (the output-only issuer is
// refused, a null tokenSelection too).
func configIn(path string, c *Configuration) (identity.Configuration, error) {
	var out identity.Configuration
	if c == nil {
		return out, invalid(path, "member must not be null")
	}
	if !ExactlyOne(c.CognitoUserPoolConfiguration != nil, c.OpenIDConnectConfiguration != nil) {
		return out, invalid(path, "exactly one of cognitoUserPoolConfiguration and openIdConnectConfiguration must be set")
	}
	if c.CognitoUserPoolConfiguration != nil && c.CognitoUserPoolConfiguration.Issuer != "" {
		return out, invalid(path+".cognitoUserPoolConfiguration.issuer", "is an output field")
	}
	if o := c.OpenIDConnectConfiguration; o != nil && o.TokenSelection == nil {
		return out, invalid(path+".openIdConnectConfiguration.tokenSelection", "member must not be null")
	}
	if u := c.CognitoUserPoolConfiguration; u != nil {
		out.CognitoUserPoolConfiguration = &identity.CognitoUserPoolConfiguration{UserPoolARN: u.UserPoolArn,
			ClientIDs: u.ClientIDs, GroupConfiguration: u.GroupConfiguration}
	}
	if o := c.OpenIDConnectConfiguration; o != nil {
		out.OpenIDConnectConfiguration = &identity.OpenIDConnectConfiguration{Issuer: o.Issuer, EntityIDPrefix: o.EntityIDPrefix,
			GroupConfiguration: o.GroupConfiguration, TokenSelection: *o.TokenSelection}
	}
	return out, nil
}

// configOut is the wire form of a stored configuration.
func configOut(c identity.Configuration) Configuration {
	var out Configuration
	if u := c.CognitoUserPoolConfiguration; u != nil {
		out.CognitoUserPoolConfiguration = &CognitoUserPoolConfiguration{UserPoolArn: u.UserPoolARN,
			ClientIDs: u.ClientIDs, GroupConfiguration: u.GroupConfiguration}
	}
	if o := c.OpenIDConnectConfiguration; o != nil {
		ts := o.TokenSelection
		out.OpenIDConnectConfiguration = &OpenIDConnectConfiguration{Issuer: o.Issuer, EntityIDPrefix: o.EntityIDPrefix,
			GroupConfiguration: o.GroupConfiguration, TokenSelection: &ts}
	}
	return out
}

func (a *API) identitySourceOut(storeID string, is policystore.IdentitySource) IdentitySource {
	out := IdentitySource{PolicyStoreID: storeID, IdentitySourceID: is.ID, PrincipalEntityType: is.PrincipalEntityType,
		CreatedDate: NewTimestamp(is.Created), LastUpdatedDate: NewTimestamp(is.Updated)}
	if src, err := is.Source(); err == nil && out.PrincipalEntityType == "" {
		out.PrincipalEntityType = src.PrincipalEntityType
	}
	cfg := configOut(is.Configuration)
	if c := cfg.CognitoUserPoolConfiguration; c != nil {
		c.Issuer = is.Issuer
		if c.ClientIDs == nil {
			c.ClientIDs = []string{}
		}
		out.Details = &IdentitySourceDetails{ClientIDs: c.ClientIDs, UserPoolArn: c.UserPoolArn, DiscoveryURL: is.Issuer, OpenIDIssuer: "COGNITO"}
	}
	out.Configuration = &cfg
	return out
}

func (a *API) createIdentitySource(ctx context.Context, in *CreateIdentitySourceInput) (*CreateIdentitySourceOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	cfg, err := configIn("configuration", in.Configuration)
	if err != nil {
		return nil, err
	}
	is, err := a.svc.CreateIdentitySource(ctx, in.PolicyStoreID, policystore.IdentitySourceInput{ClientToken: in.ClientToken, Configuration: cfg, PrincipalEntityType: in.PrincipalEntityType})
	if err != nil {
		return nil, err
	}
	return &CreateIdentitySourceOutput{PolicyStoreID: in.PolicyStoreID, IdentitySourceID: is.ID, CreatedDate: NewTimestamp(is.Created), LastUpdatedDate: NewTimestamp(is.Updated)}, nil
}

func (a *API) getIdentitySource(ctx context.Context, in *GetIdentitySourceInput) (*GetIdentitySourceOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := required("identitySourceId", in.IdentitySourceID); err != nil {
		return nil, err
	}
	is, err := a.svc.GetIdentitySource(ctx, in.PolicyStoreID, in.IdentitySourceID)
	if err != nil {
		return nil, err
	}
	out := a.identitySourceOut(in.PolicyStoreID, is)
	return &out, nil
}

func (a *API) updateIdentitySource(ctx context.Context, in *UpdateIdentitySourceInput) (*UpdateIdentitySourceOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := required("identitySourceId", in.IdentitySourceID); err != nil {
		return nil, err
	}
	cfg, err := configIn("updateConfiguration", in.UpdateConfiguration)
	if err != nil {
		return nil, err
	}
	pet := ""
	if in.PrincipalEntityType != nil {
		pet = *in.PrincipalEntityType
	} else if cur, err := a.svc.GetIdentitySource(ctx, in.PolicyStoreID, in.IdentitySourceID); err == nil {
		pet = cur.PrincipalEntityType
	}
	is, err := a.svc.UpdateIdentitySource(ctx, in.PolicyStoreID, in.IdentitySourceID, policystore.IdentitySourceInput{Configuration: cfg, PrincipalEntityType: pet})
	if err != nil {
		return nil, err
	}
	return &UpdateIdentitySourceOutput{PolicyStoreID: in.PolicyStoreID, IdentitySourceID: is.ID, CreatedDate: NewTimestamp(is.Created), LastUpdatedDate: NewTimestamp(is.Updated)}, nil
}

func (a *API) deleteIdentitySource(ctx context.Context, in *DeleteIdentitySourceInput) (struct{}, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return struct{}{}, err
	}
	if err := required("identitySourceId", in.IdentitySourceID); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, a.svc.DeleteIdentitySource(ctx, in.PolicyStoreID, in.IdentitySourceID)
}

func (a *API) listIdentitySources(ctx context.Context, in *ListIdentitySourcesInput) (*ListIdentitySourcesOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	list, next, err := a.svc.ListIdentitySources(ctx, in.PolicyStoreID, in.NextToken, pageSize(in.MaxResults))
	if err != nil {
		return nil, err
	}
	out := &ListIdentitySourcesOutput{NextToken: next, IdentitySources: []IdentitySourceItem{}}
	for _, is := range list {
		item := a.identitySourceOut(in.PolicyStoreID, is)
		if len(in.Filters) > 0 && in.Filters[0].PrincipalEntityType != "" && item.PrincipalEntityType != in.Filters[0].PrincipalEntityType {
			continue
		}
		out.IdentitySources = append(out.IdentitySources, item)
	}
	return out, nil
}

// ---- Gatehouse extensions ----

// PutPolicyStoreInput creates or updates a store with a chosen id.
type PutPolicyStoreInput struct {
	PolicyStoreID      string              `json:"policyStoreId"`
	ValidationSettings *ValidationSettings `json:"validationSettings"`
	Description        string              `json:"description,omitempty"`
	DeletionProtection string              `json:"deletionProtection,omitempty"`
}

// PutPolicyStoreOutput reports the store and whether it was created.
type PutPolicyStoreOutput struct {
	GetPolicyStoreOutput
	Created bool `json:"created"`
}

func (a *API) putPolicyStore(ctx context.Context, in *PutPolicyStoreInput) (*PutPolicyStoreOutput, error) {
	if in.ValidationSettings == nil {
		return nil, invalid("validationSettings", "member must not be null")
	}
	ps, created, err := a.svc.PutPolicyStore(ctx, in.PolicyStoreID, policystore.CreateStoreInput{Description: in.Description,
		ValidationMode: in.ValidationSettings.Mode, DeletionProtection: in.DeletionProtection})
	if err != nil {
		return nil, err
	}
	got, err := a.getPolicyStore(ctx, &GetPolicyStoreInput{PolicyStoreID: ps.ID})
	if err != nil {
		return nil, err
	}
	return &PutPolicyStoreOutput{GetPolicyStoreOutput: *got, Created: created}, nil
}

// ---- Entities ----

// PutEntitiesInput upserts entities in the AVP entity-list or Cedar JSON form.
type PutEntitiesInput struct {
	PolicyStoreID string              `json:"policyStoreId"`
	Entities      *EntitiesDefinition `json:"entities"`
}

// DeleteEntitiesInput deletes entities by identifier.
type DeleteEntitiesInput struct {
	PolicyStoreID string             `json:"policyStoreId"`
	Identifiers   []EntityIdentifier `json:"identifiers"`
}

// ListEntitiesInput pages through a store's entities.
type ListEntitiesInput struct {
	PolicyStoreID string `json:"policyStoreId"`
	NextToken     string `json:"nextToken,omitempty"`
	MaxResults    *int32 `json:"maxResults,omitempty"`
}

// ListEntitiesOutput is one page of entities.
type ListEntitiesOutput struct {
	NextToken string       `json:"nextToken,omitempty"`
	Entities  []EntityItem `json:"entities"`
}

func (a *API) putEntities(ctx context.Context, in *PutEntitiesInput) (struct{}, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return struct{}{}, err
	}
	if in.Entities == nil {
		return struct{}{}, invalid("entities", "member must not be null")
	}
	em, err := in.Entities.ToEntityMap("entities")
	if err != nil {
		return struct{}{}, err
	}
	list := make([]types.Entity, 0, len(em))
	for _, e := range em {
		list = append(list, e)
	}
	return struct{}{}, a.svc.PutEntities(ctx, in.PolicyStoreID, list)
}

func (a *API) deleteEntities(ctx context.Context, in *DeleteEntitiesInput) (struct{}, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return struct{}{}, err
	}
	if len(in.Identifiers) == 0 {
		return struct{}{}, invalid("identifiers", "must contain at least one identifier")
	}
	uids := make([]types.EntityUID, 0, len(in.Identifiers))
	for i := range in.Identifiers {
		u, err := in.Identifiers[i].UID(fmt.Sprintf("identifiers[%d]", i))
		if err != nil {
			return struct{}{}, err
		}
		uids = append(uids, u)
	}
	return struct{}{}, a.svc.DeleteEntities(ctx, in.PolicyStoreID, uids)
}

func (a *API) listEntities(ctx context.Context, in *ListEntitiesInput) (*ListEntitiesOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	n := 0
	if in.MaxResults != nil {
		n = int(*in.MaxResults)
		if n <= 0 {
			n = -1
		}
	}
	list, next, err := a.svc.ListEntities(ctx, in.PolicyStoreID, in.NextToken, n)
	if err != nil {
		return nil, err
	}
	out := &ListEntitiesOutput{NextToken: next, Entities: []EntityItem{}}
	for _, e := range list {
		item, err := EntityItemFrom(e)
		if err != nil {
			return nil, err
		}
		out.Entities = append(out.Entities, item)
	}
	return out, nil
}

// ---- Authorization ----

func decisionString(d cedar.Decision) string {
	if d == cedar.Allow {
		return DecisionAllow
	}
	return DecisionDeny
}

func resultWire(r authz.Result) (string, []DeterminingPolicyItem, []EvaluationErrorItem) {
	det := make([]DeterminingPolicyItem, 0, len(r.DeterminingPolicies))
	for _, p := range r.DeterminingPolicies {
		det = append(det, DeterminingPolicyItem{PolicyID: p})
	}
	errs := make([]EvaluationErrorItem, 0, len(r.Errors))
	for _, e := range r.Errors {
		errs = append(errs, EvaluationErrorItem{ErrorDescription: fmt.Sprintf("policy %s: %s", e.PolicyID, e.Message)})
	}
	return decisionString(r.Decision), det, errs
}

func (a *API) observe(ctx context.Context, opName, storeID string, req authz.Request, r authz.Result) {
	if a.observer == nil {
		return
	}
	d := Decided{Operation: opName, PolicyStoreID: storeID, Revision: r.Revision, Principal: r.Principal.String(),
		Action: req.Action.String(), Resource: req.Resource.String(), Decision: decisionString(r.Decision),
		DeterminingPolicies: r.DeterminingPolicies, TokenIDs: r.TokenIDs}
	for _, e := range r.Errors {
		d.Errors = append(d.Errors, e.PolicyID+": "+e.Message)
	}
	a.observer.Decided(ctx, d)
}

// requestParts converts the optional principal/action/resource/context of a request.
func requestParts(path string, principal *EntityIdentifier, action *ActionIdentifier, resource *EntityIdentifier, c *ContextDefinition) (authz.Request, error) {
	var (
		r   authz.Request
		err error
	)
	if principal != nil {
		if r.Principal, err = principal.UID(awsjson.JoinPath(path, "principal")); err != nil {
			return r, err
		}
	}
	if action != nil {
		if r.Action, err = action.UID(awsjson.JoinPath(path, "action")); err != nil {
			return r, err
		}
	}
	if resource != nil {
		if r.Resource, err = resource.UID(awsjson.JoinPath(path, "resource")); err != nil {
			return r, err
		}
	}
	r.Context = types.NewRecord(nil)
	if c != nil {
		if r.Context, err = c.ToRecord(awsjson.JoinPath(path, "context")); err != nil {
			return r, err
		}
	}
	return r, nil
}

func entitiesOf(d *EntitiesDefinition) (types.EntityMap, error) {
	if d == nil {
		return nil, nil
	}
	return d.ToEntityMap("entities")
}

func (a *API) isAuthorized(ctx context.Context, in *IsAuthorizedInput) (*IsAuthorizedOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	req, err := requestParts("", in.Principal, in.Action, in.Resource, in.Context)
	if err != nil {
		return nil, err
	}
	if req.Entities, err = entitiesOf(in.Entities); err != nil {
		return nil, err
	}
	res, err := a.decider.IsAuthorized(ctx, in.PolicyStoreID, req)
	if err != nil {
		return nil, notFoundStore(err, in.PolicyStoreID)
	}
	a.observe(ctx, "IsAuthorized", in.PolicyStoreID, req, res)
	d, det, errs := resultWire(res)
	return &IsAuthorizedOutput{Decision: d, DeterminingPolicies: det, Errors: errs}, nil
}

func notFoundStore(err error, storeID string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &policystore.NotFoundError{ResourceType: policystore.ResourcePolicyStore, ResourceID: storeID}
	}
	return err
}

func (a *API) isAuthorizedWithToken(ctx context.Context, in *IsAuthorizedWithTokenInput) (*IsAuthorizedWithTokenOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	req, err := requestParts("", nil, in.Action, in.Resource, in.Context)
	if err != nil {
		return nil, err
	}
	ents, err := entitiesOf(in.Entities)
	if err != nil {
		return nil, err
	}
	res, err := a.decider.IsAuthorizedWithToken(ctx, in.PolicyStoreID, authz.TokenRequest{IdentityToken: in.IdentityToken, AccessToken: in.AccessToken,
		Action: req.Action, Resource: req.Resource, Context: req.Context, Entities: ents})
	if err != nil {
		return nil, notFoundStore(err, in.PolicyStoreID)
	}
	a.observe(ctx, "IsAuthorizedWithToken", in.PolicyStoreID, req, res)
	d, det, errs := resultWire(res)
	p := EntityIdentifierFrom(res.Principal)
	return &IsAuthorizedWithTokenOutput{Decision: d, DeterminingPolicies: det, Errors: errs, Principal: &p}, nil
}

func checkBatchSize(n int) error {
	if n < 1 || n > MaxBatch {
		return invalid("requests", "must contain 1 to %d requests", MaxBatch)
	}
	return nil
}

func (a *API) batchIsAuthorized(ctx context.Context, in *BatchIsAuthorizedInput) (*BatchIsAuthorizedOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := checkBatchSize(len(in.Requests)); err != nil {
		return nil, err
	}
	reqs := make([]authz.Request, len(in.Requests))
	samePrincipal, sameResource := true, true
	for i, r := range in.Requests {
		var err error
		if reqs[i], err = requestParts(fmt.Sprintf("requests[%d]", i), r.Principal, r.Action, r.Resource, r.Context); err != nil {
			return nil, err
		}
		samePrincipal = samePrincipal && reqs[i].Principal == reqs[0].Principal
		sameResource = sameResource && reqs[i].Resource == reqs[0].Resource
	}
	if !samePrincipal && !sameResource {
		return nil, invalid("requests", "every request must have the same principal or the same resource")
	}
	ents, err := entitiesOf(in.Entities)
	if err != nil {
		return nil, err
	}
	results, err := a.decider.IsAuthorizedBatch(ctx, in.PolicyStoreID, ents, reqs)
	if err != nil {
		return nil, notFoundStore(err, in.PolicyStoreID)
	}
	out := &BatchIsAuthorizedOutput{Results: make([]BatchIsAuthorizedOutputItem, len(results))}
	for i, res := range results {
		a.observe(ctx, "BatchIsAuthorized", in.PolicyStoreID, reqs[i], res)
		d, det, errs := resultWire(res)
		out.Results[i] = BatchIsAuthorizedOutputItem{Request: in.Requests[i], Decision: d, DeterminingPolicies: det, Errors: errs}
	}
	return out, nil
}

func (a *API) batchIsAuthorizedWithToken(ctx context.Context, in *BatchIsAuthorizedWithTokenInput) (*BatchIsAuthorizedWithTokenOutput, error) {
	if err := required("policyStoreId", in.PolicyStoreID); err != nil {
		return nil, err
	}
	if err := checkBatchSize(len(in.Requests)); err != nil {
		return nil, err
	}
	reqs := make([]authz.Request, len(in.Requests))
	for i, r := range in.Requests {
		var err error
		if reqs[i], err = requestParts(fmt.Sprintf("requests[%d]", i), nil, r.Action, r.Resource, r.Context); err != nil {
			return nil, err
		}
	}
	ents, err := entitiesOf(in.Entities)
	if err != nil {
		return nil, err
	}
	results, err := a.decider.IsAuthorizedWithTokenBatch(ctx, in.PolicyStoreID, in.IdentityToken, in.AccessToken, ents, reqs)
	if err != nil {
		return nil, notFoundStore(err, in.PolicyStoreID)
	}
	out := &BatchIsAuthorizedWithTokenOutput{Results: make([]BatchIsAuthorizedWithTokenOutputItem, len(results))}
	for i, res := range results {
		a.observe(ctx, "BatchIsAuthorizedWithToken", in.PolicyStoreID, reqs[i], res)
		d, det, errs := resultWire(res)
		out.Results[i] = BatchIsAuthorizedWithTokenOutputItem{Request: in.Requests[i], Decision: d, DeterminingPolicies: det, Errors: errs}
		if i == 0 {
			p := EntityIdentifierFrom(res.Principal)
			out.Principal = &p
		}
	}
	return out, nil
}
