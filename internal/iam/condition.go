package iam

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// family is what a condition operator compares.
type family uint8

const (
	famString family = iota
	famStringFold
	famStringLike
	famIP
	famNumeric
	famDate
	famBool
	famNull
)

// cmpOp is the comparison of the numeric and date families.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type opInfo struct {
	fam    family
	cmp    cmpOp
	negate bool
}

// operators maps each supported base operator to its meaning. A negated
// operator is true exactly when its positive form is false.
var operators = map[string]opInfo{
	"StringEquals":              {fam: famString},
	"StringNotEquals":           {fam: famString, negate: true},
	"StringEqualsIgnoreCase":    {fam: famStringFold},
	"StringNotEqualsIgnoreCase": {fam: famStringFold, negate: true},
	"StringLike":                {fam: famStringLike},
	"StringNotLike":             {fam: famStringLike, negate: true},
	"IpAddress":                 {fam: famIP},
	"NotIpAddress":              {fam: famIP, negate: true},
	"NumericEquals":             {fam: famNumeric, cmp: cmpEq},
	"NumericNotEquals":          {fam: famNumeric, cmp: cmpEq, negate: true},
	"NumericLessThan":           {fam: famNumeric, cmp: cmpLt},
	"NumericLessThanEquals":     {fam: famNumeric, cmp: cmpLe},
	"NumericGreaterThan":        {fam: famNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals":  {fam: famNumeric, cmp: cmpGe},
	"DateEquals":                {fam: famDate, cmp: cmpEq},
	"DateNotEquals":             {fam: famDate, cmp: cmpEq, negate: true},
	"DateLessThan":              {fam: famDate, cmp: cmpLt},
	"DateLessThanEquals":        {fam: famDate, cmp: cmpLe},
	"DateGreaterThan":           {fam: famDate, cmp: cmpGt},
	"DateGreaterThanEquals":     {fam: famDate, cmp: cmpGe},
	"Bool":                      {fam: famBool},
	"Null":                      {fam: famNull},
}

// setQual is the set operator prefix for multivalued keys.
type setQual uint8

const (
	setNone setQual = iota
	setAnyValue
	setAllValues
)

// keyID identifies the condition keys Request carries as typed fields.
type keyID uint8

const (
	keyOther keyID = iota // looked up in Request.Values
	keySourceIP
	keySecureTransport
	keyCurrentTime
	keyEpochTime
)

var builtinKeys = map[string]keyID{
	"aws:sourceip":        keySourceIP,
	"aws:securetransport": keySecureTransport,
	"aws:currenttime":     keyCurrentTime,
	"aws:epochtime":       keyEpochTime,
}

// condition is one (operator, key) pair of a Condition block with its
// policy values parsed into the form its family compares.
type condition struct {
	opInfo
	set      setQual
	ifExists bool
	id       keyID
	key      string // as written in the policy

	strs     []string  // famString, famStringFold
	patterns []pattern // famStringLike
	prefixes []netip.Prefix
	nums     []float64
	times    []time.Time
	bools    []bool // famBool; famNull ("true" = the key must be absent)
}

func (c *compiler) conditions(n *jsonNode, path string) ([]condition, error) {
	if n.kind != kindObject {
		return nil, &ParseError{Path: path, Msg: "must be an object, not " + n.kind.String()}
	}
	if len(n.members) == 0 {
		return nil, &ParseError{Path: path, Msg: "must not be empty"}
	}
	var out []condition
	for _, m := range n.members {
		opPath := keyPath(path, m.key)
		proto, err := parseOperator(m.key)
		if err != nil {
			return nil, &ParseError{Path: opPath, Msg: err.Error()}
		}
		if m.val.kind != kindObject {
			return nil, &ParseError{Path: opPath, Msg: "must be an object mapping condition keys to values, not " + m.val.kind.String()}
		}
		if len(m.val.members) == 0 {
			return nil, &ParseError{Path: opPath, Msg: "must not be empty"}
		}
		for _, km := range m.val.members {
			cd, err := c.condition(proto, m.key, km, keyPath(opPath, km.key))
			if err != nil {
				return nil, err
			}
			out = append(out, cd)
		}
	}
	return out, nil
}

func parseOperator(name string) (condition, error) {
	var cd condition
	base := name
	if rest, ok := strings.CutPrefix(base, "ForAnyValue:"); ok {
		base, cd.set = rest, setAnyValue
	} else if rest, ok := strings.CutPrefix(base, "ForAllValues:"); ok {
		base, cd.set = rest, setAllValues
	}
	if rest, ok := strings.CutSuffix(base, "IfExists"); ok {
		base, cd.ifExists = rest, true
	}
	info, ok := operators[base]
	if !ok {
		return cd, fmt.Errorf("unknown or unsupported condition operator %q", name)
	}
	if info.fam == famNull && (cd.set != setNone || cd.ifExists) {
		return cd, fmt.Errorf("Null takes no ForAnyValue:/ForAllValues: prefix and no IfExists suffix")
	}
	cd.opInfo = info
	return cd, nil
}

// builtinFamilies lists the operator families each typed key accepts. IAM
// gives these keys a type; comparing them as something else (say aws:SourceIp
// with StringLike) would depend on a text form this package would have to
// invent, so such policies are rejected instead.
var builtinFamilies = map[keyID][]family{
	keySourceIP:        {famIP, famNull},
	keySecureTransport: {famBool, famString, famStringFold, famStringLike, famNull},
	keyCurrentTime:     {famDate, famNull},
	keyEpochTime:       {famDate, famNumeric, famNull},
}

func (c *compiler) condition(cd condition, op string, m jsonMember, path string) (condition, error) {
	cd.key = m.key
	if m.key == "" {
		return cd, &ParseError{Path: path, Msg: "condition key must not be empty"}
	}
	cd.id = builtinKeys[strings.ToLower(m.key)]
	if cd.id != keyOther {
		ok := false
		for _, f := range builtinFamilies[cd.id] {
			ok = ok || f == cd.fam
		}
		if !ok {
			return cd, &ParseError{Path: path, Msg: fmt.Sprintf("operator %s cannot be applied to %s", op, m.key)}
		}
	}
	vals, err := conditionValues(m.val, path)
	if err != nil {
		return cd, err
	}
	for i, v := range vals {
		vp := elemPath(path, m.val, i)
		if err := c.addValue(&cd, v, vp); err != nil {
			return cd, err
		}
	}
	return cd, nil
}

// conditionValues reads a condition value: a string, number or boolean, or
// a non-empty list of them (IAM accepts "aws:SecureTransport": false).
func conditionValues(n *jsonNode, path string) ([]string, error) {
	scalar := func(n *jsonNode) bool {
		return n.kind == kindString || n.kind == kindNumber || n.kind == kindBool
	}
	if scalar(n) {
		return []string{n.text}, nil
	}
	if n.kind != kindArray {
		return nil, &ParseError{Path: path, Msg: "must be a string, number, boolean or a list of them, not " + n.kind.String()}
	}
	if len(n.items) == 0 {
		return nil, &ParseError{Path: path, Msg: "must not be empty"}
	}
	out := make([]string, len(n.items))
	for i, it := range n.items {
		if !scalar(it) {
			return nil, &ParseError{Path: indexPath(path, i), Msg: "must be a string, number or boolean, not " + it.kind.String()}
		}
		out[i] = it.text
	}
	return out, nil
}

func (c *compiler) addValue(cd *condition, v, path string) error {
	bad := func(format string, args ...any) error {
		return &ParseError{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	switch cd.fam {
	case famString, famStringFold, famStringLike:
		if msg := c.checkVariables(v); msg != "" {
			return bad("%s", msg)
		}
		if cd.fam == famStringLike {
			cd.patterns = append(cd.patterns, compilePattern(v))
		} else {
			cd.strs = append(cd.strs, v)
		}
	case famIP:
		p, ok := parsePrefix(v)
		if !ok {
			return bad("%q is not an IP address or CIDR block", v)
		}
		cd.prefixes = append(cd.prefixes, p)
	case famNumeric:
		f, ok := parseNumber(v)
		if !ok {
			return bad("%q is not a number", v)
		}
		cd.nums = append(cd.nums, f)
	case famDate:
		t, ok := parseDate(v)
		if !ok {
			return bad("%q is not a date (ISO 8601, e.g. 2026-01-02T15:04:05Z, or epoch seconds)", v)
		}
		cd.times = append(cd.times, t)
	case famBool, famNull:
		b, ok := parseBool(v)
		if !ok {
			return bad(`%q is not "true" or "false"`, v)
		}
		cd.bools = append(cd.bools, b)
	}
	return nil
}

// parsePrefix accepts a CIDR block or a bare address (a /32 or /128). An
// IPv4-mapped IPv6 form is normalized to IPv4, as request addresses are.
func parsePrefix(s string) (netip.Prefix, bool) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, false
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), true
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked(), true
}

func parseNumber(s string) (float64, bool) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// dateLayouts are the ISO 8601 forms accepted besides epoch seconds. A time
// without a zone is UTC, as in IAM.
var dateLayouts = []string{
	time.RFC3339Nano, // also accepts RFC 3339 without fractional seconds
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02",
}

func parseDate(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	if isDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n > maxEpoch {
			return time.Time{}, false
		}
		return time.Unix(n, 0), true
	}
	for _, layout := range dateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// maxEpoch keeps epoch values within years representable by time.Time
// comparisons without surprises (year 9999).
const maxEpoch = 253402300799

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
