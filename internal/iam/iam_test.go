package iam_test

import (
	"errors"
	"net/netip"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/iam"
)

func mustParse(t testing.TB, doc string) *iam.Policy {
	t.Helper()
	p, err := iam.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func mustParseFile(t testing.TB, name string) *iam.Policy {
	t.Helper()
	doc, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return mustParse(t, string(doc))
}

const (
	region  = "us-east-1"
	account = "123456789012"
	apiID   = "a1b2c3d4e5"
)

func arn(verb, path string) string {
	return iam.MethodARN(region, account, apiID, "dev", verb, path)
}

// TestArticle001 replays article 001 (examples/groups-iam) against the pet-veterinarian policy from
// article 001, including its IpAddress condition.
func TestArticle001(t *testing.T) {
	t.Parallel()
	vet := mustParseFile(t, "pet-veterinarian.json")
	inside := netip.MustParseAddr("192.0.2.44")
	inside2 := netip.MustParseAddr("198.51.100.255")
	outside := netip.MustParseAddr("203.0.113.9")

	tests := []struct {
		name string
		verb string
		path string
		ip   netip.Addr
		want iam.Decision
	}{
		{"GET v1/pets", "GET", "/petstore/v1/pets", inside, iam.Allow},
		{"GET v1/pets/3", "GET", "/petstore/v1/pets/3", inside, iam.Allow},
		{"POST v1/pets", "POST", "/petstore/v1/pets", inside, iam.Allow},
		{"DELETE deep v1 path", "DELETE", "/petstore/v1/a/b/c/d", inside2, iam.Allow},
		{"v1 root needs a segment", "GET", "/petstore/v1", inside, iam.ImplicitDeny},
		{"GET v2/pets", "GET", "/petstore/v2/pets", inside, iam.ImplicitDeny},
		{"GET v2/status", "GET", "/petstore/v2/status", inside, iam.Allow},
		{"POST v2/status", "POST", "/petstore/v2/status", inside, iam.ImplicitDeny},
		{"GET v2/status/extra", "GET", "/petstore/v2/status/extra", inside, iam.ImplicitDeny},
		{"path case matters", "GET", "/PetStore/v1/pets", inside, iam.ImplicitDeny},
		{"outside CIDR v1", "GET", "/petstore/v1/pets", outside, iam.ImplicitDeny},
		{"outside CIDR v2/status", "GET", "/petstore/v2/status", outside, iam.ImplicitDeny},
		{"v4-mapped v6 inside", "GET", "/petstore/v1/pets", netip.MustParseAddr("::ffff:192.0.2.1"), iam.Allow},
		{"v6 outside", "GET", "/petstore/v1/pets", netip.MustParseAddr("2001:db8::1"), iam.ImplicitDeny},
		{"no source IP", "GET", "/petstore/v1/pets", netip.Addr{}, iam.ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := iam.Request{Action: iam.InvokeAction, Resource: arn(tt.verb, tt.path), SourceIP: tt.ip}
			if got := iam.Evaluate(req, vet); got != tt.want {
				t.Errorf("Evaluate(%s from %v) = %v, want %v", req.Resource, tt.ip, got, tt.want)
			}
		})
	}
}

