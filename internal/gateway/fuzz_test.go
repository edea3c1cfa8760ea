package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/router"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// capture is an upstream transport that records the outbound request line in memory.
type capture struct {
	mu   sync.Mutex
	last string
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.last = r.URL.RequestURI()
	c.mu.Unlock()
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("ok")), Request: r}, nil
}

func (c *capture) take() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.last
	c.last = ""
	return s
}

// FuzzGatewayPath sends arbitrary request targets, without a token, to the /public + /admin
// API: a request either never reaches the upstream, or reaches it on a /public path that is
// exactly the canonical form of what the client sent.
func FuzzGatewayPath(f *testing.F) {
	for _, v := range pathVectors {
		f.Add("GET", v)
	}
	f.Add("HEAD", "/public/a?x=1")
	f.Add("POST", "/public/%7e")
	f.Add("GET", "http://h/admin/x")
	cp := &capture{}
	e := newEnv(f, storetest.Open(f, "sqlite"), func(_ *gateway.Deps, o *[]gateway.Option) {
		*o = append(*o, gateway.WithTransport(cp))
	})
	e.putAPI(f, `
name: Confusion
basePath: /
upstream: http://upstream.invalid/base
authorizers:
  admins:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "`+poolARN(adminPool)+`"}}
routes:
  - {route: "GET /public/{proxy+}", authorizer: none}
  - {route: "ANY /admin/{proxy+}", authorizer: admins, groups: [admins]}
`)
	h := e.gw.Handler()
	f.Fuzz(func(t *testing.T, method, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || method == "" || strings.ContainsAny(method, " \r\n") {
			return
		}
		req := &http.Request{Method: method, URL: u, RequestURI: target, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header: http.Header{}, Host: "gateway.test", RemoteAddr: "127.0.0.1:4321", Body: http.NoBody}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		sent := cp.take()
		if w.Header().Get(gateway.HeaderDecisionID) == "" {
			t.Fatal("no decision id")
		}
		if sent == "" {
			return
		}
		path, _, _ := strings.Cut(sent, "?")
		canon, err := router.Canonicalize(u.EscapedPath())
		if err != nil {
			t.Fatalf("%s %q reached the upstream as %q although its path is refused: %v", method, target, sent, err)
		}
		if !strings.HasPrefix(canon, "/public/") || path != "/base"+canon {
			t.Fatalf("%s %q reached the upstream as %q (canonical %q)", method, target, sent, canon)
		}
	})
}

// FuzzCheck feeds arbitrary inputs to Check, as an ext_authz or Lambda front door would pass
// them: Check never panics or modifies the caller's headers; a denial is a 4xx/5xx with a JSON
// body; an allow is only ever the public route, on a path Canonicalize accepts, with every
// client X-Gatehouse-* header in Remove.
func FuzzCheck(f *testing.F) {
	for _, v := range pathVectors {
		p, q, _ := strings.Cut(v, "?")
		f.Add("GET", p, q, "X-Gatehouse-Principal", "admin", "")
	}
	f.Add("GET", "/public/a", "x=1&x=2", "x_gatehouse_groups", "admins", "Bearer "+garbageToken)
	f.Add("GET", "/admin/x", "", "Upgrade", "websocket", "Bearer ")
	f.Add("GET", "/public/x", "", "Connection", "upgrade, X-Gatehouse-Principal", "")
	f.Add("DELETE", "/admin/%2e%2e/public/x", "", "X-Http-Method-Override", "GET", "x")
	e := newEnv(f, storetest.Open(f, "sqlite"))
	e.putAPI(f, `
name: Confusion
basePath: /
upstream: http://upstream.invalid/base
authorizers:
  admins:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "`+poolARN(adminPool)+`"}}
routes:
  - {route: "GET /public/{proxy+}", authorizer: none}
  - {route: "ANY /admin/{proxy+}", authorizer: admins, groups: [admins]}
`)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, method, rawPath, rawQuery, name, value, auth string) {
		h := http.Header{}
		if name != "" {
			h[name] = []string{value}
		}
		if auth != "" {
			h["Authorization"] = []string{auth}
		}
		before := h.Clone()
		v := e.gw.Check(ctx, gateway.Input{Source: gateway.SourceExtAuthz, Method: method, RawPath: rawPath, RawQuery: rawQuery,
			Header: h, ContentLength: -1})
		if !reflect.DeepEqual(h, before) {
			t.Fatalf("headers modified: %v, was %v", h, before)
		}
		if v.DecisionID == "" {
			t.Fatal("no decision id")
		}
		if !v.Allow {
			if v.Status < 400 || v.Status > 599 || !json.Valid(v.Body) || v.Reason == "" {
				t.Fatalf("deny %d %q reason %q", v.Status, v.Body, v.Reason)
			}
			return
		}
		canon, err := router.Canonicalize(rawPath)
		if err != nil || !strings.HasPrefix(canon, "/public/") || v.RouteKey != "GET /public/{proxy+}" || v.Status != 200 {
			t.Fatalf("%s %q allowed on %q (canonical %q, %v)", method, rawPath, v.RouteKey, canon, err)
		}
		if v.Set.Get(gateway.HeaderDecisionID) != v.DecisionID {
			t.Fatalf("set %v", v.Set)
		}
		for k := range h {
			if strings.HasPrefix(strings.ReplaceAll(strings.ToLower(k), "_", "-"), "x-gatehouse-") && !slices.Contains(v.Remove, k) {
				t.Fatalf("client header %q not removed: %v", k, v.Remove)
			}
		}
	})
}
