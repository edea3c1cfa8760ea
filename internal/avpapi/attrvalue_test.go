package avpapi_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

func mustIP(t *testing.T, s string) types.IPAddr {
	t.Helper()
	v, err := types.ParseIPAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustDecimal(t *testing.T, s string) types.Decimal {
	t.Helper()
	v, err := types.ParseDecimal(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustDatetime(t *testing.T, s string) types.Datetime {
	t.Helper()
	v, err := types.ParseDatetime(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustDuration(t *testing.T, s string) types.Duration {
	t.Helper()
	v, err := types.ParseDuration(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// decodeAV decodes one AttributeValue strictly, as the API does.
func decodeAV(t *testing.T, doc string) avpapi.AttributeValue {
	t.Helper()
	var av avpapi.AttributeValue
	if err := awsjson.Decode([]byte(doc), &av); err != nil {
		t.Fatalf("Decode(%s): %v", doc, err)
	}
	return av
}

func TestAttributeValueToValue(t *testing.T) {
	t.Parallel()
	alice := types.NewEntityUID("PetStore::User", "alice")
	tests := []struct {
		doc  string
		want types.Value
	}{
		{`{"boolean":true}`, types.True},
		{`{"boolean":false}`, types.False},
		{`{"long":-9223372036854775808}`, types.Long(-9223372036854775808)},
		{`{"long":0}`, types.Long(0)},
		{`{"string":""}`, types.String("")},
		{`{"string":"héllo"}`, types.String("héllo")},
		{`{"entityIdentifier":{"entityType":"PetStore::User","entityId":"alice"}}`, alice},
		{`{"set":[]}`, types.NewSet()},
		{`{"set":[{"long":1},{"string":"a"},{"long":1}]}`, types.NewSet(types.Long(1), types.String("a"))},
		{`{"record":{}}`, types.NewRecord(nil)},
		{`{"record":{"a":{"record":{"b":{"set":[{"boolean":true}]}}}}}`, types.NewRecord(types.RecordMap{"a": types.NewRecord(types.RecordMap{"b": types.NewSet(types.True)})})},
		{`{"ipaddr":"192.168.1.100"}`, mustIP(t, "192.168.1.100")},
		{`{"ipaddr":"10.0.0.0/8"}`, mustIP(t, "10.0.0.0/8")},
		{`{"ipaddr":"::1"}`, mustIP(t, "::1")},
		{`{"decimal":"1.1"}`, mustDecimal(t, "1.1")},
		{`{"decimal":"-922337203685477.5808"}`, mustDecimal(t, "-922337203685477.5808")},
		{`{"datetime":"2024-10-15"}`, mustDatetime(t, "2024-10-15")},
		{`{"datetime":"2024-10-15T11:35:00Z"}`, mustDatetime(t, "2024-10-15T11:35:00Z")},
		{`{"datetime":"2024-10-15T11:35:00.123+0130"}`, mustDatetime(t, "2024-10-15T11:35:00.123+0130")},
		{`{"duration":"1h30m"}`, mustDuration(t, "1h30m")},
		{`{"duration":"-2d3ms"}`, mustDuration(t, "-2d3ms")},
		{`{"boolean":null,"long":3}`, types.Long(3)}, // null members are absent
	}
	for _, tt := range tests {
		t.Run(tt.doc, func(t *testing.T) {
			t.Parallel()
			av := decodeAV(t, tt.doc)
			got, err := av.ToValue("v")
			if err != nil {
				t.Fatalf("ToValue: %v", err)
			}
			if !got.Equal(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			// Reverse direction and back again gives the same value.
			back, err := avpapi.AttributeValueFrom(got)
			if err != nil {
				t.Fatalf("AttributeValueFrom: %v", err)
			}
			again, err := back.ToValue("v")
			if err != nil || !again.Equal(got) {
				t.Fatalf("round trip = %v, %v; want %v", again, err, got)
			}
		})
	}
}

func TestAttributeValueRejects(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat(`{"set":[`, avpapi.MaxAttributeDepth+2) + `{"long":1}` + strings.Repeat(`]}`, avpapi.MaxAttributeDepth+2)
	tests := []struct {
		name, doc, wantPath string
	}{
		{"no member", `{}`, "v"},
		{"only nulls", `{"long":null}`, "v"},
		{"two members", `{"long":1,"string":"a"}`, "v"},
		{"nested two members", `{"record":{"k":{"set":[{"long":1},{"boolean":true,"long":2}]}}}`, "v.record.k.set[1]"},
		{"decimal no fraction", `{"decimal":"1"}`, "v.decimal"},
		{"decimal five places", `{"decimal":"1.12345"}`, "v.decimal"},
		{"decimal too many digits", `{"decimal":"1234567890123456.1"}`, "v.decimal"},
		{"decimal out of range", `{"decimal":"999999999999999.9999"}`, "v.decimal"},
		{"datetime words", `{"datetime":"yesterday"}`, "v.datetime"},
		{"datetime month 13", `{"datetime":"2024-13-01"}`, "v.datetime"},
		{"datetime colon offset", `{"datetime":"2024-10-15T11:35:00+01:00"}`, "v.datetime"},
		{"datetime below year 0", `{"datetime":"0000-01-01T00:00:00+0100"}`, "v.datetime"},
		{"duration empty", `{"duration":""}`, "v.duration"},
		{"duration bad unit", `{"duration":"1y"}`, "v.duration"},
		{"duration wrong order", `{"duration":"1m1h"}`, "v.duration"},
		{"duration overflow", `{"duration":"999999999999999999d"}`, "v.duration"},
		{"ipaddr letters", `{"ipaddr":"localhost"}`, "v.ipaddr"},
		{"ipaddr pattern ok but invalid", `{"ipaddr":"1.2.3"}`, "v.ipaddr"},
		{"ipaddr empty", `{"ipaddr":""}`, "v.ipaddr"},
		{"ipaddr too long", `{"ipaddr":"` + strings.Repeat("0", 45) + `"}`, "v.ipaddr"},
		{"entity type invalid", `{"entityIdentifier":{"entityType":"Pet Store","entityId":"a"}}`, "v.entityIdentifier.entityType"},
		{"entity id empty", `{"entityIdentifier":{"entityType":"User","entityId":""}}`, "v.entityIdentifier.entityId"},
		{"too deep", deep, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			av := decodeAV(t, tt.doc)
			_, err := av.ToValue("v")
			var ae *awsjson.Error
			if !errors.As(err, &ae) || ae.Type != "ValidationException" || len(ae.Fields) != 1 {
				t.Fatalf("err = %v, want a ValidationException with one field", err)
			}
			if tt.wantPath != "" && ae.Fields[0].Path != tt.wantPath {
				t.Fatalf("path = %q, want %q (%s)", ae.Fields[0].Path, tt.wantPath, ae.Message)
			}
			if !strings.Contains(ae.Message, ae.Fields[0].Path) {
				t.Fatalf("message %q does not name the path", ae.Message)
			}
		})
	}
}

func TestAttributeValueWrongJSONTypes(t *testing.T) {
	t.Parallel()
	for doc, path := range map[string]string{
		`{"long":1.5}`:                          "long",
		`{"long":"1"}`:                          "long",
		`{"boolean":"true"}`:                    "boolean",
		`{"set":{}}`:                            "set",
		`{"record":[]}`:                         "record",
		`{"ip":"1.2.3.4"}`:                      "ip",
		`{"entityIdentifier":{"entityType":1}}`: "entityIdentifier.entityType",
	} {
		var av avpapi.AttributeValue
		err := awsjson.Decode([]byte(doc), &av)
		var ae *awsjson.Error
		if !errors.As(err, &ae) || len(ae.Fields) != 1 || ae.Fields[0].Path != path {
			t.Errorf("Decode(%s) = %v, want path %q", doc, err, path)
		}
	}
}

func TestAttributeValueMarshal(t *testing.T) {
	t.Parallel()
	v := types.NewRecord(types.RecordMap{"s": types.NewSet(), "r": types.NewRecord(nil), "f": types.False, "z": types.Long(0)})
	av, err := avpapi.AttributeValueFrom(v)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(av)
	if err != nil {
		t.Fatal(err)
	}
	// Empty and zero members must survive encoding: they are values.
	want := `{"record":{"f":{"boolean":false},"r":{"record":{}},"s":{"set":[]},"z":{"long":0}}}`
	if string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}

func FuzzAttributeValue(f *testing.F) {
	for _, s := range []string{
		`{"boolean":true}`, `{"long":-1}`, `{"string":"x"}`,
		`{"entityIdentifier":{"entityType":"A::B","entityId":"c"}}`,
		`{"set":[{"long":1},{"set":[]}]}`, `{"record":{"a":{"record":{}}}}`,
		`{"ipaddr":"::ffff:1.2.3.4/120"}`, `{"decimal":"-0.0001"}`,
		`{"datetime":"9999-12-31T23:59:59.999-0100"}`, `{"duration":"-1d2h3m4s5ms"}`,
		`{"long":1,"string":"a"}`, `{}`, `[`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		var av avpapi.AttributeValue
		if err := awsjson.Decode(doc, &av); err != nil {
			var ae *awsjson.Error
			if !errors.As(err, &ae) {
				t.Fatalf("decode error %T: %v", err, err)
			}
			return
		}
		v, err := av.ToValue("v")
		if err != nil {
			var ae *awsjson.Error
			if !errors.As(err, &ae) || len(ae.Fields) != 1 {
				t.Fatalf("ToValue error %T: %v", err, err)
			}
			return
		}
		// decode → encode → decode is stable.
		back, err := avpapi.AttributeValueFrom(v)
		if err != nil {
			t.Fatalf("AttributeValueFrom(%v): %v", v, err)
		}
		enc, err := json.Marshal(back)
		if err != nil {
			t.Fatal(err)
		}
		var av2 avpapi.AttributeValue
		if err := awsjson.Decode(enc, &av2); err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		v2, err := av2.ToValue("v")
		if err != nil {
			t.Fatalf("re-convert %s: %v", enc, err)
		}
		if !v2.Equal(v) {
			t.Fatalf("unstable: %v != %v (via %s)", v2, v, enc)
		}
	})
}
