package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"

	"github.com/cedar-policy/cedar-go"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
)

// maxCompatBytes bounds the JSON size of a policy after cedarCompat. The
// rewrite repeats an operand up to three times, so operands nested in each
// other grow geometrically; a policy that would pass this bound is refused
// rather than built.
const maxCompatBytes = 1 << 20

// cedarCompat returns p rewritten so that cedar-go v1.9 evaluates it as Cedar
// (Rust) does, where the two differ on calls our layer can see in the policy:
//
//   - decimal(s) with s starting with "+": Cedar's grammar has no leading
//     sign other than "-", cedar-go's strconv.ParseInt accepts "+". The call
//     becomes one cedar-go rejects, so it is an evaluation error as in Cedar.
//   - d.toDate() and d.toTime() before 1970: Cedar floors to the day
//     (div_euclid/rem_euclid), cedar-go truncates toward zero. The call
//     becomes an expression that corrects cedar-go's result by one day when
//     it truncated, using only operations cedar-go implements as Cedar does
//     (offset and durationSince are overflow-checked), so overflow is an
//     error exactly where Cedar's is.
//
// Policies without such calls are returned as they are. The rewrite goes
// through the Cedar JSON policy format, whose expression tree is generic, so
// every node kind is walked without mirroring cedar-go's AST types.
func cedarCompat(p *cedar.Policy) (*cedar.Policy, error) {
	if !callsCompat(p) {
		// The common case (every policy of a scope-only store) costs a walk of the
		// conditions, not a JSON round trip: a third of a 100,000-policy load before.
		return p, nil
	}
	doc, err := policyJSON(p, `"decimal":[`, `"toDate":[`, `"toTime":[`)
	if doc == nil || err != nil {
		return p, err
	}
	conds, _ := doc["conditions"].([]any)
	total := 0
	for _, c := range conds {
		cond, ok := c.(map[string]any)
		if !ok {
			continue
		}
		body, n := compatExpr(cond["body"])
		cond["body"] = body
		total = sat(total + n)
		if total > maxCompatBytes {
			return nil, &SyntaxError{Msg: fmt.Sprintf(
				"policy is too large: nested toDate/toTime/decimal calls expand beyond %d bytes when evaluated as Cedar does", maxCompatBytes)}
		}
	}
	return policyFromJSON(doc, p)
}

