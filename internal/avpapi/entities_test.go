package avpapi_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

func decodeInput(t *testing.T, doc string) avpapi.IsAuthorizedInput {
	t.Helper()
	var in avpapi.IsAuthorizedInput
	if err := awsjson.Decode([]byte(doc), &in); err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return in
}

func wantValidation(t *testing.T, err error, path string) {
	t.Helper()
	var ae *awsjson.Error
	if !errors.As(err, &ae) || ae.Type != "ValidationException" || len(ae.Fields) != 1 {
		t.Fatalf("err = %v, want a ValidationException with one field", err)
	}
	if ae.Fields[0].Path != path {
		t.Fatalf("path = %q, want %q (%s)", ae.Fields[0].Path, path, ae.Message)
	}
}

func TestEntityListToEntityMap(t *testing.T) {
	t.Parallel()
	in := decodeInput(t, `{"policyStoreId":"ps","entities":{"entityList":[
		{"identifier":{"entityType":"PetStore::User","entityId":"alice"},"attributes":{"dept":{"string":"old"}}},
		{"identifier":{"entityType":"PetStore::User","entityId":"alice"},
		 "attributes":{"dept":{"string":"r"},"mgr":{"entityIdentifier":{"entityType":"PetStore::User","entityId":"bob"}}},
		 "parents":[{"entityType":"PetStore::UserGroup","entityId":"admins"}],
		 "tags":{"level":{"long":3}}},
		{"identifier":{"entityType":"PetStore::Photo","entityId":"p1"}}]}}`)
	m, err := in.Entities.ToEntityMap("entities")
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 {
		t.Fatalf("len = %d, want 2", len(m))
	}
	alice, ok := m.Get(types.NewEntityUID("PetStore::User", "alice"))
	if !ok {
		t.Fatal("alice missing")
	}
	if v, _ := alice.Attributes.Get("dept"); !v.Equal(types.String("r")) {
		t.Errorf("dept = %v; the last duplicate must win", v)
	}
	if !alice.Parents.Contains(types.NewEntityUID("PetStore::UserGroup", "admins")) || alice.Parents.Len() != 1 {
		t.Errorf("parents = %v", alice.Parents)
	}
	if v, _ := alice.Tags.Get("level"); !v.Equal(types.Long(3)) {
		t.Errorf("tags = %v", alice.Tags)
	}
	// The whole map back to the wire form and again: same entities.
	def, err := avpapi.EntitiesDefinitionFrom(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := def.ToEntityMap("entities")
	if err != nil || len(m2) != len(m) {
		t.Fatalf("round trip = %v, %v", m2, err)
	}
	for uid, e := range m {
		if !m2[uid].Equal(e) {
			t.Errorf("round trip of %v = %v", uid, m2[uid])
		}
	}
	// Back to the wire form and again: same entity.
	item, err := avpapi.EntityItemFrom(alice)
	if err != nil {
		t.Fatal(err)
	}
	again, err := item.ToEntity("x")
	if err != nil || !again.Equal(alice) {
		t.Fatalf("round trip = %v, %v", again, err)
	}
}

func TestEntitiesDefinitionRejects(t *testing.T) {
	t.Parallel()
	var parents []string
	for i := range avpapi.MaxParents + 1 {
		parents = append(parents, fmt.Sprintf(`{"entityType":"G","entityId":"g%d"}`, i))
	}
	tests := []struct{ name, entities, path string }{
		{"both members", `{"entityList":[],"cedarJson":"[]"}`, "entities"},
		{"no member", `{}`, "entities"},
		{"missing identifier", `{"entityList":[{"identifier":{"entityType":"U","entityId":"a"}},{}]}`, "entities.entityList[1].identifier"},
		{"bad attribute", `{"entityList":[{"identifier":{"entityType":"U","entityId":"a"},"attributes":{"x":{"decimal":"1"}}}]}`, "entities.entityList[0].attributes.x.decimal"},
		{"bad tag", `{"entityList":[{"identifier":{"entityType":"U","entityId":"a"},"tags":{"t":{}}}]}`, "entities.entityList[0].tags.t"},
		{"bad parent", `{"entityList":[{"identifier":{"entityType":"U","entityId":"a"},"parents":[{"entityType":"","entityId":"g"}]}]}`, "entities.entityList[0].parents[0].entityType"},
		{"too many parents", `{"entityList":[{"identifier":{"entityType":"U","entityId":"a"},"parents":[` + strings.Join(parents, ",") + `]}]}`, "entities.entityList[0].parents"},
		{"cedarJson not array", `{"cedarJson":"{}"}`, "entities.cedarJson"},
		{"cedarJson bad element", `{"cedarJson":"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{},\"parents\":[]},{\"uid\":{\"type\":\"U\",\"id\":\"b\"}}]"}`, "entities.cedarJson[1]"},
		{"cedarJson bad extension", `{"cedarJson":"[{\"uid\":{\"type\":\"U\",\"id\":\"a\"},\"attrs\":{\"ip\":{\"__extn\":{\"fn\":\"ip\",\"arg\":\"nope\"}}},\"parents\":[]}]"}`, "entities.cedarJson[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := decodeInput(t, `{"policyStoreId":"ps","entities":`+tt.entities+`}`)
			_, err := in.Entities.ToEntityMap("entities")
			wantValidation(t, err, tt.path)
		})
	}
}

