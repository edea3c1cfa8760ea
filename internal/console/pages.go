package console

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// view is what every page template gets.
type view struct {
	Title  string
	Nav    string
	User   string
	Roles  string
	CSRF   string
	Data   any
	Status int
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, s *session, status int, page string, data any) {
	v := view{Title: strings.ToUpper(page[:1]) + page[1:], Nav: page, Data: data, Status: status}
	if m, ok := data.(map[string]any); ok {
		if t, ok := m["Title"].(string); ok {
			v.Title = t
		}
	}
	if s != nil {
		v.User, v.Roles, v.CSRF = s.user, strings.Join(s.roles, ", "), s.csrf
	}
	var buf bytes.Buffer
	if err := c.tmpl[page].ExecuteTemplate(&buf, "layout.html", v); err != nil {
		c.d.Logger.Error("console page", "page", page, "err", err)
		http.Error(w, "page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func (c *Console) errorPage(w http.ResponseWriter, r *http.Request, s *session, status int, title, msg string) {
	c.render(w, r, s, status, "error", map[string]any{"Title": title, "Message": msg, "Code": status})
}

// allow decides and, on a denial, answers the 403 page; it reports whether to go on.
func (c *Console) allow(w http.ResponseWriter, r *http.Request, s *session, action string, resource types.EntityUID) bool {
	d := c.decide(r.Context(), s, action, resource)
	if d.Allowed {
		return true
	}
	c.d.Logger.Info("console action denied", "actor", "console:"+s.user, "action", action, "resource", resource.String(), "reason", "policy_deny")
	c.errorPage(w, r, s, http.StatusForbidden, "Forbidden",
		fmt.Sprintf("Your roles (%s) may not %s on %s: %s.", strings.Join(s.roles, ", "), action, resource.String(), d.Reason))
	return false
}

// apiError is a management API error shown to a person: its message and, for validation
// errors, the field it names.
type apiError struct {
	Message string
	Field   string
	Line    int
	Column  int
}

// posPattern finds the first line:column position in a parser message.
var posPattern = regexp.MustCompile(`(?:line |:)(\d+)(?::|, column |:col(?:umn)? )(\d+)`)

func toAPIError(err error) *apiError {
	if err == nil {
		return nil
	}
	out := &apiError{Message: err.Error()}
	var ae *awsjson.Error
	if errors.As(err, &ae) {
		out.Message = ae.Message
		if len(ae.Fields) > 0 {
			out.Field = ae.Fields[0].Path
			out.Message = ae.Fields[0].Path + ": " + ae.Fields[0].Message
		}
		if ae.Status >= 500 {
			out.Message = "internal error (see the node's log)"
		}
	}
	if m := posPattern.FindStringSubmatch(out.Message); m != nil {
		out.Line, _ = strconv.Atoi(m[1])
		out.Column, _ = strconv.Atoi(m[2])
	}
	return out
}

func isInternal(err error) bool {
	var ae *awsjson.Error
	return !errors.As(err, &ae) || ae.Status >= 500
}

// ---- policy stores ----

type storeRow struct {
	ID, Description, Mode, Protection string
}

func (c *Console) storesPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.storesView(w, r, s, http.StatusOK, nil, "")
}

func (c *Console) storesView(w http.ResponseWriter, r *http.Request, s *session, status int, formErr *apiError, desc string) {
	if !c.allow(w, r, s, ActView, nodeResource()) {
		return
	}
	token := r.URL.Query().Get("page")
	list, next, err := c.d.Policies.ListPolicyStores(r.Context(), token, 50)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	rows := make([]storeRow, 0, len(list))
	for _, ps := range list {
		rows = append(rows, storeRow{ID: ps.ID, Description: ps.Description, Mode: ps.ValidationMode, Protection: ps.DeletionProtection})
	}
	c.render(w, r, s, status, "stores", map[string]any{"Title": "Policy stores", "Stores": rows, "Next": next, "Error": formErr, "Description": desc})
}

func (c *Console) failed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if errors.Is(err, store.ErrNotFound) {
		c.errorPage(w, r, s, http.StatusNotFound, "Not found", err.Error())
		return
	}
	var ae *awsjson.Error
	if errors.As(err, &ae) && ae.Status < 500 {
		c.errorPage(w, r, s, ae.Status, "Request refused", toAPIError(err).Message)
		return
	}
	var ve *policystore.ValidationError
	if errors.As(err, &ve) {
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", ve.Message)
		return
	}
	c.d.Logger.Error("console request failed", "path", r.URL.Path, "err", err)
	c.errorPage(w, r, s, http.StatusInternalServerError, "Something failed", "The request failed; the node's log says why.")
}

