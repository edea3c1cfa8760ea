package iam

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// InvokeAction is the action API Gateway authorizes for every method call.
const InvokeAction = "execute-api:Invoke"

// Request is what a policy is evaluated against.
type Request struct {
	// Action is the IAM action; empty means InvokeAction.
	Action string
	// Resource is the method ARN (see MethodARN).
	Resource string

	// SourceIP is aws:SourceIp; the zero Addr means the key is absent.
	SourceIP netip.Addr
	// SecureTransport is aws:SecureTransport (always present).
	SecureTransport bool
	// Now is aws:CurrentTime and aws:EpochTime, compared at one-second
	// precision; the zero Time means both keys are absent.
	Now time.Time

	// Values holds every other condition key the caller supplies, e.g.
	// aws:UserAgent, aws:Referer or aws:PrincipalTag/dept. Keys are matched
	// case-insensitively. The typed fields above take precedence over
	// entries for the same keys here.
	//
	// A key that is not in the map is unknown, and any condition on it is
	// false (see Evaluate). To say that the caller knows the key but the
	// request has no value for it (no Referer header, say), store the key
	// with an empty slice: then IAM's missing-key rules apply, so IfExists
	// and negated operators are true and Null is true.
	Values map[string][]string
}

// Decision is the outcome of evaluating policies. The zero value is
// ImplicitDeny, so a forgotten evaluation denies.
type Decision int

