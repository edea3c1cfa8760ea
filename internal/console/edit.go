package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// editRoutes registers the pages that edit a store's templates, links, entities and identity sources, and API definitions.
func (c *Console) editRoutes(mux *http.ServeMux) {
	// Templates and their links (EditStore).
	mux.Handle("GET "+Prefix+"stores/{store}/templates/new", c.authed(c.templatePage))
	mux.Handle("POST "+Prefix+"stores/{store}/templates", c.authed(c.saveTemplate))
	mux.Handle("GET "+Prefix+"stores/{store}/templates/{tpl}", c.authed(c.templatePage))
	mux.Handle("POST "+Prefix+"stores/{store}/templates/{tpl}", c.authed(c.saveTemplate))
	mux.Handle("POST "+Prefix+"stores/{store}/templates/{tpl}/delete", c.authed(c.deleteTemplate))
	mux.Handle("POST "+Prefix+"stores/{store}/templates/{tpl}/links", c.authed(c.createLink))
	mux.Handle("POST "+Prefix+"stores/{store}/templates/{tpl}/links/{policy}/delete", c.authed(c.deleteLink))
	// Entities (EditStore).
	mux.Handle("GET "+Prefix+"stores/{store}/entities/edit", c.authed(c.entitiesEditPage))
	mux.Handle("POST "+Prefix+"stores/{store}/entities/edit", c.authed(c.saveEntitySet))
	mux.Handle("POST "+Prefix+"stores/{store}/entities/put", c.authed(c.putEntity))
	mux.Handle("POST "+Prefix+"stores/{store}/entities/delete", c.authed(c.deleteEntity))
	// Identity sources (EditStore).
	mux.Handle("GET "+Prefix+"stores/{store}/sources/new", c.authed(c.sourcePage))
	mux.Handle("POST "+Prefix+"stores/{store}/sources", c.authed(c.saveSource))
	mux.Handle("GET "+Prefix+"stores/{store}/sources/{source}", c.authed(c.sourcePage))
	mux.Handle("POST "+Prefix+"stores/{store}/sources/{source}", c.authed(c.saveSource))
	mux.Handle("POST "+Prefix+"stores/{store}/sources/{source}/delete", c.authed(c.deleteSource))
	// API definitions and group IAM policies (EditAPIs on the node). The API is named in the
	// query or the form, not the path, so that no API name can shadow a page.
	mux.Handle("GET "+Prefix+"apis/edit", c.authed(c.apiEditPage))
	mux.Handle("POST "+Prefix+"apis/edit", c.authed(c.saveAPI))
	mux.Handle("POST "+Prefix+"apis/delete", c.authed(c.deleteAPI))
	mux.Handle("GET "+Prefix+"apis/groups", c.authed(c.groupPoliciesPage))
	mux.Handle("POST "+Prefix+"apis/groups", c.authed(c.saveGroupPolicy))
	mux.Handle("POST "+Prefix+"apis/groups/delete", c.authed(c.deleteGroupPolicy))
}

// editError is a management API error as an edit form shows it: toAPIError's, except that an
// error about the whole document (empty field path, such as a YAML error naming its line) is
// not prefixed with ": ".
func editError(err error) *apiError {
	e := toAPIError(err)
	var ae *awsjson.Error
	if errors.As(err, &ae) && ae.Status < 500 && len(ae.Fields) > 0 && ae.Fields[0].Path == "" {
		e.Message = ae.Fields[0].Message
	}
	return e
}

// formField is a form error a handler finds before any write (a 400 naming the field).
func formField(field, msg string) *apiError {
	return &apiError{Field: field, Message: field + ": " + msg}
}

// canEdit reports whether s may take action on the store of the request (to show forms; every
// write decides again).
func (c *Console) canEdit(r *http.Request, s *session, action, id string) bool {
	return c.decide(r.Context(), s, action, storeResource(id)).Allowed
}

// ---- templates and links ----

type linkRow struct {
	ID, Name, Principal, Resource string
}

// templateForm is what the template editor shows (the stored template, or what was posted).
type templateForm struct {
	Name, Description, Statement string
	// Principal and Resource are the link form's fields.
	Principal, Resource string
}

func (c *Console) templatePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.templateView(w, r, s, http.StatusOK, nil, nil, nil)
}

// templateView renders the template editor: the template (new when the path has none), its
// links and the link form. f replaces the stored text after a refused write; ferr is shown
// next to the template editor, lerr next to the link form.
func (c *Console) templateView(w http.ResponseWriter, r *http.Request, s *session, status int, f *templateForm, ferr, lerr *apiError) {
	tid := r.PathValue("tpl")
	id, data, ok := c.openStore(w, r, s, ActView)
	if !ok {
		return
	}
	var t policystore.Template
	var links []linkRow
	if tid != "" {
		var err error
		if t, err = c.d.Policies.GetPolicyTemplate(r.Context(), id, tid); err != nil {
			c.failed(w, r, s, err)
			return
		}
		// A template's links, a page at a time (the store's own filter).
		pols, next, err := c.d.Policies.ListPolicies(r.Context(), id, policystore.PolicyFilter{TemplateID: t.ID}, r.URL.Query().Get("page"), 50)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		for _, p := range pols {
			links = append(links, linkRow{ID: p.ID, Name: strings.TrimPrefix(p.Name, "name/"), Principal: entityText(p.LinkPrincipal), Resource: entityText(p.LinkResource)})
		}
		data["Next"] = next
	}
	if f == nil {
		f = &templateForm{Name: strings.TrimPrefix(t.Name, "name/"), Description: t.Description, Statement: t.Statement}
	}
	title := "New template"
	if tid != "" {
		title = "Template " + t.ID
	}
	data["Title"], data["Template"], data["Form"], data["Links"], data["Error"], data["LinkError"] = title, t, f, links, ferr, lerr
	if pt, err := policy.ParseTemplate(t.Statement); err == nil {
		data["HasPrincipal"], data["HasResource"] = pt.HasPrincipal(), pt.HasResource()
	}
	data["CanEdit"] = c.canEdit(r, s, ActEditStore, id)
	c.render(w, r, s, status, "edittemplate", data)
}

