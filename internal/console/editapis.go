package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
)

// ---- API definitions and group IAM policies ----

// apiStarter is the text a new API starts from: the smallest definition with one route.
const apiStarter = `name: Example
basePath: /example
upstream: http://127.0.0.1:8080
authorizers: {}
routes:
  - route: GET /hello
    authorizer: none
`

func (c *Console) apiEditPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActEditAPIs, nodeResource()) {
		return
	}
	name := r.URL.Query().Get("api")
	text := apiStarter
	if name != "" {
		d, err := c.d.APIs.Get(r.Context(), name)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		d.ID = ""
		y, err := yaml.Marshal(d)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		text, name = string(y), d.Name
	}
	c.apiEditView(w, r, s, http.StatusOK, name, text, nil)
}

func (c *Console) apiEditView(w http.ResponseWriter, r *http.Request, s *session, status int, name, text string, e *apiError) {
	title := "New API"
	if name != "" {
		title = "API " + name
	}
	c.render(w, r, s, status, "editapi", map[string]any{"Title": title, "Name": name, "Text": text, "Error": e, "Nav": "apis"})
}

// saveAPI creates or replaces the API the definition names (Gatehouse.PutApi matches by name).
func (c *Console) saveAPI(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActEditAPIs, nodeResource()) {
		return
	}
	name, text := r.PostFormValue("api"), r.PostFormValue("definition")
	if strings.TrimSpace(text) == "" {
		c.apiEditView(w, r, s, http.StatusBadRequest, name, text, formField("definition", "write the API definition (YAML or JSON)"))
		return
	}
	out, err := c.call(r.Context(), s, "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: text})
	if err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		c.apiEditView(w, r, s, http.StatusBadRequest, name, text, editError(err))
		return
	}
	saved := out.(*avpapi.APIOutput).Name
	http.Redirect(w, r, Prefix+"apis/edit?api="+url.QueryEscape(saved)+"&saved=1", http.StatusSeeOther)
}

func (c *Console) deleteAPI(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActEditAPIs, nodeResource()) {
		return
	}
	name := r.PostFormValue("api")
	if name == "" {
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", "api: name the API to delete.")
		return
	}
	if _, err := c.call(r.Context(), s, "Gatehouse.DeleteApi", avpapi.APIRef{API: name}); err != nil {
		c.failed(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"apis?deleted="+url.QueryEscape(name), http.StatusSeeOther)
}

type groupPolicyRow struct {
	Group, Document string
}

// groupForm is the group policy editor's posted fields.
type groupForm struct {
	Group, Document string
}

func (c *Console) groupPoliciesPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.groupPoliciesView(w, r, s, http.StatusOK, r.URL.Query().Get("api"), nil, nil)
}

// groupPoliciesView lists an API's group IAM policies, each in its own editor; f and e are a
// refused write's fields and error (shown in the editor of f.Group, or the new-group form).
func (c *Console) groupPoliciesView(w http.ResponseWriter, r *http.Request, s *session, status int, api string, f *groupForm, e *apiError) {
	if !c.allow(w, r, s, ActView, nodeResource()) {
		return
	}
	d, err := c.d.APIs.Get(r.Context(), api)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	list, err := c.d.APIs.ListGroupPolicies(r.Context(), d.Name)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	rows := make([]groupPolicyRow, 0, len(list))
	inList := false
	for _, gp := range list {
		row := groupPolicyRow{Group: gp.Group, Document: string(gp.Document)}
		if f != nil && f.Group == gp.Group {
			row.Document, inList = f.Document, true
		}
		rows = append(rows, row)
	}
	slices.SortFunc(rows, func(a, b groupPolicyRow) int { return strings.Compare(a.Group, b.Group) })
	data := map[string]any{"Title": "Group policies of " + d.Name, "API": d.Name, "Rows": rows, "Error": e, "Nav": "apis",
		"CanEdit": c.decide(r.Context(), s, ActEditAPIs, nodeResource()).Allowed}
	data["ErrorGroup"] = ""
	if f != nil {
		data["ErrorGroup"] = f.Group
		if !inList {
			data["New"] = f
		}
	}
	c.render(w, r, s, status, "editgroups", data)
}

func (c *Console) saveGroupPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActEditAPIs, nodeResource()) {
		return
	}
	api := r.PostFormValue("api")
	f := groupForm{Group: strings.TrimSpace(r.PostFormValue("group")), Document: r.PostFormValue("policyDocument")}
	if api == "" {
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", "api: name the API.")
		return
	}
	if f.Group == "" {
		c.groupPoliciesView(w, r, s, http.StatusBadRequest, api, &f, formField("group", "name the group"))
		return
	}
	if e := jsonSyntax("policyDocument", f.Document); e != nil {
		c.groupPoliciesView(w, r, s, http.StatusBadRequest, api, &f, e)
		return
	}
	if _, err := c.call(r.Context(), s, "Gatehouse.PutGroupPolicy", avpapi.GroupPolicyInput{API: api, Group: f.Group, PolicyDocument: f.Document}); err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		c.groupPoliciesView(w, r, s, http.StatusBadRequest, api, &f, editError(err))
		return
	}
	http.Redirect(w, r, Prefix+"apis/groups?api="+url.QueryEscape(api)+"&saved="+url.QueryEscape(f.Group), http.StatusSeeOther)
}

func (c *Console) deleteGroupPolicy(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActEditAPIs, nodeResource()) {
		return
	}
	api, group := r.PostFormValue("api"), r.PostFormValue("group")
	if _, err := c.call(r.Context(), s, "Gatehouse.DeleteGroupPolicy", avpapi.GroupPolicyRef{API: api, Group: group}); err != nil {
		c.failed(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"apis/groups?api="+url.QueryEscape(api)+"&deleted="+url.QueryEscape(group), http.StatusSeeOther)
}