const (
	// ImplicitDeny: no statement allowed the request.
	ImplicitDeny Decision = iota
	// Allow: a statement allowed the request and none denied it.
	Allow
	// ExplicitDeny: a Deny statement applied.
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case ImplicitDeny:
		return "ImplicitDeny"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Evaluate decides req against the union of the policies' statements, as
// IAM does for a caller with several identity policies: any applicable Deny
// gives ExplicitDeny; otherwise any applicable Allow gives Allow; otherwise
// ImplicitDeny, which is also the result for no policies. Nil policies are
// skipped.
//
// A statement applies when its Action (or NotAction) and Resource (or
// NotResource) match the request and every condition holds. Conditions
// follow IAM, including its rule that a negated operator (StringNotEquals,
// NotIpAddress, ...) is true when the request lacks the key, with one
// deliberate difference: a condition on an unknown key (neither a typed
// field of Request nor present in Request.Values) is false whatever the
// operator. IAM would make a negated condition on a missing key true, which
// for an Allow grants access on the strength of a key this gateway never
// looked at; treating unknown keys as never matching keeps such an Allow
// from applying. The price is that a Deny conditioned on an unknown key does
// not apply either; use Policy.ConditionKeys to refuse such policies when
// they are stored.
//
// Evaluate does not allocate, except that reading a Request.Values entry
// as an address, number or date allocates when the entry is malformed or
// not in the first date layout tried.
func Evaluate(req Request, policies ...*Policy) Decision {
	allowed := false
	for _, p := range policies {
		if p == nil {
			continue
		}
		for i := range p.statements {
			s := &p.statements[i]
			if allowed && !s.deny {
				continue // only a Deny can change the outcome now
			}
			if s.applies(&req) {
				if s.deny {
					return ExplicitDeny
				}
				allowed = true
			}
		}
	}
	if allowed {
		return Allow
	}
	return ImplicitDeny
}

func (s *statement) applies(req *Request) bool {
	action := req.Action
	if action == "" {
		action = InvokeAction
	}
	if matchAny(s.actions, action, true) == s.notAction {
		return false
	}
	if matchAny(s.resources, req.Resource, false) == s.notResource {
		return false
	}
	for i := range s.conditions {
		if !s.conditions[i].holds(req) {
			return false
		}
	}
	return true
}

func matchAny(pats []pattern, s string, fold bool) bool {
	for _, p := range pats {
		if p.match(s, fold) {
			return true
		}
	}
	return false
}

// holds evaluates the condition against the request.
func (c *condition) holds(req *Request) bool {
	var strs []string // values of a Values key
	n := 0            // number of values the request has for the key
	switch c.id {
	case keySourceIP:
		if req.SourceIP.IsValid() {
			n = 1
		}
	case keySecureTransport:
		n = 1
	case keyCurrentTime, keyEpochTime:
		if !req.Now.IsZero() {
			n = 1
		}
	default:
		var known bool
		strs, known = lookup(req.Values, c.key)
		if !known {
			return false // unknown key: see Evaluate
		}
		n = len(strs)
	}

	if c.fam == famNull {
		absent := n == 0
		for _, b := range c.bools {
			if b == absent {
				return true
			}
		}
		return false
	}
	if n == 0 {
		switch {
		case c.ifExists:
			return true
		case c.set == setAllValues:
			return true // vacuously, as in IAM
		case c.set == setAnyValue:
			return false
		}
		return c.negate
	}

	switch c.set {
	case setAnyValue:
		for i := range n {
			m, ok := c.matchValue(req, strs, i)
			if !ok {
				return false
			}
			if m != c.negate {
				return true
			}
		}
		return false
	case setAllValues:
		for i := range n {
			m, ok := c.matchValue(req, strs, i)
			if !ok || m == c.negate {
				return false
			}
		}
		return true
	}
	// Without a set operator a key with several values behaves like
	// ForAnyValue for the positive operator, and the negated operator is its
	// complement.
	for i := range n {
		m, ok := c.matchValue(req, strs, i)
		if !ok {
			return false
		}
		if m {
			return !c.negate
		}
	}
	return c.negate
}

// lookup finds key in values, ignoring case as IAM does for condition keys.
func lookup(values map[string][]string, key string) ([]string, bool) {
	if v, ok := values[key]; ok {
		return v, true
	}
	for k, v := range values {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// matchValue reports whether the request's i-th value for the key matches
// any policy value under the positive form of the operator. ok is false
// when the request value cannot be read as the operator's type (a Values
// entry that is not an IP address, say); the condition then fails.
func (c *condition) matchValue(req *Request, strs []string, i int) (match, ok bool) {
	switch c.fam {
	case famString, famStringFold, famStringLike:
		var v string
		if c.id == keySecureTransport {
			v = strconv.FormatBool(req.SecureTransport)
		} else {
			v = strs[i]
		}
		return c.matchString(v), true
	case famIP:
		ip := req.SourceIP
		if c.id != keySourceIP {
			var err error
			if ip, err = netip.ParseAddr(strs[i]); err != nil {
				return false, false
			}
		}
		ip = ip.Unmap().WithZone("")
		for _, p := range c.prefixes {
			if p.Contains(ip) {
				return true, true
			}
		}
		return false, true
	case famNumeric:
		var v float64
		if c.id == keyEpochTime {
			v = float64(req.Now.Unix())
		} else {
			if v, ok = parseNumber(strs[i]); !ok {
				return false, false
			}
		}
		for _, p := range c.nums {
			if compare(v, p, c.cmp) {
				return true, true
			}
		}
		return false, true
	case famDate:
		var t time.Time
		if c.id == keyCurrentTime || c.id == keyEpochTime {
			t = req.Now.Truncate(time.Second)
		} else if t, ok = parseDate(strs[i]); !ok {
			return false, false
		}
		for _, p := range c.times {
			if compareInt(t.Compare(p), c.cmp) {
				return true, true
			}
		}
		return false, true
	case famBool:
		var v bool
		if c.id == keySecureTransport {
			v = req.SecureTransport
		} else if v, ok = parseBool(strs[i]); !ok {
			return false, false
		}
		for _, b := range c.bools {
			if b == v {
				return true, true
			}
		}
		return false, true
	}
	return false, false
}

func (c *condition) matchString(v string) bool {
	switch c.fam {
	case famString:
		for _, s := range c.strs {
			if s == v {
				return true
			}
		}
	case famStringFold:
		for _, s := range c.strs {
			if strings.EqualFold(s, v) {
				return true
			}
		}
	case famStringLike:
		for _, p := range c.patterns {
			if p.match(v, false) {
				return true
			}
		}
	}
	return false
}

func compare(v, p float64, op cmpOp) bool {
	switch op {
	case cmpEq:
		return v == p
	case cmpLt:
		return v < p
	case cmpLe:
		return v <= p
	case cmpGt:
		return v > p
	default:
		return v >= p
	}
}

// compareInt applies op to the result of a three-way comparison.
func compareInt(c int, op cmpOp) bool {
	switch op {
	case cmpEq:
		return c == 0
	case cmpLt:
		return c < 0
	case cmpLe:
		return c <= 0
	case cmpGt:
		return c > 0
	default:
		return c >= 0
	}
}

// MethodARN returns the ARN API Gateway gives a method call:
// arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{verb}/{path},
// where path is the actual request path (values, not route templates) with
// its leading slash removed, so the root resource gives ".../GET/". verb is
// used as given; HTTP methods are case-sensitive.
func MethodARN(region, account, apiID, stage, verb, path string) string {
	path = strings.TrimPrefix(path, "/")
	return "arn:aws:execute-api:" + region + ":" + account + ":" + apiID + "/" + stage + "/" + verb + "/" + path
}
