package console

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// AuthenticateSession lets a signed-in person call the management API from the console's
// origin (a script on a console page, or the browser's own tools) with the session cookie
// instead of an AWS signature. The request must carry the session's synchronizer token in
// X-CSRF-Token and come from the console's own origin, exactly as a console form does, and
// the operation is then decided by the console policy store like the console page that does
// the same thing: Operation maps each operation to console actions. A request without a
// session cookie is not handled here (the API answers "Missing Authentication Token" as
// before); one carrying any SigV4 material never reaches this method (awsjson decides it by
// its signature alone).
func (c *Console) AuthenticateSession(r *http.Request, target string, body []byte) (string, bool, *awsjson.Error) {
	s := c.sessionOf(r)
	if s == nil {
		return "", false, nil
	}
	if !c.sameOrigin(r) {
		return "", true, awsjson.AccessDenied("A console session is accepted only from the console's own origin (Origin check).")
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-CSRF-Token")), []byte(s.csrf)) != 1 {
		return "", true, awsjson.AccessDenied("A request with a console session must carry the session's X-CSRF-Token header.")
	}
	checks, err := operationChecks(target, body)
	if err != nil {
		return "", true, awsjson.AccessDenied(err.Error())
	}
	for _, ch := range checks {
		if d := c.decide(r.Context(), s, ch.action, ch.resource); !d.Allowed {
			return "", true, awsjson.AccessDenied(fmt.Sprintf("console:%s is not authorized to perform %s: console action %s on %s is denied (%s).",
				s.user, target, ch.action, ch.resource, d.Reason))
		}
	}
	return "console:" + s.user, true, nil
}

type check struct {
	action   string
	resource types.EntityUID
}

// Console actions by management operation, on the policy store the request names or on the
// node. An operation missing here is refused to console sessions (fail closed).
var (
	storeOps = map[string]string{
		"GetPolicyStore": ActView, "GetSchema": ActView, "GetPolicy": ActView, "BatchGetPolicy": ActView,
		"ListPolicies": ActView, "GetPolicyTemplate": ActView, "ListPolicyTemplates": ActView,
		"GetIdentitySource": ActView, "ListIdentitySources": ActView, "ListEntities": ActView,
		"IsAuthorized": ActTestBench, "IsAuthorizedWithToken": ActTestBench, "BatchIsAuthorized": ActTestBench,
		"BatchIsAuthorizedWithToken": ActTestBench, "ListAllowedActions": ActTestBench, "ListAllowedResources": ActTestBench,
		"PutSchema":    ActEditSchema,
		"CreatePolicy": ActEditPolicy, "UpdatePolicy": ActEditPolicy, "DeletePolicy": ActEditPolicy,
		"CreatePolicyTemplate": ActEditStore, "UpdatePolicyTemplate": ActEditStore, "DeletePolicyTemplate": ActEditStore,
		"CreateIdentitySource": ActEditStore, "UpdateIdentitySource": ActEditStore, "DeleteIdentitySource": ActEditStore,
		"PutEntities": ActEditStore, "DeleteEntities": ActEditStore,
		"UpdatePolicyStore": ActManageStore, "DeletePolicyStore": ActManageStore,
	}
	nodeOps = map[string]string{
		"ListPolicyStores": ActView, "ListApis": ActView, "GetApi": ActView, "GetGroupPolicy": ActView, "ListGroupPolicies": ActView,
		"ListAllowedRoutes": ActViewMatrix,
		"CreatePolicyStore": ActCreateStore,
		"PutApi":            ActEditAPIs, "DeleteApi": ActEditAPIs, "PutGroupPolicy": ActEditAPIs, "DeleteGroupPolicy": ActEditAPIs,
		"FlushAuthorizerCache": ActEditAPIs,
	}
)

// operationChecks returns what a console session needs for target ("VerifiedPermissions.X"
// or "Gatehouse.X") with this body: every returned action must be allowed.
func operationChecks(target string, body []byte) ([]check, error) {
	_, op, _ := strings.Cut(target, ".")
	var in struct {
		PolicyStoreID string `json:"policyStoreId"`
		PolicyStore   *struct {
			PolicyStoreID string `json:"policyStoreId"`
		} `json:"policyStore"`
		APIs          []json.RawMessage `json:"apis"`
		GroupPolicies []json.RawMessage `json:"groupPolicies"`
		DryRun        bool              `json:"dryRun"`
	}
	// The operation decodes the body strictly itself; this read only finds the store named.
	_ = json.Unmarshal(body, &in)
	onStore := func(action string) ([]check, error) {
		if in.PolicyStoreID == "" {
			return nil, fmt.Errorf("%s needs policyStoreId", target)
		}
		return []check{{action, storeResource(in.PolicyStoreID)}}, nil
	}
	if a, ok := storeOps[op]; ok {
		return onStore(a)
	}
	if a, ok := nodeOps[op]; ok {
		return []check{{a, nodeResource()}}, nil
	}
	switch op {
	case "PutPolicyStore":
		// Creates the store or changes its settings.
		cs, err := onStore(ActManageStore)
		return append(cs, check{ActCreateStore, nodeResource()}), err
	case "ApplyBundle":
		var out []check
		if in.PolicyStore != nil {
			id := storeResource(in.PolicyStore.PolicyStoreID)
			if in.DryRun {
				out = append(out, check{ActView, id})
			} else {
				out = append(out, check{ActEditSchema, id}, check{ActEditPolicy, id}, check{ActEditStore, id})
			}
		}
		if len(in.APIs) > 0 || len(in.GroupPolicies) > 0 || in.PolicyStore == nil {
			if in.DryRun {
				out = append(out, check{ActView, nodeResource()})
			} else {
				out = append(out, check{ActEditAPIs, nodeResource()})
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s is not available with a console session; sign the request with an access key", target)
}
