// Package frontdoortest holds the cross-front-door tests and benchmarks of Gatehouse: every
// scenario row of the pet store (examples/petstore) and the vet clinic (examples/vet-clinic)
// goes through every way a request reaches a decision — the reverse proxy, forward-auth, Envoy
// ext_authz over gRPC and in HTTP service mode, and the Lambda authorizer (REST REQUEST and
// TOKEN events, HTTP API payload 2.0) — and every door must answer alike: the same allow or
// deny, status, principal and, where the door carries one, body.
//
// A node whose store never answered is a row too: every door answers 503 store_unavailable
// (the Lambda authorizer: an authorizer failure).
//
// It has no non-test code besides this comment: the doors are the real ones (listeners on
// 127.0.0.1, a real gRPC client, tokens signed by identitytest's issuer), built on one core per
// store backend (SQLite, and PostgreSQL when GATEHOUSE_TEST_POSTGRES is set) and, for the
// Lambda door, on the read-only core that `gatehouse lambda` builds from the same directory.
package frontdoortest
