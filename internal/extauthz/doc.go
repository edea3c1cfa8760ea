// Package extauthz serves Envoy's external authorization protocol — the gRPC service
// envoy.service.auth.v3.Authorization/Check and the HTTP service mode (http_service) — on one
// listener, answering with the gateway's decisions (gateway.Check, source "ext-authz").
// docs/envoy.md has the Envoy configuration of both modes.
//
// Invariants:
//   - The decision is the gateway's: the API is chosen from the path as on the proxy (Input.API
//     is empty), the path is canonicalized and routed there, and the same authorizers, decision
//     cache, stale-node 503 and gateway responses apply. This package only maps the protocol.
//   - gRPC: method and path come from attributes.request.http (else the :method and :path
//     pseudo-headers; a pseudo-header that disagrees with its field, or is repeated, refuses
//     the request); headers from headers or header_map (encode_raw_headers); the client address
//     from attributes.source.address; TLS from the scheme, the downstream certificate or the TLS
//     session. The request body (with_request_body) takes no part in the decision.
//   - HTTP service: the request path is PathPrefix followed by the original path and query;
//     the client is the right-most X-Forwarded-For entry (Envoy's, with use_remote_address),
//     else the peer, and TLS is X-Forwarded-Proto: https. The listener must be reachable only
//     by Envoy, as the forward-auth listener only by its proxy.
//   - Allow: OkHttpResponse sets (overwrites) the verdict's identity headers and removes every
//     header of Verdict.Remove — each client X-Gatehouse-* spelling among them — except hop-by-hop
//     and X-Forwarded-For/-Proto/-Host/-Port, which are Envoy's, and except the names it sets;
//     X-Gatehouse-Decision-Id is added to the client's response. The HTTP mode answers 200 with
//     the same headers and lists the removals in X-Envoy-Auth-Headers-To-Remove.
//   - Deny: DeniedHttpResponse with the gateway's status, body and headers, and a gRPC status
//     that is never OK (UNAUTHENTICATED for 401, UNAVAILABLE for 503, else PERMISSION_DENIED),
//     so Envoy refuses whatever failure_mode_allow says. The HTTP mode answers the same status,
//     headers and body. No header value in any answer is copied from the request.
//   - With WithReadiness, grpc.health.v1.Health/Check answers SERVING exactly while the node is
//     ready (the node passes its /readyz verdict), for Envoy's grpc_health_check.
//   - A request that does not say which request is meant (no attributes.request.http, no path,
//     conflicting pseudo-headers) is answered 400 {"message":"Invalid ext_authz request:
//     <field>: <problem>"} with a decision id and logged with reason bad_path; an HTTP request
//     outside PathPrefix is answered 404. Neither reaches the gateway.
package extauthz