func (c *Console) saveTemplate(w http.ResponseWriter, r *http.Request, s *session) {
	id, tid := r.PathValue("store"), r.PathValue("tpl")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	f := templateForm{Name: strings.TrimSpace(r.PostFormValue("name")), Description: r.PostFormValue("description"), Statement: r.PostFormValue("statement")}
	wireName := ""
	if f.Name != "" {
		wireName = "name/" + f.Name
	}
	var (
		out any
		err error
	)
	if tid == "" {
		out, err = c.call(r.Context(), s, "VerifiedPermissions.CreatePolicyTemplate", avpapi.CreatePolicyTemplateInput{PolicyStoreID: id,
			Statement: f.Statement, Description: f.Description, Name: wireName})
	} else {
		in := avpapi.UpdatePolicyTemplateInput{PolicyStoreID: id, PolicyTemplateID: tid, Statement: f.Statement, Description: &f.Description}
		if wireName != "" {
			in.Name = &wireName
		}
		out, err = c.call(r.Context(), s, "VerifiedPermissions.UpdatePolicyTemplate", in)
	}
	if err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		c.templateView(w, r, s, http.StatusBadRequest, &f, editError(err), nil)
		return
	}
	if o, ok := out.(*avpapi.PolicyTemplateOutput); ok && o.PolicyTemplateID != "" {
		tid = o.PolicyTemplateID
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/templates/"+tid+"?saved=1", http.StatusSeeOther)
}

func (c *Console) deleteTemplate(w http.ResponseWriter, r *http.Request, s *session) {
	id, tid := r.PathValue("store"), r.PathValue("tpl")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	if _, err := c.call(r.Context(), s, "VerifiedPermissions.DeletePolicyTemplate", avpapi.DeletePolicyTemplateInput{PolicyStoreID: id, PolicyTemplateID: tid}); err != nil {
		c.failed(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/templates?deleted="+url.QueryEscape(tid), http.StatusSeeOther)
}

// createLink links the template: the principal and resource fields fill its ?principal and
// ?resource slots (a field the template has no slot for must be empty; the API says so).
func (c *Console) createLink(w http.ResponseWriter, r *http.Request, s *session) {
	id, tid := r.PathValue("store"), r.PathValue("tpl")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	f := templateForm{Principal: strings.TrimSpace(r.PostFormValue("principal")), Resource: strings.TrimSpace(r.PostFormValue("resource"))}
	name := strings.TrimSpace(r.PostFormValue("linkName"))
	bad := func(e *apiError) {
		tf := f
		c.linkFormView(w, r, s, &tf, e)
	}
	def := &avpapi.TemplateLinkedPolicyDefinition{PolicyTemplateID: tid}
	for _, slot := range []struct {
		field, text string
		to          **avpapi.EntityIdentifier
	}{{"principal", f.Principal, &def.Principal}, {"resource", f.Resource, &def.Resource}} {
		if slot.text == "" {
			continue
		}
		typ, eid, err := parseUID(slot.field, slot.text)
		if err != nil {
			bad(&apiError{Field: slot.field, Message: err.Error()})
			return
		}
		*slot.to = &avpapi.EntityIdentifier{EntityType: typ, EntityID: eid}
	}
	in := avpapi.CreatePolicyInput{PolicyStoreID: id, Definition: &avpapi.PolicyDefinition{TemplateLinked: def}}
	if name != "" {
		in.Name = "name/" + name
	}
	if _, err := c.call(r.Context(), s, "VerifiedPermissions.CreatePolicy", in); err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		bad(editError(err))
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/templates/"+tid+"?linked=1#links", http.StatusSeeOther)
}

// linkFormView re-renders the template page with the posted link fields and their error.
func (c *Console) linkFormView(w http.ResponseWriter, r *http.Request, s *session, f *templateForm, e *apiError) {
	id, tid := r.PathValue("store"), r.PathValue("tpl")
	t, err := c.d.Policies.GetPolicyTemplate(r.Context(), id, tid)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	f.Name, f.Description, f.Statement = strings.TrimPrefix(t.Name, "name/"), t.Description, t.Statement
	c.templateView(w, r, s, http.StatusBadRequest, f, nil, e)
}

func (c *Console) deleteLink(w http.ResponseWriter, r *http.Request, s *session) {
	id, tid, pid := r.PathValue("store"), r.PathValue("tpl"), r.PathValue("policy")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	// Only a link of this template is deleted here: a static policy's id in the path is refused
	// rather than deleted under the EditStore action (static policies need EditPolicy).
	p, err := c.d.Policies.GetPolicy(r.Context(), id, pid)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if p.Type != policystore.TypeTemplateLinked || p.TemplateID != tid {
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", "policy: "+pid+" is not a link of template "+tid+".")
		return
	}
	if _, err := c.call(r.Context(), s, "VerifiedPermissions.DeletePolicy", avpapi.DeletePolicyInput{PolicyStoreID: id, PolicyID: pid}); err != nil {
		c.failed(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/templates/"+tid+"?unlinked="+url.QueryEscape(pid)+"#links", http.StatusSeeOther)
}