func (c *Console) createStore(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActCreateStore, nodeResource()) {
		return
	}
	mode := r.PostFormValue("validationMode")
	desc := r.PostFormValue("description")
	out, err := c.call(r.Context(), s, "VerifiedPermissions.CreatePolicyStore", avpapi.CreatePolicyStoreInput{
		ValidationSettings: &avpapi.ValidationSettings{Mode: mode}, Description: desc})
	if err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		c.storesView(w, r, s, http.StatusBadRequest, toAPIError(err), desc)
		return
	}
	id := out.(*avpapi.CreatePolicyStoreOutput).PolicyStoreID
	http.Redirect(w, r, Prefix+"stores/"+id, http.StatusSeeOther)
}

// ---- one store: settings and schema ----

// openStore is the start of every page of one policy store: the action on the store (from the
// path) must be allowed, and the store must exist; data holds the page header. When ok is
// false the answer (403 or the error page) has been written.
func (c *Console) openStore(w http.ResponseWriter, r *http.Request, s *session, act string) (id string, data map[string]any, ok bool) {
	id = r.PathValue("store")
	if !c.allow(w, r, s, act, storeResource(id)) {
		return id, nil, false
	}
	ps, err := c.d.Policies.GetPolicyStore(r.Context(), id)
	if err != nil {
		c.failed(w, r, s, err)
		return id, nil, false
	}
	return id, map[string]any{"Title": "Policy store " + ps.ID, "Store": storeRow{ID: ps.ID, Description: ps.Description, Mode: ps.ValidationMode, Protection: ps.DeletionProtection}}, true
}

func (c *Console) storePage(w http.ResponseWriter, r *http.Request, s *session) {
	c.storeView(w, r, s, http.StatusOK, nil, nil)
}

func (c *Console) storeView(w http.ResponseWriter, r *http.Request, s *session, status int, text *string, schemaErr *apiError) {
	id, data, ok := c.openStore(w, r, s, ActView)
	if !ok {
		return
	}
	sch, err := c.d.Policies.GetSchema(r.Context(), id)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		c.failed(w, r, s, err)
		return
	default:
		var pretty bytes.Buffer
		if json.Indent(&pretty, []byte(sch.JSON), "", "  ") == nil {
			data["SchemaJSON"] = pretty.String()
		}
	}
	if text == nil {
		t := ""
		if err == nil {
			t = sch.JSON
			if parsed, err := policy.ParseSchema([]byte(sch.JSON)); err == nil {
				if ct, err := parsed.Cedar(); err == nil {
					t = string(ct)
				}
			}
		}
		text = &t
	}
	rows, err := c.index.current(r.Context(), id)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	data["Schema"], data["Error"], data["Policies"] = *text, schemaErr, len(rows)
	c.render(w, r, s, status, "store", data)
}

func (c *Console) putSchema(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	if !c.allow(w, r, s, ActEditSchema, storeResource(id)) {
		return
	}
	text := r.PostFormValue("schema")
	_, err := c.call(r.Context(), s, "VerifiedPermissions.PutSchema", avpapi.PutSchemaInput{PolicyStoreID: id, Definition: &avpapi.SchemaDefinition{CedarJSON: &text}})
	if err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		c.storeView(w, r, s, http.StatusBadRequest, &text, toAPIError(err))
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"?saved=schema", http.StatusSeeOther)
}

// ---- policies ----

// pageSize is the number of policies on one list page.
const pageSize = 50

func (c *Console) policiesPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, data, ok := c.openStore(w, r, s, ActView)
	if !ok {
		return
	}
	q, after := r.URL.Query().Get("q"), r.URL.Query().Get("after")
	rows, total, next, err := c.index.page(r.Context(), id, q, after, pageSize)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	for i := range rows {
		rows[i].Statement = firstLines(rows[i].Statement, 3)
	}
	data["Title"] = "Policies of " + id
	data["Rows"], data["Total"], data["Next"], data["Query"], data["After"] = rows, total, next, q, after
	c.render(w, r, s, http.StatusOK, "policies", data)
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		return strings.Join(lines[:n], "\n") + "\n…"
	}
	return s
}

func (c *Console) policyPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.policyView(w, r, s, http.StatusOK, nil, "", "", nil)
}

