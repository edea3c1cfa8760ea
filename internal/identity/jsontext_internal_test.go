package identity

import (
	"encoding/json"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
)

// FuzzCheckJSONText holds checkJSONText to a strict JSON reader (jsontext, which refuses
// invalid UTF-8 and unpaired surrogate escapes): for every string literal encoding/json
// accepts, checkJSONText refuses exactly those the strict reader refuses, so nothing
// encoding/json would turn into U+FFFD gets through.
func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{
		`a`, `a\ud800`, `a\udfff`, `a\uD800x`, `a\ud800\u0041`, `\ud800\ud800`, `\ud83d\ude00`,
		`\uD83D\uDE00`, `a\\ud800`, `a\\\ud800`, `a\\\\ud800`, `a\ufffd`, "a\xff", "a\xc0\xaf",
		"a\xed\xa0\x80", `\"\ud800`, `\u00e9`, `\udbff\udfff`, `\ud800\udbff`, `\ud800\\udc00`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		lit := []byte(`"` + body + `"`)
		var s string
		if json.Unmarshal(lit, &s) != nil {
			return // refused by the decoder anyway
		}
		_, strict := jsontext.AppendUnquote(nil, lit)
		if got := checkJSONText(lit); (got == nil) != (strict == nil) {
			t.Fatalf("%q: checkJSONText %v, strict reader %v", lit, got, strict)
		}
	})
}
