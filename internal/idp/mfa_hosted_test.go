package idp_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

var secretRe = regexp.MustCompile(`<code id="secret">([A-Z2-7]+)</code>`)

// TestHostedLoginMFA drives the /oauth2/authorize login page with a cookie-keeping browser:
// after the right password a user with TOTP gets a code form and no authorization code; a
// wrong code sends the user back to the password; the right code ends in an authorization
// code the app redeems. With the pool's MFA ON a user without a token is shown a new secret
// and signs in with a code computed from it.
func TestHostedLoginMFA(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool, err := createPool(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		iss := e.srv.URL + "/" + pool.id
		if _, err := e.idp.SetPoolMFA(ctx, pool.id, "OPTIONAL", aws.Bool(true)); err != nil {
			t.Fatal(err)
		}
		// alice sets up TOTP through the API.
		signIn := must[*cip.InitiateAuthOutput](t)(e.api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
			ClientId: aws.String(pool.clientID), AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": password}}))
		access := signIn.AuthenticationResult.AccessToken
		secret := aws.ToString(must[*cip.AssociateSoftwareTokenOutput](t)(e.api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: access})).SecretCode)
		must[*cip.VerifySoftwareTokenOutput](t)(e.api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: access,
			UserCode: aws.String(totp(t, secret, e.clock.Now()))}))
		must[*cip.SetUserMFAPreferenceOutput](t)(e.api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: access,
			SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}))

		verifier, challenge := pkce()
		authorize := iss + "/oauth2/authorize?" + url.Values{"response_type": {"code"}, "client_id": {pool.clientID},
			"redirect_uri": {callback}, "state": {"s1"}, "scope": {"openid"}, "code_challenge": {challenge},
			"code_challenge_method": {"S256"}}.Encode()
		// passwordStep signs in with the password and returns the page that follows.
		passwordStep := func(t *testing.T, c *http.Client, user string) page {
			t.Helper()
			resp := login(t, c, authorize, user, password)
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return page{status: resp.StatusCode, body: string(b), header: resp.Header}
		}
		redeem := func(t *testing.T, p page) map[string]any {
			t.Helper()
			if p.status != http.StatusFound {
				t.Fatalf("want a redirect with a code, got %d %s", p.status, p.body)
			}
			loc, err := url.Parse(p.header.Get("Location"))
			if err != nil || !strings.HasPrefix(loc.String(), callback) || loc.Query().Get("code") == "" || loc.Query().Get("state") != "s1" {
				t.Fatalf("redirect %q", p.header.Get("Location"))
			}
			status, out := postToken(t, iss+"/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {pool.clientID},
				"code": {loc.Query().Get("code")}, "redirect_uri": {callback}, "code_verifier": {verifier}}, "", "")
			if status != http.StatusOK {
				t.Fatalf("redeem code: %d %v", status, out)
			}
			return out
		}

		t.Run("code form after the password", func(t *testing.T) {
			c := browser()
			p := passwordStep(t, c, "alice")
			if p.status != http.StatusOK || p.header.Get("Location") != "" || !strings.Contains(p.body, `name="totp_code"`) {
				t.Fatalf("want the code form, got %d %s", p.status, p.body)
			}
			if strings.Contains(p.body, secret) {
				t.Fatal("the code form shows the secret")
			}
			e.nextStep()
			done := p.submit(t, c, e.srv.URL, url.Values{"totp_code": {totp(t, secret, e.clock.Now())}})
			claims := e.verify(t, pool.id, redeem(t, done)["id_token"].(string))
			if claims["cognito:username"] != "alice" {
				t.Fatalf("claims %v", claims)
			}
			// The form again (a replayed post) gets nothing.
			again := p.submit(t, c, e.srv.URL, url.Values{"totp_code": {totp(t, secret, e.clock.Now())}})
			if again.status < 400 || again.header.Get("Location") != "" {
				t.Fatalf("replayed MFA form: %d %s", again.status, again.body)
			}
		})

		t.Run("wrong code starts over", func(t *testing.T) {
			c := browser()
			p := passwordStep(t, c, "alice")
			wrong := p.submit(t, c, e.srv.URL, url.Values{"totp_code": {"000000"}})
			if wrong.status != http.StatusUnauthorized || wrong.errorText() != "Wrong code. Sign in again." || !strings.Contains(wrong.body, `name="password"`) {
				t.Fatalf("wrong code: %d %q", wrong.status, wrong.errorText())
			}
			// The wrong answer burned the session: the right code cannot follow it.
			e.nextStep()
			late := p.submit(t, c, e.srv.URL, url.Values{"totp_code": {totp(t, secret, e.clock.Now())}})
			if late.status != http.StatusUnauthorized || late.header.Get("Location") != "" || !strings.Contains(late.errorText(), "Sign in again") {
				t.Fatalf("right code after a wrong one on the same session: %d %q", late.status, late.errorText())
			}
			// A forged form without the password step gets nothing either.
			forged := p.submit(t, c, e.srv.URL, url.Values{"mfa_session": {pool.id + ".forged"}, "totp_code": {totp(t, secret, e.clock.Now())}})
			if forged.status != http.StatusUnauthorized {
				t.Fatalf("forged session: %d", forged.status)
			}
		})

		t.Run("MFA ON sets up a token on the page", func(t *testing.T) {
			if _, err := e.idp.CreateUser(ctx, pool.id, "bob", password, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := e.idp.SetPoolMFA(ctx, pool.id, "ON", nil); err != nil {
				t.Fatal(err)
			}
			c := browser()
			p := passwordStep(t, c, "bob")
			m := secretRe.FindStringSubmatch(p.body)
			if p.status != http.StatusOK || m == nil || !strings.Contains(p.body, "otpauth://totp/") {
				t.Fatalf("want the setup form, got %d %s", p.status, p.body)
			}
			bobSecret := m[1]
			done := p.submit(t, c, e.srv.URL, url.Values{"totp_code": {totp(t, bobSecret, e.clock.Now())}})
			redeem(t, done)
			// bob now answers SOFTWARE_TOKEN_MFA in the API too.
			out := must[*cip.InitiateAuthOutput](t)(e.api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
				ClientId: aws.String(pool.clientID), AuthParameters: map[string]string{"USERNAME": "bob", "PASSWORD": password}}))
			if out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
				t.Fatalf("after setup on the page: %s", out.ChallengeName)
			}
		})
	})
}
