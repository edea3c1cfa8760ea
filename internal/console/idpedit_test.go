package console_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	ciptypes "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

const idpEditPassword = "Correct-Horse-9"

// idpEditNode is a node serving the built-in IdP with a pool ("staff-pool"), a group
// ("staff"), a confirmed user ("carol") and a client allowed the password flow, plus a
// Cognito SDK client on the IdP listener for real sign-ins.
type idpEditNode struct {
	*testNode
	pool, client string
	cog          *cip.Client
}

func startIdPEditNode(t *testing.T) *idpEditNode {
	t.Helper()
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.ConsoleKeys = []string{"viewer:" + viewerID + ":" + viewerSecret, "author:" + authorID + ":" + authorSecret}
	cfg.AuditFile = filepath.Join(t.TempDir(), "audit.jsonl")
	node, stop := apptest.StartStoppable(t, cfg)
	n := &idpEditNode{testNode: &testNode{Node: node, base: "http://" + node.Addr("admin"), auditFile: cfg.AuditFile, stop: stop}}
	ctx := context.Background()
	pool, err := n.IdP.CreatePool(ctx, idp.PoolInput{Name: "staff-pool"})
	if err != nil {
		t.Fatal(err)
	}
	n.pool = pool.ID
	client, err := n.IdP.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "app", ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}})
	if err != nil {
		t.Fatal(err)
	}
	n.client = client.ID
	if _, err := n.IdP.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: "staff"}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.IdP.CreateUser(ctx, pool.ID, "carol", idpEditPassword, map[string]string{"email": "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	n.cog = cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String("http://" + node.Addr("idp")), RetryMaxAttempts: 1})
	return n
}

// signInUser signs in with the password flow through the IdP's Cognito API: the real
// sign-in an application makes.
func (n *idpEditNode) signInUser(user, password string) (*ciptypes.AuthenticationResultType, string, error) {
	out, err := n.cog.InitiateAuth(context.Background(), &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(n.client), AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})
	if err != nil {
		return nil, "", err
	}
	return out.AuthenticationResult, string(out.ChallengeName), nil
}

func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// idpState is everything a console write could change, to show a refused one changed nothing.
func (n *idpEditNode) idpState(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	pools, err := n.IdP.ListPools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pools {
		b.WriteString("pool " + p.ID + "\n")
	}
	u, err := n.IdP.GetUser(ctx, n.pool, "carol")
	if err != nil {
		t.Fatal(err)
	}
	uj, _ := json.Marshal(u)
	b.Write(uj)
	groups, err := n.IdP.ListGroups(ctx, n.pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		b.WriteString("\ngroup " + g.Name)
	}
	clients, err := n.IdP.ListClients(ctx, n.pool)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range clients {
		b.WriteString("\nclient " + c.ID)
	}
	return b.String()
}

