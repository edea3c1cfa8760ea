package gateway_test

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Forward-auth over real HTTP with nginx-style and Traefik/Caddy-style headers: the same
// routing, authorizers and answers as the proxy path, 200 with identity headers when allowed.
func TestForwardAuth(t *testing.T) {
	p := newPetStore(t, storetest.Open(t, "sqlite"))
	fa := httptest.NewServer(p.gw.ForwardAuthHandler())
	t.Cleanup(fa.Close)
	cust, emp, own := p.idp.access(t, customer), p.idp.access(t, employee), p.idp.access(t, owner)
	nginx := func(method, uri string) []string {
		return []string{"X-Original-Method", method, "X-Original-URI", uri, "X-Real-IP", "203.0.113.7"}
	}
	traefik := func(method, uri string) []string {
		return []string{"X-Forwarded-Method", method, "X-Forwarded-Uri", uri,
			"X-Forwarded-Host", "petstore.example", "X-Forwarded-Proto", "https", "X-Forwarded-For", "198.51.100.1, 203.0.113.7"}
	}
	caddy := func(method, uri string) []string {
		return append(traefik(method, uri), "X-Gatehouse-Api", "PetStore")
	}
	styles := []struct {
		name string
		path string
		hdrs func(method, uri string) []string
	}{{"nginx", "/apis/PetStore", nginx}, {"traefik", "/apis/PetStore", traefik}, {"caddy", "/", caddy}}
	for _, s := range styles {
		t.Run(s.name, func(t *testing.T) {
			do := func(method, uri, token string) resp {
				return doURL(t, fa.URL, "GET", s.path, token, s.hdrs(method, uri)...)
			}
			// The pet store of article 000 (examples/petstore) through forward-auth.
			do("GET", "/demo/", "").want(t, "GET /demo/ no token", 200, "")
			do("GET", "/demo/pets", "").want(t, "GET /demo/pets no token", 401, bodyUnauthorized)
			r := do("GET", "/demo/pets?limit=2", cust)
			r.want(t, "GET /demo/pets customer", 200, "")
			if r.header.Get("X-Gatehouse-Principal") != petPool+"|sub-customer" || r.header.Get("X-Gatehouse-Groups") != "customers" ||
				r.header.Get("X-Gatehouse-Claim-Username") != "carol" {
				t.Fatalf("identity headers %v", r.header)
			}
			do("POST", "/demo/pets", cust).want(t, "POST /demo/pets customer", 403, bodyExplicitDeny)
			r = do("POST", "/demo/pets", emp)
			r.want(t, "POST /demo/pets employee", 200, "")
			if r.header.Get("X-Gatehouse-Principal") != petPool+"|sub-employee" {
				t.Fatalf("principal %q", r.header.Get("X-Gatehouse-Principal"))
			}
			do("GET", "/demo/admin/curltest1", emp).want(t, "admin employee", 403, bodyExplicitDeny)
			do("GET", "/demo/admin/curltest1", own).want(t, "admin owner", 200, "")
			do("GET", "/demo/pets", p.idp.expiredAccess(t, customer)).want(t, "expired", 401, bodyExpired)
			// Same canonicalization as the proxy; refusals are 403, never 5xx.
			do("GET", "/demo/pets/../admin/x", own).want(t, "dot segments", 403, `{"message":"Invalid request path"}`)
			do("GET", "/demo/%61dmin/x", emp).want(t, "encoded letter decodes to the admin route", 403, bodyExplicitDeny)
			do("GET", "/demo/nothing", cust).want(t, "no route", 403, bodyMissingToken)
			do("GET", "/elsewhere/pets", cust).want(t, "outside the base path", 403, bodyMissingToken)
			do("GET", "http://petstore.example/demo/pets", cust).want(t, "absolute-form URI", 200, "")
		})
	}
	doURL(t, fa.URL, "GET", "/apis/Nope", cust, nginx("GET", "/demo/pets")...).want(t, "unknown API", 403, bodyMissingToken)
	doURL(t, fa.URL, "GET", "/", cust, nginx("GET", "/demo/pets")...).want(t, "no API named", 403, bodyMissingToken)
	doURL(t, fa.URL, "GET", "/apis/PetStore", cust).want(t, "no original request headers", 403, bodyMissingToken)
	doURL(t, fa.URL, "GET", "/apis/PetStore", cust, "X-Original-Method", "GET").want(t, "no original URI", 403, bodyMissingToken)
	// A client adding the other proxy's header to smuggle a public URI past the check.
	doURL(t, fa.URL, "GET", "/apis/PetStore", emp, append(traefik("GET", "/demo/admin/x"), "X-Original-URI", "/demo/")...).
		want(t, "client X-Original-URI under Traefik", 403, bodyMissingToken)
	doURL(t, fa.URL, "GET", "/apis/PetStore", emp, append(nginx("GET", "/demo/admin/x"), "X-Forwarded-Uri", "/demo/")...).
		want(t, "client X-Forwarded-Uri under nginx", 403, bodyMissingToken)
	doURL(t, fa.URL, "GET", "/apis/PetStore", emp, append(nginx("POST", "/demo/pets"), "X-Forwarded-Method", "GET")...).
		want(t, "conflicting methods", 403, bodyMissingToken)
	doURL(t, fa.URL, "GET", "/apis/PetStore", "", append(nginx("GET", "/demo/"), "X-Original-URI", "/demo/")...).
		want(t, "repeated X-Original-URI", 403, bodyMissingToken)
	doURL(t, fa.URL, "GET", "/apis/PetStore", emp, append(nginx("POST", "/demo/pets"), "X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/demo/pets")...).
		want(t, "both pairs agreeing", 200, "")
	// The path names the API; a header naming another API is ignored.
	doURL(t, fa.URL, "GET", "/apis/PetStore", cust, append(nginx("GET", "/demo/pets"), "X-Gatehouse-Api", "Other")...).
		want(t, "header ignored when the path names the API", 200, "")
	// The proxy passes client headers to the decision request: an identity header there, in
	// any spelling, is a forgery attempt and is refused, even on a public route.
	for _, h := range []string{"X-Gatehouse-Principal", "x-gatehouse-groups", "X_Gatehouse_Groups", "x_GATEHOUSE-claim_username", "X-Gatehouse-Decision-Id", "X-Gatehouse-Anything"} {
		r := doURL(t, fa.URL, "GET", "/apis/PetStore", cust, append(nginx("GET", "/demo/"), h, "evil")...)
		r.want(t, "spoofed "+h, 403, bodyImplicitDeny)
		if r.header.Get("X-Gatehouse-Principal") != "" {
			t.Fatalf("spoofed %s: principal answered: %v", h, r.header)
		}
	}
	if !strings.Contains(p.logs.String(), `"reason":"client_identity_header"`) {
		t.Error("no client_identity_header denial logged")
	}
}

// The IAM authorizer through forward-auth sees the client address nginx reports.
func TestForwardAuthSourceIP(t *testing.T) {
	e := newIAMEnv(t)
	fa := httptest.NewServer(e.gw.ForwardAuthHandler())
	t.Cleanup(fa.Close)
	ctx := t.Context()
	if _, err := e.apis.PutGroupPolicy(ctx, "PetApi", "pet-veterinarian", []byte(vetPolicy(`,"Condition":{"IpAddress":{"aws:SourceIp":["203.0.113.0/24"]}}`))); err != nil {
		t.Fatal(err)
	}
	tok := e.idp.access(t, vet)
	for _, c := range []struct {
		ip     string
		status int
	}{{"203.0.113.7", 200}, {"198.51.100.1", 403}} {
		doURL(t, fa.URL, "GET", "/apis/PetApi", tok, "X-Original-Method", "GET", "X-Original-URI", "/dev/petstore/v1/pets",
			"X-Real-IP", c.ip).want(t, fmt.Sprint("client ", c.ip), c.status, "")
	}
}
