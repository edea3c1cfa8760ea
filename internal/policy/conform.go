package policy

import (
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
)

// ConformError is a request or entity value that does not have the type the
// schema declares. Path is relative to the value conformed: "attrs.owner",
// "tags.t", "parents" or, for a context, the attribute path "a.b".
type ConformError struct {
	Path    string
	Message string
}

func (e *ConformError) Error() string {
	if e.Path == "" {
		return e.Message
	}
	return e.Path + ": " + e.Message
}

// cedarDecimalRE is the literal Cedar's decimal() accepts: an optional minus,
// digits, a point and one to four digits. cedar-go also accepts a leading
// "+", which Cedar rejects.
var cedarDecimalRE = regexp.MustCompile(`^-?[0-9]+\.[0-9]{1,4}$`)

// ParseDecimal parses a decimal literal as Cedar does.
func ParseDecimal(s string) (types.Decimal, error) {
	if !cedarDecimalRE.MatchString(s) {
		return types.Decimal{}, fmt.Errorf("%q is not a decimal literal (digits, a point and 1 to 4 digits)", s)
	}
	return types.ParseDecimal(s)
}

// ConformEntity reads e the way Cedar reads an entity with a schema: its
// type must be declared, its attributes and tags must have the declared
// types (attributes undeclared or missing when required are errors), its
// parents must be of declared parent types, and values that only the schema
// can tell apart are converted — a record {"type":…,"id":…} where an entity
// is expected becomes the entity reference and a string where an extension
// type is expected is parsed as that type. Action entities are taken as
// they are: the schema defines them.
func (s *Schema) ConformEntity(e types.Entity) (types.Entity, error) {
	if _, ok := s.resolved.Actions[e.UID]; ok {
		return e, nil
	}
	if en, ok := s.resolved.Enums[e.UID.Type]; ok {
		if !slices.Contains(en.Values, e.UID) {
			return e, &ConformError{Path: "uid", Message: fmt.Sprintf("%s is not a value of the enumerated entity type %s", e.UID, e.UID.Type)}
		}
		if e.Attributes.Len() > 0 || e.Tags.Len() > 0 || e.Parents.Len() > 0 {
			return e, &ConformError{Path: "attrs", Message: fmt.Sprintf("entities of the enumerated type %s have no attributes, tags or parents", e.UID.Type)}
		}
		return e, nil
	}
	def, ok := s.resolved.Entities[e.UID.Type]
	if !ok {
		return e, &ConformError{Path: "uid", Message: fmt.Sprintf("entity type %s is not declared in the schema", e.UID.Type)}
	}
	attrs, err := conformRecord(e.Attributes, def.Shape, "attrs")
	if err != nil {
		return e, err
	}
	out := types.Entity{UID: e.UID, Attributes: attrs, Parents: e.Parents, Tags: e.Tags}
	for p := range e.Parents.All() {
		if !slices.Contains(def.ParentTypes, p.Type) {
			return e, &ConformError{Path: "parents", Message: fmt.Sprintf("%s may not be a parent of %s: the schema does not declare %s memberOf %s", p, e.UID, e.UID.Type, p.Type)}
		}
	}
	if e.Tags.Len() > 0 {
		if def.Tags == nil {
			return e, &ConformError{Path: "tags", Message: fmt.Sprintf("entity type %s has no tags in the schema", e.UID.Type)}
		}
		m := make(types.RecordMap, e.Tags.Len())
		for k, v := range e.Tags.All() {
			if m[k], err = conformValue(v, def.Tags, joinPath("tags", string(k))); err != nil {
				return e, err
			}
		}
		out.Tags = types.NewRecord(m)
	}
	return out, nil
}

// ConformContext reads a request context the way Cedar does with a schema
// (see ConformEntity). An action the schema does not declare, or declares
// without appliesTo, takes only the empty context.
func (s *Schema) ConformContext(action types.EntityUID, ctx types.Record) (types.Record, error) {
	a, ok := s.resolved.Actions[action]
	if !ok {
		return ctx, &ConformError{Message: fmt.Sprintf("action %s is not declared in the schema", action)}
	}
	var want resolved.RecordType
	if a.AppliesTo != nil {
		want = a.AppliesTo.Context
	}
	return conformRecord(ctx, want, "")
}

func joinPath(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

func conformRecord(r types.Record, want resolved.RecordType, path string) (types.Record, error) {
	m := make(types.RecordMap, r.Len())
	for k, v := range r.All() {
		at, ok := want[k]
		p := joinPath(path, string(k))
		if !ok {
			return r, &ConformError{Path: p, Message: "attribute is not declared in the schema"}
		}
		c, err := conformValue(v, at.Type, p)
		if err != nil {
			return r, err
		}
		m[k] = c
	}
	// Sorted so that the error for several missing attributes is deterministic.
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if _, ok := m[k]; !ok && !want[k].Optional {
			return r, &ConformError{Path: joinPath(path, string(k)), Message: "required attribute is missing"}
		}
	}
	return types.NewRecord(m), nil
}

