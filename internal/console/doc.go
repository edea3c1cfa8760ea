// Package console is Gatehouse's web console for people, served by the node on the
// management listener at /console/: policy stores, schemas, policies (server-side paging and
// search), a test bench, the access matrix of an API, the audit trail and read-only pages
// of the built-in IdP (pools, users, groups, app clients). Pages are rendered
// on the server with html/template from assets embedded in the binary (no CDN, no Node
// runtime); a little JavaScript only adds conveniences.
//
// Invariants:
//   - Nothing but the sign-in page and the static assets is served without a live session;
//     a session ends at its absolute expiry, after its idle timeout, or at sign-out, and its
//     id (32 random bytes) lives only in an HttpOnly SameSite=Strict cookie (__Host- and
//     Secure on TLS, or behind a trusted proxy's X-Forwarded-Proto: https). The server keeps only the id's SHA-256, so a dump of the store
//     does not yield a usable cookie.
//   - Sign-in compares the secret of an access key pair in constant time, and answers the
//     same for an unknown key id as for a wrong secret; ten failures from one client
//     address within ten minutes hold it off (429) until the oldest leaves the window.
//     Sign-in through the built-in IdP
//     (IdPSignIn) is authorization code with PKCE; its callback is accepted only with the
//     state the same browser started (a one-use server-side entry matched by a Lax cookie),
//     and only with an ID token of the pool, for the client, carrying that sign-in's nonce;
//     a user in none of the role groups gets no session.
//   - Every POST carries the session's synchronizer token (compared in constant time) and
//     comes from the console's own origin (Origin, else Referer, must match the Host; a
//     cross-site Sec-Fetch-Site is refused); sign-in, which has no session yet, is held to
//     the origin check.
//   - Every page and every write is decided by Cedar, with Gatehouse's own engine, on the
//     reserved policy store ConsoleStoreID (seeded at first use with a schema and the viewer,
//     author and administrator policies; deletion protection on; editable like any store).
//     A denial is a 403 page naming the action; nothing is read or written before the
//     decision.
//   - Writes run the management API's own operations (avpapi.API.Operation), so validation,
//     transactions and the audit record are the ones the API has; the audit actor is
//     "console:<access key id>".
//   - Responses carry a strict Content-Security-Policy (scripts and styles only from
//     /console/assets/, no inline script), X-Frame-Options: DENY, Referrer-Policy:
//     same-origin, X-Content-Type-Options: nosniff and Cache-Control: no-store.
//
// The IdP pages read through IdPDirectory (the IdP's own Cognito read operations) and never
// show a password hash, nor a client secret except once, on the response that created the
// client; IdP writes (EditIdP) run the IdP's own Cognito operations in process with caller
// "console:<user>", so the IdP validates and audits them as SigV4 calls. A console store seeded before the ViewIdP
// action existed gains it, with the view-idp policy, once (upgradeStore).
//
// An access matrix cell links to the policies the engine named as determining in the very
// evaluation that gave the cell its value, and only when the stored policy of that name is
// the one evaluated. The review of a pending change applies exactly the reviewed bundle, with
// the reviewed prune setting, at the reviewed revision, and only when a dry run there still
// yields the reviewed changes; it takes the action of every change's own page.
//
// The test bench's explanation (explain.go) reads only: each policy whose scope holds is
// evaluated alone with cedar-go and its role derived from those evaluations; a disagreement
// with the engine's decision is shown, never hidden.
//
// Sessions and IdP sign-ins under way are kept in the node's store (scope console:sessions,
// which no policy store or pool id can take), under the SHA-256 of their secret: every node
// serves every session, a sign-out ends it everywhere, and a restart signs nobody out.
//
// The management API accepts a console session in place of a signature only for a request
// with no SigV4 material at all, from the console's origin, with the session's synchronizer
// token; the operation is decided by the console store (AuthenticateSession, operationChecks:
// an unmapped operation is refused).
package console
