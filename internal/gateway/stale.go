package gateway

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// storeUnavailableBody is fixed rather than a per-API gateway response: the API definitions
// are part of the data that can no longer be trusted.
const storeUnavailableBody = `{"message":"Service Unavailable","reason":"` + string(ReasonStoreUnavailable) + `"}`

// failStale answers 503 and reports true when Deps.Fresh says the node's data may be stale.
// Every route fails the same way — none, jwt, iam and cedar alike — since even a public
// route's existence comes from the stale route table.
func (g *Gateway) failStale(ctx context.Context, w http.ResponseWriter, source, id string, start time.Time, method, client string) bool {
	if g.deps.Fresh == nil {
		return false
	}
	err := g.deps.Fresh()
	if err == nil {
		return false
	}
	g.early(ctx, source, id, start, method, client, "", nil, ReasonStoreUnavailable, http.StatusServiceUnavailable, "err", err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(storeUnavailableBody)))
	h["x-amzn-ErrorType"] = []string{"ServiceUnavailableException"}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.Write([]byte(storeUnavailableBody))
	return true
}
