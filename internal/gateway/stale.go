package gateway

// storeUnavailableBody is the answer (503, with Retry-After) to every request while Deps.Fresh
// reports the node's data may be stale, and while the node has never read its API definitions
// (a node started while its store is unreachable). It is fixed rather than a per-API gateway response: the API definitions
// are part of the data that can no longer be trusted, and even a public route's existence
// comes from the stale route table, so none, jwt, iam and cedar routes fail alike.
const storeUnavailableBody = `{"message":"Service Unavailable","reason":"` + string(ReasonStoreUnavailable) + `"}`

// retryAfterSeconds is Retry-After of the 503: the gateway retries a failed state build after
// retryAfterFailure, and a stale node recovers at its next successful poll.
const retryAfterSeconds = "1"
