package apptest

import (
	"context"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// Pool creates a user pool in the node's built-in IdP with a client allowed to sign in with a
// password and granted scopes ("server/scope", one resource server named after the first),
// the groups users name, and users (each in its listed groups). It returns the pool and
// client ids and each user's sub.
func Pool(t testing.TB, node *app.Node, name string, users map[string][]string, scopes ...string) (poolID, clientID string, subs map[string]string) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: name})
	must(err)
	if len(scopes) > 0 {
		rs, _, _ := strings.Cut(scopes[0], "/")
		var infos []idp.ScopeInfo
		for _, s := range scopes {
			_, sc, _ := strings.Cut(s, "/")
			infos = append(infos, idp.ScopeInfo{Name: sc, Description: sc})
		}
		_, err := node.IdP.CreateResourceServer(ctx, p.ID, rs, rs, infos)
		must(err)
	}
	c, err := node.IdP.CreateClient(ctx, p.ID, idp.ClientInput{Name: name + "-app",
		ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}, AllowedOAuthScopes: scopes})
	must(err)
	groups := map[string]bool{}
	for _, gs := range users {
		for _, g := range gs {
			if !groups[g] {
				groups[g] = true
				_, err := node.IdP.CreateGroup(ctx, p.ID, idp.GroupInput{Name: g})
				must(err)
			}
		}
	}
	subs = map[string]string{}
	for u, gs := range users {
		usr, err := node.IdP.CreateUser(ctx, p.ID, u, "Passw0rd!"+u, map[string]string{"email": u + "@example.com"})
		must(err)
		subs[u] = usr.Sub
		for _, g := range gs {
			must(node.IdP.AddUserToGroup(ctx, p.ID, u, g))
		}
	}
	return p.ID, c.ID, subs
}

// Bearer returns "Bearer <token>" with a fresh access token (or ID token when id is set) of
// the user, issued by the node's built-in IdP.
func Bearer(t testing.TB, node *app.Node, poolID, clientID, user string, id bool) string {
	t.Helper()
	tk, err := node.IdP.IssueTokens(context.Background(), poolID, clientID, user)
	if err != nil {
		t.Fatal(err)
	}
	if id {
		return "Bearer " + tk.IDToken
	}
	return "Bearer " + tk.AccessToken
}
