package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// ---- entities ----

// maxEntitySet is the largest entity set edited as one document; a bigger store's entities are
// edited one at a time (the page says so).
const maxEntitySet = 1000

// entitySet reads all of a store's entities (at most maxEntitySet; more reports false).
func (c *Console) entitySet(r *http.Request, id string) ([]types.Entity, bool, error) {
	var all []types.Entity
	token := ""
	for {
		page, next, err := c.d.Policies.ListEntities(r.Context(), id, token, 50)
		if err != nil {
			return nil, false, err
		}
		all = append(all, page...)
		if len(all) > maxEntitySet {
			return nil, false, nil
		}
		if next == "" {
			return all, true, nil
		}
		token = next
	}
}

// entityForm is what the entities editor shows.
type entityForm struct {
	// Set is the whole entity set (a Cedar JSON array) and Revision the store revision it was
	// read at; One is a single entity (a Cedar JSON object) and UID an entity to delete.
	Set      string
	Revision int64
	One, UID string
}

func (c *Console) entitiesEditPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.entitiesEditView(w, r, s, http.StatusOK, nil, nil)
}

// entitiesEditView renders the entity editors. f holds what was posted after a refused write
// (nil: the stored set); e is shown next to the editor its Field names ("entities", "entity"
// or "uid").
func (c *Console) entitiesEditView(w http.ResponseWriter, r *http.Request, s *session, status int, f *entityForm, e *apiError) {
	id, data, ok := c.openStore(w, r, s, ActEditStore)
	if !ok {
		return
	}
	if f == nil {
		f = &entityForm{}
	}
	// The revision is read before the set: a change after it makes the save's precondition
	// fail instead of being overwritten. A refused set keeps the revision it was read at, so
	// sending it again after a conflict fails again until the page is reloaded.
	if f.Set == "" {
		rev, err := c.d.Store.Revision(r.Context(), id)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		set, whole, err := c.entitySet(r, id)
		if err != nil {
			c.failed(w, r, s, err)
			return
		}
		data["TooMany"] = !whole
		if whole {
			if set == nil {
				set = []types.Entity{}
			}
			js, err := json.MarshalIndent(set, "", "  ")
			if err != nil {
				c.failed(w, r, s, err)
				return
			}
			f.Set, f.Revision = string(js), rev
		}
	}
	// ?uid= opens one entity in the single-entity editor.
	if u := r.URL.Query().Get("uid"); u != "" && f.One == "" {
		typ, eid, err := parseUID("uid", u)
		if err == nil {
			uid := types.NewEntityUID(types.EntityType(typ), types.String(eid))
			if ent, ok, err := c.oneEntity(r, id, uid); err == nil && ok {
				js, _ := json.MarshalIndent(ent, "", "  ")
				f.One, f.UID = string(js), u
			}
		}
	}
	data["Title"], data["Form"], data["Error"], data["Max"] = "Edit entities of "+id, f, e, maxEntitySet
	c.render(w, r, s, status, "editentities", data)
}

// oneEntity finds one stored entity by paging the store's entities in key order (there is no
// single-entity read); it stops at the first key past uid.
func (c *Console) oneEntity(r *http.Request, id string, uid types.EntityUID) (types.Entity, bool, error) {
	want := policystore.EntityKey(uid)
	token := ""
	for {
		page, next, err := c.d.Policies.ListEntities(r.Context(), id, token, 50)
		if err != nil {
			return types.Entity{}, false, err
		}
		for _, e := range page {
			if k := policystore.EntityKey(e.UID); k == want {
				return e, true, nil
			}
		}
		if next == "" {
			return types.Entity{}, false, nil
		}
		token = next
	}
}

// jsonSyntax reports a JSON syntax error in text with its line and column (the API's own
// message for it names only the field).
func jsonSyntax(field, text string) *apiError {
	var v any
	err := json.Unmarshal([]byte(text), &v)
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		if err != nil {
			return formField(field, "not JSON: "+err.Error())
		}
		return nil
	}
	line, col := 1, 1
	for _, b := range []byte(text)[:min(int(se.Offset), len(text))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &apiError{Field: field, Message: fmt.Sprintf("%s: JSON syntax error: %v", field, se), Line: line, Column: col}
}

