package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// RouteAccess answers, for a token, every route of an API as a request carrying it would be
// answered: each row is checked against a real request through the proxy.
func TestRouteAccessMatchesRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Intranet
basePath: /
upstream: %s
authorizers:
  roles:
    type: jwt
    identitySources:
      - configuration: {cognitoUserPoolConfiguration: {userPoolArn: "%s", clientIds: [staff]}}
    roleHierarchy: [admin, manager, employee]
routes:
  - {route: "GET /handbook", authorizer: roles, groups: [employee]}
  - {route: "GET /reports", authorizer: roles, groups: [manager]}
  - {route: "ANY /settings", authorizer: roles, groups: [admin]}
  - {route: "GET /public", authorizer: none}
`, e.up.srv.URL, poolARN(staffPool)))
	manager := e.idp.id(t, user{pool: staffPool, client: "staff", sub: "m", username: "m", groups: []string{"manager"}})
	for _, tok := range []string{manager, ""} {
		got, err := e.gw.RouteAccess(ctx, gateway.RouteQuery{API: "Intranet", Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		var rows []string
		for _, d := range got {
			rows = append(rows, fmt.Sprintf("%s %s %v %d", d.Method, d.Route, d.Allow, d.Status))
			status := e.do(t, d.Method, d.Route, tok).status
			if want := 200; d.Allow && status != want || !d.Allow && status != d.Status {
				t.Errorf("%s %s: RouteAccess says allow=%v status %d, a request got %d", d.Method, d.Route, d.Allow, d.Status, status)
			}
		}
		if tok == manager {
			want := "GET /handbook true 200|GET /public true 200|GET /reports true 200|GET /settings false 403|POST /settings false 403|PUT /settings false 403|PATCH /settings false 403|DELETE /settings false 403"
			if strings.Join(rows, "|") != want {
				t.Fatalf("manager's routes:\n%s\nwant\n%s", strings.Join(rows, "\n"), strings.ReplaceAll(want, "|", "\n"))
			}
		}
	}
	if _, err := e.gw.RouteAccess(ctx, gateway.RouteQuery{API: "Nope"}); !errors.Is(err, gateway.ErrUnknownAPI) {
		t.Fatalf("unknown API: %v", err)
	}
}

// Path parameters: a value given is used; one not given is assumed ("x") and named.
func TestRouteAccessPathParameters(t *testing.T) {
	t.Parallel()
	c := newClinic(t)
	dave := c.idp.id(t, dave)
	for _, tc := range []struct {
		params  map[string]string
		allow   bool
		assumed string
	}{
		{map[string]string{"id": "PI-T123"}, true, ""},
		{map[string]string{"id": "PI-T124"}, false, ""},
		{nil, false, "id"},
	} {
		got, err := c.gw.RouteAccess(context.Background(), gateway.RouteQuery{API: "Clinic", Token: dave, Params: tc.params})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Allow != tc.allow || strings.Join(got[0].Assumed, ",") != tc.assumed {
			t.Fatalf("params %v: %+v", tc.params, got)
		}
	}
}