func conformValue(v types.Value, want resolved.IsType, path string) (types.Value, error) {
	mismatch := func(what string) error {
		return &ConformError{Path: path, Message: fmt.Sprintf("expected %s, got %s", what, typeName(v))}
	}
	switch t := want.(type) {
	case resolved.StringType:
		if _, ok := v.(types.String); !ok {
			return v, mismatch("String")
		}
	case resolved.LongType:
		if _, ok := v.(types.Long); !ok {
			return v, mismatch("Long")
		}
	case resolved.BoolType:
		if _, ok := v.(types.Boolean); !ok {
			return v, mismatch("Bool")
		}
	case resolved.EntityType:
		uid, ok := v.(types.EntityUID)
		if !ok {
			if uid, ok = implicitUID(v); !ok {
				return v, mismatch("an entity reference of type " + string(t))
			}
		}
		if uid.Type != types.EntityType(t) {
			return v, &ConformError{Path: path, Message: fmt.Sprintf("expected an entity of type %s, got %s", string(t), uid)}
		}
		return uid, nil
	case resolved.ExtensionType:
		return conformExtension(v, string(t), path)
	case resolved.SetType:
		set, ok := v.(types.Set)
		if !ok {
			return v, mismatch("Set")
		}
		out := make([]types.Value, 0, set.Len())
		i := 0
		for e := range set.All() {
			c, err := conformValue(e, t.Element, fmt.Sprintf("%s[%d]", path, i))
			if err != nil {
				return v, err
			}
			out = append(out, c)
			i++
		}
		return types.NewSet(out...), nil
	case resolved.RecordType:
		rec, ok := v.(types.Record)
		if !ok {
			return v, mismatch("Record")
		}
		return conformRecord(rec, t, path)
	default:
		return v, &ConformError{Path: path, Message: fmt.Sprintf("unsupported schema type %T", want)}
	}
	return v, nil
}

// implicitUID is Cedar's schema-directed entity reference: a record with
// exactly the string members "type" and "id".
func implicitUID(v types.Value) (types.EntityUID, bool) {
	r, ok := v.(types.Record)
	if !ok || r.Len() != 2 {
		return types.EntityUID{}, false
	}
	typ, ok1 := r.Get("type")
	id, ok2 := r.Get("id")
	ts, ok3 := typ.(types.String)
	is, ok4 := id.(types.String)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return types.EntityUID{}, false
	}
	if _, err := types.NewEntityType(string(ts)); err != nil {
		return types.EntityUID{}, false
	}
	return types.NewEntityUID(types.EntityType(ts), is), true
}

func conformExtension(v types.Value, name, path string) (types.Value, error) {
	s, isString := v.(types.String)
	var (
		out types.Value
		err error
		ok  bool
	)
	switch name {
	case "decimal":
		if out, ok = v.(types.Decimal); !ok && isString {
			out, err = ParseDecimal(string(s))
		}
	case "ipaddr":
		if out, ok = v.(types.IPAddr); !ok && isString {
			out, err = types.ParseIPAddr(string(s))
		}
	case "datetime":
		if out, ok = v.(types.Datetime); !ok && isString {
			out, err = types.ParseDatetime(string(s))
		}
	case "duration":
		if out, ok = v.(types.Duration); !ok && isString {
			out, err = types.ParseDuration(string(s))
		}
	default:
		return v, &ConformError{Path: path, Message: "unknown extension type " + name}
	}
	if ok {
		return out, nil
	}
	if !isString {
		return v, &ConformError{Path: path, Message: fmt.Sprintf("expected %s, got %s", name, typeName(v))}
	}
	if err != nil {
		return v, &ConformError{Path: path, Message: fmt.Sprintf("%q is not a valid %s: %v", string(s), name, err)}
	}
	return out, nil
}

func typeName(v types.Value) string {
	switch v.(type) {
	case types.String:
		return "String"
	case types.Long:
		return "Long"
	case types.Boolean:
		return "Bool"
	case types.EntityUID:
		return "an entity reference"
	case types.Set:
		return "Set"
	case types.Record:
		return "Record"
	case types.Decimal:
		return "decimal"
	case types.IPAddr:
		return "ipaddr"
	case types.Datetime:
		return "datetime"
	case types.Duration:
		return "duration"
	}
	return fmt.Sprintf("%T", v)
}
