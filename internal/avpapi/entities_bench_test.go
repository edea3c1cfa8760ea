package avpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// benchEntities is 10 users with 3 attributes and 2 parents each, in the
// entityList form and in the Cedar JSON form.
func benchEntities() (entityList, cedarJSON string) {
	var l, c []string
	for i := range 10 {
		l = append(l, fmt.Sprintf(`{"identifier":{"entityType":"PetStore::User","entityId":"u%d"},"attributes":{"dept":{"string":"eng"},"level":{"long":%d},"ip":{"ipaddr":"10.0.0.%d"}},"parents":[{"entityType":"PetStore::UserGroup","entityId":"g1"},{"entityType":"PetStore::UserGroup","entityId":"g2"}]}`, i, i, i))
		c = append(c, fmt.Sprintf(`{"uid":{"type":"PetStore::User","id":"u%d"},"attrs":{"dept":"eng","level":%d,"ip":{"__extn":{"fn":"ip","arg":"10.0.0.%d"}}},"parents":[{"type":"PetStore::UserGroup","id":"g1"},{"type":"PetStore::UserGroup","id":"g2"}]}`, i, i, i))
	}
	return `{"entityList":[` + strings.Join(l, ",") + `]}`, "[" + strings.Join(c, ",") + "]"
}

// BenchmarkEntityList is strict decoding plus conversion of an entityList.
func BenchmarkEntityList(b *testing.B) {
	doc, _ := benchEntities()
	b.ReportAllocs()
	for b.Loop() {
		var d avpapi.EntitiesDefinition
		if err := awsjson.Decode([]byte(doc), &d); err != nil {
			b.Fatal(err)
		}
		if _, err := d.ToEntityMap("entities"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEntitiesCedarJSON is the cedarJson alternative through this package.
func BenchmarkEntitiesCedarJSON(b *testing.B) {
	_, doc := benchEntities()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := avpapi.EntitiesFromCedarJSON([]byte(doc), "entities.cedarJson"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCedarGoEntityMapBaseline is cedar-go's own EntityMap JSON
// decoding of the same entities, the floor for either form.
func BenchmarkCedarGoEntityMapBaseline(b *testing.B) {
	_, doc := benchEntities()
	b.ReportAllocs()
	for b.Loop() {
		var m types.EntityMap
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			b.Fatal(err)
		}
	}
}
