package gateway_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// A group claim given as one string is split on spaces only, as AVP splits it and as a Cedar
// route reads it (identity.Source.GroupNames): "admins\tusers" is the single group
// "admins\tusers", so it does not satisfy a jwt route limited to admins, and X-Gatehouse-Groups
// carries the same groups a Cedar policy sees.
const oidcPool = "oidc-issuer"

func TestGroupClaimStringSplitsOnSpacesOnly(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	e.putAPI(t, fmt.Sprintf(`
name: Groups
basePath: /
upstream: %s
authorizers:
  idp:
    type: jwt
    identitySources:
      - configuration:
          openIdConnectConfiguration:
            issuer: "%s"
            groupConfiguration: {groupClaim: roles, groupEntityType: Groups::Role}
            tokenSelection: {identityTokenOnly: {clientIds: [app]}}
routes:
  - {route: "GET /admin/{proxy+}", authorizer: idp, groups: [admins]}
  - {route: "GET /me/{proxy+}", authorizer: idp}
`, e.up.srv.URL, e.idp.issuer(oidcPool)))
	tests := []struct {
		claim      string
		adminOK    bool
		wantGroups string // X-Gatehouse-Groups on /me
	}{
		{claim: "admins users", adminOK: true, wantGroups: "admins,users"},
		{claim: "admins\tusers", adminOK: false, wantGroups: "admins%09users"},
		{claim: " admins  admins ", adminOK: true, wantGroups: "admins"},
		{claim: "", adminOK: false, wantGroups: ""},
	}
	for _, tc := range tests {
		u := user{pool: oidcPool, client: "app", sub: "s1", username: "u", extra: map[string]any{"roles": tc.claim}}
		tok := e.idp.id(t, u)
		r := e.do(t, "GET", "/admin/x", tok)
		if got := r.status == 200; got != tc.adminOK {
			t.Errorf("claim %q: /admin answered %d, want allowed=%v", tc.claim, r.status, tc.adminOK)
		}
		e.do(t, "GET", "/me/x", tok).want(t, fmt.Sprintf("claim %q on /me", tc.claim), 200, "")
		got := strings.Join(e.up.last(t).Headers["X-Gatehouse-Groups"], "|")
		if got != tc.wantGroups {
			t.Errorf("claim %q: X-Gatehouse-Groups %q, want %q", tc.claim, got, tc.wantGroups)
		}
	}
}
