package avpapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// MaxParents is AVP's limit on the parents listed for one entity.
const MaxParents = 100

// ToEntityMap converts an entities definition into Cedar entities. path
// names the definition in the request (e.g. "entities"). As in AVP, when an
// identifier appears twice the last one wins. A nil definition is an empty
// map.
func (d *EntitiesDefinition) ToEntityMap(path string) (types.EntityMap, error) {
	if d == nil {
		return types.EntityMap{}, nil
	}
	switch {
	case d.EntityList != nil && d.CedarJSON != nil:
		return nil, invalid(path, "union must have exactly one member; found entityList, cedarJson")
	case d.EntityList != nil:
		return entityListToMap(d.EntityList, awsjson.JoinPath(path, "entityList"))
	case d.CedarJSON != nil:
		return EntitiesFromCedarJSON([]byte(*d.CedarJSON), awsjson.JoinPath(path, "cedarJson"))
	}
	return nil, invalid(path, "union must have exactly one member; none set")
}

func entityListToMap(list []EntityItem, path string) (types.EntityMap, error) {
	m := make(types.EntityMap, len(list))
	for i := range list {
		e, err := list[i].ToEntity(fmt.Sprintf("%s[%d]", path, i))
		if err != nil {
			return nil, err
		}
		m[e.UID] = e
	}
	return m, nil
}

// ToEntity converts one entityList item; path names the item.
func (it *EntityItem) ToEntity(path string) (types.Entity, error) {
	uid, err := it.Identifier.UID(awsjson.JoinPath(path, "identifier"))
	if err != nil {
		return types.Entity{}, err
	}
	e := types.Entity{UID: uid}
	if it.Attributes != nil {
		if e.Attributes, err = RecordFromMap(it.Attributes, awsjson.JoinPath(path, "attributes")); err != nil {
			return types.Entity{}, err
		}
	}
	if it.Tags != nil {
		if e.Tags, err = RecordFromMap(it.Tags, awsjson.JoinPath(path, "tags")); err != nil {
			return types.Entity{}, err
		}
	}
	pp := awsjson.JoinPath(path, "parents")
	if len(it.Parents) > MaxParents {
		return types.Entity{}, invalid(pp, "must have at most %d parents", MaxParents)
	}
	parents := make([]types.EntityUID, 0, len(it.Parents))
	for i := range it.Parents {
		p, err := it.Parents[i].UID(fmt.Sprintf("%s[%d]", pp, i))
		if err != nil {
			return types.Entity{}, err
		}
		parents = append(parents, p)
	}
	e.Parents = types.NewEntityUIDSet(parents...)
	return e, nil
}

// EntitiesFromCedarJSON parses the Cedar JSON entity format
// [{"uid":{"type","id"},"attrs":{},"parents":[],"tags":{}}] (cedar-go's
// parser; extension values need the explicit {"__extn":...} form, since
// there is no schema-directed parsing). Errors name the array element, e.g.
// "entities.cedarJson[2]". Duplicate UIDs: the last one wins, as for
// entityList.
func EntitiesFromCedarJSON(doc []byte, path string) (types.EntityMap, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(doc, &raw); err != nil {
		return nil, invalid(path, "must be a JSON array of Cedar entities")
	}
	m := make(types.EntityMap, len(raw))
	for i, r := range raw {
		p := fmt.Sprintf("%s[%d]", path, i)
		var e types.Entity
		if err := json.Unmarshal(r, &e); err != nil {
			return nil, invalid(p, "is not a valid Cedar JSON entity: %s", cedarErr(err))
		}
		if e.UID.Type == "" {
			return nil, invalid(p+".uid", "entity type must not be empty")
		}
		if e.Parents.Len() > MaxParents {
			return nil, invalid(p+".parents", "must have at most %d parents", MaxParents)
		}
		if err := checkDepth(e.Attributes, p+".attrs"); err != nil {
			return nil, err
		}
		if err := checkDepth(e.Tags, p+".tags"); err != nil {
			return nil, err
		}
		m[e.UID] = e
	}
	return m, nil
}

