package idp

import "github.com/gatehouse-dev/gatehouse/internal/awsjson"

// Operation returns the Cognito JSON API operation named name ("AdminCreateUser") as the
// IdP listener serves it — the same strict decoding, validation, Cognito error mapping and
// audit record — for in-process callers that authenticate the person themselves (the web
// console). The caller puts the actor in the context with awsjson.WithCaller; the audit
// trail names it as it would name a SigV4 caller. Public operations are not offered: they
// carry their own proof and have no business running in process.
func (p *IdP) Operation(name string) (awsjson.Op, bool) {
	api := p.cognitoAPI()
	if api.Public[name] {
		return nil, false
	}
	op, ok := api.Ops[name]
	return op, ok
}
