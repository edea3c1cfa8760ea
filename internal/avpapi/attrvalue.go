package avpapi

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// MaxAttributeDepth bounds set/record nesting in an AttributeValue, so a
// request cannot make conversion or evaluation recurse without limit. AVP
// documents no figure; 32 is far beyond any realistic attribute.
const MaxAttributeDepth = 32

// Limits from the AVP API model.
const (
	maxEntityTypeLen = 200
	maxEntityIDLen   = 612
	maxActionIDLen   = 512
	maxIPAddrLen     = 44
)

// AttributeValue is the AVP AttributeValue union (also used for
// CedarTagValue): exactly one member must be set. Set and Record are nil
// when absent; an empty set or record is a present, empty value.
type AttributeValue struct {
	Boolean          *bool                     `json:"boolean,omitempty"`
	Long             *int64                    `json:"long,omitempty"`
	String           *string                   `json:"string,omitempty"`
	EntityIdentifier *EntityIdentifier         `json:"entityIdentifier,omitempty"`
	Set              []AttributeValue          `json:"set,omitzero"`
	Record           map[string]AttributeValue `json:"record,omitzero"`
	IPAddr           *string                   `json:"ipaddr,omitempty"`
	Decimal          *string                   `json:"decimal,omitempty"`
	Datetime         *string                   `json:"datetime,omitempty"`
	Duration         *string                   `json:"duration,omitempty"`
}

