package gateway

import (
	"context"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

// noneKind is the public route: allowed, no token read.
type noneKind struct{}

func (noneKind) typeName() string { return apidef.AuthorizerNone }

func (noneKind) decide(context.Context, *Gateway, *request, *authorizer, bearerToken) outcome {
	return outcome{allow: true}
}

// publicAuthorizer is the authorizer of every route with authorizer "none". Immutable.
var publicAuthorizer = &authorizer{name: apidef.AuthorizerNone, kind: noneKind{}}
