package gateway

import (
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

// The route → Cedar request mapping has one owner, this file: the gateway's cedar authorizer
// and the access matrix (internal/wizard/matrix.go) both build actions and resources here, so
// the matrix cannot report a decision the gateway would not make.

// CedarAction is the action of a request on a route in namespace ns: the route's configured
// action id, else "<lower-case method> <route path>" (the route path as written, templates
// included).
func CedarAction(ns, action, method, routePath string) types.EntityUID {
	if action == "" {
		action = strings.ToLower(method) + " " + routePath
	}
	return types.NewEntityUID(qualify(ns, "Action"), types.String(action))
}

// CedarResource is the resource of a request on a route in namespace ns: the route's resource
// template with each {name} replaced by params[name] (kept as written when params has no such
// name, so a nil params gives the template itself), else <ns>::Application::"<ns>", or
// Application::"<apiName>" without a namespace.
func CedarResource(ns string, tmpl *apidef.ResourceTemplate, params map[string]string, apiName string) types.EntityUID {
	if tmpl != nil {
		return types.NewEntityUID(qualify(ns, tmpl.Type), types.String(substitute(tmpl.ID, params)))
	}
	appID := ns
	if appID == "" {
		appID = apiName
	}
	return types.NewEntityUID(qualify(ns, "Application"), types.String(appID))
}
