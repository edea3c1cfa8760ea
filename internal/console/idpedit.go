package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// idpEditRoutes registers the pages that change the built-in IdP's users, groups and clients.
// Every write is decided by EditIdP (administrators out of the box) before anything is read,
// and runs the IdP's own Cognito operation with the person as the caller (idpeditdir.go).
func (c *Console) idpEditRoutes(mux *http.ServeMux) {
	p := Prefix + "idp/"
	mux.Handle("GET "+p+"new-pool", c.authed(c.idpNewPoolPage))
	mux.Handle("POST "+p+"{$}", c.authed(c.idpCreatePool))
	mux.Handle("GET "+p+"{pool}/new-user", c.authed(c.idpNewUserPage))
	mux.Handle("POST "+p+"{pool}/users", c.authed(c.idpCreateUser))
	mux.Handle("GET "+p+"{pool}/users/{user}", c.authed(c.idpUserPage))
	mux.Handle("POST "+p+"{pool}/users/{user}/enabled", c.authed(c.idpSetEnabled))
	mux.Handle("POST "+p+"{pool}/users/{user}/password", c.authed(c.idpSetPassword))
	mux.Handle("POST "+p+"{pool}/users/{user}/reset", c.authed(c.idpResetPassword))
	mux.Handle("POST "+p+"{pool}/users/{user}/attributes", c.authed(c.idpUpdateAttributes))
	mux.Handle("POST "+p+"{pool}/users/{user}/signout", c.authed(c.idpSignOutUser))
	mux.Handle("GET "+p+"{pool}/users/{user}/delete", c.authed(c.idpDeleteUserPage))
	mux.Handle("POST "+p+"{pool}/users/{user}/delete", c.authed(c.idpDeleteUser))
	mux.Handle("POST "+p+"{pool}/users/{user}/groups", c.authed(c.idpUserAddGroup))
	mux.Handle("POST "+p+"{pool}/users/{user}/groups/{group}/remove", c.authed(c.idpUserRemoveGroup))
	mux.Handle("GET "+p+"{pool}/new-group", c.authed(c.idpNewGroupPage))
	mux.Handle("POST "+p+"{pool}/groups", c.authed(c.idpCreateGroup))
	mux.Handle("GET "+p+"{pool}/groups/{group}", c.authed(c.idpGroupPage))
	mux.Handle("POST "+p+"{pool}/groups/{group}/members", c.authed(c.idpGroupAddMember))
	mux.Handle("POST "+p+"{pool}/groups/{group}/members/{user}/remove", c.authed(c.idpGroupRemoveMember))
	mux.Handle("GET "+p+"{pool}/new-client", c.authed(c.idpNewClientPage))
	mux.Handle("POST "+p+"{pool}/clients", c.authed(c.idpCreateClient))
}

// idpForm is a form page's state: the values to show again and the error of each field
// (Errors[""] is about the whole form).
type idpForm struct {
	Values map[string]string
	Errors map[string]string
}

func newIdPForm() *idpForm { return &idpForm{Values: map[string]string{}, Errors: map[string]string{}} }

// Err is the error of field (templates: {{with .Data.Form.Err "username"}}).
func (f *idpForm) Err(field string) string { return f.Errors[field] }

// V is the value of field shown again.
func (f *idpForm) V(field string) string { return f.Values[field] }

// idpFields names, for one form, the field each Cognito exception concerns (by exception
// name) and the field an InvalidParameterException concerns (by a word of its message, which
// names the parameter: "Username must be 1-128 characters.").
type idpFields struct {
	codes    map[string]string
	keywords [][2]string // message substring → field, first match wins
}

// fieldOf returns the field err concerns, "" for the form as a whole.
func (m idpFields) fieldOf(ae *awsjson.Error) string {
	if f, ok := m.codes[ae.Type]; ok {
		return f
	}
	if ae.Type == "InvalidParameterException" {
		msg := strings.ToLower(ae.Message)
		for _, kw := range m.keywords {
			if strings.Contains(msg, strings.ToLower(kw[0])) {
				return kw[1]
			}
		}
	}
	return ""
}

