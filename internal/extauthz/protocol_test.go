package extauthz_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc/codes"

	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// The mapping of Envoy's CheckRequest shapes to the gateway's Input.
func TestFromCheckRequest(t *testing.T) {
	t.Parallel()
	noHTTP := &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{}}}
	pathOnlyPseudo := envoyRequest("GET", "/demo/pets?limit=2", nil)
	pathOnlyPseudo.Attributes.Request.Http.Path, pathOnlyPseudo.Attributes.Request.Http.Method = "", ""
	conflict := envoyRequest("GET", "/demo/pets", map[string]string{":path": "/demo/admin/x"})
	methodConflict := envoyRequest("GET", "/demo/pets", map[string]string{":method": "POST"})
	tlsScheme := envoyRequest("GET", "/demo/pets", nil)
	tlsScheme.Attributes.Request.Http.Scheme = "https"
	tlsCert := envoyRequest("GET", "/demo/pets", nil)
	tlsCert.Attributes.Source.Certificate = "-----BEGIN%20CERTIFICATE-----"
	tlsSession := envoyRequest("GET", "/demo/pets", nil)
	tlsSession.Attributes.TlsSession = &authv3.AttributeContext_TLSSession{Sni: "api.example.com"}
	withBody := envoyRequest("POST", "/demo/pets", map[string]string{"content-length": "17", "content-type": "application/json"})
	withBody.Attributes.Request.Http.Size, withBody.Attributes.Request.Http.Body = 17, `{"type":"parrot"}`
	bodyNoSize := envoyRequest("POST", "/demo/pets", nil)
	bodyNoSize.Attributes.Request.Http.Size, bodyNoSize.Attributes.Request.Http.RawBody = 0, []byte("0123456789")
	v6 := envoyRequest("GET", "/demo/pets", nil)
	v6.Attributes.Source.Address.GetSocketAddress().Address = "::ffff:198.51.100.9"
	pipe := envoyRequest("GET", "/demo/pets", nil)
	pipe.Attributes.Source.Address = &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: "/run/envoy.sock"}}}
	absolute := envoyRequest("GET", "http://api.example.com/demo/pets?x=1", map[string]string{":path": "http://api.example.com/demo/pets?x=1"})
	rawMap := withHeaderMap(envoyRequest("GET", "/demo/pets", map[string]string{"authorization": "Bearer abc"}),
		[2]string{"x-multi", "one"}, [2]string{"x-multi", "two"}, [2]string{"x_gatehouse_groups", "admins"})

	for _, tc := range []struct {
		name    string
		req     *authv3.CheckRequest
		badPart string // the field a refusal names
		check   func(t *testing.T, in gateway.Input)
	}{
		{name: "envoy's usual shape", req: envoyRequest("GET", "/demo/pets?limit=2&x=%2F", map[string]string{"authorization": "Bearer abc"}),
			check: func(t *testing.T, in gateway.Input) {
				if in.Source != gateway.SourceExtAuthz || in.API != "" || in.Method != "GET" || in.RawPath != "/demo/pets" || in.RawQuery != "limit=2&x=%2F" {
					t.Errorf("request line: %+v", in)
				}
				if in.Header.Get("Authorization") != "Bearer abc" || in.Header.Get(":path") != "" || len(in.Header.Values(":authority")) != 0 {
					t.Errorf("headers: %v", in.Header)
				}
				if in.Client != netip.MustParseAddr("203.0.113.7") || in.Peer.IsValid() || in.TLS || in.ContentLength != -1 {
					t.Errorf("client %v peer %v tls %v length %d", in.Client, in.Peer, in.TLS, in.ContentLength)
				}
			}},
		{name: "pseudo-headers only", req: pathOnlyPseudo, check: func(t *testing.T, in gateway.Input) {
			if in.Method != "GET" || in.RawPath != "/demo/pets" || in.RawQuery != "limit=2" {
				t.Errorf("request line from pseudo-headers: %+v", in)
			}
		}},
		{name: "no http attributes", req: noHTTP, badPart: "attributes.request.http"},
		{name: "nil request", req: &authv3.CheckRequest{}, badPart: "attributes.request.http"},
		{name: ":path disagrees", req: conflict, badPart: "attributes.request.http.path"},
		{name: ":method disagrees", req: methodConflict, badPart: "attributes.request.http.method"},
		{name: "https scheme", req: tlsScheme, check: func(t *testing.T, in gateway.Input) {
			if !in.TLS {
				t.Error("scheme https is TLS")
			}
		}},
		{name: "peer certificate", req: tlsCert, check: func(t *testing.T, in gateway.Input) {
			if !in.TLS {
				t.Error("a downstream certificate is TLS")
			}
		}},
		{name: "tls session", req: tlsSession, check: func(t *testing.T, in gateway.Input) {
			if !in.TLS {
				t.Error("a TLS session is TLS")
			}
		}},
		{name: "with_request_body", req: withBody, check: func(t *testing.T, in gateway.Input) {
			if in.ContentLength != 17 || in.Method != "POST" {
				t.Errorf("length %d", in.ContentLength)
			}
		}},
		{name: "body without size", req: bodyNoSize, check: func(t *testing.T, in gateway.Input) {
			if in.ContentLength != 10 {
				t.Errorf("length %d, want the body's 10", in.ContentLength)
			}
		}},
		{name: "mapped IPv6 source", req: v6, check: func(t *testing.T, in gateway.Input) {
			if in.Client != netip.MustParseAddr("198.51.100.9") {
				t.Errorf("client %v", in.Client)
			}
		}},
		{name: "pipe source", req: pipe, check: func(t *testing.T, in gateway.Input) {
			if in.Client.IsValid() {
				t.Errorf("client %v from a pipe", in.Client)
			}
		}},
		{name: "absolute-form path", req: absolute, check: func(t *testing.T, in gateway.Input) {
			if in.RawPath != "/demo/pets" || in.RawQuery != "x=1" {
				t.Errorf("path %q query %q", in.RawPath, in.RawQuery)
			}
		}},
		{name: "header_map (encode_raw_headers)", req: rawMap, check: func(t *testing.T, in gateway.Input) {
			if in.Method != "GET" || in.RawPath != "/demo/pets" || in.Header.Get("Authorization") != "Bearer abc" {
				t.Errorf("from header_map: %+v", in)
			}
			if got := in.Header.Values("X-Multi"); !slices.Equal(got, []string{"one", "two"}) {
				t.Errorf("repeated header: %q", got)
			}
			if in.Header.Get("X_gatehouse_groups") != "admins" {
				t.Errorf("underscore spelling lost: %v", in.Header)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			in, err := extauthz.FromCheckRequest(tc.req)
			if tc.badPart != "" {
				var bad *extauthz.BadRequestError
				if !errors.As(err, &bad) || bad.Field != tc.badPart {
					t.Fatalf("want a refusal naming %s, got %v", tc.badPart, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, in)
		})
	}
}

// allowVerdict is what the gateway answers for an allowed request whose client sent identity
// headers of its own (Remove lists them, and the forwarding and hop-by-hop headers).
func allowVerdict(gateway.Input) gateway.Verdict {
	return gateway.Verdict{Allow: true, Status: 200, DecisionID: "0190f0aa-0000-7000-8000-000000000001",
		Set: http.Header{"X-Gatehouse-Decision-Id": {"0190f0aa-0000-7000-8000-000000000001"},
			"X-Gatehouse-Principal": {"pool|sub-1"}, "X-Gatehouse-Groups": {"owners,x%2Cy"}},
		Remove: []string{"X-Gatehouse-Principal", "X_gatehouse_groups", "X-Gatehouse-Whatever", "X-Forwarded-For",
			"X-Forwarded-Proto", "X-Real-Ip", "X-Http-Method-Override", "Connection"},
		Principal: "pool|sub-1"}
}

func TestGRPCAllowAndDeny(t *testing.T) {
	t.Parallel()
	c := &recordingChecker{verdict: func(in gateway.Input) gateway.Verdict {
		switch in.Header.Get("Authorization") {
		case "":
			return gateway.Verdict{Status: 401, Body: []byte(`{"message":"Unauthorized"}`), DecisionID: "d-401",
				Header: http.Header{"Content-Type": {"application/json"}, "X-Gatehouse-Decision-Id": {"d-401"}, "Content-Length": {"26"}}}
		case "Bearer stale":
			return gateway.Verdict{Status: 503, Body: []byte(`{"message":"Service Unavailable","reason":"store_unavailable"}`),
				Header: http.Header{"Content-Type": {"application/json"}}}
		case "Bearer no":
			return gateway.Verdict{Status: 403, Body: []byte(`{"Message":"User is not authorized to access this resource"}`),
				Header: http.Header{"Content-Type": {"application/json"}, "X-Amzn-Errortype": {"AccessDeniedException"}}}
		}
		return allowVerdict(in)
	}}
	client := grpcClient(t, serve(t, c, nil), nil)
	ctx := context.Background()

	res, err := client.Check(ctx, envoyRequest("GET", "/demo/pets", map[string]string{"authorization": "Bearer ok",
		"x-gatehouse-principal": "admin", "x_gatehouse_groups": "admins"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := res.ValidateAll(); err != nil {
		t.Errorf("response fails Envoy's proto validation: %v", err)
	}
	ok := res.GetOkResponse()
	if codes.Code(res.GetStatus().GetCode()) != codes.OK || ok == nil {
		t.Fatalf("allow: %v", res)
	}
	for name, want := range map[string]string{"x-gatehouse-principal": "pool|sub-1", "x-gatehouse-groups": "owners,x%2Cy",
		"x-gatehouse-decision-id": "0190f0aa-0000-7000-8000-000000000001"} {
		if got, over, found := headerOf(ok.GetHeaders(), name); !found || got != want || !over {
			t.Errorf("%s: %q overwrite=%v found=%v, want %q overwritten", name, got, over, found, want)
		}
	}
	// Removed: the client's spellings the verdict does not set, the method override and the
	// forwarding header Envoy does not own; kept: what is set, and Envoy's own headers.
	if want := []string{"x-gatehouse-whatever", "x-http-method-override", "x-real-ip", "x_gatehouse_groups"}; !slices.Equal(ok.GetHeadersToRemove(), want) {
		t.Errorf("headers_to_remove %q, want %q", ok.GetHeadersToRemove(), want)
	}
	if got, _, _ := headerOf(ok.GetResponseHeadersToAdd(), "x-gatehouse-decision-id"); got != "0190f0aa-0000-7000-8000-000000000001" {
		t.Errorf("decision id to the client: %q", got)
	}

	for _, tc := range []struct {
		auth     string
		status   int
		code     codes.Code
		body     string
		header   string
		hdrValue string
	}{
		{"", 401, codes.Unauthenticated, `{"message":"Unauthorized"}`, "x-gatehouse-decision-id", "d-401"},
		{"Bearer no", 403, codes.PermissionDenied, `{"Message":"User is not authorized to access this resource"}`, "x-amzn-errortype", "AccessDeniedException"},
		{"Bearer stale", 503, codes.Unavailable, `{"message":"Service Unavailable","reason":"store_unavailable"}`, "content-type", "application/json"},
	} {
		hdr := map[string]string{}
		if tc.auth != "" {
			hdr["authorization"] = tc.auth
		}
		res, err := client.Check(ctx, envoyRequest("GET", "/demo/pets", hdr))
		if err != nil {
			t.Fatal(err)
		}
		if err := res.ValidateAll(); err != nil {
			t.Errorf("%d: response fails Envoy's proto validation: %v", tc.status, err)
		}
		d := res.GetDeniedResponse()
		if codes.Code(res.GetStatus().GetCode()) != tc.code || d == nil || int(d.GetStatus().GetCode()) != tc.status || d.GetBody() != tc.body {
			t.Errorf("deny %d: %v", tc.status, res)
			continue
		}
		if got, over, _ := headerOf(d.GetHeaders(), tc.header); got != tc.hdrValue || !over {
			t.Errorf("deny %d: header %s = %q", tc.status, tc.header, got)
		}
		if _, _, found := headerOf(d.GetHeaders(), "content-length"); found {
			t.Errorf("deny %d: Content-Length passed to Envoy, which sets its own", tc.status)
		}
	}
}

func TestGRPCMalformedRequestIsRefused(t *testing.T) {
	t.Parallel()
	c := &recordingChecker{verdict: allowVerdict}
	client := grpcClient(t, serve(t, c, nil), nil)
	res, err := client.Check(context.Background(), envoyRequest("GET", "/demo/pets", map[string]string{":path": "/demo/admin/x"}))
	if err != nil {
		t.Fatal(err)
	}
	d := res.GetDeniedResponse()
	if codes.Code(res.GetStatus().GetCode()) != codes.PermissionDenied || d.GetStatus().GetCode() != 400 ||
		!strings.Contains(d.GetBody(), "attributes.request.http.path") {
		t.Fatalf("conflicting :path: %v", res)
	}
	if id, _, _ := headerOf(d.GetHeaders(), "x-gatehouse-decision-id"); id == "" {
		t.Error("no decision id")
	}
	if c.count() != 0 {
		t.Error("a malformed request reached the decision")
	}
}

func TestHTTPServiceMode(t *testing.T) {
	t.Parallel()
	c := &recordingChecker{verdict: func(in gateway.Input) gateway.Verdict {
		if in.Header.Get("Authorization") == "" {
			return gateway.Verdict{Status: 401, Body: []byte(`{"message":"Unauthorized"}`),
				Header: http.Header{"Content-Type": {"application/json"}, "X-Gatehouse-Decision-Id": {"d-401"}}}
		}
		return allowVerdict(in)
	}}
	addr := serve(t, c, nil)

	res := httpCheck(t, addr, "GET", "/demo/pets?limit=2", http.Header{"Authorization": {"Bearer ok"},
		"X-Forwarded-For": {"198.51.100.1, 203.0.113.7"}, "X-Forwarded-Proto": {"https"}, "X-Gatehouse-Principal": {"admin"}})
	if res.StatusCode != 200 || res.Header.Get("X-Gatehouse-Principal") != "pool|sub-1" || res.Header.Get("X-Gatehouse-Groups") != "owners,x%2Cy" {
		t.Fatalf("allow: %d %v", res.StatusCode, res.Header)
	}
	if got := res.Header.Get(extauthz.HeaderRemove); got != "x-gatehouse-whatever, x-http-method-override, x-real-ip, x_gatehouse_groups" {
		t.Errorf("%s: %q", extauthz.HeaderRemove, got)
	}
	in := c.last(t)
	if in.Method != "GET" || in.RawPath != "/demo/pets" || in.RawQuery != "limit=2" || in.API != "" || in.Source != gateway.SourceExtAuthz {
		t.Errorf("request line: %+v", in)
	}
	if in.Client != netip.MustParseAddr("203.0.113.7") || !in.TLS {
		t.Errorf("client %v tls %v: want Envoy's right-most X-Forwarded-For entry and X-Forwarded-Proto", in.Client, in.TLS)
	}

	res = httpCheck(t, addr, "POST", "/demo/pets", nil)
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 401 || string(b) != `{"message":"Unauthorized"}` || res.Header.Get("X-Gatehouse-Decision-Id") != "d-401" ||
		res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("deny: %d %s %v", res.StatusCode, b, res.Header)
	}
	if in := c.last(t); !in.Client.IsLoopback() || in.TLS || in.ContentLength != -1 {
		t.Errorf("without forwarding headers: client %v tls %v length %d", in.Client, in.TLS, in.ContentLength)
	}

	n := c.count()
	for _, p := range []string{"/", "/ext-authzdemo/pets", "/other"} {
		req, _ := http.NewRequest("GET", "http://"+addr+p, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 404 {
			t.Errorf("%s outside the prefix: %d", p, res.StatusCode)
		}
	}
	if c.count() != n {
		t.Error("a request outside the prefix reached the decision")
	}
}
