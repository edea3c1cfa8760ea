package policy_test

import (
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// TestCedarCompat pins Cedar's (Rust, @cedar-policy/cedar-wasm 4.13) answer
// where cedar-go v1.9 alone answers differently: decimal() with a leading
// "+" is an evaluation error, and toDate/toTime floor before 1970.
func TestCedarCompat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, when string
		context    types.RecordMap
		allow      bool
		errs       bool
	}{
		{"decimal literal +", `decimal("+1.0") == decimal("1.0")`, nil, false, true},
		{"decimal literal -", `decimal("-1.0").lessThan(decimal("1.0"))`, nil, true, false},
		{"decimal context +", `decimal(context.s) == decimal("1.0")`, types.RecordMap{"s": types.String("+1.0")}, false, true},
		{"decimal context plain", `decimal(context.s) == decimal("1.0")`, types.RecordMap{"s": types.String("1.0")}, true, false},
		{"decimal context not a string", `decimal(context.s) == decimal("1.0")`, types.RecordMap{"s": types.Long(1)}, false, true},
		{"decimal in record attr named Value", `{Value: decimal("+1.0")}.Value == decimal("1.0")`, nil, false, true},
		{"toDate before 1970", `datetime("1969-12-31T12:00:00Z").toDate() == datetime("1969-12-31")`, nil, true, false},
		{"toDate at midnight before 1970", `datetime("1969-12-31").toDate() == datetime("1969-12-31")`, nil, true, false},
		{"toDate after 1970", `datetime("2024-05-06T07:08:09Z").toDate() == datetime("2024-05-06")`, nil, true, false},
		{"toDate nested", `datetime("1969-12-31T12:00:00Z").toDate().toDate() == datetime("1969-12-31")`, nil, true, false},
		{"toTime before 1970", `datetime("1969-12-31T12:00:00Z").toTime() == duration("12h")`, nil, true, false},
		{"toTime before 1970 ms", `datetime("1969-12-31T23:59:59.999Z").toTime() == duration("23h59m59s999ms")`, nil, true, false},
		{"toTime at midnight before 1970", `datetime("1969-12-31").toTime() == duration("0ms")`, nil, true, false},
		{"toTime after 1970", `datetime("2024-05-06T07:08:09Z").toTime() == duration("7h8m9s")`, nil, true, false},
		{"toDate from context", `context.d.toDate() == datetime("1969-07-20")`, types.RecordMap{"d": types.NewDatetimeFromMillis(-14182940000)}, true, false},
		{"toDate not a datetime", `context.d.toDate() == datetime("1969-07-20")`, types.RecordMap{"d": types.Long(1)}, false, true},
		{"toDate overflow", `datetime("1970-01-01").offset(duration("-9223372036854775000ms")).toDate() == datetime("1970-01-01")`, nil, false, true},
		{"toTime near the minimum", `datetime("1970-01-01").offset(duration("-9223372036854775000ms")).toTime() >= duration("0ms")`, nil, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st, err := policy.ParseStatic(`permit(principal, action, resource) when { ` + tt.when + ` };`)
			if err != nil {
				t.Fatal(err)
			}
			ps := cedar.NewPolicySet()
			ps.Add("p", st.Policy)
			ctx := tt.context
			if ctx == nil {
				ctx = types.RecordMap{}
			}
			dec, diag := cedar.Authorize(ps, types.EntityMap{}, cedar.Request{
				Principal: types.NewEntityUID("U", "a"), Action: types.NewEntityUID("A", "a"),
				Resource: types.NewEntityUID("R", "a"), Context: types.NewRecord(ctx),
			})
			if got := dec == cedar.Allow; got != tt.allow || (len(diag.Errors) > 0) != tt.errs {
				t.Errorf("allow = %v, errors = %v; want allow %v, errors %v", got, diag.Errors, tt.allow, tt.errs)
			}
		})
	}
}

// TestCedarCompatTooLarge: the rewrite repeats operands, so nesting must not
// grow a policy without bound.
func TestCedarCompatTooLarge(t *testing.T) {
	t.Parallel()
	expr := `context.d` + strings.Repeat(`.toDate()`, 40)
	_, err := policy.ParseStatic(`permit(principal, action, resource) when { ` + expr + ` == context.d };`)
	wantSyntaxError(t, err, 0, 0, "too large")
}
