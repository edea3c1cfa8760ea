package idp_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

var (
	formActionRe = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	noticeRe     = regexp.MustCompile(`<p class="notice" role="status">([^<]*)</p>`)
	errorRe      = regexp.MustCompile(`<p class="err" role="alert">([^<]*)</p>`)
	inputRe      = regexp.MustCompile(`<input ([^>]*)>`)
	nameRe       = regexp.MustCompile(`\bname="([^"]*)"`)
	valueRe      = regexp.MustCompile(`\bvalue="([^"]*)"`)
)

// page is a fetched HTML page.
type page struct {
	status int
	body   string
	header http.Header
}

func fetch(t *testing.T, c *http.Client, req func() (*http.Response, error)) page {
	t.Helper()
	resp, err := req()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(b), header: resp.Header}
}

// link returns the absolute URL of the link with the given text.
func (p page) link(t *testing.T, origin, text string) string {
	t.Helper()
	m := regexp.MustCompile(`<a href="([^"]+)">` + regexp.QuoteMeta(text) + `</a>`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no link %q in %s", text, p.body)
	}
	return origin + htmlUnescape(m[1])
}

func (p page) notice() string {
	if m := noticeRe.FindStringSubmatch(p.body); m != nil {
		return htmlUnescape(m[1])
	}
	return ""
}

func (p page) errorText() string {
	if m := errorRe.FindStringSubmatch(p.body); m != nil {
		return htmlUnescape(m[1])
	}
	return ""
}

// submit fills the page's form (its hidden fields plus fields) and posts it as a browser
// would.
func (p page) submit(t *testing.T, c *http.Client, origin string, fields url.Values) page {
	t.Helper()
	action := formActionRe.FindStringSubmatch(p.body)
	if action == nil {
		t.Fatalf("no form in %s", p.body)
	}
	form := url.Values{}
	// As a browser: every input with a name and a value (hidden or prefilled).
	for _, m := range inputRe.FindAllStringSubmatch(p.body, -1) {
		name, value := nameRe.FindStringSubmatch(m[1]), valueRe.FindStringSubmatch(m[1])
		if name != nil && value != nil {
			form.Set(name[1], htmlUnescape(value[1]))
		}
	}
	for k, v := range fields {
		form[k] = v
	}
	return fetch(t, c, func() (*http.Response, error) { return c.PostForm(origin+htmlUnescape(action[1]), form) })
}

