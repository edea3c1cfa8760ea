package policy

import (
	"strings"

	"github.com/cedar-policy/cedar-go/types"
	sast "github.com/cedar-policy/cedar-go/x/exp/schema/ast"
)

// canonicalize rewrites ambiguous type references in a parsed schema to the
// explicit form the Cedar JSON format prefers, so that the same schema
// marshals to the same JSON whichever format it was written in. The
// human-readable parser leaves every name (Long, User, Tags) as an
// "EntityOrCommon" reference; this applies Cedar's name resolution order
// (common type, then entity type, in the current namespace, then the empty
// namespace, then built-in types) and turns entity and built-in references
// into Entity and primitive types; an empty entity shape is dropped, as
// it means the same as none. References to common types and names
// that resolve nowhere are left alone; the resolver reports the latter.
func canonicalize(s *sast.Schema) {
	c := canon{
		common: map[types.Path]bool{},
		entity: map[types.Path]bool{},
	}
	c.register("", s.Entities, s.Enums, s.CommonTypes)
	for ns, n := range s.Namespaces {
		c.register(ns, n.Entities, n.Enums, n.CommonTypes)
	}
	c.decls("", s.Entities, s.Actions, s.CommonTypes)
	for ns, n := range s.Namespaces {
		c.decls(ns, n.Entities, n.Actions, n.CommonTypes)
	}
}

type canon struct {
	common, entity map[types.Path]bool
}

func qualify(ns types.Path, name string) types.Path {
	if ns == "" {
		return types.Path(name)
	}
	return types.Path(string(ns) + "::" + name)
}

func (c *canon) register(ns types.Path, es sast.Entities, enums sast.Enums, cts sast.CommonTypes) {
	for n := range es {
		c.entity[qualify(ns, string(n))] = true
	}
	for n := range enums {
		c.entity[qualify(ns, string(n))] = true
	}
	for n := range cts {
		c.common[qualify(ns, string(n))] = true
	}
}

func (c *canon) decls(ns types.Path, es sast.Entities, acts sast.Actions, cts sast.CommonTypes) {
	for n, e := range es {
		c.record(ns, e.Shape)
		if len(e.Shape) == 0 {
			// An empty shape and no shape mean the same; omit it.
			e.Shape = nil
		}
		if e.Tags != nil {
			e.Tags = c.typ(ns, e.Tags)
		}
		es[n] = e
	}
	for _, a := range acts {
		if a.AppliesTo != nil && a.AppliesTo.Context != nil {
			a.AppliesTo.Context = c.typ(ns, a.AppliesTo.Context)
		}
	}
	for n, ct := range cts {
		ct.Type = c.typ(ns, ct.Type)
		cts[n] = ct
	}
}

func (c *canon) record(ns types.Path, r sast.RecordType) {
	for n, a := range r {
		a.Type = c.typ(ns, a.Type)
		r[n] = a
	}
}

func (c *canon) typ(ns types.Path, t sast.IsType) sast.IsType {
	switch t := t.(type) {
	case sast.SetType:
		return sast.SetType{Element: c.typ(ns, t.Element)}
	case sast.RecordType:
		c.record(ns, t)
		return t
	case sast.TypeRef:
		return c.ref(ns, t)
	}
	return t
}

func (c *canon) ref(ns types.Path, ref sast.TypeRef) sast.IsType {
	name := string(ref)
	if builtin, ok := strings.CutPrefix(name, "__cedar::"); ok {
		if b := builtinType(builtin); b != nil {
			return b
		}
		return ref
	}
	if strings.Contains(name, "::") {
		switch {
		case c.common[types.Path(name)]:
			return ref
		case c.entity[types.Path(name)]:
			return sast.EntityTypeRef(name)
		}
		return ref
	}
	candidates := []types.Path{qualify(ns, name)}
	if ns != "" {
		candidates = append(candidates, types.Path(name))
	}
	for _, p := range candidates {
		switch {
		case c.common[p]:
			return ref
		case c.entity[p]:
			return sast.EntityTypeRef(name)
		}
	}
	if b := builtinType(name); b != nil {
		return b
	}
	return ref
}

func builtinType(name string) sast.IsType {
	switch name {
	case "String":
		return sast.StringType{}
	case "Long":
		return sast.LongType{}
	case "Bool", "Boolean":
		return sast.BoolType{}
	case "ipaddr", "decimal", "datetime", "duration":
		return sast.ExtensionType(name)
	}
	return nil
}
