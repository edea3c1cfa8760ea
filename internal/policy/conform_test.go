package policy_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

const conformSchema = `
entity User;
entity Account { owner: User, limit?: decimal, ip?: ipaddr, tags?: Set<String> };
entity Doc in [Account] { account: Account, n: Long, since?: datetime, ttl?: duration, meta?: { level: Long } } tags String;
action read appliesTo { principal: User, resource: Doc, context: { score: decimal, who?: User } };
action noCtx;
`

// TestConformEntityAsCedar pins how Cedar reads untyped entity JSON with a schema: an implicit
// {"type","id"} record is an entity reference where the schema says so, a string is an
// extension value, and wrong types, undeclared and missing attributes are errors naming the
// attribute.
func TestConformEntityAsCedar(t *testing.T) {
	t.Parallel()
	sch := mustSchema(t, conformSchema)
	tests := []struct {
		name     string
		entity   string
		wantPath string // "" = conforms
	}{
		{"implicit entity reference", `{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"alice"}},"parents":[]}`, ""},
		{"explicit entity reference", `{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"__entity":{"type":"User","id":"alice"}}},"parents":[]}`, ""},
		{"extension strings", `{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"a"},"limit":"0.6","ip":"10.0.0.1","tags":["x"]},"parents":[]}`, ""},
		{"datetime and duration strings", `{"uid":{"type":"Doc","id":"d"},"attrs":{"account":{"type":"Account","id":"a"},"n":1,"since":"1969-12-31T23:00:00Z","ttl":"1h","meta":{"level":2}},"parents":[{"type":"Account","id":"a"}],"tags":{"t":"v"}}`, ""},
		{"decimal with plus sign", `{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"a"},"limit":"+1.0"},"parents":[]}`, "attrs.limit"},
		{"wrong entity type", `{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"Account","id":"b"}},"parents":[]}`, "attrs.owner"},
		{"record with extra member is not a reference", `{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"a","x":1}},"parents":[]}`, "attrs.owner"},
		{"string for Long", `{"uid":{"type":"Doc","id":"d"},"attrs":{"account":{"type":"Account","id":"a"},"n":"1"},"parents":[]}`, "attrs.n"},
		{"nested record type error", `{"uid":{"type":"Doc","id":"d"},"attrs":{"account":{"type":"Account","id":"a"},"n":1,"meta":{"level":true}},"parents":[]}`, "attrs.meta.level"},
		{"set element type error", `{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"a"},"tags":[1]},"parents":[]}`, "attrs.tags[0]"},
		{"missing required", `{"uid":{"type":"Account","id":"a"},"attrs":{},"parents":[]}`, "attrs.owner"},
		{"undeclared attribute", `{"uid":{"type":"User","id":"a"},"attrs":{"x":1},"parents":[]}`, "attrs.x"},
		{"undeclared type", `{"uid":{"type":"Nope","id":"a"},"attrs":{},"parents":[]}`, "uid"},
		{"parent of undeclared type", `{"uid":{"type":"User","id":"a"},"attrs":{},"parents":[{"type":"Account","id":"a"}]}`, "parents"},
		{"tags on a type without tags", `{"uid":{"type":"User","id":"a"},"attrs":{},"parents":[],"tags":{"t":"v"}}`, "tags"},
		{"tag of the wrong type", `{"uid":{"type":"Doc","id":"d"},"attrs":{"account":{"type":"Account","id":"a"},"n":1},"parents":[],"tags":{"t":1}}`, "tags.t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e types.Entity
			if err := json.Unmarshal([]byte(tt.entity), &e); err != nil {
				t.Fatal(err)
			}
			_, err := sch.ConformEntity(e)
			var ce *policy.ConformError
			switch {
			case tt.wantPath == "" && err != nil:
				t.Fatalf("ConformEntity: %v", err)
			case tt.wantPath != "" && (!errors.As(err, &ce) || ce.Path != tt.wantPath):
				t.Fatalf("ConformEntity error = %v, want one at %s", err, tt.wantPath)
			}
		})
	}
}