func TestEntitiesCedarJSON(t *testing.T) {
	t.Parallel()
	doc := `[
	 {"uid":{"type":"PetStore::User","id":"alice"},"attrs":{"n":1},"parents":[]},
	 {"uid":{"__entity":{"type":"PetStore::User","id":"alice"}},"attrs":{"ip":{"__extn":{"fn":"ip","arg":"10.0.0.1"}},"d":{"__extn":{"fn":"decimal","arg":"1.5"}}},
	  "parents":[{"type":"PetStore::UserGroup","id":"admins"}],"tags":{"t":"v"}}]`
	m, err := avpapi.EntitiesFromCedarJSON([]byte(doc), "entities.cedarJson")
	if err != nil {
		t.Fatal(err)
	}
	alice, ok := m.Get(types.NewEntityUID("PetStore::User", "alice"))
	if len(m) != 1 || !ok {
		t.Fatalf("entities = %v", m)
	}
	if _, has := alice.Attributes.Get("n"); has {
		t.Error("the first duplicate must be replaced by the last")
	}
	if v, _ := alice.Attributes.Get("ip"); !v.Equal(mustIP(t, "10.0.0.1")) {
		t.Errorf("ip = %v", v)
	}
	if v, _ := alice.Tags.Get("t"); !v.Equal(types.String("v")) {
		t.Errorf("tags = %v", alice.Tags)
	}
	if !alice.Parents.Contains(types.NewEntityUID("PetStore::UserGroup", "admins")) {
		t.Errorf("parents = %v", alice.Parents)
	}
}

func TestContextDefinition(t *testing.T) {
	t.Parallel()
	want := types.NewRecord(types.RecordMap{"mfa": types.True, "ip": mustIP(t, "10.0.0.1")})
	for _, ctx := range []string{
		`{"contextMap":{"mfa":{"boolean":true},"ip":{"ipaddr":"10.0.0.1"}}}`,
		`{"cedarJson":"{\"mfa\":true,\"ip\":{\"__extn\":{\"fn\":\"ip\",\"arg\":\"10.0.0.1\"}}}"}`,
	} {
		in := decodeInput(t, `{"policyStoreId":"ps","context":`+ctx+`}`)
		got, err := in.Context.ToRecord("context")
		if err != nil {
			t.Fatalf("%s: %v", ctx, err)
		}
		if !got.Equal(want) {
			t.Errorf("%s: got %v, want %v", ctx, got, want)
		}
	}
	cd, err := avpapi.ContextDefinitionFrom(want)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := cd.ToRecord("context"); err != nil || !got.Equal(want) {
		t.Errorf("ContextDefinitionFrom round trip = %v, %v", got, err)
	}
	var none *avpapi.ContextDefinition
	if r, err := none.ToRecord("context"); err != nil || r.Len() != 0 {
		t.Errorf("nil context = %v, %v", r, err)
	}

	for _, tt := range []struct{ ctx, path string }{
		{`{}`, "context"},
		{`{"contextMap":{},"cedarJson":"{}"}`, "context"},
		{`{"contextMap":{"a":{"long":1,"boolean":true}}}`, "context.contextMap.a"},
		{`{"cedarJson":"[1]"}`, "context.cedarJson"},
		{`{"cedarJson":"{\"a\":"}`, "context.cedarJson"},
	} {
		in := decodeInput(t, `{"policyStoreId":"ps","context":`+tt.ctx+`}`)
		_, err := in.Context.ToRecord("context")
		wantValidation(t, err, tt.path)
	}
}

func FuzzEntitiesCedarJSON(f *testing.F) {
	for _, s := range []string{
		`[]`,
		`[{"uid":{"type":"U","id":"a"},"attrs":{},"parents":[]}]`,
		`[{"uid":{"__entity":{"type":"A::U","id":"a"}},"attrs":{"x":{"__extn":{"fn":"decimal","arg":"1.0"}},"s":[1,[2]],"r":{"k":{"type":"U","id":"b"}}},"parents":[{"type":"G","id":"g"}],"tags":{"t":true}}]`,
		`[{"uid":{"type":"U","id":"a"},"attrs":{},"parents":[]},{"uid":{"type":"U","id":"a"},"attrs":{"n":1},"parents":[]}]`,
		`[{"uid":{"type":"U","id":"a"}}]`, `{}`, `[null]`, `[[[[`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		m, err := avpapi.EntitiesFromCedarJSON([]byte(doc), "entities.cedarJson")
		if err != nil {
			var ae *awsjson.Error
			if !errors.As(err, &ae) || len(ae.Fields) != 1 {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		for uid, e := range m {
			if e.UID != uid {
				t.Fatalf("entity %v stored under %v", e.UID, uid)
			}
			// Every parsed entity can be echoed in the entityList form.
			if _, err := avpapi.EntityItemFrom(e); err != nil {
				t.Fatalf("EntityItemFrom(%v): %v", e.UID, err)
			}
		}
	})
}
