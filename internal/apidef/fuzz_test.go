package apidef_test

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

// FuzzParseDefinition: Parse and Validate never panic, and a definition that validates
// survives a round trip through its stored JSON form unchanged in meaning.
func FuzzParseDefinition(f *testing.F) {
	f.Add(petStore)
	f.Add(`{"name":"J","basePath":"/","upstream":"http://127.0.0.1:1","routes":[{"route":"GET /","authorizer":"none"}]}`)
	f.Add("name: x\nroutes:\n  - {route: \"ANY /{proxy+}\", authorizer: none, mock: {body: '$context.path'}}\nupstream: http://h\n")
	f.Add("name: x\nauthorizers: {a: {type: cedar, policyStoreId: p, cacheTtl: 0}}\nroutes: [{route: GET /a/{b}, authorizer: a, resource: 'A::\"{b}\"'}]\nupstream: http://h\n")
	f.Add("name: &a x\nstage: *a\n")
	f.Add("name: x\nroutes: [{route: 'GET /ws', authorizer: none, websocket: true}]\nupstream: http://h\n")
	f.Add("- 1\n- 2\n")
	f.Add("name: x\nroutes: [{route: 'GET /a/{b+}/c', authorizer: none}]")
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := apidef.Parse([]byte(doc))
		if err != nil {
			return
		}
		if d.Validate() != nil {
			return
		}
		js, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal a valid definition: %v", err)
		}
		d2, err := apidef.Parse(js)
		if err != nil {
			t.Fatalf("stored form does not parse: %v\n%s", err, js)
		}
		if err := d2.Validate(); err != nil {
			t.Fatalf("stored form does not validate: %v\n%s", err, js)
		}
		js2, _ := json.Marshal(d2)
		if string(js) != string(js2) {
			t.Fatalf("round trip changed the definition:\n%s\n%s", js, js2)
		}
	})
}