// idpEditor is the directory's write side, or nil when this node's console cannot write.
func (c *Console) idpEditor() IdPEditor {
	if c.d.IdPDirectory == nil {
		return nil
	}
	ed, _ := c.d.IdPDirectory.(IdPEditor)
	return ed
}

// idpAllowed decides EditIdP (or ViewIdP for a page that only reads) and checks the node can
// change its IdP; it answers the refusal and reports whether to go on.
func (c *Console) idpAllowed(w http.ResponseWriter, r *http.Request, s *session, action string) (IdPEditor, bool) {
	if !c.allow(w, r, s, action, nodeResource()) {
		return nil, false
	}
	ed := c.idpEditor()
	if ed == nil {
		c.errorPage(w, r, s, http.StatusNotFound, "Not served", "This node does not serve the built-in IdP (setting idpListen), or its console cannot change it.")
		return nil, false
	}
	return ed, true
}

// cognito runs one IdP operation as the signed-in person.
func (c *Console) cognito(ctx context.Context, ed IdPEditor, s *session, op string, in, out any) error {
	return ed.Cognito(ctx, "console:"+s.user, op, in, out)
}

// idpRefused answers a failed IdP call. Client errors are 4xx: with a form (f non-nil) the
// page is rendered again with the message next to the field it concerns, otherwise an error
// page naming the exception; a missing pool, user or group is 404; anything else is 500 with
// the detail only in the log.
func (c *Console) idpRefused(w http.ResponseWriter, r *http.Request, s *session, err error, fields idpFields, f *idpForm, page string, data map[string]any) {
	var ae *awsjson.Error
	if !errors.As(err, &ae) || ae.Status >= 500 {
		if errors.Is(err, errNoEditor) {
			c.errorPage(w, r, s, http.StatusNotFound, "Not served", err.Error())
			return
		}
		c.d.Logger.Error("console IdP write failed", "err", err)
		c.errorPage(w, r, s, http.StatusInternalServerError, "Something failed", "The request failed; the node's log says why.")
		return
	}
	field := fields.fieldOf(ae)
	status := http.StatusBadRequest
	if field == "" && (ae.Type == "ResourceNotFoundException" || ae.Type == "UserNotFoundException") {
		status = http.StatusNotFound
	}
	msg := ae.Type + ": " + ae.Message
	if f == nil || status == http.StatusNotFound {
		title := "Request refused"
		if status == http.StatusNotFound {
			title = "Not found"
		}
		c.errorPage(w, r, s, status, title, msg)
		return
	}
	f.Errors[field] = msg
	data["Form"] = f
	c.render(w, r, s, status, page, data)
}

