// Package gateway is the data plane: it routes requests to API routes, runs their authorizers
// and proxies allowed requests upstream.
//
// One decision, every front door: [Gateway.Check] takes a request as a front door received it
// ([Input]: method, escaped path, query, headers, peer or client address, TLS) and returns a
// [Verdict] (allow or the deny status, body and headers; identity headers to set and inbound
// headers to remove; principal, groups, claims, decision id, reason). It does everything below
// up to the upstream call: the stale-node and state checks, canonicalization, API and route
// selection, upgrade rules, the authorizer, the gateway response, the decision record
// (Deps.OnDecision with Input.Source) and the denial log. The reverse proxy (Handler) and
// forward-auth (ForwardAuthHandler) are adapters over it, as are the ext_authz and Lambda front
// doors outside this package; so a request is decided the same way whichever door it came in
// by. Forward-auth differs only where nginx forces it (refusals before authorization are 403s
// from the default responses) and in the headers it reads the original request from.
// Authorizers are one interface (authorizerKind), one file per kind: authorizer_none.go,
// authorizer_jwt.go, authorizer_iam.go, authorizer_cedar.go.
//
// Invariants:
//   - The request path is canonicalized once (router.Canonicalize on the escaped path); the
//     API (longest base path), the route, the authorizer and the upstream all see that one
//     string, and the upstream receives exactly it under the upstream URL's own path. A path
//     Canonicalize refuses is answered 400 {"message":"Invalid request path"} (403 on the
//     forward-auth endpoint, which nginx passes through) before any routing: nothing can be
//     reached through a path the gateway cannot read one way only.
//   - Compiled state (routes, authorizers, IAM group policies of every API) is an immutable
//     snapshot at one revision of the "gateway" store scope, swapped atomically. A commit marks
//     it stale and the next request rebuilds it (singleflight). If the store cannot be read
//     the last good state is served; an API whose stored definition does not compile is
//     disabled alone (its paths find no route), so other APIs' changes are never held back.
//   - The decision cache (one otter cache shared by every authorizer, bounded by estimated heap
//     bytes: WithCacheBytes, half of cacheMemory) is keyed by every input of the decision:
//     authorizer, token, the revision of the gateway state and, for cedar, the policy store
//     snapshot revision plus method, canonical path, query and client address; an entry is
//     used only while the identity.KeyStamp of the key set that verified its token is current.
//     A policy, entity, route, group-policy or issuer key change is enforced on the very next
//     request; the TTL (cacheTtl, default 300 s, 0 = off) only bounds memory, and no entry
//     outlives its token's exp. jwt and iam cache the validated identity and re-check scopes, groups and
//     the IAM evaluation (which reads the client address and the clock) on every request.
//   - While Deps.Fresh reports the node's data may be stale (the store unreachable for longer
//     than maxStaleness), every request — whatever its route's authorizer, none included, on
//     the gateway and forward-auth alike — is answered 503 {"message":"Service Unavailable",
//     "reason":"store_unavailable"} with Retry-After before any routing: the route table is
//     stale data too. A node that has never read its API definitions (started while its store
//     is unreachable) answers the same 503, not a 500: it has no data, and says so as its
//     readiness does. Only definitions that were read but do not compile answer 500
//     gateway_unavailable.
//   - Check never modifies Input.Header; what must not reach the upstream is in
//     Verdict.Remove (the proxy's Rewrite drops the same names through dropInbound).
//   - A token is validated at most once per decision: a cedar cache miss maps the validated
//     token with authz.PrincipalFromToken rather than validating it again.
//   - Every refusal carries one Reason of reasons.go (or identity.Reason's code for a token
//     that fails validation), documented in docs/reasons.md.
//   - Every response carries X-Gatehouse-Decision-Id (a UUIDv7), allowed or not; an
//     upstream's own value is dropped. Upstreams receive X-Gatehouse-Principal (the Cedar
//     entity id, "<poolId>|<sub>" for Cognito), X-Gatehouse-Groups (the group names of
//     identity.Source.GroupNames, the same groups a Cedar policy sees),
//     X-Gatehouse-Claim-<Name> for the API's identityHeaders.claims and the decision id, set in
//     ReverseProxy.Rewrite after hop-by-hop and Connection-listed headers are gone and after
//     every inbound header whose name starts with X-Gatehouse- (case-insensitively, '_' read
//     as '-') is deleted. Each value, and each element of a list (groups, array claims), is
//     percent-encoded for '%', ',', space, control and non-ASCII bytes, and list elements are
//     joined with ','; so a ',' in a value is always a separator. The forward-auth answer
//     carries every identity header the API can set, empty when absent, so that a proxy copying
//     them overwrites client-sent values; a decision request that carries a client's
//     X-Gatehouse-* header (any spelling, X-Gatehouse-Api excepted) is refused 403.
//   - A request that asks to switch protocols (an Upgrade or HTTP2-Settings header, or
//     "upgrade" in Connection) is refused with reason upgrade_refused (400
//     BAD_REQUEST_PARAMETERS; 403 on forward-auth) unless it is a GET asking for exactly
//     "websocket" on a route with websocket: true; that handshake is authorized like any
//     request and the tunnel opens only to the route's upstream path. h2c is never forwarded,
//     and CONNECT matches no route.
//   - X-Forwarded-*, Forwarded, X-Real-Ip, X-Original-* and X-Rewrite-Url from clients are
//     dropped unless the peer is in Deps.TrustedProxies; X-HTTP-Method-Override,
//     X-HTTP-Method and X-Method-Override are always dropped. HEAD is authorized as GET.
//
// Authorizers and their answers (API Gateway's defaults; docs/reasons.md lists each reason):
//   - none: allowed.
//   - jwt: the Authorization header ("Bearer " optional). Missing → 401 {"message":
//     "Unauthorized"}; invalid → 401 Unauthorized; expired → 401 {"message":"The incoming
//     token has expired"} (gateway response EXPIRED_TOKEN). Cognito's rule: a route without
//     scopes takes an ID token, a route with scopes an access token whose scope claim holds
//     any of them (else 401); tokenType forces one kind. Route groups are any-of, widened by
//     the authorizer's roleHierarchy (highest first: a higher role passes a lower role's
//     route); a group mismatch is 403 {"Message":"User is not authorized to access this
//     resource"}.
//   - cedar: the token (tokenType, default accessToken) validated against the policy store's
//     identity sources and mapped by authz.PrincipalFromToken (as authz.ResolveTokens maps
//     it); action <NS>::Action::"<lowercase method> <route path as written>"; resource
//     <NS>::Application::"<NS>" (the API name when there is no namespace) or the route's
//     template with {param} replaced by the decoded parameter; context {pathParameters,
//     queryStringParameters (last value of each key), sourceIp (ipaddr)}. CedarAction and
//     CedarResource are this mapping's one owner; the access matrix (internal/wizard/matrix.go)
//     uses them too. Missing token → 401; invalid token, deny or evaluation error → 403
//     {"Message":"User is not authorized to access this resource with an explicit deny"};
//     policy store unavailable → 500 {"message": null}.
//   - iam: an access token (tokenType) from the authorizer's identity sources; its groups
//     select the API's group policies, evaluated by iam.Evaluate on MethodARN(region,
//     account, apiId, stage, VERB, path under the base path) with aws:SourceIp and
//     aws:SecureTransport. Missing → 401; invalid token, no group, no policy, implicit deny
//     → 403 implicit body; explicit deny → 403 explicit body.
//
// Gateway responses (per API, apidef.GatewayResponse) have a status and a body template with
// $context.path (stage included), $context.resourcePath, $context.httpMethod, $context.stage,
// $context.apiId, $context.requestId (the decision id), $context.authorizer.principalId,
// $context.identity.sourceIp, $context.error.message, $context.error.messageString (quoted)
// and $context.error.responseType. Values are inserted JSON-escaped, since principal ids and
// claims come from tokens. DEFAULT_4XX and DEFAULT_5XX apply to types not customized. Mock
// integrations use the same templates. Upstream failures are INTEGRATION_FAILURE (502) and
// INTEGRATION_TIMEOUT (504); a body over the route's maxBodyBytes is REQUEST_TOO_LARGE (413).
package gateway
