package extauthz_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
)

// matches applies an Envoy ListStringMatcher to a (lower-case) header name as Envoy does:
// exact, prefix, suffix, contains, or a full-match RE2 regex, optionally ignoring case.
func matches(l *matcherv3.ListStringMatcher, name string) bool {
	for _, m := range l.GetPatterns() {
		s := name
		fold := func(x string) string {
			if m.GetIgnoreCase() {
				return strings.ToLower(x)
			}
			return x
		}
		switch {
		case m.GetExact() != "" && fold(s) == fold(m.GetExact()),
			m.GetPrefix() != "" && strings.HasPrefix(fold(s), fold(m.GetPrefix())),
			m.GetSuffix() != "" && strings.HasSuffix(fold(s), fold(m.GetSuffix())),
			m.GetContains() != "" && strings.Contains(fold(s), fold(m.GetContains())),
			m.GetSafeRegex() != nil && regexp.MustCompile(`^(?:`+m.GetSafeRegex().GetRegex()+`)$`).MatchString(s):
			return true
		}
	}
	return false
}

// TestDocumentedHTTPModeKeepsClientIdentityOut plays Envoy's HTTP-service exchange with the
// ext_authz settings of docs/envoy.md against a real node: the check request carries what
// allowed_headers lets through (plus Host, Method, Path, Content-Length and Authorization,
// which Envoy always sends), and the upstream request is the client's headers less
// x-envoy-auth-headers-to-remove, with the answer's headers that allowed_upstream_headers
// matches set over them. No client X-Gatehouse-* value, in any spelling, reaches the upstream;
// a denial gives the client the gateway's body, status and the headers allowed_client_headers
// lets through. (Without headers_with_underscores_action, which would drop the '_' spellings
// before the filter, so that the documented patterns are what keeps them out.)
func TestDocumentedHTTPModeKeepsClientIdentityOut(t *testing.T) {
	t.Parallel()
	boot := &bootstrapv3.Bootstrap{}
	decodeStrict(t, "envoy-http.yaml", envoyDocBlocks(t)["envoy-http.yaml"], boot)
	ea := extAuthzOf(t, boot)
	hs := ea.GetHttpService()
	p := startPetStore(t, "sqlite", nil)

	envoy := func(method, path string, client map[string]string) (upstream map[string]string, status int, body string, toClient map[string]string) {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+p.node.Addr("ext-authz")+hs.GetPathPrefix()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range client {
			if k == "authorization" || matches(ea.GetAllowedHeaders(), k) {
				req.Header[k] = []string{v}
			}
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		resp := map[string]string{}
		for k, v := range res.Header {
			resp[strings.ToLower(k)] = v[0]
		}
		if res.StatusCode != http.StatusOK {
			toClient = map[string]string{}
			for k, v := range resp {
				if matches(hs.GetAuthorizationResponse().GetAllowedClientHeaders(), k) {
					toClient[k] = v
				}
			}
			return nil, res.StatusCode, string(b), toClient
		}
		upstream = map[string]string{}
		for k, v := range client {
			upstream[k] = v
		}
		for _, k := range strings.Split(resp["x-envoy-auth-headers-to-remove"], ",") {
			delete(upstream, strings.TrimSpace(k))
		}
		for k, v := range resp {
			if matches(hs.GetAuthorizationResponse().GetAllowedUpstreamHeaders(), k) {
				upstream[k] = v
			}
		}
		return upstream, 200, "", nil
	}

	forged := map[string]string{"authorization": "Bearer " + p.tokens["oscar"], "x-gatehouse-principal": "forged",
		"x_gatehouse_groups": "forged", "x-gatehouse_claim-email": "forged", "x-gatehouse-whatever": "forged",
		"x-http-method-override": "DELETE", "x-forwarded-for": "198.51.100.1, 203.0.113.7", "x-forwarded-proto": "https"}
	up, status, _, _ := envoy("GET", "/demo/admin/curltest1", forged)
	if status != 200 {
		t.Fatalf("owner: %d", status)
	}
	if up["x-gatehouse-principal"] != p.pool+"|"+p.subs["oscar"] || up["x-gatehouse-groups"] != "owners" || up["x-gatehouse-decision-id"] == "" {
		t.Errorf("identity headers upstream: %v", up)
	}
	for k, v := range up {
		if v == "forged" || k == "x-http-method-override" {
			t.Errorf("upstream receives the client's %s: %q", k, v)
		}
	}
	if up["x-forwarded-for"] == "" {
		t.Error("Envoy's x-forwarded-for removed")
	}

	up, status, _, _ = envoy("GET", "/demo/", map[string]string{"x-gatehouse-principal": "forged", "x_gatehouse_groups": "forged"})
	if status != 200 || up["x-gatehouse-principal"] != "" || up["x_gatehouse_groups"] != "" {
		t.Errorf("public route: %d, upstream %v", status, up)
	}

	_, status, body, toClient := envoy("POST", "/demo/pets", map[string]string{"authorization": "Bearer " + p.tokens["carol"]})
	if status != 403 || body != bodyExplicitDeny || toClient["content-type"] != "application/json" ||
		toClient["x-gatehouse-decision-id"] == "" || toClient["x-amzn-errortype"] == "" {
		t.Errorf("denial to the client: %d %s %v", status, body, toClient)
	}
}