// idpDone sends the person back to a page after a write, saying what was done (the message is
// fixed text chosen here, never taken from the request).
func idpDone(w http.ResponseWriter, r *http.Request, to, done string) {
	http.Redirect(w, r, to+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// idpDoneMessages are the confirmations a page shows for ?done=.
var idpDoneMessages = map[string]string{
	"created":    "User created.",
	"enabled":    "User enabled: they can sign in again.",
	"disabled":   "User disabled: sign-ins are refused and every token issued to them is revoked.",
	"password":   "Password set.",
	"reset":      "Password reset: the user cannot sign in until an administrator sets a new password; their tokens are revoked.",
	"attributes": "Attributes saved.",
	"signedout":  "Signed out everywhere: every token issued to the user so far is revoked.",
	"added":      "Added to the group.",
	"removed":    "Removed from the group.",
	"deleted":    "User deleted.",
	"group":      "Group created.",
	"pool":       "User pool created.",
	"member":     "Member added.",
	"memberout":  "Member removed.",
}

func doneMessage(r *http.Request) string { return idpDoneMessages[r.URL.Query().Get("done")] }

func poolPath(pool string) string { return Prefix + "idp/" + url.PathEscape(pool) }

func userPath(pool, user string) string { return poolPath(pool) + "/users/" + url.PathEscape(user) }

func groupPath(pool, group string) string { return poolPath(pool) + "/groups/" + url.PathEscape(group) }

// --- Cognito shapes (only the fields the console sends or shows) ---------------------------

type cogAttr struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type cogUserRef struct {
	UserPoolID string `json:"UserPoolId"`
	Username   string `json:"Username"`
}

type cogUserGroup struct {
	UserPoolID string `json:"UserPoolId"`
	Username   string `json:"Username"`
	GroupName  string `json:"GroupName"`
}

type cogGroup struct {
	GroupName   string `json:"GroupName"`
	Description string `json:"Description,omitempty"`
	Precedence  *int32 `json:"Precedence,omitempty"`
}

// --- pools -----------------------------------------------------------------------------------

func (c *Console) idpNewPoolPage(w http.ResponseWriter, r *http.Request, s *session) {
	if _, ok := c.idpAllowed(w, r, s, ActEditIdP); !ok {
		return
	}
	c.render(w, r, s, http.StatusOK, "idpeditpool", map[string]any{"Title": "Create a user pool", "Form": newIdPForm()})
}

func (c *Console) idpCreatePool(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	f := newIdPForm()
	name := strings.TrimSpace(r.PostFormValue("name"))
	f.Values["name"] = name
	data := map[string]any{"Title": "Create a user pool"}
	if name == "" {
		f.Errors["name"] = "Pool name: enter a name."
		data["Form"] = f
		c.render(w, r, s, http.StatusBadRequest, "idpeditpool", data)
		return
	}
	var out struct {
		UserPool struct {
			ID string `json:"Id"`
		} `json:"UserPool"`
	}
	if err := c.cognito(r.Context(), ed, s, "CreateUserPool", map[string]any{"PoolName": name}, &out); err != nil {
		c.idpRefused(w, r, s, err, idpFields{keywords: [][2]string{{"poolname", "name"}}}, f, "idpeditpool", data)
		return
	}
	idpDone(w, r, poolPath(out.UserPool.ID), "pool")
}

// --- users -----------------------------------------------------------------------------------

// userFields: the fields of the user forms each Cognito refusal concerns.
var userFields = idpFields{
	codes: map[string]string{"UsernameExistsException": "username", "InvalidPasswordException": "password"},
	keywords: [][2]string{{"username", "username"}, {"password", "password"}, {"attribute", "attributes"},
		{"email", "email"}},
}

func (c *Console) idpNewUserPage(w http.ResponseWriter, r *http.Request, s *session) {
	if _, ok := c.idpAllowed(w, r, s, ActEditIdP); !ok {
		return
	}
	pool := r.PathValue("pool")
	c.render(w, r, s, http.StatusOK, "idpedituser-new", map[string]any{"Title": "Create a user in " + pool, "Pool": pool, "Form": newIdPForm()})
}

// idpCreateUser runs AdminCreateUser: with a temporary password the user must choose their own
// at the first sign-in; without one the user exists but cannot sign in until an administrator
// sets a password (this IdP sends no invitation messages).
func (c *Console) idpCreateUser(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	pool := r.PathValue("pool")
	f := newIdPForm()
	username, email := strings.TrimSpace(r.PostFormValue("username")), strings.TrimSpace(r.PostFormValue("email"))
	f.Values["username"], f.Values["email"] = username, email
	data := map[string]any{"Title": "Create a user in " + pool, "Pool": pool}
	if username == "" {
		f.Errors["username"] = "Username: enter a username."
		data["Form"] = f
		c.render(w, r, s, http.StatusBadRequest, "idpedituser-new", data)
		return
	}
	in := map[string]any{"UserPoolId": pool, "Username": username, "MessageAction": "SUPPRESS"}
	if pw := r.PostFormValue("password"); pw != "" {
		in["TemporaryPassword"] = pw
	}
	if email != "" {
		in["UserAttributes"] = []cogAttr{{Name: "email", Value: email}}
	}
	if err := c.cognito(r.Context(), ed, s, "AdminCreateUser", in, nil); err != nil {
		c.idpRefused(w, r, s, err, userFields, f, "idpedituser-new", data)
		return
	}
	idpDone(w, r, userPath(pool, username), "created")
}

// idpUserView is what the user page shows (never a password hash: AdminGetUser has none).
type idpUserView struct {
	Username, Status   string
	Enabled            bool
	Attributes         []cogAttr
	Groups, OtherGroup []string
}

// loadUser reads a user, their groups and the pool's other groups.
func (c *Console) loadUser(ctx context.Context, ed IdPEditor, s *session, pool, username string) (*idpUserView, error) {
	var u struct {
		Username       string    `json:"Username"`
		UserAttributes []cogAttr `json:"UserAttributes"`
		Enabled        bool      `json:"Enabled"`
		UserStatus     string    `json:"UserStatus"`
	}
	if err := c.cognito(ctx, ed, s, "AdminGetUser", cogUserRef{UserPoolID: pool, Username: username}, &u); err != nil {
		return nil, err
	}
	v := &idpUserView{Username: u.Username, Status: u.UserStatus, Enabled: u.Enabled, Attributes: u.UserAttributes}
	mine, err := c.listGroups(ctx, ed, s, "AdminListGroupsForUser", map[string]any{"UserPoolId": pool, "Username": username})
	if err != nil {
		return nil, err
	}
	all, err := c.listGroups(ctx, ed, s, "ListGroups", map[string]any{"UserPoolId": pool})
	if err != nil {
		return nil, err
	}
	v.Groups = mine
	for _, g := range all {
		if !slices.Contains(mine, g) {
			v.OtherGroup = append(v.OtherGroup, g)
		}
	}
	return v, nil
}

// listGroups pages through a group listing operation and returns the names.
func (c *Console) listGroups(ctx context.Context, ed IdPEditor, s *session, op string, in map[string]any) ([]string, error) {
	var names []string
	for {
		var out struct {
			Groups    []cogGroup `json:"Groups"`
			NextToken string     `json:"NextToken"`
		}
		if err := c.cognito(ctx, ed, s, op, in, &out); err != nil {
			return nil, err
		}
		for _, g := range out.Groups {
			names = append(names, g.GroupName)
		}
		if out.NextToken == "" || len(names) >= 1000 {
			return names, nil
		}
		in["NextToken"] = out.NextToken
	}
}

func (c *Console) idpUserPage(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	c.renderUser(w, r, s, ed, http.StatusOK, nil, "")
}

// renderUser renders the user page, with a form's error when a write on it was refused.
func (c *Console) renderUser(w http.ResponseWriter, r *http.Request, s *session, ed IdPEditor, status int, f *idpForm, form string) {
	pool, username := r.PathValue("pool"), r.PathValue("user")
	u, err := c.loadUser(r.Context(), ed, s, pool, username)
	if err != nil {
		c.idpRefused(w, r, s, err, idpFields{}, nil, "", nil)
		return
	}
	if f == nil {
		f = newIdPForm()
	}
	c.render(w, r, s, status, "idpedituser", map[string]any{"Title": "User " + username, "Pool": pool, "User": u,
		"Form": f, "FormName": form, "Done": doneMessage(r), "DoneKey": r.URL.Query().Get("done")})
}

// userWrite runs one write of the user page; a refusal renders the page again with the
// message next to the form's field.
func (c *Console) userWrite(w http.ResponseWriter, r *http.Request, s *session, ed IdPEditor, form, op string, in any, fields idpFields, f *idpForm, done string) {
	if err := c.cognito(r.Context(), ed, s, op, in, nil); err != nil {
		// A refusal is shown on the page next to the field it concerns; a missing user or
		// pool (no field) is a 404.
		var ae *awsjson.Error
		if errors.As(err, &ae) && ae.Status < 500 {
			field := fields.fieldOf(ae)
			if field != "" || ae.Type != "UserNotFoundException" && ae.Type != "ResourceNotFoundException" {
				if f == nil {
					f = newIdPForm()
				}
				f.Errors[field] = ae.Type + ": " + ae.Message
				c.renderUser(w, r, s, ed, http.StatusBadRequest, f, form)
				return
			}
		}
		c.idpRefused(w, r, s, err, fields, nil, "", nil)
		return
	}
	idpDone(w, r, userPath(r.PathValue("pool"), r.PathValue("user")), done)
}

func (c *Console) idpSetEnabled(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	op, done := "", ""
	switch r.PostFormValue("enabled") {
	case "true":
		op, done = "AdminEnableUser", "enabled"
	case "false":
		op, done = "AdminDisableUser", "disabled"
	default:
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", "enabled: must be true or false.")
		return
	}
	c.userWrite(w, r, s, ed, "enabled", op, cogUserRef{UserPoolID: r.PathValue("pool"), Username: r.PathValue("user")}, idpFields{}, nil, done)
}

// idpSetPassword runs AdminSetUserPassword: temporary unless "permanent" is checked.
func (c *Console) idpSetPassword(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	pw := r.PostFormValue("password")
	f := newIdPForm()
	f.Values["permanent"] = r.PostFormValue("permanent")
	if pw == "" {
		f.Errors["password"] = "Password: enter a password."
		c.renderUser(w, r, s, ed, http.StatusBadRequest, f, "password")
		return
	}
	in := map[string]any{"UserPoolId": r.PathValue("pool"), "Username": r.PathValue("user"), "Password": pw,
		"Permanent": r.PostFormValue("permanent") == "on"}
	c.userWrite(w, r, s, ed, "password", "AdminSetUserPassword", in, idpFields{codes: map[string]string{"InvalidPasswordException": "password"},
		keywords: [][2]string{{"password", "password"}}}, f, "password")
}

func (c *Console) idpResetPassword(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	c.userWrite(w, r, s, ed, "reset", "AdminResetUserPassword", cogUserRef{UserPoolID: r.PathValue("pool"), Username: r.PathValue("user")}, idpFields{}, nil, "reset")
}

func (c *Console) idpSignOutUser(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	c.userWrite(w, r, s, ed, "signout", "AdminUserGlobalSignOut", cogUserRef{UserPoolID: r.PathValue("pool"), Username: r.PathValue("user")}, idpFields{}, nil, "signedout")
}

// idpUpdateAttributes runs AdminUpdateUserAttributes with the attribute fields of the form
// (attr.<name>, changed or not) and the optional new pair newName/newValue. sub is not
// editable and is not sent.
func (c *Console) idpUpdateAttributes(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", "The form could not be read.")
		return
	}
	f := newIdPForm()
	var attrs []cogAttr
	names := make([]string, 0, len(r.PostForm))
	for k := range r.PostForm {
		if name, ok := strings.CutPrefix(k, "attr."); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		attrs = append(attrs, cogAttr{Name: name, Value: r.PostForm.Get("attr." + name)})
	}
	newName, newValue := strings.TrimSpace(r.PostForm.Get("newName")), r.PostForm.Get("newValue")
	f.Values["newName"], f.Values["newValue"] = newName, newValue
	if newName == "" && newValue != "" {
		f.Errors["newName"] = "New attribute name: enter the name of the attribute to set."
		c.renderUser(w, r, s, ed, http.StatusBadRequest, f, "attributes")
		return
	}
	if newName != "" {
		attrs = append(attrs, cogAttr{Name: newName, Value: newValue})
	}
	if len(attrs) == 0 {
		f.Errors["newName"] = "Attributes: nothing to save."
		c.renderUser(w, r, s, ed, http.StatusBadRequest, f, "attributes")
		return
	}
	in := map[string]any{"UserPoolId": r.PathValue("pool"), "Username": r.PathValue("user"), "UserAttributes": attrs}
	// A refused attribute is shown by the new-name field when it is the new one, else above
	// the form.
	fields := idpFields{}
	if newName != "" {
		fields.keywords = [][2]string{{newName, "newName"}}
	}
	c.userWrite(w, r, s, ed, "attributes", "AdminUpdateUserAttributes", in, fields, f, "attributes")
}

func (c *Console) idpUserAddGroup(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	group := r.PostFormValue("group")
	f := newIdPForm()
	if group == "" {
		f.Errors["group"] = "Group: choose a group."
		c.renderUser(w, r, s, ed, http.StatusBadRequest, f, "group")
		return
	}
	in := cogUserGroup{UserPoolID: r.PathValue("pool"), Username: r.PathValue("user"), GroupName: group}
	c.userWrite(w, r, s, ed, "group", "AdminAddUserToGroup", in, idpFields{codes: map[string]string{"ResourceNotFoundException": "group"},
		keywords: [][2]string{{"group", "group"}}}, f, "added")
}

func (c *Console) idpUserRemoveGroup(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	in := cogUserGroup{UserPoolID: r.PathValue("pool"), Username: r.PathValue("user"), GroupName: r.PathValue("group")}
	c.userWrite(w, r, s, ed, "group", "AdminRemoveUserFromGroup", in, idpFields{}, nil, "removed")
}

// idpDeleteUserPage is the confirmation step: deleting a user cannot be undone, so the form
// asks for the username typed again.
func (c *Console) idpDeleteUserPage(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	c.renderDeleteUser(w, r, s, ed, http.StatusOK, newIdPForm())
}

func (c *Console) renderDeleteUser(w http.ResponseWriter, r *http.Request, s *session, ed IdPEditor, status int, f *idpForm) {
	pool, username := r.PathValue("pool"), r.PathValue("user")
	u, err := c.loadUser(r.Context(), ed, s, pool, username)
	if err != nil {
		c.idpRefused(w, r, s, err, idpFields{}, nil, "", nil)
		return
	}
	c.render(w, r, s, status, "idpedituser-delete", map[string]any{"Title": "Delete user " + username, "Pool": pool, "User": u, "Form": f})
}

func (c *Console) idpDeleteUser(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	pool, username := r.PathValue("pool"), r.PathValue("user")
	if r.PostFormValue("confirm") != username {
		f := newIdPForm()
		f.Errors["confirm"] = "Confirm: type the username " + username + " exactly to delete the user."
		c.renderDeleteUser(w, r, s, ed, http.StatusBadRequest, f)
		return
	}
	if err := c.cognito(r.Context(), ed, s, "AdminDeleteUser", cogUserRef{UserPoolID: pool, Username: username}, nil); err != nil {
		c.idpRefused(w, r, s, err, idpFields{}, nil, "", nil)
		return
	}
	idpDone(w, r, poolPath(pool), "deleted")
}

// --- groups ----------------------------------------------------------------------------------

var groupFields = idpFields{
	codes:    map[string]string{"GroupExistsException": "name"},
	keywords: [][2]string{{"groupname", "name"}, {"description", "description"}, {"precedence", "precedence"}},
}

func (c *Console) idpNewGroupPage(w http.ResponseWriter, r *http.Request, s *session) {
	if _, ok := c.idpAllowed(w, r, s, ActEditIdP); !ok {
		return
	}
	pool := r.PathValue("pool")
	c.render(w, r, s, http.StatusOK, "idpeditgroup-new", map[string]any{"Title": "Create a group in " + pool, "Pool": pool, "Form": newIdPForm()})
}

func (c *Console) idpCreateGroup(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	pool := r.PathValue("pool")
	f := newIdPForm()
	name, desc, prec := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("description"), strings.TrimSpace(r.PostFormValue("precedence"))
	f.Values["name"], f.Values["description"], f.Values["precedence"] = name, desc, prec
	data := map[string]any{"Title": "Create a group in " + pool, "Pool": pool, "Form": f}
	g := cogGroup{GroupName: name, Description: desc}
	switch {
	case name == "":
		f.Errors["name"] = "Group name: enter a name."
	case prec != "":
		n, err := strconv.ParseInt(prec, 10, 32)
		if err != nil || n < 0 {
			f.Errors["precedence"] = "Precedence: enter a whole number of 0 or more, or leave it empty."
		}
		p := int32(n)
		g.Precedence = &p
	}
	if len(f.Errors) > 0 {
		c.render(w, r, s, http.StatusBadRequest, "idpeditgroup-new", data)
		return
	}
	in := struct {
		UserPoolID string `json:"UserPoolId"`
		cogGroup
	}{pool, g}
	if err := c.cognito(r.Context(), ed, s, "CreateGroup", in, nil); err != nil {
		c.idpRefused(w, r, s, err, groupFields, f, "idpeditgroup-new", data)
		return
	}
	idpDone(w, r, groupPath(pool, name), "group")
}

// idpGroupPage shows a group with its members (paged through ListUsersInGroup) and the forms
// to add and remove members.
func (c *Console) idpGroupPage(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	c.renderGroup(w, r, s, ed, http.StatusOK, newIdPForm())
}

func (c *Console) renderGroup(w http.ResponseWriter, r *http.Request, s *session, ed IdPEditor, status int, f *idpForm) {
	ctx, pool, group := r.Context(), r.PathValue("pool"), r.PathValue("group")
	var g struct {
		Group cogGroup `json:"Group"`
	}
	if err := c.cognito(ctx, ed, s, "GetGroup", map[string]any{"UserPoolId": pool, "GroupName": group}, &g); err != nil {
		c.idpRefused(w, r, s, err, idpFields{}, nil, "", nil)
		return
	}
	in := map[string]any{"UserPoolId": pool, "GroupName": group, "Limit": usersPerPage}
	page := r.URL.Query().Get("page")
	if page != "" {
		in["NextToken"] = page
	}
	var members struct {
		Users []struct {
			Username   string `json:"Username"`
			Enabled    bool   `json:"Enabled"`
			UserStatus string `json:"UserStatus"`
		} `json:"Users"`
		NextToken string `json:"NextToken"`
	}
	if err := c.cognito(ctx, ed, s, "ListUsersInGroup", in, &members); err != nil {
		c.idpRefused(w, r, s, err, idpFields{}, nil, "", nil)
		return
	}
	c.render(w, r, s, status, "idpeditgroup", map[string]any{"Title": "Group " + group, "Pool": pool, "Group": g.Group,
		"Members": members.Users, "Next": members.NextToken, "Paged": page != "", "Form": f, "Done": doneMessage(r), "DoneKey": r.URL.Query().Get("done")})
}

func (c *Console) idpGroupAddMember(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	pool, group := r.PathValue("pool"), r.PathValue("group")
	username := strings.TrimSpace(r.PostFormValue("username"))
	f := newIdPForm()
	f.Values["username"] = username
	if username == "" {
		f.Errors["username"] = "Username: enter the user to add."
		c.renderGroup(w, r, s, ed, http.StatusBadRequest, f)
		return
	}
	err := c.cognito(r.Context(), ed, s, "AdminAddUserToGroup", cogUserGroup{UserPoolID: pool, Username: username, GroupName: group}, nil)
	var ae *awsjson.Error
	if errors.As(err, &ae) && ae.Status < 500 && ae.Type != "ResourceNotFoundException" {
		// An unknown user is this form's field error, not a missing page.
		f.Errors["username"] = ae.Type + ": " + ae.Message
		c.renderGroup(w, r, s, ed, http.StatusBadRequest, f)
		return
	}
	if err != nil {
		c.idpRefused(w, r, s, err, idpFields{}, nil, "", nil)
		return
	}
	idpDone(w, r, groupPath(pool, group), "member")
}

func (c *Console) idpGroupRemoveMember(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	pool, group := r.PathValue("pool"), r.PathValue("group")
	in := cogUserGroup{UserPoolID: pool, Username: r.PathValue("user"), GroupName: group}
	if err := c.cognito(r.Context(), ed, s, "AdminRemoveUserFromGroup", in, nil); err != nil {
		c.idpRefused(w, r, s, err, idpFields{}, nil, "", nil)
		return
	}
	idpDone(w, r, groupPath(pool, group), "memberout")
}

// --- app clients -----------------------------------------------------------------------------

var clientFields = idpFields{keywords: [][2]string{{"clientname", "name"}, {"callback", "callbackUrls"},
	{"oauth", "callbackUrls"}, {"authflow", "flows"}, {"explicit", "flows"}}}

// clientFlows are the ExplicitAuthFlows the form offers.
var clientFlows = []string{"ALLOW_USER_SRP_AUTH", "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_ADMIN_USER_PASSWORD_AUTH"}

func (c *Console) idpNewClientPage(w http.ResponseWriter, r *http.Request, s *session) {
	if _, ok := c.idpAllowed(w, r, s, ActEditIdP); !ok {
		return
	}
	pool := r.PathValue("pool")
	f := newIdPForm()
	for _, fl := range []string{"ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"} {
		f.Values[fl] = "on"
	}
	c.render(w, r, s, http.StatusOK, "idpeditclient-new", map[string]any{"Title": "Create an app client in " + pool, "Pool": pool, "Form": f, "Flows": clientFlows})
}

// idpCreateClient runs CreateUserPoolClient and answers the created client directly (200, no
// redirect): its secret is on this response and nowhere else the console serves — no page
// reads it again (DescribeUserPoolClient is never called) and the response is not cached.
func (c *Console) idpCreateClient(w http.ResponseWriter, r *http.Request, s *session) {
	ed, ok := c.idpAllowed(w, r, s, ActEditIdP)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", "The form could not be read.")
		return
	}
	pool := r.PathValue("pool")
	f := newIdPForm()
	name := strings.TrimSpace(r.PostForm.Get("name"))
	callbacks := strings.Fields(r.PostForm.Get("callbackUrls"))
	f.Values["name"], f.Values["callbackUrls"], f.Values["secret"] = name, r.PostForm.Get("callbackUrls"), r.PostForm.Get("secret")
	in := map[string]any{"UserPoolId": pool, "ClientName": name, "GenerateSecret": r.PostForm.Get("secret") == "on"}
	var flows []string
	for _, fl := range clientFlows {
		if r.PostForm.Get(fl) == "on" {
			flows = append(flows, fl)
			f.Values[fl] = "on"
		}
	}
	if len(flows) > 0 {
		in["ExplicitAuthFlows"] = flows
	}
	if len(callbacks) > 0 {
		// A callback URL means the authorization code flow of the hosted sign-in page.
		in["CallbackURLs"], in["AllowedOAuthFlows"], in["AllowedOAuthFlowsUserPoolClient"] = callbacks, []string{"code"}, true
		in["AllowedOAuthScopes"] = []string{"openid", "email", "profile"}
	}
	data := map[string]any{"Title": "Create an app client in " + pool, "Pool": pool, "Form": f, "Flows": clientFlows}
	if name == "" {
		f.Errors["name"] = "Client name: enter a name."
		c.render(w, r, s, http.StatusBadRequest, "idpeditclient-new", data)
		return
	}
	var out struct {
		UserPoolClient struct {
			ClientID     string `json:"ClientId"`
			ClientName   string `json:"ClientName"`
			ClientSecret string `json:"ClientSecret"`
		} `json:"UserPoolClient"`
	}
	if err := c.cognito(r.Context(), ed, s, "CreateUserPoolClient", in, &out); err != nil {
		c.idpRefused(w, r, s, err, clientFields, f, "idpeditclient-new", data)
		return
	}
	c.render(w, r, s, http.StatusOK, "idpeditclient-created", map[string]any{"Title": "App client created", "Pool": pool,
		"ClientID": out.UserPoolClient.ClientID, "Name": out.UserPoolClient.ClientName, "Secret": out.UserPoolClient.ClientSecret})
}

// canEditIdP reports whether the IdP pages should offer the write buttons: the person may
// EditIdP and the node's console can write. The writes decide again themselves.
func (c *Console) canEditIdP(r *http.Request, s *session) bool {
	return c.idpEditor() != nil && c.decide(r.Context(), s, ActEditIdP, nodeResource()).Allowed
}
