package gateway

// storeUnavailableBody is the answer (503) to every request while Deps.Fresh reports the node's
// data may be stale. It is fixed rather than a per-API gateway response: the API definitions
// are part of the data that can no longer be trusted, and even a public route's existence
// comes from the stale route table, so none, jwt, iam and cedar routes fail alike.
const storeUnavailableBody = `{"message":"Service Unavailable","reason":"` + string(ReasonStoreUnavailable) + `"}`
