package console

import "net/http"

// reviewRoutes registers the review of a pending change: the access matrix diff of a bundle.
func (c *Console) reviewRoutes(mux *http.ServeMux) {}
