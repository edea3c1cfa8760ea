package console

import "net/http"

// explainRoutes registers the test bench's per-policy explanation.
func (c *Console) explainRoutes(mux *http.ServeMux) {}
