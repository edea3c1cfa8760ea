// Package identity validates bearer tokens from configured issuers (Cognito user pools and OIDC
// providers) and maps them to Cedar entities exactly as Amazon Verified Permissions does.
//
// Invariants:
//   - A token is only ever checked against keys fetched from its own issuer's JWKS URL (configured,
//     derived for Cognito, or found by OIDC discovery). Keys named by the token (jwk, jku, x5u, x5c)
//     are never used or fetched, and one issuer's keys never verify another issuer's tokens.
//   - none and HMAC algorithms are never accepted, whatever a Source says.
//   - The verified-token cache saves only parsing and signature work; every call re-applies the
//     caller's sources, token use, client and time rules.
//   - A failed, empty or oversized JWKS fetch never replaces good keys; good keys are served for at
//     most the configured maximum staleness after the last successful fetch, then validation fails
//     closed.
//   - The raw token is never stored or logged; only its SHA-256 is kept.
package identity