// TestSamples covers the policies the two AWS samples return: sample A's
// "deny" that never matches (so every denial is implicit) and sample B's
// single-object statement with Effect "ALLOW".
func TestSamples(t *testing.T) {
	t.Parallel()
	seeded := mustParseFile(t, "sample-a-seeded.json")
	deny := mustParseFile(t, "sample-a-deny.json")
	b := mustParseFile(t, "sample-b-allow.json")
	tests := []struct {
		name     string
		policies []*iam.Policy
		resource string
		want     iam.Decision
	}{
		{"A seeded v1", []*iam.Policy{seeded}, arn("GET", "/petstore/v1/pets"), iam.Allow},
		{"A seeded v2/pets", []*iam.Policy{seeded}, arn("GET", "/petstore/v2/pets"), iam.ImplicitDeny},
		{"A deny policy is implicit", []*iam.Policy{deny}, arn("GET", "/petstore/v1/pets"), iam.ImplicitDeny},
		{"A deny matches a literal ANY verb", []*iam.Policy{deny}, "arn:aws:execute-api:x:y:z/ANY/pets", iam.ExplicitDeny},
		{"B exact ARN", []*iam.Policy{b}, "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/appointment/PI-T123", iam.Allow},
		{"B other id", []*iam.Policy{b}, "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/appointment/PI-T125", iam.ImplicitDeny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := iam.Evaluate(iam.Request{Resource: tt.resource}, tt.policies...); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEvaluateStatements(t *testing.T) {
	t.Parallel()
	get := arn("GET", "/pets/1")
	tests := []struct {
		name   string
		doc    string
		action string
		res    string
		want   iam.Decision
	}{
		{"deny beats allow", `{"Statement":[
			{"Effect":"Allow","Action":"*","Resource":"*"},
			{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/dev/GET/pets/*"}]}`,
			"", get, iam.ExplicitDeny},
		{"deny listed first", `{"Statement":[
			{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/dev/GET/pets/*"},
			{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			"", get, iam.ExplicitDeny},
		{"deny elsewhere", `{"Statement":[
			{"Effect":"Allow","Action":"*","Resource":"*"},
			{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/dev/POST/*"}]}`,
			"", get, iam.Allow},
		{"statement object", `{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*"}}`, "", get, iam.Allow},
		{"effect allow lower", `{"Statement":{"Effect":"allow","Action":"execute-api:Invoke","Resource":"*"}}`, "", get, iam.Allow},
		{"effect DENY upper", `{"Statement":{"Effect":"DENY","Action":"execute-api:Invoke","Resource":"*"}}`, "", get, iam.ExplicitDeny},
		{"action case-insensitive", `{"Statement":{"Effect":"Allow","Action":"Execute-API:invoke","Resource":"*"}}`, "", get, iam.Allow},
		{"action service wildcard", `{"Statement":{"Effect":"Allow","Action":"execute-api:*","Resource":"*"}}`, "", get, iam.Allow},
		{"action partial wildcard", `{"Statement":{"Effect":"Allow","Action":"execute-api:Inv?ke","Resource":"*"}}`, "", get, iam.Allow},
		{"other action", `{"Statement":{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"*"}}`, "", get, iam.ImplicitDeny},
		{"explicit action field", `{"Statement":{"Effect":"Allow","Action":"execute-api:ManageConnections","Resource":"*"}}`, "execute-api:ManageConnections", get, iam.Allow},
		{"NotAction excludes invoke", `{"Statement":{"Effect":"Allow","NotAction":"execute-api:Invoke","Resource":"*"}}`, "", get, iam.ImplicitDeny},
		{"NotAction other", `{"Statement":{"Effect":"Allow","NotAction":["s3:*","iam:*"],"Resource":"*"}}`, "", get, iam.Allow},
		{"NotAction deny", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}]}`, "", get, iam.ExplicitDeny},
		{"NotResource excludes", `{"Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:execute-api:*:*:*/*/GET/pets/*"}}`, "", get, iam.ImplicitDeny},
		{"NotResource other", `{"Statement":{"Effect":"Allow","Action":"*","NotResource":"arn:aws:execute-api:*:*:*/*/DELETE/*"}}`, "", get, iam.Allow},
		{"deny all but GET", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},
			{"Effect":"Deny","Action":"*","NotResource":"arn:aws:execute-api:*:*:*/*/GET/*"}]}`, "", arn("POST", "/pets"), iam.ExplicitDeny},
		{"resource case-sensitive", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:*/dev/get/pets/1"}}`, "", get, iam.ImplicitDeny},
		{"question mark one char", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:*/dev/GET/pets/?"}}`, "", get, iam.Allow},
		{"question mark not two", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:*/dev/GET/pets/?"}}`, "", arn("GET", "/pets/12"), iam.ImplicitDeny},
		{"star crosses colon and slash", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*"}}`, "", get, iam.Allow},
		{"whole api", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*"}}`, "", get, iam.Allow},
		{"other api", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:us-east-1:123456789012:zzz/*"}}`, "", get, iam.ImplicitDeny},
		{"root resource", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:*/dev/GET/"}}`, "", arn("GET", "/"), iam.Allow},
		{"only resource listed matches", `{"Statement":{"Effect":"Allow","Action":"*","Resource":["arn:aws:execute-api:*:*:*/dev/GET/a","arn:aws:execute-api:*:*:*/dev/GET/pets/1"]}}`, "", get, iam.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.doc)
			if got := iam.Evaluate(iam.Request{Action: tt.action, Resource: tt.res}, p); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestUnion models a user in several groups, each mapped to a policy.
func TestUnion(t *testing.T) {
	t.Parallel()
	readers := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/GET/*"}}`)
	writers := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/POST/*"}}`)
	noAdmin := mustParse(t, `{"Statement":{"Effect":"Deny","Action":"execute-api:Invoke","Resource":"arn:aws:execute-api:*:*:*/*/*/admin/*"}}`)
	tests := []struct {
		name     string
		policies []*iam.Policy
		res      string
		want     iam.Decision
	}{
		{"no policies", nil, arn("GET", "/x"), iam.ImplicitDeny},
		{"nil policy", []*iam.Policy{nil}, arn("GET", "/x"), iam.ImplicitDeny},
		{"readers GET", []*iam.Policy{readers}, arn("GET", "/x"), iam.Allow},
		{"readers POST", []*iam.Policy{readers}, arn("POST", "/x"), iam.ImplicitDeny},
		{"readers+writers POST", []*iam.Policy{readers, writers}, arn("POST", "/x"), iam.Allow},
		{"writers+readers GET", []*iam.Policy{writers, readers}, arn("GET", "/x"), iam.Allow},
		{"deny in another group wins", []*iam.Policy{readers, writers, noAdmin}, arn("GET", "/admin/users"), iam.ExplicitDeny},
		{"deny group first", []*iam.Policy{noAdmin, nil, readers}, arn("GET", "/admin/users"), iam.ExplicitDeny},
		{"deny group elsewhere", []*iam.Policy{noAdmin, readers}, arn("GET", "/users"), iam.Allow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := iam.Evaluate(iam.Request{Resource: tt.res}, tt.policies...); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 6, 15, 12, 30, 45, 500_000_000, time.UTC)
	base := iam.Request{
		Resource:        arn("GET", "/pets"),
		SourceIP:        netip.MustParseAddr("192.0.2.10"),
		SecureTransport: true,
		Now:             now,
		Values: map[string][]string{
			"aws:UserAgent":           {"curl/8.5.0"},
			"aws:PrincipalTag/dept":   {"Finance"},
			"aws:PrincipalTag/teams":  {"team-a", "team-b"},
			"aws:Referer":             nil, // known key, absent from this request
			"aws:PrincipalTag/count":  {"42"},
			"aws:PrincipalTag/joined": {"2020-01-01T00:00:00Z"},
			"aws:PrincipalTag/mfa":    {"TRUE"},
			"aws:PrincipalTag/ip":     {"10.1.2.3"},
			"aws:PrincipalTag/broken": {"not-a-number"},
		},
	}
	tests := []struct {
		cond string // the Condition block
		want bool
	}{
		// IP addresses.
		{`{"IpAddress":{"aws:SourceIp":"192.0.2.0/24"}}`, true},
		{`{"IpAddress":{"aws:SourceIp":"192.0.2.10"}}`, true},
		{`{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.8/30"]}}`, true},
		{`{"IpAddress":{"aws:SourceIp":"192.0.3.0/24"}}`, false},
		{`{"IpAddress":{"aws:SourceIp":"::/0"}}`, false},
		{`{"IpAddress":{"aws:SourceIp":"::ffff:192.0.2.0/120"}}`, true},
		{`{"NotIpAddress":{"aws:SourceIp":"192.0.3.0/24"}}`, true},
		{`{"NotIpAddress":{"aws:SourceIp":["192.0.3.0/24","192.0.2.0/24"]}}`, false},
		{`{"IpAddress":{"aws:PrincipalTag/ip":"10.0.0.0/8"}}`, true},
		{`{"IpAddress":{"aws:PrincipalTag/broken":"10.0.0.0/8"}}`, false},
		{`{"NotIpAddress":{"aws:PrincipalTag/broken":"10.0.0.0/8"}}`, false},
		// Strings.
		{`{"StringEquals":{"aws:UserAgent":"curl/8.5.0"}}`, true},
		{`{"StringEquals":{"aws:UserAgent":"CURL/8.5.0"}}`, false},
		{`{"StringEquals":{"AWS:USERAGENT":"curl/8.5.0"}}`, true},
		{`{"StringEquals":{"aws:PrincipalTag/dept":["audit","Finance"]}}`, true},
		{`{"StringNotEquals":{"aws:PrincipalTag/dept":["audit","Finance"]}}`, false},
		{`{"StringNotEquals":{"aws:PrincipalTag/dept":"audit"}}`, true},
		{`{"StringEqualsIgnoreCase":{"aws:PrincipalTag/dept":"FINANCE"}}`, true},
		{`{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/dept":"finance"}}`, false},
		{`{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/dept":"audit"}}`, true},
		{`{"StringLike":{"aws:UserAgent":"curl/*"}}`, true},
		{`{"StringLike":{"aws:UserAgent":"curl/?.?.?"}}`, true},
		{`{"StringLike":{"aws:UserAgent":"Curl/*"}}`, false},
		{`{"StringNotLike":{"aws:UserAgent":"curl/*"}}`, false},
		{`{"StringNotLike":{"aws:UserAgent":"wget/*"}}`, true},
		{`{"StringEquals":{"aws:SecureTransport":"true"}}`, true},
		// Bool.
		{`{"Bool":{"aws:SecureTransport":"true"}}`, true},
		{`{"Bool":{"aws:SecureTransport":true}}`, true},
		{`{"Bool":{"aws:SecureTransport":"false"}}`, false},
		{`{"Bool":{"aws:PrincipalTag/mfa":"true"}}`, true},
		{`{"Bool":{"aws:PrincipalTag/dept":"true"}}`, false},
		// Dates on aws:CurrentTime (compared at one-second precision).
		{`{"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:00Z"}}`, true},
		{`{"DateGreaterThan":{"aws:CurrentTime":"2027-01-01"}}`, false},
		{`{"DateLessThan":{"aws:CurrentTime":["2020-01-01","2027-01-01"]}}`, true},
		{`{"DateLessThanEquals":{"aws:CurrentTime":"2026-06-15T12:30:45Z"}}`, true},
		{`{"DateGreaterThanEquals":{"aws:CurrentTime":"2026-06-15T12:30:46Z"}}`, false},
		{`{"DateEquals":{"aws:CurrentTime":"2026-06-15T12:30:45Z"}}`, true},
		{`{"DateEquals":{"aws:CurrentTime":"2026-06-15T14:30:45+02:00"}}`, true},
		{`{"DateEquals":{"aws:CurrentTime":"1781526645"}}`, true},
		{`{"DateNotEquals":{"aws:CurrentTime":"2026-06-15T12:30:45Z"}}`, false},
		{`{"DateNotEquals":{"aws:CurrentTime":"2026-06-15"}}`, true},
		{`{"DateLessThan":{"aws:EpochTime":1781526646}}`, true},
		{`{"DateEquals":{"aws:CurrentTime":"2026-06-15T12:30:45"}}`, true},
		{`{"DateEquals":{"aws:CurrentTime":"2026-06-15T12:30:45.000Z"}}`, true},
		{`{"DateGreaterThan":{"aws:CurrentTime":"2026-06-15T12:30Z"}}`, true},
		{`{"DateGreaterThan":{"aws:CurrentTime":"2026-06-15T12:31"}}`, false},
		{`{"ForAnyValue:NumericEquals":{"aws:PrincipalTag/broken":"1"}}`, false},
		{`{"ForAllValues:NumericNotEquals":{"aws:PrincipalTag/broken":"1"}}`, false},
		{`{"DateGreaterThan":{"aws:PrincipalTag/joined":"2019-12-31"}}`, true},
		// Numbers.
		{`{"NumericEquals":{"aws:EpochTime":1781526645}}`, true},
		{`{"NumericNotEquals":{"aws:EpochTime":"1781526645"}}`, false},
		{`{"NumericLessThan":{"aws:EpochTime":1781526646}}`, true},
		{`{"NumericLessThan":{"aws:EpochTime":1781526645}}`, false},
		{`{"NumericLessThanEquals":{"aws:EpochTime":1781526645}}`, true},
		{`{"NumericGreaterThan":{"aws:EpochTime":1781526644.5}}`, true},
		{`{"NumericGreaterThanEquals":{"aws:EpochTime":1781526646}}`, false},
		{`{"NumericGreaterThan":{"aws:PrincipalTag/count":"41"}}`, true},
		{`{"NumericEquals":{"aws:PrincipalTag/broken":"1"}}`, false},
		{`{"NumericNotEquals":{"aws:PrincipalTag/broken":"1"}}`, false},
		// Set operators on a multivalued key.
		{`{"StringEquals":{"aws:PrincipalTag/teams":"team-b"}}`, true},
		{`{"StringNotEquals":{"aws:PrincipalTag/teams":"team-b"}}`, false},
		{`{"ForAnyValue:StringEquals":{"aws:PrincipalTag/teams":"team-b"}}`, true},
		{`{"ForAllValues:StringEquals":{"aws:PrincipalTag/teams":"team-b"}}`, false},
		{`{"ForAllValues:StringLike":{"aws:PrincipalTag/teams":"team-*"}}`, true},
		{`{"ForAnyValue:StringNotEquals":{"aws:PrincipalTag/teams":"team-b"}}`, true},
		{`{"ForAllValues:StringNotEquals":{"aws:PrincipalTag/teams":"team-c"}}`, true},
		{`{"ForAllValues:StringNotEquals":{"aws:PrincipalTag/teams":"team-a"}}`, false},
		// A known key absent from the request: IAM's rules.
		{`{"StringLike":{"aws:Referer":"*"}}`, false},
		{`{"StringNotLike":{"aws:Referer":"https://evil/*"}}`, true},
		{`{"StringLikeIfExists":{"aws:Referer":"https://good/*"}}`, true},
		{`{"ForAnyValue:StringEquals":{"aws:Referer":"x"}}`, false},
		{`{"ForAllValues:StringEquals":{"aws:Referer":"x"}}`, true},
		{`{"Null":{"aws:Referer":"true"}}`, true},
		{`{"Null":{"aws:Referer":false}}`, false},
		{`{"Null":{"aws:UserAgent":"false"}}`, true},
		{`{"Null":{"aws:SourceIp":"true"}}`, false},
		{`{"StringLikeIfExists":{"aws:UserAgent":"wget/*"}}`, false},
		// An unknown key never matches, whatever the operator.
		{`{"StringEquals":{"aws:PrincipalOrgID":"o-123"}}`, false},
		{`{"StringNotEquals":{"aws:PrincipalOrgID":"o-123"}}`, false},
		{`{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-123"}}`, false},
		{`{"NotIpAddress":{"aws:VpcSourceIp":"10.0.0.0/8"}}`, false},
		{`{"ForAllValues:StringEquals":{"aws:TagKeys":"x"}}`, false},
		{`{"Null":{"aws:PrincipalOrgID":"true"}}`, false},
		{`{"Null":{"aws:PrincipalOrgID":"false"}}`, false},
		// Several keys and several operators are ANDed.
		{`{"StringEquals":{"aws:UserAgent":"curl/8.5.0","aws:PrincipalTag/dept":"Finance"}}`, true},
		{`{"StringEquals":{"aws:UserAgent":"curl/8.5.0","aws:PrincipalTag/dept":"audit"}}`, false},
		{`{"StringEquals":{"aws:UserAgent":"curl/8.5.0"},"IpAddress":{"aws:SourceIp":"192.0.2.0/24"},"Bool":{"aws:SecureTransport":"true"}}`, true},
		{`{"StringEquals":{"aws:UserAgent":"curl/8.5.0"},"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			t.Parallel()
			doc := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"execute-api:Invoke","Resource":"*","Condition":` + tt.cond + `}}`
			p := mustParse(t, doc)
			want := iam.ImplicitDeny
			if tt.want {
				want = iam.Allow
			}
			if got := iam.Evaluate(base, p); got != want {
				t.Errorf("Allow with condition: got %v, want %v", got, want)
			}
			// The same condition on a Deny must apply exactly as often.
			deny := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"*","Resource":"*","Condition":`+tt.cond+`}]}`)
			want = iam.Allow
			if tt.want {
				want = iam.ExplicitDeny
			}
			if got := iam.Evaluate(base, deny); got != want {
				t.Errorf("Deny with condition: got %v, want %v", got, want)
			}
		})
	}
}

// TestAbsentTypedKeys checks the zero values of the typed request fields
// mean "key absent".
func TestAbsentTypedKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cond string
		want bool
	}{
		{`{"IpAddress":{"aws:SourceIp":"0.0.0.0/0"}}`, false},
		{`{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}`, true},
		{`{"IpAddressIfExists":{"aws:SourceIp":"10.0.0.0/8"}}`, true},
		{`{"Null":{"aws:SourceIp":"true"}}`, true},
		{`{"DateGreaterThan":{"aws:CurrentTime":"1970-01-01"}}`, false},
		{`{"NumericGreaterThan":{"aws:EpochTime":0}}`, false},
		{`{"Null":{"aws:CurrentTime":"true","aws:EpochTime":"true"}}`, true},
		{`{"Bool":{"aws:SecureTransport":"false"}}`, true},
		{`{"StringEquals":{"aws:UserAgent":"x"}}`, false}, // nil Values: unknown
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":`+tt.cond+`}}`)
			got := iam.Evaluate(iam.Request{Resource: "arn:aws:execute-api:r:a:i/s/GET/"}, p) == iam.Allow
			if got != tt.want {
				t.Errorf("holds = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	stmt := func(s string) string {
		return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},` + s + `]}`
	}
	tests := []struct {
		name string
		doc  string
		want string
	}{
		{"empty", ``, "invalid JSON at byte 0: unexpected EOF"},
		{"not an object", `[]`, "policy document must be a JSON object, not a list"},
		{"syntax", `{"Statement":}`, "invalid JSON at byte 13: invalid character '}' looking for beginning of value"},
		{"trailing data", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} {}`, "unexpected data after the policy document at byte 62"},
		{"unknown top-level key", `{"Extra":1,"Statement":[]}`, "Extra: unknown element (allowed: Version, Id, Statement)"},
		{"missing statement", `{"Version":"2012-10-17"}`, "Statement: is required"},
		{"bad version", `{"Version":"2012-10-18","Statement":[]}`, `Version: must be "2012-10-17" or "2008-10-17"`},
		{"version type", `{"Version":2012,"Statement":[]}`, "Version: must be a string, not a number"},
		{"statement type", `{"Statement":"Allow"}`, "Statement: must be an object or a list of objects, not a string"},
		{"statement item type", stmt(`"x"`), "Statement[1]: must be an object, not a string"},
		{"duplicate key", `{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"*","Resource":"*"}}`, "Statement.Effect: duplicate key"},
		{"duplicate top key", `{"Statement":[],"Statement":[]}`, "Statement: duplicate key"},
		{"bad effect", stmt(`{"Effect":"Permit","Action":"*","Resource":"*"}`), `Statement[1].Effect: must be "Allow" or "Deny"`},
		{"effect type", stmt(`{"Effect":true,"Action":"*","Resource":"*"}`), `Statement[1].Effect: must be a string, not a boolean`},
		{"missing effect", stmt(`{"Action":"*","Resource":"*"}`), "Statement[1].Effect: is required"},
		{"missing action", stmt(`{"Effect":"Allow","Resource":"*"}`), "Statement[1].Action: is required (or NotAction)"},
		{"both actions", stmt(`{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}`), "Statement[1].NotAction: cannot be used together with Action"},
		{"missing resource", stmt(`{"Effect":"Allow","Action":"*"}`), "Statement[1].Resource: is required (or NotResource)"},
		{"both resources", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}`), "Statement[1].NotResource: cannot be used together with Resource"},
		{"empty action list", stmt(`{"Effect":"Allow","Action":[],"Resource":"*"}`), "Statement[1].Action: must not be empty"},
		{"action item type", stmt(`{"Effect":"Allow","Action":["*",1],"Resource":"*"}`), "Statement[1].Action[1]: must be a string, not a number"},
		{"action object", stmt(`{"Effect":"Allow","Action":{},"Resource":"*"}`), "Statement[1].Action: must be a string or a list of strings, not an object"},
		{"bad action", stmt(`{"Effect":"Allow","Action":["execute-api:Invoke","Invoke"],"Resource":"*"}`), `Statement[1].Action[1]: "Invoke" is not an action: want "*" or "service:action", e.g. "execute-api:Invoke"`},
		{"bad resource", stmt(`{"Effect":"Allow","Action":"*","NotResource":"petstore/*"}`), `Statement[1].NotResource: "petstore/*" is not a resource: want "*" or an ARN`},
		{"policy variable", stmt(`{"Effect":"Allow","Action":"*","Resource":"arn:aws:execute-api:*:*:*/*/GET/users/${aws:username}"}`), `Statement[1].Resource: "arn:aws:execute-api:*:*:*/*/GET/users/${aws:username}" uses a policy variable, which is not supported`},
		{"unknown statement key", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condtion":{}}`), "Statement[1].Condtion: unknown element (allowed: Sid, Effect, Action, NotAction, Resource, NotResource, Condition)"},
		{"principal", stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), "Statement[1].Principal: not supported: the policy applies to the authenticated caller, so it names no principal"},
		{"duplicate sid", `{"Statement":[{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"A","Effect":"Allow","Action":"*","Resource":"*"}]}`, `Statement[1].Sid: "A" is already used by Statement[0]`},
		{"condition type", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":[]}`), "Statement[1].Condition: must be an object, not a list"},
		{"condition empty", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}`), "Statement[1].Condition: must not be empty"},
		{"unknown operator", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringMatches":{"aws:UserAgent":"x"}}}`), `Statement[1].Condition.StringMatches: unknown or unsupported condition operator "StringMatches"`},
		{"arn operator", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"x"}}}`), `Statement[1].Condition.ArnLike: unknown or unsupported condition operator "ArnLike"`},
		{"null with IfExists", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NullIfExists":{"aws:UserAgent":"true"}}}`), "Statement[1].Condition.NullIfExists: Null takes no ForAnyValue:/ForAllValues: prefix and no IfExists suffix"},
		{"operator value type", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":"x"}}`), "Statement[1].Condition.StringEquals: must be an object mapping condition keys to values, not a string"},
		{"operator empty", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{}}}`), "Statement[1].Condition.StringEquals: must not be empty"},
		{"condition values empty", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:UserAgent":[]}}}`), "Statement[1].Condition.StringEquals.aws:UserAgent: must not be empty"},
		{"condition value null", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:UserAgent":null}}}`), "Statement[1].Condition.StringEquals.aws:UserAgent: must be a string, number, boolean or a list of them, not null"},
		{"condition value item", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:UserAgent":["a",{}]}}}`), "Statement[1].Condition.StringEquals.aws:UserAgent[1]: must be a string, number or boolean, not an object"},
		{"bad cidr", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","10.0.0.0/33"]}}}`), `Statement[1].Condition.IpAddress.aws:SourceIp[1]: "10.0.0.0/33" is not an IP address or CIDR block`},
		{"ip with zone", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"fe80::1%eth0"}}}`), `Statement[1].Condition.IpAddress.aws:SourceIp: "fe80::1%eth0" is not an IP address or CIDR block`},
		{"bad date", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"tomorrow"}}}`), `Statement[1].Condition.DateLessThan.aws:CurrentTime: "tomorrow" is not a date (ISO 8601, e.g. 2026-01-02T15:04:05Z, or epoch seconds)`},
		{"epoch out of range", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"aws:CurrentTime":"999999999999999"}}}`), `Statement[1].Condition.DateLessThan.aws:CurrentTime: "999999999999999" is not a date (ISO 8601, e.g. 2026-01-02T15:04:05Z, or epoch seconds)`},
		{"bad number", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"aws:EpochTime":"NaN"}}}`), `Statement[1].Condition.NumericLessThan.aws:EpochTime: "NaN" is not a number`},
		{"bad bool", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), `Statement[1].Condition.Bool.aws:SecureTransport: "yes" is not "true" or "false"`},
		{"type mismatch", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringLike":{"aws:SourceIp":"10.*"}}}`), "Statement[1].Condition.StringLike.aws:SourceIp: operator StringLike cannot be applied to aws:SourceIp"},
		{"condition policy variable", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/owner":"${aws:username}"}}}`), `Statement[1].Condition.StringEquals.aws:PrincipalTag/owner: "${aws:username}" uses a policy variable, which is not supported`},
		{"empty condition key", stmt(`{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"":"x"}}}`), "Statement[1].Condition.StringEquals.: condition key must not be empty"},
		{"invalid utf-8", "{\"Statement\":\"\xff\"}", "policy document is not valid UTF-8"},
		{"too deep", `{"Statement":[[[[[[[[[[[]]]]]]]]]]]}`, "Statement[0][0][0][0][0][0][0][0][0]: nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := iam.Parse([]byte(tt.doc))
			if err == nil {
				t.Fatalf("Parse succeeded (%v), want error %q", p, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
			var pe *iam.ParseError
			if !errors.As(err, &pe) {
				t.Errorf("error is %T, want *iam.ParseError", err)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     string
		version string
	}{
		{"no version", `{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`, ""},
		{"2008 allows literal ${", `{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:x:${y}"}}`, "2008-10-17"},
		{"id and empty sid", `{"Id":"x","Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"","Effect":"Deny","Action":"*","Resource":"*"}]}`, "2012-10-17"},
		{"all operators", mustRead(t, "conditions.json"), "2012-10-17"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, tt.doc)
			if p.Version() != tt.version {
				t.Errorf("Version() = %q, want %q", p.Version(), tt.version)
			}
		})
	}
}

func mustRead(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseSizeCap(t *testing.T) {
	t.Parallel()
	doc := make([]byte, iam.MaxPolicySize+1)
	for i := range doc {
		doc[i] = ' '
	}
	if _, err := iam.Parse(doc); err == nil {
		t.Fatal("Parse accepted an oversized document")
	}
}

func TestConditionKeys(t *testing.T) {
	t.Parallel()
	p := mustParseFile(t, "conditions.json")
	want := []string{"aws:CurrentTime", "aws:EpochTime", "aws:PrincipalTag/dept", "aws:PrincipalTag/suspended", "aws:PrincipalTag/teams", "aws:Referer", "aws:SecureTransport", "aws:SourceIp", "aws:UserAgent"}
	if got := p.ConditionKeys(); !slices.Equal(got, want) {
		t.Errorf("ConditionKeys() = %q\nwant %q", got, want)
	}
}

func TestMethodARN(t *testing.T) {
	t.Parallel()
	tests := []struct {
		verb, path, want string
	}{
		{"GET", "/", "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/test/GET/"},
		{"GET", "", "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/test/GET/"},
		{"POST", "/petstore/v1/pets", "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/test/POST/petstore/v1/pets"},
		{"GET", "/foo/1234", "arn:aws:execute-api:us-west-2:123456789012:ymy8tbxw7b/test/GET/foo/1234"},
	}
	for _, tt := range tests {
		if got := iam.MethodARN("us-west-2", "123456789012", "ymy8tbxw7b", "test", tt.verb, tt.path); got != tt.want {
			t.Errorf("MethodARN(%q, %q) = %q, want %q", tt.verb, tt.path, got, tt.want)
		}
	}
}

func TestDecisionString(t *testing.T) {
	t.Parallel()
	for d, want := range map[iam.Decision]string{iam.ImplicitDeny: "ImplicitDeny", iam.Allow: "Allow", iam.ExplicitDeny: "ExplicitDeny", 7: "Decision(7)"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(d), got, want)
		}
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	vet := mustParseFile(t, "pet-veterinarian.json")
	cond := mustParseFile(t, "conditions.json")
	req := iam.Request{
		Action:   iam.InvokeAction,
		Resource: arn("GET", "/petstore/v2/status"),
		SourceIP: netip.MustParseAddr("192.0.2.44"),
		Now:      time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC),
		Values:   map[string][]string{"AWS:UserAgent": {"curl/8"}, "aws:principaltag/dept": {"finance"}, "aws:PrincipalTag/teams": {"team-a"}, "aws:Referer": nil},
	}
	policies := []*iam.Policy{cond, vet}
	if n := testing.AllocsPerRun(100, func() { iam.Evaluate(req, policies...) }); n != 0 {
		t.Errorf("Evaluate allocates %v times per call, want 0", n)
	}
}