// saveEntitySet makes the store's entities equal the posted set in one transaction: one
// Gatehouse.ApplyBundle with the set as the store's complete entities (replaceEntities: the
// ones it does not name are deleted, nothing else is touched) and the revision the page was
// read at — so a change made meanwhile refuses the save, nothing is written unless every
// entity conforms to the schema, and changed and removed entities land in the same commit.
func (c *Console) saveEntitySet(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	f := entityForm{Set: r.PostFormValue("entities")}
	bad := func(status int, e *apiError) { c.entitiesEditView(w, r, s, status, &f, e) }
	rev, err := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if err != nil {
		bad(http.StatusBadRequest, formField("revision", "missing or not a number: reload the page"))
		return
	}
	f.Revision = rev
	if strings.TrimSpace(f.Set) == "" {
		bad(http.StatusBadRequest, formField("entities", "write the entity set as a Cedar JSON array ([] for none)"))
		return
	}
	if e := jsonSyntax("entities", f.Set); e != nil {
		bad(http.StatusBadRequest, e)
		return
	}
	if _, err := avpapi.EntitiesFromCedarJSON([]byte(f.Set), "entities"); err != nil {
		bad(http.StatusBadRequest, editError(err))
		return
	}
	_, whole, err := c.entitySet(r, id)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	if !whole {
		bad(http.StatusBadRequest, formField("entities", fmt.Sprintf("the store has more than %d entities: edit them one at a time", maxEntitySet)))
		return
	}
	ps, err := c.d.Policies.GetPolicyStore(r.Context(), id)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	in := avpapi.ApplyBundleInput{ExpectedRevision: &rev, PolicyStore: &avpapi.BundleStore{PolicyStoreID: id, ValidationMode: ps.ValidationMode,
		Description: ps.Description, Entities: json.RawMessage(f.Set), ReplaceEntities: true}}
	refused := func(err error) {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		e := editError(err)
		e.Field = "entities"
		status := http.StatusBadRequest
		var ae *awsjson.Error
		if errors.As(err, &ae) && ae.Status == http.StatusConflict {
			status = http.StatusConflict
			e.Message = "The store changed since this page was opened (another person or a deployment wrote it). " +
				"The editor still holds your text; copy it, reload, and apply your change again. (" + e.Message + ")"
		}
		// Bundle paths name the entity as policyStore.entities[i]: say entities[i] as the form does.
		e.Message = strings.ReplaceAll(e.Message, "policyStore.entities", "entities")
		bad(status, e)
	}
	if _, err := c.call(r.Context(), s, "Gatehouse.ApplyBundle", in); err != nil {
		refused(err)
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/entities?saved=1", http.StatusSeeOther)
}

// putEntity adds or replaces one entity (Gatehouse.PutEntities).
func (c *Console) putEntity(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	f := entityForm{One: r.PostFormValue("entity")}
	bad := func(e *apiError) { c.entitiesEditView(w, r, s, http.StatusBadRequest, &f, e) }
	text := strings.TrimSpace(f.One)
	if text == "" {
		bad(formField("entity", `write one entity as Cedar JSON: {"uid": {"type": "…", "id": "…"}, "attrs": {}, "parents": []}`))
		return
	}
	if e := jsonSyntax("entity", text); e != nil {
		bad(e)
		return
	}
	if !strings.HasPrefix(text, "{") {
		bad(formField("entity", "write one entity as a JSON object (the whole set is edited above)"))
		return
	}
	arr := "[" + text + "]"
	if _, err := c.call(r.Context(), s, "Gatehouse.PutEntities", avpapi.PutEntitiesInput{PolicyStoreID: id,
		Entities: &avpapi.EntitiesDefinition{CedarJSON: &arr}}); err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		e := editError(err)
		e.Field = "entity"
		e.Message = strings.ReplaceAll(e.Message, "entities[0]", "entity")
		bad(e)
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/entities?saved=1", http.StatusSeeOther)
}

// deleteEntity deletes one entity by its Cedar reference (Gatehouse.DeleteEntities).
func (c *Console) deleteEntity(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	f := entityForm{UID: strings.TrimSpace(r.PostFormValue("uid"))}
	typ, eid, err := parseUID("uid", f.UID)
	if err != nil {
		c.entitiesEditView(w, r, s, http.StatusBadRequest, &f, &apiError{Field: "uid", Message: err.Error()})
		return
	}
	if _, err := c.call(r.Context(), s, "Gatehouse.DeleteEntities", avpapi.DeleteEntitiesInput{PolicyStoreID: id,
		Identifiers: []avpapi.EntityIdentifier{{EntityType: typ, EntityID: eid}}}); err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		e := editError(err)
		e.Field = "uid"
		c.entitiesEditView(w, r, s, http.StatusBadRequest, &f, e)
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/entities?deleted=1", http.StatusSeeOther)
}

// ---- identity sources ----

// sourceForm is the identity source editor: a Cognito user pool or an OIDC issuer.
type sourceForm struct {
	Kind                string // "cognito" or "oidc"
	PrincipalEntityType string
	UserPoolArn         string
	ClientIDs           string // Cognito client ids, or the OIDC identity token's client ids / access token's audiences
	GroupEntityType     string
	Issuer              string
	EntityIDPrefix      string
	GroupClaim          string
	Token               string // "identity" or "access" (OIDC token selection)
	PrincipalIDClaim    string
}

func sourceFormOf(is policystore.IdentitySource) sourceForm {
	f := sourceForm{Kind: "oidc", Token: "identity", PrincipalEntityType: is.PrincipalEntityType}
	if u := is.Configuration.CognitoUserPoolConfiguration; u != nil {
		f.Kind, f.UserPoolArn, f.ClientIDs = "cognito", u.UserPoolARN, strings.Join(u.ClientIDs, "\n")
		if u.GroupConfiguration != nil {
			f.GroupEntityType = u.GroupConfiguration.GroupEntityType
		}
	}
	if o := is.Configuration.OpenIDConnectConfiguration; o != nil {
		f.Issuer, f.EntityIDPrefix = o.Issuer, o.EntityIDPrefix
		if o.GroupConfiguration != nil {
			f.GroupClaim, f.GroupEntityType = o.GroupConfiguration.GroupClaim, o.GroupConfiguration.GroupEntityType
		}
		if a := o.TokenSelection.AccessTokenOnly; a != nil {
			f.Token, f.ClientIDs, f.PrincipalIDClaim = "access", strings.Join(a.Audiences, "\n"), a.PrincipalIDClaim
		}
		if i := o.TokenSelection.IdentityTokenOnly; i != nil {
			f.Token, f.ClientIDs, f.PrincipalIDClaim = "identity", strings.Join(i.ClientIDs, "\n"), i.PrincipalIDClaim
		}
	}
	return f
}

// list splits a field of ids written one a line or separated by commas or spaces.
func list(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
}

// configuration is the form as the API's configuration union; a form error names its field.
func (f sourceForm) configuration() (*avpapi.Configuration, *apiError) {
	switch f.Kind {
	case "cognito":
		u := &avpapi.CognitoUserPoolConfiguration{UserPoolArn: strings.TrimSpace(f.UserPoolArn), ClientIDs: list(f.ClientIDs)}
		if g := strings.TrimSpace(f.GroupEntityType); g != "" {
			u.GroupConfiguration = &identity.CognitoGroupConfiguration{GroupEntityType: g}
		}
		return &avpapi.Configuration{CognitoUserPoolConfiguration: u}, nil
	case "oidc":
		o := &avpapi.OpenIDConnectConfiguration{Issuer: strings.TrimSpace(f.Issuer), EntityIDPrefix: strings.TrimSpace(f.EntityIDPrefix)}
		if g, t := strings.TrimSpace(f.GroupClaim), strings.TrimSpace(f.GroupEntityType); g != "" || t != "" {
			o.GroupConfiguration = &identity.OpenIDConnectGroupConfiguration{GroupClaim: g, GroupEntityType: t}
		}
		claim := strings.TrimSpace(f.PrincipalIDClaim)
		switch f.Token {
		case "identity":
			o.TokenSelection = &identity.OpenIDConnectTokenSelection{IdentityTokenOnly: &identity.OpenIDConnectIdentityTokenConfiguration{PrincipalIDClaim: claim, ClientIDs: list(f.ClientIDs)}}
		case "access":
			o.TokenSelection = &identity.OpenIDConnectTokenSelection{AccessTokenOnly: &identity.OpenIDConnectAccessTokenConfiguration{PrincipalIDClaim: claim, Audiences: list(f.ClientIDs)}}
		default:
			return nil, formField("token", "choose the identity token or the access token")
		}
		return &avpapi.Configuration{OpenIDConnectConfiguration: o}, nil
	}
	return nil, formField("kind", "choose a Cognito user pool or an OpenID Connect issuer")
}

func (c *Console) sourcePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.sourceView(w, r, s, http.StatusOK, nil, nil)
}

