package gateway_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity/identitytest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestTokenTextIsExact is issue 10 item 6 through the gateway, with its sibling: a token whose
// header or payload JSON is not exactly one Unicode text is refused before any route sees it.
// Invalid UTF-8 bytes and JSON escapes of lone UTF-16 surrogates (\ud800, \udc00, which
// encoding/json turns into U+FFFD like invalid bytes) would otherwise make distinct sub values
// one principal: "user\ud800", "user\udfff" and a real "user\ufffd" all arrived at the
// upstream as the same X-Gatehouse-Principal. Valid surrogate pairs and an escaped backslash
// before "u" pass unchanged.
func TestTokenTextIsExact(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Text
basePath: /
upstream: %s
authorizers:
  idp:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [app]}}
routes:
  - {route: "GET /me", authorizer: idp}
identityHeaders: {claims: [nick]}
`, e.up.srv.URL, poolARN(adminPool)))

	const header = `{"alg":"RS256","kid":"` + identitytest.KeyID + `","typ":"JWT"}`
	// mint signs a Cognito ID token whose JSON carries the given fragments verbatim.
	mint := func(t *testing.T, subJSON, groupJSON, nickJSON string) string {
		t.Helper()
		c := e.idp.claims(user{pool: adminPool, client: "app", sub: "SUB", username: "u",
			groups: []string{"GROUP"}, extra: map[string]any{"nick": "NICK"}}, "id", time.Now().Add(time.Hour))
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.NewReplacer(`"SUB"`, `"`+subJSON+`"`, `"GROUP"`, `"`+groupJSON+`"`, `"NICK"`, `"`+nickJSON+`"`).Replace(string(b))
		return e.idp.SignRaw(t, header, p)
	}
	// mintHeader puts the fragment in the JOSE header's typ instead.
	mintHeader := func(t *testing.T, typJSON string) string {
		t.Helper()
		c := e.idp.claims(user{pool: adminPool, client: "app", sub: "s", username: "u"}, "id", time.Now().Add(time.Hour))
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return e.idp.SignRaw(t, strings.Replace(header, `"JWT"`, `"`+typJSON+`"`, 1), string(b))
	}

	refused := []struct{ name, tok string }{
		{"sub with byte 0xff", mint(t, "user\xff", "g", "n")},
		{"sub with an overlong encoding", mint(t, "user\xc0\xaf", "g", "n")},
		{"sub with a lone high surrogate escape", mint(t, `user\ud800`, "g", "n")},
		{"sub with a lone low surrogate escape", mint(t, `user\udfff`, "g", "n")},
		{"sub with a high surrogate before a plain letter", mint(t, `user\uD800x`, "g", "n")},
		{"sub with a high surrogate before a non-surrogate escape", mint(t, `user\ud800\u0041`, "g", "n")},
		{"sub with two high surrogates", mint(t, `user\ud800\ud800`, "g", "n")},
		{"group with a lone surrogate", mint(t, "s", `owners\udc00`, "n")},
		{"claim with a lone surrogate", mint(t, "s", "g", `n\ud83d`)},
		{"header with a lone surrogate", mintHeader(t, `JWT\udbff`)},
		{"header with byte 0xfe", mintHeader(t, "JWT\xfe")},
	}
	for _, c := range refused {
		e.do(t, "GET", "/me", c.tok).want(t, c.name, 401, bodyUnauthorized)
	}
	if n := e.up.count(); n != 0 {
		t.Fatalf("%d refused tokens reached the upstream", n)
	}

	accepted := []struct{ name, tok, principal, groups, nick string }{
		{"a real U+FFFD", mint(t, `user\ufffd`, "g", "n"), adminPool + "|user%EF%BF%BD", "g", "n"},
		{"a surrogate pair", mint(t, `\ud83d\ude00`, `\uD83D\uDE00`, "😀"), adminPool + "|%F0%9F%98%80", "%F0%9F%98%80", "%F0%9F%98%80"},
		{"an escaped backslash before u", mint(t, `user\\ud800`, "g", `\\\\udc00`), adminPool + `|user\ud800`, "g", `\\udc00`},
	}
	for _, c := range accepted {
		e.do(t, "GET", "/me", c.tok).want(t, c.name, 200, "")
		h := http.Header(e.up.last(t).Headers)
		if got := h.Get("X-Gatehouse-Principal"); got != c.principal {
			t.Errorf("%s: principal %q, want %q", c.name, got, c.principal)
		}
		if got := h.Get("X-Gatehouse-Groups"); got != c.groups {
			t.Errorf("%s: groups %q, want %q", c.name, got, c.groups)
		}
		if got := h.Get("X-Gatehouse-Claim-Nick"); got != c.nick {
			t.Errorf("%s: nick %q, want %q", c.name, got, c.nick)
		}
	}
}
