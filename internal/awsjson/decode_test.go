package awsjson_test

import (
	"errors"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

type ident struct {
	EntityType string `json:"entityType"`
	EntityID   string `json:"entityId"`
}

type decodeTarget struct {
	PolicyStoreID string `json:"policyStoreId"`
	MaxResults    *int32 `json:"maxResults,omitempty"`
	Entities      *struct {
		EntityList []struct {
			Identifier ident             `json:"identifier"`
			Attributes map[string]ident  `json:"attributes,omitempty"`
			Tags       map[string]string `json:"tags,omitempty"`
		} `json:"entityList"`
	} `json:"entities,omitempty"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		wantPath string // "" with wantErr means a whole-body error
		wantErr  bool
	}{
		{name: "ok", body: `{"policyStoreId":"ps","entities":{"entityList":[{"identifier":{"entityType":"U","entityId":"a"}}]}}`},
		{name: "empty body is {}", body: ``},
		{name: "unknown top-level", body: `{"policyStoreId":"ps","bogus":1}`, wantErr: true, wantPath: "bogus"},
		{name: "unknown nested", body: `{"entities":{"entityList":[{"identifier":{"entityType":"U","entityId":"a","x":1}}]}}`, wantErr: true, wantPath: "entities.entityList[0].identifier.x"},
		{name: "wrong type nested", body: `{"entities":{"entityList":[{"identifier":{"entityType":"U","entityId":"a"}},{"identifier":{"entityType":"U","entityId":5}}]}}`, wantErr: true, wantPath: "entities.entityList[1].identifier.entityId"},
		{name: "numeric map key stays a name", body: `{"entities":{"entityList":[{"identifier":{"entityType":"U","entityId":"a"},"attributes":{"0":{"entityType":1}}}]}}`, wantErr: true, wantPath: "entities.entityList[0].attributes.0.entityType"},
		{name: "duplicate key", body: `{"policyStoreId":"a","policyStoreId":"b"}`, wantErr: true, wantPath: "policyStoreId"},
		{name: "trailing data", body: `{"policyStoreId":"a"} {}`, wantErr: true},
		{name: "int out of range", body: `{"maxResults":4294967296}`, wantErr: true, wantPath: "maxResults"},
		{name: "float for int", body: `{"maxResults":1.5}`, wantErr: true, wantPath: "maxResults"},
		{name: "case-sensitive names", body: `{"PolicyStoreId":"a"}`, wantErr: true, wantPath: "PolicyStoreId"},
		{name: "not an object", body: `[1]`, wantErr: true},
		{name: "invalid utf8", body: "{\"policyStoreId\":\"\xff\"}", wantErr: true, wantPath: "policyStoreId"},
		{name: "truncated", body: `{"policyStoreId":`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v decodeTarget
			err := awsjson.Decode([]byte(tt.body), &v)
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			var ae *awsjson.Error
			if !errors.As(err, &ae) || ae.Type != "ValidationException" || ae.Status != 400 {
				t.Fatalf("err = %#v, want ValidationException", err)
			}
			if tt.wantPath == "" {
				return
			}
			if len(ae.Fields) != 1 || ae.Fields[0].Path != tt.wantPath {
				t.Fatalf("fields = %+v, want path %q (message %q)", ae.Fields, tt.wantPath, ae.Message)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"policyStoreId":"ps","entities":{"entityList":[{"identifier":{"entityType":"U","entityId":"a"}}]}}`))
	f.Add([]byte(`{"policyStoreId":"a","policyStoreId":"b"}`))
	f.Add([]byte(`{"entities":{"entityList":[{"attributes":{"0":{"entityType":1}}}]}}`))
	f.Add([]byte(`[[[[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var v decodeTarget
		err := awsjson.Decode(body, &v)
		if err == nil {
			return
		}
		var ae *awsjson.Error
		if !errors.As(err, &ae) || ae.Type != "ValidationException" {
			t.Fatalf("non-validation error %T: %v", err, err)
		}
	})
}
