package gateway

// Reason is the stable, low-cardinality code of a refused or failed request: it is logged as
// "reason", recorded in Decision.Reason (and so in the audit log and metrics) and documented in
// docs/reasons.md. Every reason the gateway produces is one of the constants below or, for a
// token that fails validation, one of identity.Reason's codes (jwt_*, jwks_unavailable).
type Reason string

// Refused before a route is selected.
const (
	ReasonStoreUnavailable      Reason = "store_unavailable"   // the node's data may be stale (Deps.Fresh) or was never read (503)
	ReasonGatewayUnavailable    Reason = "gateway_unavailable" // the API definitions were read but do not compile (500)
	ReasonBadPath               Reason = "bad_path"            // router.Canonicalize refuses the path
	ReasonNoAPI                 Reason = "no_api"              // no API's base path is a prefix of the path
	ReasonNoRoute               Reason = "no_route"            // the API has no route for the method and path
	ReasonUnknownAPI            Reason = "unknown_api"         // forward-auth: the named API does not exist
	ReasonForwardAuthConflict   Reason = "forward_auth_conflicting_headers"
	ReasonForwardAuthMissing    Reason = "forward_auth_headers_missing"
	ReasonClientIdentityHeader  Reason = "client_identity_header" // forward-auth: the client sent an X-Gatehouse-* header
	ReasonUpgradeRefused        Reason = "upgrade_refused"        // a protocol switch the route does not allow
	ReasonTokenValidationNotSet Reason = "token_validation_not_configured"
)

// Refused by a route's authorizer.
const (
	ReasonMissingToken        Reason = "missing_token"
	ReasonMultipleTokens      Reason = "multiple_tokens"
	ReasonUnknownAuthorizer   Reason = "unknown_authorizer"
	ReasonScopeMismatch       Reason = "scope_mismatch"
	ReasonGroupMismatch       Reason = "group_mismatch"
	ReasonIAMNoGroups         Reason = "iam_no_groups"
	ReasonIAMNoPolicy         Reason = "iam_no_policy"
	ReasonIAMExplicitDeny     Reason = "iam_explicit_deny"
	ReasonIAMImplicitDeny     Reason = "iam_implicit_deny"
	ReasonCedarNotConfigured  Reason = "cedar_not_configured"
	ReasonPolicyStoreDown     Reason = "policy_store_unavailable"
	ReasonNoIdentitySource    Reason = "policy_store_has_no_identity_source"
	ReasonTokenMapping        Reason = "token_mapping"
	ReasonBadQuery            Reason = "bad_query"
	ReasonCedarRequestInvalid Reason = "cedar_request_invalid"
	ReasonPolicyError         Reason = "policy_error"
	ReasonPolicyDeny          Reason = "policy_deny"
)

// Failed after the request was allowed.
const (
	ReasonBodyTooLarge    Reason = "body_too_large"
	ReasonUpstreamTimeout Reason = "upstream_timeout"
	ReasonUpstreamError   Reason = "upstream_error"
)

// Reasons returns every reason the gateway itself produces, in documentation order.
func Reasons() []Reason {
	return []Reason{
		ReasonStoreUnavailable, ReasonGatewayUnavailable, ReasonBadPath, ReasonNoAPI, ReasonNoRoute,
		ReasonUnknownAPI, ReasonForwardAuthConflict, ReasonForwardAuthMissing, ReasonClientIdentityHeader,
		ReasonUpgradeRefused, ReasonTokenValidationNotSet,
		ReasonMissingToken, ReasonMultipleTokens, ReasonUnknownAuthorizer, ReasonScopeMismatch,
		ReasonGroupMismatch, ReasonIAMNoGroups, ReasonIAMNoPolicy, ReasonIAMExplicitDeny, ReasonIAMImplicitDeny,
		ReasonCedarNotConfigured, ReasonPolicyStoreDown, ReasonNoIdentitySource, ReasonTokenMapping,
		ReasonBadQuery, ReasonCedarRequestInvalid, ReasonPolicyError, ReasonPolicyDeny,
		ReasonBodyTooLarge, ReasonUpstreamTimeout, ReasonUpstreamError,
	}
}
