package gateway_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Identity header values are percent-encoded element by element, so a comma is always a list
// separator: groups ["x,owners", "y"] can never arrive as the three groups x, owners and y.
// The same rule holds for the principal and every claim header, through the proxy and through
// forward-auth; forward-auth answers every identity header, empty when absent.
func TestIdentityHeaderEncoding(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Encoded
basePath: /
upstream: %s
authorizers:
  idp:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [app]}}
routes:
  - {route: "GET /public/{proxy+}", authorizer: none}
  - {route: "GET /me/{proxy+}", authorizer: idp}
identityHeaders: {claims: [email, nick, tags, "custom:level"]}
`, e.up.srv.URL, poolARN(adminPool)))
	tricky := user{pool: adminPool, client: "app", sub: "s,1 %41", username: "t",
		groups: []string{"x,owners", "y", "ünï", "a%2Cb"},
		extra:  map[string]any{"email": "t@example.com", "nick": " Doe, John\t", "tags": []any{"a,b", "c"}, "custom:level": 3}}
	tok := e.idp.id(t, tricky)
	wantPrincipal := adminPool + "|s%2C1%20%2541"
	wantGroups := "x%2Cowners,y,%C3%BCn%C3%AF,a%252Cb"
	want := map[string]string{
		"X-Gatehouse-Principal":          wantPrincipal,
		"X-Gatehouse-Groups":             wantGroups,
		"X-Gatehouse-Claim-Email":        "t@example.com",
		"X-Gatehouse-Claim-Nick":         "%20Doe%2C%20John%09",
		"X-Gatehouse-Claim-Tags":         "a%2Cb,c",
		"X-Gatehouse-Claim-Custom-Level": "3",
	}
	check := func(what string, h http.Header) {
		t.Helper()
		for k, v := range want {
			if got := h.Values(k); len(got) != 1 || got[0] != v {
				t.Errorf("%s: %s = %q, want %q", what, k, got, v)
			}
		}
		// Decoding gives back exactly the token's groups.
		var groups []string
		for _, g := range strings.Split(h.Get("X-Gatehouse-Groups"), ",") {
			d, err := url.PathUnescape(g)
			if err != nil {
				t.Fatalf("%s: group %q does not decode: %v", what, g, err)
			}
			groups = append(groups, d)
		}
		if strings.Join(groups, "\n") != strings.Join(tricky.groups, "\n") {
			t.Errorf("%s: decoded groups %q", what, groups)
		}
	}

	e.do(t, "GET", "/me/x", tok).want(t, "proxy", 200, "")
	check("proxy", http.Header(e.up.last(t).Headers))

	fa := httptest.NewServer(e.gw.ForwardAuthHandler())
	t.Cleanup(fa.Close)
	r := doURL(t, fa.URL, "GET", "/apis/Encoded", tok, "X-Original-Method", "GET", "X-Original-URI", "/me/x")
	r.want(t, "forward-auth", 200, "")
	check("forward-auth", r.header)

	// A public route: forward-auth still names every identity header, with an empty value, so
	// a proxy copying them overwrites what the client sent.
	r = doURL(t, fa.URL, "GET", "/apis/Encoded", "", "X-Original-Method", "GET", "X-Original-URI", "/public/x")
	r.want(t, "forward-auth public", 200, "")
	for k := range want {
		if got, ok := r.header[k]; !ok || len(got) != 1 || got[0] != "" {
			t.Errorf("forward-auth public: %s = %q (present %v), want one empty value", k, got, ok)
		}
	}
	// Through the proxy a public route gets none of them.
	e.do(t, "GET", "/public/x", "", "X-Gatehouse-Groups", "owners").want(t, "proxy public", 200, "")
	for k := range want {
		if v, ok := e.up.last(t).Headers[k]; ok {
			t.Errorf("proxy public: upstream received %s: %q", k, v)
		}
	}
}