func (c *Console) sourceView(w http.ResponseWriter, r *http.Request, s *session, status int, f *sourceForm, e *apiError) {
	sid := r.PathValue("source")
	id, data, ok := c.openStore(w, r, s, ActEditStore)
	if !ok {
		return
	}
	var is policystore.IdentitySource
	if sid != "" {
		var err error
		if is, err = c.d.Policies.GetIdentitySource(r.Context(), id, sid); err != nil {
			c.failed(w, r, s, err)
			return
		}
	}
	if f == nil {
		nf := sourceFormOf(is)
		if sid == "" {
			nf.Kind = "cognito"
		}
		f = &nf
	}
	title := "New identity source"
	if sid != "" {
		title = "Identity source " + is.ID
	}
	invalid := map[string]bool{}
	if e != nil {
		invalid[e.Field] = true
	}
	data["Title"], data["Source"], data["Form"], data["Error"], data["Invalid"] = title, is, f, e, invalid
	c.render(w, r, s, status, "editsource", data)
}

func (c *Console) saveSource(w http.ResponseWriter, r *http.Request, s *session) {
	id, sid := r.PathValue("store"), r.PathValue("source")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	f := sourceForm{Kind: r.PostFormValue("kind"), PrincipalEntityType: strings.TrimSpace(r.PostFormValue("principalEntityType")),
		UserPoolArn: r.PostFormValue("userPoolArn"), ClientIDs: r.PostFormValue("clientIds"), GroupEntityType: r.PostFormValue("groupEntityType"),
		Issuer: r.PostFormValue("issuer"), EntityIDPrefix: r.PostFormValue("entityIdPrefix"), GroupClaim: r.PostFormValue("groupClaim"),
		Token: r.PostFormValue("token"), PrincipalIDClaim: r.PostFormValue("principalIdClaim")}
	cfg, ferr := f.configuration()
	if ferr != nil {
		c.sourceView(w, r, s, http.StatusBadRequest, &f, ferr)
		return
	}
	var (
		out any
		err error
	)
	if sid == "" {
		out, err = c.call(r.Context(), s, "VerifiedPermissions.CreateIdentitySource", avpapi.CreateIdentitySourceInput{PolicyStoreID: id,
			Configuration: cfg, PrincipalEntityType: f.PrincipalEntityType})
	} else {
		out, err = c.call(r.Context(), s, "VerifiedPermissions.UpdateIdentitySource", avpapi.UpdateIdentitySourceInput{PolicyStoreID: id,
			IdentitySourceID: sid, UpdateConfiguration: cfg, PrincipalEntityType: &f.PrincipalEntityType})
	}
	if err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		e := editError(err)
		e.Field = sourceField(e.Field)
		c.sourceView(w, r, s, http.StatusBadRequest, &f, e)
		return
	}
	if o, ok := out.(*avpapi.IdentitySourceOutput); ok && o.IdentitySourceID != "" {
		sid = o.IdentitySourceID
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/sources/"+sid+"?saved=1", http.StatusSeeOther)
}

// sourceField maps the API's field path to the form field it came from, so the error is
// shown next to it.
func sourceField(path string) string {
	for _, m := range []struct{ suffix, field string }{
		{"userPoolArn", "userPoolArn"}, {"clientIds", "clientIds"}, {"audiences", "clientIds"}, {"issuer", "issuer"},
		{"entityIdPrefix", "entityIdPrefix"}, {"groupClaim", "groupClaim"}, {"groupEntityType", "groupEntityType"},
		{"principalIdClaim", "principalIdClaim"}, {"principalEntityType", "principalEntityType"},
	} {
		if strings.Contains(path, m.suffix) {
			return m.field
		}
	}
	return path
}

func (c *Console) deleteSource(w http.ResponseWriter, r *http.Request, s *session) {
	id, sid := r.PathValue("store"), r.PathValue("source")
	if !c.allow(w, r, s, ActEditStore, storeResource(id)) {
		return
	}
	if _, err := c.call(r.Context(), s, "VerifiedPermissions.DeleteIdentitySource", avpapi.DeleteIdentitySourceInput{PolicyStoreID: id, IdentitySourceID: sid}); err != nil {
		c.failed(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/sources?deleted="+sid, http.StatusSeeOther)
}