// TestConformDecidesAsCedar is the case: principal == resource.account.owner allows
// once the request's entities are read with the schema (it denied while "owner" was a record).
func TestConformDecidesAsCedar(t *testing.T) {
	t.Parallel()
	sch := mustSchema(t, conformSchema)
	var list []types.Entity
	doc := `[{"uid":{"type":"Account","id":"a"},"attrs":{"owner":{"type":"User","id":"alice"},"limit":"0.6"},"parents":[]},
		{"uid":{"type":"Doc","id":"d"},"attrs":{"account":{"type":"Account","id":"a"},"n":1},"parents":[]}]`
	if err := json.Unmarshal([]byte(doc), &list); err != nil {
		t.Fatal(err)
	}
	var ctx types.Record
	if err := json.Unmarshal([]byte(`{"score":"0.7","who":{"type":"User","id":"alice"}}`), &ctx); err != nil {
		t.Fatal(err)
	}
	ps, err := cedar.NewPolicySetFromBytes("p.cedar", []byte(`permit(principal, action, resource) when {
		principal == resource.account.owner && resource.account.limit.lessThan(context.score) && context.who == principal };`))
	if err != nil {
		t.Fatal(err)
	}
	read := types.NewEntityUID("Action", "read")
	decide := func(ents types.EntityMap, c types.Record) cedar.Decision {
		d, _ := cedar.Authorize(ps, ents, cedar.Request{Principal: types.NewEntityUID("User", "alice"), Action: read,
			Resource: types.NewEntityUID("Doc", "d"), Context: c})
		return d
	}
	raw := types.EntityMap{}
	conformed := types.EntityMap{}
	for _, e := range list {
		raw[e.UID] = e
		c, err := sch.ConformEntity(e)
		if err != nil {
			t.Fatal(err)
		}
		conformed[c.UID] = c
	}
	cctx, err := sch.ConformContext(read, ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := decide(raw, ctx); d != cedar.Deny {
		t.Fatalf("schemaless reading: %v, want deny (the record is not an entity)", d)
	}
	if d := decide(conformed, cctx); d != cedar.Allow {
		t.Fatalf("schema-directed reading: %v, want allow as Cedar decides", d)
	}
}

func TestConformContext(t *testing.T) {
	t.Parallel()
	sch := mustSchema(t, conformSchema)
	tests := []struct {
		name, action, ctx, wantPath string
		wantErr                     bool
	}{
		{"declared", "read", `{"score":"1.5"}`, "", false},
		{"missing required", "read", `{}`, "score", true},
		{"wrong type", "read", `{"score":1}`, "score", true},
		{"bad decimal", "read", `{"score":"1.23456"}`, "score", true},
		{"action without appliesTo takes the empty context", "noCtx", `{}`, "", false},
		{"action without appliesTo rejects attributes", "noCtx", `{"a":1}`, "a", true},
		{"undeclared action", "nope", `{}`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var c types.Record
			if err := json.Unmarshal([]byte(tt.ctx), &c); err != nil {
				t.Fatal(err)
			}
			_, err := sch.ConformContext(types.NewEntityUID("Action", types.String(tt.action)), c)
			var ce *policy.ConformError
			if (err != nil) != tt.wantErr || (err != nil && (!errors.As(err, &ce) || ce.Path != tt.wantPath)) {
				t.Fatalf("ConformContext = %v, want error %v at %q", err, tt.wantErr, tt.wantPath)
			}
		})
	}
}

func TestParseDecimalRejectsPlus(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"+1.0", "1", "1.23456", ".5", "1."} {
		if _, err := policy.ParseDecimal(s); err == nil {
			t.Errorf("ParseDecimal(%q) succeeded; Cedar rejects it", s)
		}
	}
	for _, s := range []string{"-1.0", "0.6", "922337203685477.5807"} {
		if _, err := policy.ParseDecimal(s); err != nil {
			t.Errorf("ParseDecimal(%q): %v", s, err)
		}
	}
}