func (c *Console) policyView(w http.ResponseWriter, r *http.Request, s *session, status int, text *string, desc, name string, perr *apiError) {
	pid := r.PathValue("policy")
	id, data, ok := c.openStore(w, r, s, ActView)
	if !ok {
		return
	}
	var err error
	var p policystore.Policy
	if pid != "" {
		if p, err = c.d.Policies.GetPolicy(r.Context(), id, pid); err != nil {
			c.failed(w, r, s, err)
			return
		}
	}
	if text == nil {
		text, desc, name = &p.Statement, p.Description, strings.TrimPrefix(p.Name, "name/")
	}
	title := "New policy"
	if pid != "" {
		title = "Policy " + p.ID
	}
	data["Title"], data["Policy"], data["Statement"], data["Description"], data["Name"], data["Error"] = title, p, *text, desc, name, perr
	c.render(w, r, s, status, "policy", data)
}

func (c *Console) savePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	id, pid := r.PathValue("store"), r.PathValue("policy")
	if !c.allow(w, r, s, ActEditPolicy, storeResource(id)) {
		return
	}
	text, desc, name := r.PostFormValue("statement"), r.PostFormValue("description"), strings.TrimSpace(r.PostFormValue("name"))
	def := &avpapi.StaticPolicyDefinition{Statement: text, Description: desc}
	var (
		out any
		err error
	)
	wireName := ""
	if name != "" {
		wireName = "name/" + name
	}
	if pid == "" {
		out, err = c.call(r.Context(), s, "VerifiedPermissions.CreatePolicy", avpapi.CreatePolicyInput{PolicyStoreID: id, Name: wireName,
			Definition: &avpapi.PolicyDefinition{Static: def}})
	} else {
		var n *string
		if wireName != "" {
			n = &wireName
		}
		out, err = c.call(r.Context(), s, "VerifiedPermissions.UpdatePolicy", avpapi.UpdatePolicyInput{PolicyStoreID: id, PolicyID: pid, Name: n,
			Definition: &avpapi.UpdatePolicyDefinition{Static: def}})
	}
	if err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		c.policyView(w, r, s, http.StatusBadRequest, &text, desc, name, toAPIError(err))
		return
	}
	newID := pid
	if po, ok := out.(*avpapi.PolicyOutput); ok && po.PolicyID != "" {
		newID = po.PolicyID
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/policies/"+newID+"?saved=1", http.StatusSeeOther)
}

func (c *Console) deletePolicy(w http.ResponseWriter, r *http.Request, s *session) {
	id, pid := r.PathValue("store"), r.PathValue("policy")
	if !c.allow(w, r, s, ActEditPolicy, storeResource(id)) {
		return
	}
	if _, err := c.call(r.Context(), s, "VerifiedPermissions.DeletePolicy", avpapi.DeletePolicyInput{PolicyStoreID: id, PolicyID: pid}); err != nil {
		c.failed(w, r, s, err)
		return
	}
	http.Redirect(w, r, Prefix+"stores/"+id+"/policies?deleted="+url.QueryEscape(pid), http.StatusSeeOther)
}

// ---- test bench ----

type benchForm struct {
	Principal, Action, Resource, Context, Entities string
	// Token, when set, replaces Principal: a JWT from one of the store's identity sources,
	// decided as IsAuthorizedWithToken decides it (TokenType identityToken or accessToken).
	Token, TokenType string
}

type benchResult struct {
	// Principal is the principal a token mapped to ("" without a token).
	Principal   string
	Decision    string
	Determining []determining
	Errors      []string
	// Explanation is the first page of the per-policy explanation (explain.go).
	Explanation template.HTML
}

type determining struct {
	ID, Statement string
}

func (c *Console) testPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.testView(w, r, s, http.StatusOK, benchForm{Context: "{}", Entities: "[]"}, nil, nil)
}

func (c *Console) testView(w http.ResponseWriter, r *http.Request, s *session, status int, f benchForm, res *benchResult, ferr *apiError) {
	id, data, ok := c.openStore(w, r, s, ActTestBench)
	if !ok {
		return
	}
	data["Title"] = "Test bench: " + id
	data["Form"], data["Result"], data["Error"] = f, res, ferr
	c.render(w, r, s, status, "test", data)
}

// uidPattern is Cedar's entity reference syntax: Type::"id" (namespaced types allowed).
var uidPattern = regexp.MustCompile(`^\s*((?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*)::("(?:[^"\\]|\\.)*")\s*$`)

func parseUID(field, text string) (string, string, error) {
	m := uidPattern.FindStringSubmatch(text)
	if m == nil {
		return "", "", fmt.Errorf("%s: write an entity as Type::\"id\" (for example User::\"alice\")", field)
	}
	id, err := strconv.Unquote(m[2])
	if err != nil {
		return "", "", fmt.Errorf("%s: the id is not a valid quoted string", field)
	}
	return m[1], id, nil
}

