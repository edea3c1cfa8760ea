# OPA's side of bench/peers.sh's forward-auth comparison: the rule the gateway's cedar route
# applies (bench/testdata/gateway/store: GET /pets is allowed to members of group employees,
# with an access token of the pool's app client), written in Rego. The input has the shape of
# Envoy's ext_authz CheckRequest (input.attributes.request.http), the way a proxy asks; data.bench
# holds the pool's JWKS (as a string), issuer and client id, written by bench/peers.sh.
package gatehouse.bench

import rego.v1

default allow := false

allow if {
	http := input.attributes.request.http
	http.method == "GET"
	http.path == "/pets"
	[valid, _, claims] := io.jwt.decode_verify(bearer, {"cert": data.bench.jwks, "iss": data.bench.issuer})
	valid
	claims.token_use == "access"
	claims.client_id == data.bench.client_id
	"employees" in claims["cognito:groups"]
}

bearer := token if {
	auth := input.attributes.request.http.headers.authorization
	startswith(auth, "Bearer ")
	token := substring(auth, 7, -1)
}