var (
	decimalRE  = regexp.MustCompile(`^-?\d{1,15}\.\d{1,4}$`)
	datetimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{4}))?$`)
	durationRE = regexp.MustCompile(`^-?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$`)
	ipaddrRE   = regexp.MustCompile(`^[0-9a-fA-F.:/]*$`)
	actionRE   = regexp.MustCompile(`(^|::)Action$`)
)

// invalid is the ValidationException for one field.
func invalid(path, format string, args ...any) *awsjson.Error {
	msg := fmt.Sprintf(format, args...)
	return awsjson.Validation(
		fmt.Sprintf("1 validation error detected: Value at '%s' failed to satisfy constraint: %s", path, msg),
		awsjson.FieldError{Path: path, Message: msg})
}

// members lists the names of the members that are set.
func (a *AttributeValue) members() []string {
	var m []string
	add := func(ok bool, name string) {
		if ok {
			m = append(m, name)
		}
	}
	add(a.Boolean != nil, "boolean")
	add(a.Long != nil, "long")
	add(a.String != nil, "string")
	add(a.EntityIdentifier != nil, "entityIdentifier")
	add(a.Set != nil, "set")
	add(a.Record != nil, "record")
	add(a.IPAddr != nil, "ipaddr")
	add(a.Decimal != nil, "decimal")
	add(a.Datetime != nil, "datetime")
	add(a.Duration != nil, "duration")
	return m
}

// ToValue converts a to a Cedar value. path is the field path of a in the
// request and prefixes every error.
func (a *AttributeValue) ToValue(path string) (types.Value, error) {
	return a.toValue(path, 0)
}

func (a *AttributeValue) toValue(path string, depth int) (types.Value, error) {
	if depth > MaxAttributeDepth {
		return nil, invalid(path, "attribute values must not nest more than %d levels", MaxAttributeDepth)
	}
	if m := a.members(); len(m) != 1 {
		if len(m) == 0 {
			return nil, invalid(path, "union must have exactly one member; none set")
		}
		return nil, invalid(path, "union must have exactly one member; found %s", strings.Join(m, ", "))
	}
	switch {
	case a.Boolean != nil:
		return types.Boolean(*a.Boolean), nil
	case a.Long != nil:
		return types.Long(*a.Long), nil
	case a.String != nil:
		return types.String(*a.String), nil
	case a.EntityIdentifier != nil:
		return a.EntityIdentifier.UID(awsjson.JoinPath(path, "entityIdentifier"))
	case a.Set != nil:
		vals := make([]types.Value, 0, len(a.Set))
		for i := range a.Set {
			v, err := a.Set[i].toValue(fmt.Sprintf("%s.set[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			vals = append(vals, v)
		}
		return types.NewSet(vals...), nil
	case a.Record != nil:
		rec, err := recordFromMap(a.Record, awsjson.JoinPath(path, "record"), depth+1)
		if err != nil {
			return nil, err
		}
		return rec, nil
	case a.IPAddr != nil:
		s, p := *a.IPAddr, awsjson.JoinPath(path, "ipaddr")
		if len(s) == 0 || len(s) > maxIPAddrLen || !ipaddrRE.MatchString(s) {
			return nil, invalid(p, "must match pattern [0-9a-fA-F.:/]* with length 1 to %d", maxIPAddrLen)
		}
		v, err := types.ParseIPAddr(s)
		if err != nil {
			return nil, invalid(p, "must be an IPv4 or IPv6 address or CIDR range")
		}
		return v, nil
	case a.Decimal != nil:
		s, p := *a.Decimal, awsjson.JoinPath(path, "decimal")
		if !decimalRE.MatchString(s) {
			return nil, invalid(p, `must match pattern -?\d{1,15}\.\d{1,4}`)
		}
		v, err := types.ParseDecimal(s)
		if err != nil {
			return nil, invalid(p, "decimal is out of range")
		}
		return v, nil
	case a.Datetime != nil:
		s, p := *a.Datetime, awsjson.JoinPath(path, "datetime")
		if !datetimeRE.MatchString(s) {
			return nil, invalid(p, "must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ss[.SSS](Z|(+|-)hhmm)")
		}
		v, err := types.ParseDatetime(s)
		// An offset can push the instant outside years 0000-9999, which
		// the wire pattern could not express when echoed back.
		if y := v.Time().UTC().Year(); err != nil || y < 0 || y > 9999 {
			return nil, invalid(p, "datetime is not a valid date and time in years 0000 to 9999")
		}
		return v, nil
	default: // Duration
		s, p := *a.Duration, awsjson.JoinPath(path, "duration")
		if s == "" || s == "-" || !durationRE.MatchString(s) {
			return nil, invalid(p, "must match pattern -?(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?(\\d+ms)? and not be empty")
		}
		v, err := types.ParseDuration(s)
		if err != nil {
			return nil, invalid(p, "duration is out of range")
		}
		return v, nil
	}
}

// recordFromMap converts a map of attribute values, e.g. contextMap or
// entity attributes, into a Cedar record.
func recordFromMap(m map[string]AttributeValue, path string, depth int) (types.Record, error) {
	rm := make(types.RecordMap, len(m))
	// Sorted so that the first error reported is deterministic.
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !utf8.ValidString(k) {
			return types.Record{}, invalid(path, "member names must be valid UTF-8")
		}
		av := m[k]
		v, err := av.toValue(awsjson.JoinPath(path, k), depth)
		if err != nil {
			return types.Record{}, err
		}
		rm[types.String(k)] = v
	}
	return types.NewRecord(rm), nil
}

// RecordFromMap converts a contextMap or attributes map into a Cedar
// record; path names the map in the request.
func RecordFromMap(m map[string]AttributeValue, path string) (types.Record, error) {
	return recordFromMap(m, path, 0)
}

// AttributeValueFrom converts a Cedar value back to the wire form, for
// echoing requests and principals.
func AttributeValueFrom(v types.Value) (AttributeValue, error) {
	return attributeValueFrom(v, 0)
}

func attributeValueFrom(v types.Value, depth int) (AttributeValue, error) {
	if depth > MaxAttributeDepth {
		return AttributeValue{}, fmt.Errorf("attribute value nests more than %d levels", MaxAttributeDepth)
	}
	switch x := v.(type) {
	case types.Boolean:
		b := bool(x)
		return AttributeValue{Boolean: &b}, nil
	case types.Long:
		l := int64(x)
		return AttributeValue{Long: &l}, nil
	case types.String:
		s := string(x)
		return AttributeValue{String: &s}, nil
	case types.EntityUID:
		id := EntityIdentifierFrom(x)
		return AttributeValue{EntityIdentifier: &id}, nil
	case types.Set:
		out := make([]AttributeValue, 0, x.Len())
		for e := range x.All() {
			av, err := attributeValueFrom(e, depth+1)
			if err != nil {
				return AttributeValue{}, err
			}
			out = append(out, av)
		}
		return AttributeValue{Set: out}, nil
	case types.Record:
		m, err := mapFromRecord(x, depth+1)
		if err != nil {
			return AttributeValue{}, err
		}
		return AttributeValue{Record: m}, nil
	case types.IPAddr:
		s := x.String()
		return AttributeValue{IPAddr: &s}, nil
	case types.Decimal:
		s := x.String()
		return AttributeValue{Decimal: &s}, nil
	case types.Datetime:
		s := x.String()
		return AttributeValue{Datetime: &s}, nil
	case types.Duration:
		s := x.String()
		return AttributeValue{Duration: &s}, nil
	}
	return AttributeValue{}, fmt.Errorf("unsupported cedar value type %T", v)
}

// MapFromRecord converts a Cedar record to a map of attribute values.
func MapFromRecord(r types.Record) (map[string]AttributeValue, error) {
	return mapFromRecord(r, 0)
}

func mapFromRecord(r types.Record, depth int) (map[string]AttributeValue, error) {
	m := make(map[string]AttributeValue, r.Len())
	for k, v := range r.All() {
		av, err := attributeValueFrom(v, depth)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %w", string(k), err)
		}
		m[string(k)] = av
	}
	return m, nil
}

// UID validates e and converts it to a Cedar entity UID.
func (e *EntityIdentifier) UID(path string) (types.EntityUID, error) {
	if e == nil {
		return types.EntityUID{}, invalid(path, "member must not be null")
	}
	if err := checkEntityType(e.EntityType, awsjson.JoinPath(path, "entityType")); err != nil {
		return types.EntityUID{}, err
	}
	if n := len(e.EntityID); n == 0 || n > maxEntityIDLen || !utf8.ValidString(e.EntityID) {
		return types.EntityUID{}, invalid(awsjson.JoinPath(path, "entityId"), "length must be 1 to %d", maxEntityIDLen)
	}
	return types.NewEntityUID(types.EntityType(e.EntityType), types.String(e.EntityID)), nil
}

// UID validates a and converts it to the Cedar UID of the action entity.
func (a *ActionIdentifier) UID(path string) (types.EntityUID, error) {
	if a == nil {
		return types.EntityUID{}, invalid(path, "member must not be null")
	}
	tp := awsjson.JoinPath(path, "actionType")
	if err := checkEntityType(a.ActionType, tp); err != nil {
		return types.EntityUID{}, err
	}
	if !actionRE.MatchString(a.ActionType) {
		return types.EntityUID{}, invalid(tp, "must be Action or end in ::Action")
	}
	if n := len(a.ActionID); n == 0 || n > maxActionIDLen || !utf8.ValidString(a.ActionID) {
		return types.EntityUID{}, invalid(awsjson.JoinPath(path, "actionId"), "length must be 1 to %d", maxActionIDLen)
	}
	return types.NewEntityUID(types.EntityType(a.ActionType), types.String(a.ActionID)), nil
}

func checkEntityType(s, path string) error {
	if n := len(s); n == 0 || n > maxEntityTypeLen {
		return invalid(path, "length must be 1 to %d", maxEntityTypeLen)
	}
	if _, err := types.NewEntityType(s); err != nil {
		return invalid(path, "must be a Cedar entity type name such as Namespace::Type")
	}
	return nil
}

// EntityIdentifierFrom is the wire form of a Cedar entity UID.
func EntityIdentifierFrom(uid types.EntityUID) EntityIdentifier {
	return EntityIdentifier{EntityType: string(uid.Type), EntityID: string(uid.ID)}
}

// ActionIdentifierFrom is the wire form of a Cedar action UID.
func ActionIdentifierFrom(uid types.EntityUID) ActionIdentifier {
	return ActionIdentifier{ActionType: string(uid.Type), ActionID: string(uid.ID)}
}