func (c *Console) runTest(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	f := benchForm{Principal: r.PostFormValue("principal"), Action: r.PostFormValue("action"), Resource: r.PostFormValue("resource"),
		Context: r.PostFormValue("context"), Entities: r.PostFormValue("entities"), Token: strings.TrimSpace(r.PostFormValue("token")),
		TokenType: r.PostFormValue("tokenType")}
	if !c.allow(w, r, s, ActTestBench, storeResource(id)) {
		return
	}
	bad := func(field string, err error) {
		c.testView(w, r, s, http.StatusBadRequest, f, nil, &apiError{Field: field, Message: err.Error()})
	}
	var pt, pid string
	if f.Token == "" {
		var err error
		if pt, pid, err = parseUID("principal", f.Principal); err != nil {
			bad("principal", err)
			return
		}
	} else if f.TokenType != "identityToken" && f.TokenType != "accessToken" {
		bad("tokenType", errors.New("tokenType: choose identity token or access token"))
		return
	}
	at, aid, err := parseUID("action", f.Action)
	if err != nil {
		bad("action", err)
		return
	}
	rt, rid, err := parseUID("resource", f.Resource)
	if err != nil {
		bad("resource", err)
		return
	}
	in := avpapi.IsAuthorizedInput{PolicyStoreID: id, Principal: &avpapi.EntityIdentifier{EntityType: pt, EntityID: pid},
		Action: &avpapi.ActionIdentifier{ActionType: at, ActionID: aid}, Resource: &avpapi.EntityIdentifier{EntityType: rt, EntityID: rid}}
	if t := strings.TrimSpace(f.Context); t != "" && t != "{}" {
		in.Context = &avpapi.ContextDefinition{CedarJSON: &t}
	}
	if t := strings.TrimSpace(f.Entities); t != "" && t != "[]" {
		in.Entities = &avpapi.EntitiesDefinition{CedarJSON: &t}
	}
	var out any
	if f.Token != "" {
		tin := avpapi.IsAuthorizedWithTokenInput{PolicyStoreID: id, Action: in.Action, Resource: in.Resource, Context: in.Context, Entities: in.Entities}
		if f.TokenType == "identityToken" {
			tin.IdentityToken = f.Token
		} else {
			tin.AccessToken = f.Token
		}
		out, err = c.call(r.Context(), s, "VerifiedPermissions.IsAuthorizedWithToken", tin)
	} else {
		out, err = c.call(r.Context(), s, "VerifiedPermissions.IsAuthorized", in)
	}
	if err != nil {
		if isInternal(err) {
			c.failed(w, r, s, err)
			return
		}
		e := toAPIError(err)
		c.testView(w, r, s, http.StatusBadRequest, f, nil, e)
		return
	}
	var o *avpapi.IsAuthorizedOutput
	res := &benchResult{}
	switch v := out.(type) {
	case *avpapi.IsAuthorizedOutput:
		o = v
	case *avpapi.IsAuthorizedWithTokenOutput:
		o = &avpapi.IsAuthorizedOutput{Decision: v.Decision, DeterminingPolicies: v.DeterminingPolicies, Errors: v.Errors}
		if v.Principal != nil {
			res.Principal = fmt.Sprintf("%s::%q", v.Principal.EntityType, v.Principal.EntityID)
		}
	default:
		c.failed(w, r, s, fmt.Errorf("console: unexpected output %T", out))
		return
	}
	res.Decision = o.Decision
	for _, d := range o.DeterminingPolicies {
		det := determining{ID: d.PolicyID}
		if p, err := c.d.Policies.GetPolicy(r.Context(), id, d.PolicyID); err == nil {
			det.Statement = p.Statement
			if p.Type == policystore.TypeTemplateLinked {
				det.Statement = fmt.Sprintf("linked from template %s (principal %s, resource %s)", p.TemplateID, entityText(p.LinkPrincipal), entityText(p.LinkResource))
			}
		}
		res.Determining = append(res.Determining, det)
	}
	for _, e := range o.Errors {
		res.Errors = append(res.Errors, e.ErrorDescription)
	}
	res.Explanation = c.benchExplanation(r.Context(), s, id, f)
	c.testView(w, r, s, http.StatusOK, f, res, nil)
}

// ---- access matrix ----

func cellClass(v string) string {
	switch {
	case v == wizard.Allow:
		return "allow"
	case v == wizard.Deny:
		return "deny"
	case v == wizard.Public:
		return "public"
	default:
		return "other"
	}
}

