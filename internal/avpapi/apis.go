package avpapi

import (
	"context"
	"encoding/json"
	"reflect"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// Gateway API operations (Gatehouse.PutApi, ...). Definitions travel as their YAML or JSON
// text so a file can be sent as it is written.

// PutAPIInput creates or replaces an API (matched by name).
type PutAPIInput struct {
	Definition string `json:"definition"`
}

// APIOutput is a stored API.
type APIOutput struct {
	API     json.RawMessage `json:"api"`
	ID      string          `json:"id"`
	Name    string          `json:"name"`
	Changed bool            `json:"changed"`
}

// APIRef names an API by name or id.
type APIRef struct {
	API string `json:"api"`
}

// ListAPIsOutput lists APIs.
type ListAPIsOutput struct {
	APIs []APISummary `json:"apis"`
}

// APISummary is one listed API.
type APISummary struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	BasePath string `json:"basePath"`
	Routes   int    `json:"routes"`
}

// GroupPolicyInput sets a group's IAM policy document for an API.
type GroupPolicyInput struct {
	API            string `json:"api"`
	Group          string `json:"group"`
	PolicyDocument string `json:"policyDocument"`
}

// GroupPolicyRef names a group policy.
type GroupPolicyRef struct {
	API   string `json:"api"`
	Group string `json:"group"`
}

// GroupPolicyOutput is a stored group policy.
type GroupPolicyOutput struct {
	API            string `json:"api"`
	Group          string `json:"group"`
	PolicyDocument string `json:"policyDocument"`
}

// ListGroupPoliciesOutput lists an API's group policies.
type ListGroupPoliciesOutput struct {
	GroupPolicies []GroupPolicyOutput `json:"groupPolicies"`
}

// APIOps returns the gateway API operations over svc.
func APIOps(svc *apidef.Service) map[string]awsjson.Op {
	return map[string]awsjson.Op{
		"PutApi": op(func(ctx context.Context, in *PutAPIInput) (*APIOutput, error) {
			if in.Definition == "" {
				return nil, invalid("definition", "member must not be null")
			}
			d, err := apidef.Parse([]byte(in.Definition))
			if err != nil {
				return nil, err
			}
			before, getErr := svc.Get(ctx, d.Name)
			stored, err := svc.Put(ctx, d)
			if err != nil {
				return nil, err
			}
			out, err := apiOutput(stored)
			if err != nil {
				return nil, err
			}
			out.Changed = getErr != nil || !sameDefinition(before, stored)
			return out, nil
		}),
		"GetApi": op(func(ctx context.Context, in *APIRef) (*APIOutput, error) {
			if err := required("api", in.API); err != nil {
				return nil, err
			}
			d, err := svc.Get(ctx, in.API)
			if err != nil {
				return nil, err
			}
			return apiOutput(d)
		}),
		"ListApis": op(func(ctx context.Context, _ *struct{}) (*ListAPIsOutput, error) {
			list, err := svc.List(ctx)
			if err != nil {
				return nil, err
			}
			out := &ListAPIsOutput{APIs: []APISummary{}}
			for _, d := range list {
				out.APIs = append(out.APIs, APISummary{ID: d.ID, Name: d.Name, BasePath: d.EffectiveBasePath(), Routes: len(d.Routes)})
			}
			return out, nil
		}),
		"DeleteApi": op(func(ctx context.Context, in *APIRef) (struct{}, error) {
			if err := required("api", in.API); err != nil {
				return struct{}{}, err
			}
			return struct{}{}, svc.Delete(ctx, in.API)
		}),
		"PutGroupPolicy": op(func(ctx context.Context, in *GroupPolicyInput) (*GroupPolicyOutput, error) {
			if err := required("api", in.API); err != nil {
				return nil, err
			}
			if err := required("group", in.Group); err != nil {
				return nil, err
			}
			gp, err := svc.PutGroupPolicy(ctx, in.API, in.Group, []byte(in.PolicyDocument))
			if err != nil {
				return nil, err
			}
			return &GroupPolicyOutput{API: in.API, Group: gp.Group, PolicyDocument: string(gp.Document)}, nil
		}),
		"GetGroupPolicy": op(func(ctx context.Context, in *GroupPolicyRef) (*GroupPolicyOutput, error) {
			gp, err := svc.GetGroupPolicy(ctx, in.API, in.Group)
			if err != nil {
				return nil, err
			}
			return &GroupPolicyOutput{API: in.API, Group: gp.Group, PolicyDocument: string(gp.Document)}, nil
		}),
		"DeleteGroupPolicy": op(func(ctx context.Context, in *GroupPolicyRef) (struct{}, error) {
			return struct{}{}, svc.DeleteGroupPolicy(ctx, in.API, in.Group)
		}),
		"ListGroupPolicies": op(func(ctx context.Context, in *APIRef) (*ListGroupPoliciesOutput, error) {
			if err := required("api", in.API); err != nil {
				return nil, err
			}
			list, err := svc.ListGroupPolicies(ctx, in.API)
			if err != nil {
				return nil, err
			}
			out := &ListGroupPoliciesOutput{GroupPolicies: []GroupPolicyOutput{}}
			for _, gp := range list {
				out.GroupPolicies = append(out.GroupPolicies, GroupPolicyOutput{API: in.API, Group: gp.Group, PolicyDocument: string(gp.Document)})
			}
			return out, nil
		}),
	}
}

func apiOutput(d apidef.Definition) (*APIOutput, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return &APIOutput{API: b, ID: d.ID, Name: d.Name}, nil
}

func sameDefinition(a, b apidef.Definition) bool {
	a.Created, a.Updated = b.Created, b.Updated // timestamps do not make a change
	return reflect.DeepEqual(a, b)
}
