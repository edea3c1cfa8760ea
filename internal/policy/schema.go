package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	sast "github.com/cedar-policy/cedar-go/x/exp/schema/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema/resolved"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"
)

// Schema is a parsed, resolved Cedar schema. It is immutable and safe for
// concurrent use.
type Schema struct {
	src       *schema.Schema
	resolved  *resolved.Schema
	validator *validate.Validator
}

// ParseSchema parses a Cedar schema in the JSON format (text starting with
// "{" after whitespace, the form AVP's PutSchema takes) or the human-readable
// .cedarschema format, and resolves it: every referenced type must be
// declared and the action hierarchy must be acyclic. Syntax errors are
// *SyntaxError values with a line and column when the parser gives one.
func ParseSchema(text []byte) (*Schema, error) {
	var src schema.Schema
	if trimmed := bytes.TrimLeft(text, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		if err := jsonSyntaxError(text); err != nil {
			return nil, fmt.Errorf("parse schema: %w", err)
		}
		if err := src.UnmarshalJSON(text); err != nil {
			return nil, fmt.Errorf("parse schema: %w", err)
		}
		if err := checkAppliesTo(text); err != nil {
			return nil, fmt.Errorf("parse schema: %w", err)
		}
	} else if err := src.UnmarshalCedar(text); err != nil {
		return nil, fmt.Errorf("parse schema: %w", syntaxError(err, string(text)))
	}
	if err := checkCommonTypeNames(src.AST()); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	canonicalize(src.AST())
	res, err := src.Resolve()
	if err != nil {
		return nil, fmt.Errorf("resolve schema: %w", err)
	}
	return &Schema{src: &src, resolved: res, validator: validate.New(res, validate.WithStrict())}, nil
}

// JSON returns the schema in the Cedar JSON schema format with members in a
// deterministic order, the form AVP's GetSchema returns.
func (s *Schema) JSON() ([]byte, error) {
	b, err := s.src.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal schema: %w", err)
	}
	return b, nil
}

// Cedar returns the schema in the human-readable .cedarschema format.
func (s *Schema) Cedar() ([]byte, error) {
	return s.src.MarshalCedar()
}

// Namespaces returns the schema's named namespaces, sorted. Declarations in
// the empty namespace are not listed.
func (s *Schema) Namespaces() []string {
	names := make([]string, 0, len(s.resolved.Namespaces))
	for n := range s.resolved.Namespaces {
		if n != "" {
			names = append(names, string(n))
		}
	}
	slices.Sort(names)
	return names
}

// Actions returns the action entities the schema declares, with their
// memberOf parents, sorted by UID. AVP derives the action hierarchy from the
// schema, so the decision engine adds these to every request's entities.
// Each call returns fresh values the caller may keep.
func (s *Schema) Actions() []types.Entity {
	out := make([]types.Entity, 0, len(s.resolved.Actions))
	for _, a := range s.resolved.Actions {
		out = append(out, types.Entity{
			UID:     a.Entity.UID,
			Parents: types.NewEntityUIDSet(slices.Collect(a.Entity.Parents.All())...),
		})
	}
	slices.SortFunc(out, func(a, b types.Entity) int { return compareUID(a.UID, b.UID) })
	return out
}

func compareUID(a, b types.EntityUID) int {
	if c := strings.Compare(string(a.Type), string(b.Type)); c != 0 {
		return c
	}
	return strings.Compare(string(a.ID), string(b.ID))
}

// EntityAttributes returns the names of the attributes the schema declares
// for entityType (the keys of its shape), and whether the schema declares
// the type at all. An enum type is declared and has no attributes.
func (s *Schema) EntityAttributes(entityType types.EntityType) (map[string]bool, bool) {
	if e, ok := s.resolved.Entities[entityType]; ok {
		return attributeNames(e.Shape), true
	}
	if _, ok := s.resolved.Enums[entityType]; ok {
		return map[string]bool{}, true
	}
	return nil, false
}

// ContextAttributes returns the names of the context attributes the schema
// declares for action, and whether the schema declares the action with an
// appliesTo clause.
func (s *Schema) ContextAttributes(action types.EntityUID) (map[string]bool, bool) {
	a, ok := s.resolved.Actions[action]
	if !ok || a.AppliesTo == nil {
		return nil, false
	}
	return attributeNames(a.AppliesTo.Context), true
}

func attributeNames(rec resolved.RecordType) map[string]bool {
	names := make(map[string]bool, len(rec))
	for k := range maps.Keys(rec) {
		names[string(k)] = true
	}
	return names
}

// reservedTypeNames cannot name a common type (Cedar's schema grammar);
// cedar-go enforces this for .cedarschema text but not for JSON schemas.
var reservedTypeNames = []string{"Bool", "Boolean", "Entity", "Extension", "Long", "Record", "Set", "String"}

// checkCommonTypeNames refuses a common type whose name Cedar reserves, in
// either schema format, as Cedar does.
func checkCommonTypeNames(s *sast.Schema) error {
	check := func(ns types.Path, cts sast.CommonTypes) error {
		for name := range cts {
			if slices.Contains(reservedTypeNames, string(name)) {
				where := ""
				if ns != "" {
					where = fmt.Sprintf(" in namespace %s", ns)
				}
				return fmt.Errorf("common type %s%s: %s is reserved and cannot name a common type", name, where, name)
			}
		}
		return nil
	}
	if err := check("", s.CommonTypes); err != nil {
		return err
	}
	for _, ns := range slices.Sorted(maps.Keys(s.Namespaces)) {
		if err := check(ns, s.Namespaces[ns].CommonTypes); err != nil {
			return err
		}
	}
	return nil
}

// checkAppliesTo refuses an action's "appliesTo" that lacks "principalTypes"
// or "resourceTypes", as Cedar's JSON schema parser does ("missing field").
// cedar-go reads a missing list as empty, which would make such an action
// apply to nothing, unlike the same schema refused by Cedar.
func checkAppliesTo(text []byte) error {
	var doc map[string]struct {
		Actions map[string]struct {
			AppliesTo map[string]json.RawMessage `json:"appliesTo"`
		} `json:"actions"`
	}
	if err := json.Unmarshal(text, &doc); err != nil {
		return nil // cedar-go has already accepted the text; its shape is checked there
	}
	for _, ns := range slices.Sorted(maps.Keys(doc)) {
		for _, name := range slices.Sorted(maps.Keys(doc[ns].Actions)) {
			at := doc[ns].Actions[name].AppliesTo
			if at == nil {
				continue
			}
			for _, field := range []string{"principalTypes", "resourceTypes"} {
				if _, ok := at[field]; !ok {
					return fmt.Errorf("action %q in namespace %q: appliesTo is missing %q", name, ns, field)
				}
			}
		}
	}
	return nil
}