// ToRecord converts a context definition into the Cedar context record.
// A nil definition is the empty record.
func (d *ContextDefinition) ToRecord(path string) (types.Record, error) {
	if d == nil {
		return types.Record{}, nil
	}
	switch {
	case d.ContextMap != nil && d.CedarJSON != nil:
		return types.Record{}, invalid(path, "union must have exactly one member; found contextMap, cedarJson")
	case d.ContextMap != nil:
		return RecordFromMap(d.ContextMap, awsjson.JoinPath(path, "contextMap"))
	case d.CedarJSON != nil:
		return ContextFromCedarJSON([]byte(*d.CedarJSON), awsjson.JoinPath(path, "cedarJson"))
	}
	return types.Record{}, invalid(path, "union must have exactly one member; none set")
}

// ContextFromCedarJSON parses a Cedar JSON context object such as
// {"mfa":true,"ip":{"__extn":{"fn":"ip","arg":"10.0.0.1"}}}.
func ContextFromCedarJSON(doc []byte, path string) (types.Record, error) {
	trimmed := bytes.TrimSpace(doc)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return types.Record{}, invalid(path, "must be a JSON object")
	}
	var r types.Record
	if err := json.Unmarshal(trimmed, &r); err != nil {
		return types.Record{}, invalid(path, "is not a valid Cedar JSON context: %s", cedarErr(err))
	}
	if err := checkDepth(r, path); err != nil {
		return types.Record{}, err
	}
	return r, nil
}

// checkDepth applies MaxAttributeDepth to values parsed by cedar-go.
func checkDepth(r types.Record, path string) error {
	if depthOf(r, 0) > MaxAttributeDepth {
		return invalid(path, "attribute values must not nest more than %d levels", MaxAttributeDepth)
	}
	return nil
}

func depthOf(v types.Value, d int) int {
	if d > MaxAttributeDepth {
		return d
	}
	maxd := d
	switch x := v.(type) {
	case types.Set:
		for e := range x.All() {
			maxd = max(maxd, depthOf(e, d+1))
		}
	case types.Record:
		for _, e := range x.All() {
			maxd = max(maxd, depthOf(e, d+1))
		}
	}
	return maxd
}

// cedarErr shortens a parser error for the client: the first line, capped.
func cedarErr(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// EntityItemFrom converts a Cedar entity back to the entityList form.
func EntityItemFrom(e types.Entity) (EntityItem, error) {
	id := EntityIdentifierFrom(e.UID)
	it := EntityItem{Identifier: &id}
	var err error
	if e.Attributes.Len() > 0 {
		if it.Attributes, err = MapFromRecord(e.Attributes); err != nil {
			return EntityItem{}, fmt.Errorf("entity %s attributes: %w", e.UID, err)
		}
	}
	if e.Tags.Len() > 0 {
		if it.Tags, err = MapFromRecord(e.Tags); err != nil {
			return EntityItem{}, fmt.Errorf("entity %s tags: %w", e.UID, err)
		}
	}
	for p := range e.Parents.All() {
		it.Parents = append(it.Parents, EntityIdentifierFrom(p))
	}
	slices.SortFunc(it.Parents, func(a, b EntityIdentifier) int {
		return cmp.Or(strings.Compare(a.EntityType, b.EntityType), strings.Compare(a.EntityID, b.EntityID))
	})
	return it, nil
}

// EntitiesDefinitionFrom converts Cedar entities to the entityList form,
// sorted by UID so the output is deterministic.
func EntitiesDefinitionFrom(m types.EntityMap) (EntitiesDefinition, error) {
	list := make([]EntityItem, 0, len(m))
	for _, e := range m {
		it, err := EntityItemFrom(e)
		if err != nil {
			return EntitiesDefinition{}, err
		}
		list = append(list, it)
	}
	slices.SortFunc(list, func(a, b EntityItem) int {
		return cmp.Or(strings.Compare(a.Identifier.EntityType, b.Identifier.EntityType),
			strings.Compare(a.Identifier.EntityID, b.Identifier.EntityID))
	})
	return EntitiesDefinition{EntityList: list}, nil
}

// ContextDefinitionFrom converts a Cedar context record to the contextMap form.
func ContextDefinitionFrom(r types.Record) (ContextDefinition, error) {
	m, err := MapFromRecord(r)
	if err != nil {
		return ContextDefinition{}, err
	}
	return ContextDefinition{ContextMap: m}, nil
}