// TestHostedPages: a person signs up, confirms with the mailed code and signs in on the
// hosted pages, ending with an authorization code the app redeems; then forgets the password,
// resets it with a code and signs in again — real HTTP round trips with a cookie-keeping
// browser, the forms read from the pages.
func TestHostedPages(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		box, sender := newMailbox(t)
		e := newEnv(t, st, idp.WithCodeSender(sender))
		pool, err := e.idp.CreatePool(ctx, idp.PoolInput{Name: "shop", AutoVerifiedAttributes: []string{"email"}})
		if err != nil {
			t.Fatal(err)
		}
		const callback = "http://localhost:3000/callback"
		client, err := e.idp.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "spa", AllowedOAuthFlows: []string{"code"},
			AllowedOAuthScopes: []string{"openid", "email"}, CallbackURLs: []string{callback}})
		if err != nil {
			t.Fatal(err)
		}
		origin := e.srv.URL
		iss := origin + "/" + pool.ID
		verifier, challenge := pkce()
		authorizeURL := iss + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {client.ID},
			"redirect_uri": {callback}, "state": {"st-1"}, "scope": {"openid email"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
		// signedIn posts the login page and redeems the code it redirects with.
		signedIn := func(t *testing.T, c *http.Client, login page, user, pw string) map[string]any {
			t.Helper()
			if login.status != http.StatusOK || !strings.Contains(login.body, "<h1>Sign in</h1>") {
				t.Fatalf("not the login page: %d %s", login.status, login.body)
			}
			res := login.submit(t, c, origin, url.Values{"username": {user}, "password": {pw}})
			loc, _ := url.Parse(res.header.Get("Location"))
			if res.status != http.StatusFound || loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-1" {
				t.Fatalf("sign-in: %d %q %s", res.status, res.header.Get("Location"), res.body)
			}
			status, tok := postToken(t, iss+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {client.ID},
				"code": {loc.Query().Get("code")}, "redirect_uri": {callback}, "code_verifier": {verifier}}, "", "")
			if status != http.StatusOK {
				t.Fatalf("token exchange: %d %v", status, tok)
			}
			return tok
		}

		c := browser()
		login := fetch(t, c, func() (*http.Response, error) { return c.Get(authorizeURL) })
		signup := fetch(t, c, func() (*http.Response, error) { return c.Get(login.link(t, origin, "Sign up")) })
		if signup.status != http.StatusOK || !strings.Contains(signup.body, "<h1>Sign up</h1>") {
			t.Fatalf("sign-up page: %d %s", signup.status, signup.body)
		}
		if signup.header.Get("Content-Security-Policy") == "" || signup.header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("sign-up page headers %v", signup.header)
		}
		// Bad input is shown on the page, which keeps its form.
		weak := signup.submit(t, c, origin, url.Values{"username": {"nina"}, "email": {"nina@example.com"}, "password": {"weak"}})
		if weak.status != http.StatusBadRequest || !strings.Contains(weak.errorText(), "Password did not conform with policy") {
			t.Fatalf("weak password: %d %q", weak.status, weak.errorText())
		}
		confirm := weak.submit(t, c, origin, url.Values{"username": {"nina"}, "email": {"nina@example.com"}, "password": {password}})
		if confirm.status != http.StatusOK || confirm.notice() != "We sent a code to n***@e***." {
			t.Fatalf("after sign-up: %d %q %s", confirm.status, confirm.notice(), confirm.body)
		}
		code := box.code("nina", idp.CodeKindSignUp)
		wrong := confirm.submit(t, c, origin, url.Values{"code": {wrongCode(code)}})
		if wrong.status != http.StatusBadRequest || wrong.errorText() != "Invalid verification code provided, please try again." {
			t.Fatalf("wrong code: %d %q", wrong.status, wrong.errorText())
		}
		// Not confirmed yet: the login page refuses.
		early := fetch(t, c, func() (*http.Response, error) { return c.Get(authorizeURL) }).
			submit(t, c, origin, url.Values{"username": {"nina"}, "password": {password}})
		if early.status != http.StatusUnauthorized || early.errorText() != "User is not confirmed." {
			t.Fatalf("unconfirmed sign-in: %d %q", early.status, early.errorText())
		}
		confirmed := wrong.submit(t, c, origin, url.Values{"code": {code}})
		if confirmed.notice() != "Your account is confirmed. Sign in." {
			t.Fatalf("after confirm: %d %q %s", confirmed.status, confirmed.notice(), confirmed.body)
		}
		tok := signedIn(t, c, confirmed, "nina", password)
		if claims := e.verify(t, pool.ID, tok["id_token"].(string)); claims["email_verified"] != true || claims["email"] != "nina@example.com" {
			t.Fatalf("id token claims %v", claims)
		}

		// Forgot password → reset → sign in, in a fresh browser.
		c = browser()
		login = fetch(t, c, func() (*http.Response, error) { return c.Get(authorizeURL) })
		forgot := fetch(t, c, func() (*http.Response, error) { return c.Get(login.link(t, origin, "Forgot your password?")) })
		sent := box.count()
		// An unknown user gets the same page and no mail.
		unknown := forgot.submit(t, c, origin, url.Values{"username": {"nobody"}})
		reset := forgot.submit(t, c, origin, url.Values{"username": {"nina"}})
		if unknown.status != http.StatusOK || reset.status != http.StatusOK || unknown.notice() != reset.notice() || box.count() != sent+1 {
			t.Fatalf("forgot password: %d %d %q %q, %d mails", unknown.status, reset.status, unknown.notice(), reset.notice(), box.count()-sent)
		}
		const newPassword = "Hosted-Reset-9!"
		changed := reset.submit(t, c, origin, url.Values{"code": {box.code("nina", idp.CodeKindForgotPassword)}, "password": {newPassword}})
		if changed.notice() != "Your password was changed. Sign in with the new password." {
			t.Fatalf("after reset: %d %q %s", changed.status, changed.notice(), changed.body)
		}
		// The old access token died with the reset.
		if _, err := e.verifyErr(pool.ID, tok["access_token"].(string)); err != nil {
			t.Fatalf("signature check of the old token: %v", err)
		}
		if req, _ := http.NewRequest(http.MethodGet, iss+"/oauth2/userInfo", nil); req != nil {
			req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
			if res := fetch(t, c, func() (*http.Response, error) { return http.DefaultClient.Do(req) }); res.status != http.StatusUnauthorized {
				t.Fatalf("userInfo with a token from before the reset: %d", res.status)
			}
		}
		old := fetch(t, c, func() (*http.Response, error) { return c.Get(authorizeURL) }).
			submit(t, c, origin, url.Values{"username": {"nina"}, "password": {password}})
		if old.status != http.StatusUnauthorized {
			t.Fatalf("old password after reset: %d", old.status)
		}
		signedIn(t, c, changed, "nina", newPassword)

		// The forms refuse posts without the browser's CSRF cookie.
		other := browser()
		forged := reset.submit(t, other, origin, url.Values{"code": {"123456"}, "password": {newPassword}})
		if forged.status != http.StatusForbidden {
			t.Fatalf("form without the csrf cookie: %d", forged.status)
		}
		// The pages validate the authorization request as the login page does.
		bad := fetch(t, c, func() (*http.Response, error) {
			return c.Get(origin + "/signup?" + url.Values{"response_type": {"code"}, "client_id": {client.ID}, "redirect_uri": {"https://evil.example/cb"}}.Encode())
		})
		if bad.status != http.StatusBadRequest || bad.header.Get("Location") != "" {
			t.Fatalf("unregistered redirect_uri: %d", bad.status)
		}
		// A pool closed to self sign-up says so.
		if err := e.idp.SetSignUpSettings(ctx, pool.ID, idp.PoolSignUpSettings{AllowAdminCreateUserOnly: true, AutoVerifiedAttributes: []string{"email"}}); err != nil {
			t.Fatal(err)
		}
		closed := fetch(t, c, func() (*http.Response, error) { return c.Get(login.link(t, origin, "Sign up")) })
		if closed.status != http.StatusForbidden || strings.Contains(closed.body, "<form") {
			t.Fatalf("closed sign-up: %d %s", closed.status, closed.body)
		}
	})
}
