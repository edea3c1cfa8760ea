// Package wizard turns an OpenAPI document, an identity source and a group → operations
// assignment into a Cedar schema, per-group policies and a gateway API definition, and keeps
// them in step when the document changes.
//
// It is the AWS console's "Set up with API Gateway and an identity provider" wizard as a
// library: [Parse] reads the document, [Generate] builds the files (nothing touches the disk
// until every check passed), [Result.WriteDir] writes them into a directory that
// `gatehouse apply` accepts and, when the directory holds an earlier output, updates what init
// wrote while keeping hand-written (or hand-edited) files and reporting policies that refer to
// actions the schema no longer has. [AccessMatrix] answers "which group may call which route"
// for such a directory with the decision engine.
//
// Invariants:
//   - Only what authorization needs (paths, methods, parameters, security) can fail a run;
//     everything else wrong with a document is a warning, and a document that does not load
//     as a whole is read again reduced to those parts. One operation the gateway cannot
//     route is skipped with a warning naming it (paths.<path>.<method>), never the whole run;
//     errors and warnings name the place in the document, not in the generated files.
//   - An action id is "<method> <path as the document writes it>" without a URL fragment.
//     When the gateway template differs (partial segments such as {Sid}.json become a whole
//     {Sid} segment; sibling parameters take the first name in path order), the route names
//     the action explicitly, and a partial segment's literal part is a condition in the
//     group's policy (context.pathParameters[...] like "*.json"), so the wider route never
//     grants more than the document's path.
//   - The answers override the document: operations the document marks public
//     (security: []) are public only if no answer assigns them and their route is the
//     document's path (a partial segment's wider route stays with the policies, which check
//     the literal part), and its OAuth2/OpenID Connect
//     scopes only fill in the scopes of authenticated routes. Everything else is decided by
//     Cedar, so an operation no group was given is denied. OPTIONS routes are public
//     preflights, answered by the document's CORS mock or the upstream.
package wizard
