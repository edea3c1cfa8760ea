package console

import "net/http"

// editRoutes registers the pages that edit a store's templates, links, entities and identity sources, and API definitions.
func (c *Console) editRoutes(mux *http.ServeMux) {}
