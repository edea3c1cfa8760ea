package awsjson_test

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// Decode names the offending field in the AWS style.
func ExampleDecode() {
	var in struct {
		Entities struct {
			EntityList []struct {
				Identifier struct {
					EntityType string `json:"entityType"`
					EntityID   string `json:"entityId"`
				} `json:"identifier"`
			} `json:"entityList"`
		} `json:"entities"`
	}
	err := awsjson.Decode([]byte(`{"entities":{"entityList":[{"identifier":{"entityType":"User","entityId":7}}]}}`), &in)
	b, _ := json.Marshal(err)
	fmt.Println(string(b))
	// Output:
	// {"__type":"ValidationException","fieldList":[{"path":"entities.entityList[0].identifier.entityId","message":"Value must be a string"}],"message":"1 validation error detected: Value at 'entities.entityList[0].identifier.entityId' must be a string"}
}