// callsCompat reports whether a condition of p calls decimal, toDate or toTime, the calls
// cedarCompat rewrites (as functions or methods: both are extension calls in the AST).
func callsCompat(p *cedar.Policy) bool {
	found := false
	for _, c := range (*xast.Policy)(p.AST()).Conditions {
		xast.Inspect(xast.NewNode(c.Body), func(n xast.IsNode) bool {
			if call, ok := n.(xast.NodeTypeExtensionCall); ok {
				switch call.Name {
				case "decimal", "toDate", "toTime":
					found = true
				}
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

// policyFromJSON decodes doc as a policy positioned where orig is, so errors
// about it point into the statement as written.
func policyFromJSON(doc map[string]any, orig *cedar.Policy) (*cedar.Policy, error) {
	out, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("rewritten policy to JSON: %w", err)
	}
	var q cedar.Policy
	if err := q.UnmarshalJSON(out); err != nil {
		return nil, fmt.Errorf("rewritten policy: %w", err)
	}
	q.AST().Position = orig.AST().Position
	return &q, nil
}

// policyJSON returns p in the Cedar JSON policy format, decoded, or nil when
// its JSON contains none of the markers.
func policyJSON(p *cedar.Policy, markers ...string) (map[string]any, error) {
	raw, err := p.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("policy to JSON: %w", err)
	}
	if !slices.ContainsFunc(markers, func(m string) bool { return bytes.Contains(raw, []byte(m)) }) {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // Long literals must survive exactly
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("policy JSON: %w", err)
	}
	return doc, nil
}

// undoCompat returns p with cedarCompat's conditional replacements turned
// back into the calls they replaced, for validation, whose messages should
// name the policy as written. A replacement is recognised by rebuilding it
// from the call it would come from, so only exact replacements are undone.
// decimal("+…") literals stay rewritten: cedar-go's validator would accept
// the original, Cedar's rejects it, and so it rejects the rewritten one.
// Clauses after a "when { false }" or "unless { true }" are dropped, as
// Cedar's type checker skips them. The result keeps p's position.
func undoCompat(p *cedar.Policy) (*cedar.Policy, error) {
	doc, err := policyJSON(p, `"if-then-else":{`, `"Value":false`, `"Value":true`)
	if doc == nil || err != nil {
		return p, err
	}
	conds, _ := doc["conditions"].([]any)
	// Cedar does not type-check what follows a clause that is always false
	// (it warns that the policy is impossible); cedar-go's validator does.
	for i, c := range conds {
		if cond, ok := c.(map[string]any); ok {
			lit, _ := cond["body"].(map[string]any)
			if b, ok := lit["Value"].(bool); ok && len(lit) == 1 && b == (cond["kind"] == "unless") {
				conds = conds[:i+1]
				doc["conditions"] = conds
				break
			}
		}
	}
	for _, c := range conds {
		cond, ok := c.(map[string]any)
		if !ok {
			continue
		}
		cond["body"] = mapExprs(cond["body"], func(op string, operands any) any {
			node := map[string]any{op: operands}
			var orig map[string]any
			switch op {
			case "if-then-else":
				ite, _ := operands.(map[string]any)
				orig, _ = ite["else"].(map[string]any)
			}
			if len(orig) != 1 {
				return nil
			}
			for name, args := range orig {
				if list, ok := args.([]any); ok && len(list) == 1 {
					if r, ok := compatCall(name, list[0]); ok && reflect.DeepEqual(r, node) {
						return orig
					}
				}
			}
			return nil
		})
	}
	return policyFromJSON(doc, p)
}

// compatExpr rewrites the Cedar JSON expression v (see cedarCompat) and
// returns it with an upper bound of its marshalled size, saturated just above
// maxCompatBytes. The rewritten tree shares repeated operands, so it is small
// in memory whatever that size.
func compatExpr(v any) (any, int) {
	switch v := v.(type) {
	case []any:
		out, size := make([]any, len(v)), 2
		for i, e := range v {
			var n int
			out[i], n = compatExpr(e)
			size = sat(size + n + 1)
		}
		return out, size
	case map[string]any:
		if len(v) == 1 {
			if _, ok := v["Value"]; ok {
				return v, leafSize(v) // a literal: nothing inside is an expression
			}
			if attrs, ok := v["Record"].(map[string]any); ok {
				// Attribute names are not operators.
				out, size := make(map[string]any, len(attrs)), 14
				for name, e := range attrs {
					var n int
					out[name], n = compatExpr(e)
					size = sat(size + n + len(name) + 4)
				}
				return map[string]any{"Record": out}, size
			}
		}
		out, size := make(map[string]any, len(v)), 2
		for k, e := range v {
			var n int
			out[k], n = compatExpr(e)
			size = sat(size + n + len(k) + 4)
		}
		if len(v) == 1 {
			for k, args := range out {
				if list, ok := args.([]any); ok && len(list) == 1 {
					if r, ok := compatCall(k, list[0]); ok {
						// Each replacement repeats its operand at most 4 times.
						return r, sat(4*size + 300)
					}
				}
			}
		}
		return out, size
	}
	return v, leafSize(v)
}

func leafSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}

func sat(n int) int { return min(n, maxCompatBytes+1) }

// compatCall returns the replacement for the call name(arg) and whether
// name is one cedarCompat replaces.
func compatCall(name string, arg any) (any, bool) {
	call := func(fn string, args ...any) any { return map[string]any{fn: args} }
	lit := func(s string) any { return map[string]any{"Value": s} }
	binary := func(op string, l, r any) any { return map[string]any{op: map[string]any{"left": l, "right": r}} }
	ite := func(c, t, e any) any {
		return map[string]any{"if-then-else": map[string]any{"if": c, "then": t, "else": e}}
	}
	switch name {
	case "decimal":
		if l, ok := arg.(map[string]any); ok && len(l) == 1 {
			if s, ok := l["Value"].(string); ok {
				if len(s) > 0 && s[0] == '+' {
					// A space before the sign: cedar-go's error still shows the literal.
					return call("decimal", lit(" "+s)), true
				}
				return call("decimal", arg), true
			}
		}
		// if arg like "+*" then decimal("+") else decimal(arg): a non-string
		// arg is a type error in the guard as it is in decimal(arg).
		plus := map[string]any{"like": map[string]any{"left": arg, "pattern": []any{map[string]any{"Literal": "+"}, "Wildcard"}}}
		return ite(plus, call("decimal", lit("+")), call("decimal", arg)), true
	case "toDate":
		// t = arg.toDate(); if t > arg then t.offset(-1d) else t
		t := call("toDate", arg)
		return ite(binary(">", t, arg), call("offset", t, call("duration", lit("-1d"))), t), true
	case "toTime":
		// t = arg.toTime(); if t < 0ms then (1970-01-02 + t) - 1970-01-01 else t
		t := call("toTime", arg)
		neg := binary("<", t, call("duration", lit("0ms")))
		wrapped := call("durationSince", call("offset", call("datetime", lit("1970-01-02")), t), call("datetime", lit("1970-01-01")))
		return ite(neg, wrapped, t), true
	}
	return nil, false
}