// TestIdPEditRefusedToViewerAndAuthor: every IdP write (and every page that leads to one) is
// 403 for a viewer and an author, with a valid session and csrf token, and the IdP is
// unchanged afterwards; a missing csrf token is refused for an administrator too; the pool
// page offers a viewer no write button.
func TestIdPEditRefusedToViewerAndAuthor(t *testing.T) {
	t.Parallel()
	n := startIdPEditNode(t)
	p := "/console/idp/" + n.pool
	u := p + "/users/carol"
	posts := []struct {
		path string
		form url.Values
	}{
		{"/console/idp/", url.Values{"name": {"evil-pool"}}},
		{p + "/users", url.Values{"username": {"mallory"}, "password": {idpEditPassword}}},
		{u + "/enabled", url.Values{"enabled": {"false"}}},
		{u + "/password", url.Values{"password": {"Other-Horse-9"}, "permanent": {"on"}}},
		{u + "/reset", nil},
		{u + "/attributes", url.Values{"attr.email": {"evil@example.com"}}},
		{u + "/signout", nil},
		{u + "/delete", url.Values{"confirm": {"carol"}}},
		{u + "/groups", url.Values{"group": {"staff"}}},
		{u + "/groups/staff/remove", nil},
		{p + "/groups", url.Values{"name": {"evil"}}},
		{p + "/groups/staff/members", url.Values{"username": {"carol"}}},
		{p + "/groups/staff/members/carol/remove", nil},
		{p + "/clients", url.Values{"name": {"evil"}, "secret": {"on"}}},
	}
	gets := []string{"/console/idp/new-pool", p + "/new-user", u, u + "/delete", p + "/new-group", p + "/groups/staff", p + "/new-client"}
	// carol in staff, so that a removal would change something.
	if err := n.IdP.AddUserToGroup(context.Background(), n.pool, "carol", "staff"); err != nil {
		t.Fatal(err)
	}
	before := n.idpState(t)
	for _, who := range []struct{ id, secret string }{{viewerID, viewerSecret}, {authorID, authorSecret}} {
		b := newBrowser(t, n.base)
		b.signIn(who.id, who.secret)
		tok := b.csrf()
		for _, c := range posts {
			form := url.Values{"csrf": {tok}}
			for k, v := range c.form {
				form[k] = v
			}
			resp, body := b.post(c.path, form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "may not EditIdP") {
				t.Errorf("%s POST %s: %d, want 403 naming EditIdP\n%s", who.id, c.path, resp.StatusCode, body)
			}
		}
		for _, g := range gets {
			if resp, _ := b.get(g); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", who.id, g, resp.StatusCode)
			}
		}
		_, body := b.get(p)
		for _, id := range []string{`id="new-user"`, `id="new-group"`, `id="new-client"`, `/users/carol"`} {
			if strings.Contains(body, id) {
				t.Errorf("%s sees the write link %s on the pool page", who.id, id)
			}
		}
	}
	admin := newBrowser(t, n.base)
	admin.signIn(apptest.KeyID, apptest.Secret)
	_ = admin.csrf()
	for _, c := range posts {
		resp, body := admin.post(c.path, c.form) // no csrf field
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "csrf") {
			t.Errorf("admin POST %s without csrf: %d, want 403\n%s", c.path, resp.StatusCode, body)
		}
	}
	if after := n.idpState(t); after != before {
		t.Fatalf("a refused write changed the IdP:\nbefore %s\nafter  %s", before, after)
	}
}

var fieldError = func(field string) *regexp.Regexp {
	return regexp.MustCompile(`id="` + regexp.QuoteMeta(field) + `-error">([^<]*)<`)
}

// postForm posts a form with the session's csrf token.
func postForm(b *browser, tok, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	f := url.Values{"csrf": {tok}}
	for k, v := range form {
		f[k] = v
	}
	return b.post(path, f)
}

// wantFieldError checks a 4xx page that names the field next to which the IdP's refusal is
// shown.
func wantFieldError(t *testing.T, what string, resp *http.Response, body string, status int, field, text string) {
	t.Helper()
	m := fieldError(field).FindStringSubmatch(body)
	if resp.StatusCode != status || m == nil || !strings.Contains(m[1], text) {
		t.Errorf("%s: %d, want %d with %q next to field %s\n%s", what, resp.StatusCode, status, text, field, body)
	}
	invalid := regexp.MustCompile(`<(?:input|select|textarea) id="` + regexp.QuoteMeta(field) + `"[^>]*aria-invalid="true"[^>]*>`).FindString(body)
	if !strings.Contains(invalid, field+`-error`) {
		t.Errorf("%s: field %s not marked invalid and described by its error", what, field)
	}
}

