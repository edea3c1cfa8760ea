package console

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// liveCheck is the answer to a validation-as-you-type request.
type liveCheck struct {
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
}

// validate checks a schema or a policy text as the editor holds it, without writing: the
// same parsers and (for a STRICT store) the same schema validation the write will run. The
// write itself still decides; this only tells the person sooner.
func (c *Console) validate(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("store")
	w.Header().Set("Content-Type", "application/json")
	if d := c.decide(r.Context(), s, ActView, storeResource(id)); !d.Allowed {
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(liveCheck{Message: "forbidden: " + d.Reason})
		return
	}
	var in struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || (in.Kind != "schema" && in.Kind != "policy" && in.Kind != "template") {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(liveCheck{Message: "body: want {\"kind\": \"schema\", \"policy\" or \"template\", \"text\": ...}"})
		return
	}
	out := liveCheck{OK: true}
	fail := func(err error) {
		e := toAPIError(err)
		out = liveCheck{Message: e.Message, Line: e.Line, Column: e.Column}
	}
	switch in.Kind {
	case "schema":
		if _, err := policy.ParseSchema([]byte(in.Text)); err != nil {
			fail(err)
		}
	case "policy", "template":
		// A template is parsed with its ?principal and ?resource slots and validated as
		// CreatePolicyTemplate validates it.
		var st *policy.Static
		var tpl *policy.Template
		var err error
		if in.Kind == "template" {
			tpl, err = policy.ParseTemplate(in.Text)
		} else {
			st, err = policy.ParseStatic(in.Text)
		}
		if err != nil {
			fail(err)
			break
		}
		ps, err := c.d.Policies.GetPolicyStore(r.Context(), id)
		if err != nil {
			fail(err)
			break
		}
		if ps.ValidationMode != policystore.ModeStrict {
			break
		}
		doc, err := c.d.Policies.GetSchema(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			out = liveCheck{Message: "the store is STRICT and has no schema: save a schema first"}
			break
		}
		if err != nil {
			fail(err)
			break
		}
		sch, err := policy.ParseSchema([]byte(doc.JSON))
		if err != nil {
			fail(err)
			break
		}
		if tpl != nil {
			err = sch.ValidateTemplate("template", tpl)
		} else {
			err = sch.Validate("policy", st.Policy)
		}
		if err != nil {
			fail(err)
		}
	}
	_ = json.NewEncoder(w).Encode(out)
}