func (c *Console) matrixPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActViewMatrix, nodeResource()) {
		return
	}
	defs, err := c.d.APIs.List(r.Context())
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	names := make([]string, 0, len(defs))
	for _, d := range defs {
		names = append(names, d.Name)
	}
	slices.Sort(names)
	data := map[string]any{"Title": "Access matrix", "APIs": names}
	api := r.URL.Query().Get("api")
	if api == "" && len(names) > 0 {
		api = names[0]
	}
	data["API"] = api
	if api != "" {
		m, links, storeID, err := c.matrix(r.Context(), defs, api)
		if err != nil {
			data["Error"] = err.Error()
		} else {
			data["Matrix"] = m
			data["Links"] = links
			data["Store"] = storeID
		}
	}
	c.render(w, r, s, http.StatusOK, "matrix", data)
}

// matrix evaluates the stored API and its cedar authorizer's policy store as `gatehouse
// access-matrix` evaluates a directory (wizard.AccessMatrix over apply.DirFromBundle).
func (c *Console) matrix(ctx context.Context, defs []apidef.Definition, api string) (*wizard.Matrix, cellLinks, string, error) {
	var def *apidef.Definition
	for i := range defs {
		if defs[i].Name == api {
			def = &defs[i]
		}
	}
	if def == nil {
		return nil, nil, "", fmt.Errorf("api: no API named %q", api)
	}
	storeID := ""
	for _, a := range def.Authorizers {
		if a.Type == apidef.TypeCedar && a.PolicyStoreID != "" {
			storeID = a.PolicyStoreID
		}
	}
	in, err := avpapi.ExportBundle(ctx, c.d.Store, storeID, []string{api})
	if err != nil {
		return nil, nil, "", err
	}
	d, err := apply.DirFromBundle(in)
	if err != nil {
		return nil, nil, "", err
	}
	m, err := wizard.AccessMatrix(d, wizard.MatrixOptions{API: api})
	if err != nil {
		return nil, nil, "", err
	}
	return m, c.matrixCellLinks(ctx, d, m, storeID), storeID, nil
}

// ---- audit ----

// auditTail bounds how much of the end of the trail the audit page reads.
const auditTail = 1 << 20

type auditRow struct {
	Time, Kind, Source, Actor, Operation, Target, Decision, Principal, Detail string
}

func (c *Console) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActViewAudit, nodeResource()) {
		return
	}
	data := map[string]any{"Title": "Audit trail", "Query": r.URL.Query().Get("q")}
	path := c.d.AuditFile
	if path == "" || path == "stdout" || path == "-" {
		data["NoTrail"] = true
		c.render(w, r, s, http.StatusOK, "audit", data)
		return
	}
	rows, err := readTail(path, auditTail, r.URL.Query().Get("q"), 200)
	if err != nil {
		data["ReadError"] = err.Error()
	}
	data["Rows"] = rows
	if r.URL.Query().Get("verify") == "1" {
		data["Verified"] = true
		opts := audit.VerifyOptions{}
		if c.d.AuditVerify != nil {
			if opts, err = c.d.AuditVerify(r.Context()); err != nil {
				data["VerifyNote"] = err.Error()
			}
		}
		rep, err := audit.VerifyPathsWith(opts, path)
		if err != nil {
			data["VerifyError"] = err.Error()
		} else {
			data["Report"] = rep
		}
	}
	c.render(w, r, s, http.StatusOK, "audit", data)
}

// readTail returns the newest records (newest first) in the last max bytes of path whose
// line contains q.
func readTail(path string, max int64, q string, n int) ([]auditRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	off := max64(0, st.Size()-max)
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), audit.MaxLineBytes)
	var rows []auditRow
	first := off > 0
	ql := strings.ToLower(q)
	for sc.Scan() {
		if first { // a partial line
			first = false
			continue
		}
		line := sc.Bytes()
		if ql != "" && !strings.Contains(strings.ToLower(string(line)), ql) {
			continue
		}
		var rec audit.Record
		if err := jsonUnmarshal(line, &rec); err != nil {
			continue
		}
		detail := rec.Change
		if rec.Path != "" {
			detail = rec.Method + " " + rec.Path
		}
		if len(rec.DeterminingPolicies) > 0 {
			detail = strings.TrimSpace(detail + " policies " + strings.Join(rec.DeterminingPolicies, ","))
		}
		rows = append(rows, auditRow{Time: rec.Time.UTC().Format("2006-01-02 15:04:05"), Kind: rec.Kind, Source: rec.Source, Actor: rec.Actor,
			Operation: rec.Operation, Target: strings.Trim(rec.Target+" "+rec.PolicyStoreID, " "), Decision: rec.Decision, Principal: rec.Principal, Detail: detail})
	}
	slices.Reverse(rows)
	if len(rows) > n {
		rows = rows[:n]
	}
	return rows, sc.Err()
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}
