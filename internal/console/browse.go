package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

// Read-only pages: a store's entities and identity sources, and the gateway's APIs with
// their routes and authorizers.

type entityRow struct {
	UID, Parents, JSON string
}

func (c *Console) entitiesPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, data, ok := c.openStore(w, r, s, ActView)
	if !ok {
		return
	}
	ents, next, err := c.d.Policies.ListEntities(r.Context(), id, r.URL.Query().Get("page"), 50)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	rows := make([]entityRow, 0, len(ents))
	for _, e := range ents {
		var parents []string
		for p := range e.Parents.All() {
			parents = append(parents, p.String())
		}
		slices.Sort(parents)
		js, _ := json.MarshalIndent(e, "", "  ")
		rows = append(rows, entityRow{UID: e.UID.String(), Parents: strings.Join(parents, ", "), JSON: string(js)})
	}
	data["Title"], data["Rows"], data["Next"] = "Entities of "+id, rows, next
	c.render(w, r, s, http.StatusOK, "entities", data)
}

type templateRow struct {
	ID, Name, Description, Statement string
}

func (c *Console) templatesPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, data, ok := c.openStore(w, r, s, ActView)
	if !ok {
		return
	}
	list, next, err := c.d.Policies.ListPolicyTemplates(r.Context(), id, r.URL.Query().Get("page"), 50)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	rows := make([]templateRow, 0, len(list))
	for _, t := range list {
		rows = append(rows, templateRow{ID: t.ID, Name: strings.TrimPrefix(t.Name, "name/"), Description: t.Description, Statement: t.Statement})
	}
	data["Title"], data["Rows"], data["Next"] = "Templates of "+id, rows, next
	c.render(w, r, s, http.StatusOK, "templates", data)
}

type sourceRow struct {
	ID, Issuer, PrincipalType, JSON string
}

func (c *Console) sourcesPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, data, ok := c.openStore(w, r, s, ActView)
	if !ok {
		return
	}
	list, next, err := c.d.Policies.ListIdentitySources(r.Context(), id, r.URL.Query().Get("page"), 50)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	rows := make([]sourceRow, 0, len(list))
	for _, is := range list {
		js, _ := json.MarshalIndent(is.Configuration, "", "  ")
		rows = append(rows, sourceRow{ID: is.ID, Issuer: is.Issuer, PrincipalType: is.PrincipalEntityType, JSON: string(js)})
	}
	data["Title"], data["Rows"], data["Next"] = "Identity sources of "+id, rows, next
	c.render(w, r, s, http.StatusOK, "sources", data)
}

type apiView struct {
	Name, BasePath, Upstream string
	Authorizers              []authorizerRow
	Routes                   []apidef.Route
}

type authorizerRow struct {
	Name, Type, PolicyStoreID string
}

func (c *Console) apisPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActView, nodeResource()) {
		return
	}
	defs, err := c.d.APIs.List(r.Context())
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	slices.SortFunc(defs, func(a, b apidef.Definition) int { return strings.Compare(a.Name, b.Name) })
	views := make([]apiView, 0, len(defs))
	for _, d := range defs {
		v := apiView{Name: d.Name, BasePath: d.BasePath, Upstream: d.Upstream, Routes: d.Routes}
		if v.BasePath == "" && d.Stage != "" {
			v.BasePath = "/" + d.Stage
		}
		for name, a := range d.Authorizers {
			v.Authorizers = append(v.Authorizers, authorizerRow{Name: name, Type: a.Type, PolicyStoreID: a.PolicyStoreID})
		}
		slices.SortFunc(v.Authorizers, func(a, b authorizerRow) int { return strings.Compare(a.Name, b.Name) })
		views = append(views, v)
	}
	c.render(w, r, s, http.StatusOK, "apis", map[string]any{"Title": "APIs", "APIs": views})
}
