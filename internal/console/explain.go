package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// The test bench explains its decision policy by policy (engine.Snapshot.Explain): the first
// page of the policies whose scope matches is shown under the decision, and the explain page
// lists, paged, the policies whose scope matches, those of the request's action, or every
// policy of the store. Explaining reads only: it is authorized by TestBench like the bench,
// and it is not a decision of the audit trail (the bench's own decision is).

// explainRoutes registers the test bench's per-policy explanation.
func (c *Console) explainRoutes(mux *http.ServeMux) {
	mux.Handle("POST "+Prefix+"stores/{store}/explain", c.authed(c.explainPage))
}

// explainPageSize is the number of policies on one explanation page.
const explainPageSize = 50

// explainFilters are the choices of the explanation's filter, in the order offered.
var explainFilters = []struct{ Value, Label string }{
	{engine.ExplainCandidates, "policies whose scope matches"},
	{engine.ExplainAction, "policies for this action"},
	{engine.ExplainAll, "all policies of the store"},
}

// explainView is what the "explanation" template shows.
type explainView struct {
	Store, CSRF string
	Form        benchForm
	Filter      string
	Filters     []explainFilterOption
	Principal   string
	Decision    string
	Determining string
	Agrees      bool
	Engine      string
	Revision    int64
	Candidates  int
	Total       int
	From, To    int
	Next        string
	Rows        []explainRow
}

type explainFilterOption struct {
	Value, Label string
	Selected     bool
}

// explainRow is one policy's explanation as shown: its checks in reading order.
type explainRow struct {
	ID, Effect, Role, RoleClass, Reason, Statement string
	Checks                                         []explainCheck
}

type explainCheck struct {
	Label, Code, Outcome, Class, Text string
}

// explainPage lists a page of the explanation of the bench's request.
func (c *Console) explainPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, data, ok := c.openStore(w, r, s, ActTestBench)
	if !ok {
		return
	}
	f := benchFormOf(r)
	v, field, err := c.explain(r.Context(), s, id, f, engine.ExplainOptions{Filter: r.PostFormValue("explain"), After: r.PostFormValue("after"), Limit: explainPageSize})
	if err != nil {
		if field == "" {
			c.failed(w, r, s, err)
			return
		}
		e := toAPIError(err)
		e.Field = field
		c.testView(w, r, s, http.StatusBadRequest, f, nil, e)
		return
	}
	html, err := c.renderExplanation(v)
	if err != nil {
		c.failed(w, r, s, err)
		return
	}
	data["Title"] = "Explanation: " + id
	data["Form"], data["Explanation"], data["View"] = f, html, v
	c.render(w, r, s, http.StatusOK, "explain", data)
}

// benchExplanation is the first page of the explanation shown under a test bench decision;
// a failure is shown in its place (the decision above it stands).
func (c *Console) benchExplanation(ctx context.Context, s *session, id string, f benchForm) template.HTML {
	v, _, err := c.explain(ctx, s, id, f, engine.ExplainOptions{Limit: explainPageSize})
	if err == nil {
		var html template.HTML
		if html, err = c.renderExplanation(v); err == nil {
			return html
		}
	}
	c.d.Logger.Warn("console explanation failed", "store", id, "err", err)
	return template.HTML(`<p class="error" id="explain-failed">The explanation could not be made: ` + template.HTMLEscapeString(err.Error()) + `</p>`)
}

func (c *Console) renderExplanation(v *explainView) (template.HTML, error) {
	var buf bytes.Buffer
	if err := c.tmpl["explain"].ExecuteTemplate(&buf, "explanation", v); err != nil {
		return "", fmt.Errorf("console explanation: %w", err)
	}
	return template.HTML(buf.String()), nil // html/template escaped it
}

func benchFormOf(r *http.Request) benchForm {
	return benchForm{Principal: r.PostFormValue("principal"), Action: r.PostFormValue("action"), Resource: r.PostFormValue("resource"),
		Context: r.PostFormValue("context"), Entities: r.PostFormValue("entities"), Token: strings.TrimSpace(r.PostFormValue("token")),
		TokenType: r.PostFormValue("tokenType")}
}

