package console

import "net/http"

// idpEditRoutes registers the pages that change the built-in IdP's users, groups and clients.
func (c *Console) idpEditRoutes(mux *http.ServeMux) {}
