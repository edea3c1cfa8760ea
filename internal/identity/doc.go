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
//   - Every token carries the KeyStamp of the key set version that verified it. A key added,
//     removed or changed in an issuer's JWKS bumps that version, and no cached token (here) or
//     decision derived from one (callers, through KeyStamp.Current) is used across a version
//     change, once its key set is dropped, or past the maximum staleness.
//   - A token its issuer revoked (see RevocationChecker) fails validation from the moment the
//     checker reports it, cache hits included, and its KeyStamp stops being current, so no
//     decision derived from it outlives the revocation.
//   - Token header and payload, JWKS and discovery documents must be valid UTF-8 (RFC 8259 §8.1);
//     nothing is silently replaced by U+FFFD.
//   - At most one JWKS fetch per issuer per unknown-kid interval (default 5 s), whatever the
//     traffic; a key the issuer did not pre-publish is accepted at most that long after the
//     fetch before its first token. Refreshes follow the configured interval, shortened by the
//     JWKS response's Cache-Control max-age but never below one minute.
//   - Keys of an issuer whose key store this process shares (the built-in IdP) may be pushed with
//     ReplaceKeys when they change; a fetch in flight at that moment is discarded, so a removed key
//     is never brought back by an answer older than the push.
//   - A failed, empty or oversized JWKS fetch never replaces good keys; good keys are served for at
//     most the configured maximum staleness after the last successful fetch, then validation fails
//     closed.
//   - The raw token is never stored or logged; only its SHA-256 is kept.
package identity