// explain explains the bench's request; on the caller's error it names the field.
func (c *Console) explain(ctx context.Context, s *session, id string, f benchForm, opt engine.ExplainOptions) (*explainView, string, error) {
	var req authz.Request
	var err error
	if f.Token == "" {
		pt, pid, err := parseUID("principal", f.Principal)
		if err != nil {
			return nil, "principal", err
		}
		req.Principal = types.NewEntityUID(types.EntityType(pt), types.String(pid))
	} else if f.TokenType != "identityToken" && f.TokenType != "accessToken" {
		return nil, "tokenType", errors.New("tokenType: choose identity token or access token")
	}
	for _, p := range []struct {
		field, text string
		to          *types.EntityUID
	}{{"action", f.Action, &req.Action}, {"resource", f.Resource, &req.Resource}} {
		t, i, err := parseUID(p.field, p.text)
		if err != nil {
			return nil, p.field, err
		}
		*p.to = types.NewEntityUID(types.EntityType(t), types.String(i))
	}
	req.Context = types.NewRecord(nil)
	if t := strings.TrimSpace(f.Context); t != "" {
		if req.Context, err = avpapi.ContextFromCedarJSON([]byte(t), "context"); err != nil {
			return nil, "context", err
		}
	}
	if t := strings.TrimSpace(f.Entities); t != "" && t != "[]" {
		if req.Entities, err = avpapi.EntitiesFromCedarJSON([]byte(t), "entities"); err != nil {
			return nil, "entities", err
		}
	}
	if opt.Filter != "" && opt.Filter != engine.ExplainCandidates && opt.Filter != engine.ExplainAction && opt.Filter != engine.ExplainAll {
		return nil, "explain", fmt.Errorf("explain: choose %s, %s or %s", engine.ExplainCandidates, engine.ExplainAction, engine.ExplainAll)
	}
	ctx = caller(ctx, s)
	var ex authz.Explanation
	if f.Token != "" {
		tr := authz.TokenRequest{Action: req.Action, Resource: req.Resource, Context: req.Context, Entities: req.Entities}
		if f.TokenType == "identityToken" {
			tr.IdentityToken = f.Token
		} else {
			tr.AccessToken = f.Token
		}
		ex, err = c.d.Decider.ExplainWithToken(ctx, id, tr, opt)
	} else {
		ex, err = c.d.Decider.Explain(ctx, id, req, opt)
	}
	if err != nil {
		var ie *authz.InputError
		var te *authz.TokenError
		switch {
		case errors.As(err, &ie):
			return nil, fieldOf(ie.Field), err
		case errors.As(err, &te):
			return nil, "token", fmt.Errorf("token: %w", te.Err)
		}
		return nil, "", err
	}
	v := &explainView{Store: id, CSRF: s.csrf, Form: f, Filter: ex.Filter, Principal: ex.Principal.String(), Decision: decisionText(ex.Decision.String()),
		Determining: strings.Join(ex.Determining, ", "), Agrees: ex.Agrees, Revision: ex.Revision, Candidates: ex.Candidates, Total: ex.Total, Next: ex.Next}
	if !ex.Agrees {
		v.Engine = fmt.Sprintf("%s by %s", decisionText(ex.Engine.Decision.String()), strings.Join(ex.Engine.DeterminingPolicies, ", "))
	}
	for _, o := range explainFilters {
		v.Filters = append(v.Filters, explainFilterOption{Value: o.Value, Label: o.Label, Selected: o.Value == ex.Filter})
	}
	if len(ex.Policies) > 0 {
		v.From, v.To = ex.Offset+1, ex.Offset+len(ex.Policies)
	}
	for _, pe := range ex.Policies {
		v.Rows = append(v.Rows, c.explainRowOf(ctx, id, pe))
	}
	return v, "", nil
}

// fieldOf maps an authz input field to the bench's form field.
func fieldOf(f string) string {
	switch {
	case strings.HasPrefix(f, "context"):
		return "context"
	case f == "identityToken" || f == "accessToken":
		return "token"
	case f == "policyStoreId":
		return "token" // no identity source: the token cannot be read
	}
	return f
}

// decisionText is the wire spelling of a decision (ALLOW, DENY), as the bench shows it.
func decisionText(d string) string { return strings.ToUpper(d) }

func (c *Console) explainRowOf(ctx context.Context, storeID string, pe engine.PolicyExplanation) explainRow {
	row := explainRow{ID: pe.ID, Effect: pe.Effect, Role: string(pe.Role), Reason: pe.Reason,
		RoleClass: strings.ReplaceAll(string(pe.Role), " ", "-")}
	if p, err := c.d.Policies.GetPolicy(ctx, storeID, pe.ID); err == nil {
		row.Statement = p.Statement
		if p.Type == policystore.TypeTemplateLinked {
			row.Statement = fmt.Sprintf("linked from template %s (principal %s, resource %s)", p.TemplateID, entityText(p.LinkPrincipal), entityText(p.LinkResource))
		}
	}
	for _, sc := range []struct {
		label string
		m     engine.ScopeMatch
	}{{"principal", pe.Principal}, {"action", pe.Action}, {"resource", pe.Resource}} {
		ch := explainCheck{Label: sc.label, Outcome: "matches", Class: "pass", Text: sc.m.Reason}
		if !sc.m.Matched {
			ch.Outcome, ch.Class = "does not match", "fail"
		}
		row.Checks = append(row.Checks, ch)
	}
	for i, cr := range pe.Conditions {
		ch := explainCheck{Label: fmt.Sprintf("%s #%d", cr.Kind, i+1), Code: cr.Text, Outcome: cr.Outcome, Text: cr.Error}
		switch {
		case cr.Outcome == engine.CondError:
			ch.Class = "error"
		case cr.Outcome == engine.CondNotEvaluated:
			ch.Class = "skip"
		case cr.Passes:
			ch.Class = "pass"
		default:
			ch.Class = "fail"
		}
		row.Checks = append(row.Checks, ch)
	}
	return row
}
