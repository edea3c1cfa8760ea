// Package lambdaauth is the AWS Lambda authorizer front door: it answers API Gateway's
// authorizer events with the decision the gateway makes for the same request, by mapping each
// event to a gateway.Input, calling gateway.Check and carrying the Verdict out in API
// Gateway's response shapes. `gatehouse lambda` runs it in the Lambda Runtime API loop.
//
// Events, told apart by their JSON (ParseEvent):
//   - REST API REQUEST (`"type":"REQUEST"`): method, path, headers, query string, source IP
//     and stage are the request; the path the gateway routes is "/<stage><path>", so a bundle
//     API whose stage (default base path "/<stage>") is the API Gateway stage receives it.
//   - HTTP API payload 1.0 (`"version":"1.0"`): the REST shape, but its path is routed as API
//     Gateway received it, as payload 2.0's rawPath below.
//   - REST API TOKEN (`"type":"TOKEN"`): only the token and methodArn. Method and path come from
//     the ARN (arn:aws:execute-api:region:account:apiId/stage/VERB/path), the token goes into
//     Authorization as sent. There is no source IP, so IAM IpAddress conditions never match.
//   - HTTP API payload 2.0 (`"version":"2.0"`): rawPath is routed as API Gateway received it,
//     which for a named stage already starts with "/<stage>" ($default stage: no prefix, so the
//     bundle API needs basePath "/").
//
// Every event is a TLS request (API Gateway endpoints are HTTPS only) whose client is the
// event's source IP (Input.Client): forwarding headers in the event are never believed.
//
// Answers (Respond):
//   - allow: an IAM policy allowing execute-api:Invoke on the event's methodArn (routeArn);
//   - a 401 verdict (missing, invalid or expired token): the error "Unauthorized", which API
//     Gateway turns into 401;
//   - a 5xx verdict (the authorizer failed): an error that is not "Unauthorized", which API
//     Gateway turns into 500;
//   - any other deny (403 explicit or implicit deny, missing route, bad path): an IAM policy
//     denying the ARN, which API Gateway answers 403 with its own body;
//   - HTTP API with simple responses enabled (Options.SimpleResponses): {isAuthorized,
//     context} instead of a policy; 401 and 5xx are errors as above.
//
// principalId is the verdict's principal ("anonymous" when the route needs none); context
// carries principal, groups (comma-joined), decisionId, api, route, reason (on a deny) and,
// when the API exposes claims (identityHeaders.claims), claims as a JSON object in a string,
// since API Gateway accepts only strings, numbers and booleans there.
//
// Invariants: every event is decided by gateway.Check with Input.Source "lambda", never by
// a copy of its logic; an event that cannot be read is an error naming the field, never a
// panic and never an Allow; the policy names exactly the event's ARN.
package lambdaauth