// TestIdPEditUsers: an administrator creates a user (with a temporary password the IdP
// accepts; a weak one, a taken name and an empty name refused next to their fields), edits
// attributes, sets a permanent password, adds and removes groups from the user and from the
// group, disables (sign-in refused, tokens revoked for the gateway) and enables, signs the
// user out everywhere, requires a reset, and deletes with a confirmation step; every write is
// in the audit trail with actor console:<key id>.
func TestIdPEditUsers(t *testing.T) {
	t.Parallel()
	n := startIdPEditNode(t)
	ctx := context.Background()
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	tok := b.csrf()
	p := "/console/idp/" + n.pool
	u := p + "/users/dave"

	resp, body := b.get(p)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="new-user" href="`+p+`/new-user"`) || !strings.Contains(body, `href="`+p+`/users/carol"`) {
		t.Fatalf("admin's pool page lacks the write links: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := b.get(p + "/new-user"); resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="username"`) {
		t.Fatalf("new-user page: %d\n%s", resp.StatusCode, body)
	}

	// Refusals, each next to its field, nothing created.
	resp, body = postForm(b, tok, p+"/users", url.Values{"username": {"dave"}, "password": {"short"}})
	wantFieldError(t, "weak password", resp, body, http.StatusBadRequest, "password", "InvalidPasswordException")
	resp, body = postForm(b, tok, p+"/users", url.Values{"username": {"carol"}, "password": {idpEditPassword}})
	wantFieldError(t, "taken username", resp, body, http.StatusBadRequest, "username", "UsernameExistsException")
	resp, body = postForm(b, tok, p+"/users", url.Values{"username": {""}})
	wantFieldError(t, "empty username", resp, body, http.StatusBadRequest, "username", "Username")
	resp, body = postForm(b, tok, p+"/users", url.Values{"username": {"bad name"}})
	wantFieldError(t, "username with a space", resp, body, http.StatusBadRequest, "username", "Username contains an invalid character")
	if _, err := n.IdP.GetUser(ctx, n.pool, "dave"); err == nil {
		t.Fatal("a refused create made the user")
	}
	if resp, _ := postForm(b, tok, "/console/idp/us-east-1_Nope00000/users", url.Values{"username": {"x"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("create in an unknown pool: %d, want 404", resp.StatusCode)
	}

	// Create with a temporary password: the user must change it at the first sign-in.
	resp, body = postForm(b, tok, p+"/users", url.Values{"username": {"dave"}, "email": {"dave@example.com"}, "password": {"Temp-Horse-9"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != u+"?done=created" {
		t.Fatalf("create: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	dave, err := n.IdP.GetUser(ctx, n.pool, "dave")
	if err != nil || dave.Status != "FORCE_CHANGE_PASSWORD" || dave.Attributes["email"] != "dave@example.com" {
		t.Fatalf("created user: %+v %v", dave, err)
	}
	if _, ch, err := n.signInUser("dave", "Temp-Horse-9"); err != nil || ch != "NEW_PASSWORD_REQUIRED" {
		t.Fatalf("first sign-in: challenge %q, %v", ch, err)
	}
	resp, body = b.get(u + "?done=created")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "User created.") || !strings.Contains(body, "FORCE_CHANGE_PASSWORD") {
		t.Fatalf("user page: %d\n%s", resp.StatusCode, body)
	}
	// Never a password hash, an SRP verifier or salt on the page.
	for _, secret := range []string{dave.PasswordHash, dave.SRPVerifier, dave.SRPSalt} {
		if secret != "" && strings.Contains(body, secret) {
			t.Fatal("the user page shows a password hash or SRP secret")
		}
	}

	// Attributes: a change and a new one; an unknown attribute is refused next to its field.
	resp, body = postForm(b, tok, u+"/attributes", url.Values{"attr.email": {"dave@example.org"}, "newName": {"given_name"}, "newValue": {"Dave"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("attributes: %d\n%s", resp.StatusCode, body)
	}
	resp, body = postForm(b, tok, u+"/attributes", url.Values{"newName": {"shoe_size"}, "newValue": {"44"}})
	wantFieldError(t, "unknown attribute", resp, body, http.StatusBadRequest, "newName", "shoe_size")
	if dave, _ = n.IdP.GetUser(ctx, n.pool, "dave"); dave.Attributes["email"] != "dave@example.org" || dave.Attributes["given_name"] != "Dave" || dave.Attributes["shoe_size"] != "" {
		t.Fatalf("attributes after edits: %v", dave.Attributes)
	}

	// A permanent password: the user signs in.
	resp, body = postForm(b, tok, u+"/password", url.Values{"password": {"weak"}})
	wantFieldError(t, "weak new password", resp, body, http.StatusBadRequest, "password", "InvalidPasswordException")
	if resp, body := postForm(b, tok, u+"/password", url.Values{"password": {idpEditPassword}, "permanent": {"on"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set password: %d\n%s", resp.StatusCode, body)
	}
	first, _, err := n.signInUser("dave", idpEditPassword)
	if err != nil || first == nil {
		t.Fatalf("sign-in with the permanent password: %v", err)
	}

	// Groups from the user's page and from the group's page.
	if resp, body := postForm(b, tok, u+"/groups", url.Values{"group": {"staff"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add to group: %d\n%s", resp.StatusCode, body)
	}
	resp, body = postForm(b, tok, u+"/groups", url.Values{"group": {"nosuch"}})
	wantFieldError(t, "unknown group", resp, body, http.StatusBadRequest, "group", "ResourceNotFoundException")
	if dave, _ = n.IdP.GetUser(ctx, n.pool, "dave"); !slices.Equal(dave.Groups, []string{"staff"}) {
		t.Fatalf("groups: %v", dave.Groups)
	}
	if resp, body := postForm(b, tok, u+"/groups/staff/remove", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove from group: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := postForm(b, tok, p+"/groups/staff/members", url.Values{"username": {"dave"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add member: %d\n%s", resp.StatusCode, body)
	}
	resp, body = postForm(b, tok, p+"/groups/staff/members", url.Values{"username": {"nobody"}})
	wantFieldError(t, "unknown member", resp, body, http.StatusBadRequest, "username", "UserNotFoundException")
	resp, body = b.get(p + "/groups/staff")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `href="`+p+`/users/dave">dave</a>`) {
		t.Fatalf("group page: %d\n%s", resp.StatusCode, body)
	}
	if resp, body := postForm(b, tok, p+"/groups/staff/members/dave/remove", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove member: %d\n%s", resp.StatusCode, body)
	}
	if dave, _ = n.IdP.GetUser(ctx, n.pool, "dave"); len(dave.Groups) != 0 {
		t.Fatalf("groups after removal: %v", dave.Groups)
	}

	// Disable: sign-in refused, and the token issued before is revoked where the gateway
	// checks (the IdP is the gateway's revocation checker); enable: sign-in works again.
	if resp, body := postForm(b, tok, u+"/enabled", url.Values{"enabled": {"maybe"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "enabled") {
		t.Errorf("enabled=maybe: %d\n%s", resp.StatusCode, body)
	}
	if n.IdP.Revoked(accessToken(t, first)) {
		t.Fatal("the token is revoked before anything happened")
	}
	if resp, body := postForm(b, tok, u+"/enabled", url.Values{"enabled": {"false"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", resp.StatusCode, body)
	}
	if _, _, err := n.signInUser("dave", idpEditPassword); apiErrorCode(err) != "NotAuthorizedException" {
		t.Fatalf("sign-in of a disabled user: %v", err)
	}
	if !n.IdP.Revoked(accessToken(t, first)) {
		t.Fatal("the disabled user's token is not revoked for the gateway")
	}
	if resp, body := postForm(b, tok, u+"/enabled", url.Values{"enabled": {"true"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d\n%s", resp.StatusCode, body)
	}
	// Revocations are second-granular: a token issued in the second of the revocation is
	// refused too, so the next sign-in waits for the next second.
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(1100 * time.Millisecond)))
	second, _, err := n.signInUser("dave", idpEditPassword)
	if err != nil {
		t.Fatalf("sign-in after enable: %v", err)
	}

	// Sign out everywhere: the access token stops working at the IdP and for the gateway, the
	// refresh token stops refreshing.
	if n.IdP.Revoked(accessToken(t, second)) {
		t.Fatal("a fresh token is revoked")
	}
	if resp, body := postForm(b, tok, u+"/signout", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d\n%s", resp.StatusCode, body)
	}
	if !n.IdP.Revoked(accessToken(t, second)) {
		t.Fatal("a signed-out token is not revoked for the gateway")
	}
	if _, err := n.cog.GetUser(ctx, &cip.GetUserInput{AccessToken: second.AccessToken}); apiErrorCode(err) != "NotAuthorizedException" {
		t.Fatalf("GetUser with a signed-out token: %v", err)
	}
	if _, err := n.cog.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: ciptypes.AuthFlowTypeRefreshTokenAuth, ClientId: aws.String(n.client),
		AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(second.RefreshToken)}}); apiErrorCode(err) != "NotAuthorizedException" {
		t.Fatalf("refresh after sign-out: %v", err)
	}

	// Require a reset: the password no longer signs in.
	if resp, body := postForm(b, tok, u+"/reset", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reset: %d\n%s", resp.StatusCode, body)
	}
	if _, _, err := n.signInUser("dave", idpEditPassword); apiErrorCode(err) != "PasswordResetRequiredException" {
		t.Fatalf("sign-in after a reset: %v", err)
	}

	// Delete: a confirmation page; the wrong name refused next to its field.
	resp, body = b.get(u + "/delete")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="confirm"`) {
		t.Fatalf("delete page: %d\n%s", resp.StatusCode, body)
	}
	resp, body = postForm(b, tok, u+"/delete", url.Values{"confirm": {"dav"}})
	wantFieldError(t, "wrong confirmation", resp, body, http.StatusBadRequest, "confirm", "type the username dave")
	if _, err := n.IdP.GetUser(ctx, n.pool, "dave"); err != nil {
		t.Fatalf("deleted without confirmation: %v", err)
	}
	resp, body = postForm(b, tok, u+"/delete", url.Values{"confirm": {"dave"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != p+"?done=deleted" {
		t.Fatalf("delete: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if _, err := n.IdP.GetUser(ctx, n.pool, "dave"); err == nil {
		t.Fatal("the user still exists")
	}
	if resp, _ := b.get(u); resp.StatusCode != http.StatusNotFound {
		t.Errorf("deleted user's page: %d, want 404", resp.StatusCode)
	}
	if resp, _ := postForm(b, tok, u+"/signout", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("sign out a deleted user: %d, want 404", resp.StatusCode)
	}

	n.stop()
	wantAudit(t, n.auditFile, "console:"+apptest.KeyID, []string{"AdminCreateUser", "AdminUpdateUserAttributes", "AdminSetUserPassword",
		"AdminAddUserToGroup", "AdminRemoveUserFromGroup", "AdminDisableUser", "AdminEnableUser", "GlobalSignOut",
		"AdminResetUserPassword", "AdminDeleteUser"})
}

// TestIdPEditGroupsClientsPools: an administrator creates a group (a taken name and a bad
// precedence refused next to their fields), an app client whose secret is shown once on the
// creation response and on no page after, and a user pool; all audited with the person.
func TestIdPEditGroupsClientsPools(t *testing.T) {
	t.Parallel()
	n := startIdPEditNode(t)
	ctx := context.Background()
	// The in-process operations are the admin ones: a public operation (which carries its own
	// proof) is not offered to run with a caller set.
	if _, ok := n.IdP.Operation("InitiateAuth"); ok {
		t.Error("idp.Operation offers the public InitiateAuth")
	}
	if _, ok := n.IdP.Operation("CreateUserPoolClient"); !ok {
		t.Error("idp.Operation lacks CreateUserPoolClient")
	}
	b := newBrowser(t, n.base)
	b.signIn(apptest.KeyID, apptest.Secret)
	tok := b.csrf()
	p := "/console/idp/" + n.pool

	resp, body := postForm(b, tok, p+"/groups", url.Values{"name": {"staff"}})
	wantFieldError(t, "taken group", resp, body, http.StatusBadRequest, "name", "GroupExistsException")
	resp, body = postForm(b, tok, p+"/groups", url.Values{"name": {"ops"}, "precedence": {"-1"}})
	wantFieldError(t, "bad precedence", resp, body, http.StatusBadRequest, "precedence", "Precedence")
	resp, body = postForm(b, tok, p+"/groups", url.Values{"name": {"on call"}, "description": {"the on-call team"}, "precedence": {"3"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != p+"/groups/on%20call?done=group" {
		t.Fatalf("create group: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
	resp, body = b.get(p + "/groups/on%20call")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "the on-call team") {
		t.Fatalf("group page of a name with a space: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := b.get(p + "/groups/nosuch"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown group page: %d, want 404", resp.StatusCode)
	}

	resp, body = postForm(b, tok, p+"/clients", url.Values{"name": {""}})
	wantFieldError(t, "client without a name", resp, body, http.StatusBadRequest, "name", "Client name")
	resp, body = postForm(b, tok, p+"/clients", url.Values{"name": {"backend"}, "secret": {"on"}, "ALLOW_USER_PASSWORD_AUTH": {"on"},
		"callbackUrls": {"https://app.example.com/cb"}})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("create client: %d\n%s", resp.StatusCode, body)
	}
	id := regexp.MustCompile(`id="client-id">([^<]+)<`).FindStringSubmatch(body)
	secret := regexp.MustCompile(`id="client-secret">([^<]+)<`).FindStringSubmatch(body)
	if id == nil || secret == nil {
		t.Fatalf("the creation page lacks the client id or secret:\n%s", body)
	}
	c, err := n.IdP.GetClient(ctx, n.pool, id[1])
	if err != nil || c.Secret != secret[1] || c.Name != "backend" || !slices.Contains(c.ExplicitAuthFlows, "ALLOW_USER_PASSWORD_AUTH") ||
		!slices.Equal(c.CallbackURLs, []string{"https://app.example.com/cb"}) {
		t.Fatalf("created client: %+v %v", c, err)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the secret's page may be cached: %q", resp.Header.Get("Cache-Control"))
	}
	for _, page := range []string{p, "/console/idp", p + "/new-client", p + "/groups/staff", p + "/users/carol"} {
		if _, body := b.get(page); strings.Contains(body, secret[1]) {
			t.Errorf("%s shows the client secret again", page)
		}
	}

	resp, body = postForm(b, tok, "/console/idp/", url.Values{"name": {""}})
	wantFieldError(t, "pool without a name", resp, body, http.StatusBadRequest, "name", "Pool name")
	resp, body = postForm(b, tok, "/console/idp/", url.Values{"name": {"partners"}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/console/idp/us-east-1_") {
		t.Fatalf("create pool: %d %s\n%s", resp.StatusCode, loc, body)
	}
	resp, body = b.get(loc)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "User pool created.") {
		t.Fatalf("new pool's page: %d\n%s", resp.StatusCode, body)
	}

	n.stop()
	wantAudit(t, n.auditFile, "console:"+apptest.KeyID, []string{"CreateGroup", "CreateUserPoolClient", "CreateUserPool"})
	raw, err := os.ReadFile(n.auditFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), secret[1]) {
		t.Fatal("the audit trail holds the client secret")
	}
}

// wantAudit checks that each Cognito operation is in the trail as a write with actor, and
// that the trail verifies.
func wantAudit(t *testing.T, file, actor string, ops []string) {
	t.Helper()
	want := map[string]bool{}
	for _, op := range ops {
		want[idp.TargetPrefix+"."+op] = true
	}
	for _, r := range auditRecords(t, file) {
		if r.Kind == audit.KindWrite && want[r.Operation] && r.Actor == actor {
			delete(want, r.Operation)
		}
	}
	if len(want) != 0 {
		t.Errorf("IdP writes missing from the audit trail with actor %s: %v", actor, want)
	}
	if _, err := audit.VerifyPaths(file); err != nil {
		t.Errorf("trail does not verify: %v", err)
	}
}

// accessToken is the token as the gateway's validator hands it to the revocation check (the
// claims it reads; the signature was checked by the IdP that issued it).
func accessToken(t *testing.T, r *ciptypes.AuthenticationResultType) *identity.Token {
	t.Helper()
	parts := strings.Split(aws.ToString(r.AccessToken), ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", aws.ToString(r.AccessToken))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatal(err)
	}
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	iat, _ := claims["iat"].(float64)
	return &identity.Token{Issuer: iss, Subject: sub, Claims: claims, IssuedAt: time.Unix(int64(iat), 0)}
}
