package idp

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// The second step of the hosted login page (/oauth2/authorize): after the right password, a
// user whom MFA would challenge gets a code form instead of an authorization code, and the
// code is issued only once the form is answered with the right TOTP code. With the pool's MFA
// ON, a user without a token is shown a new secret to add to an authenticator app and the
// same form. The form carries the authorization request, the CSRF token and a single-use MFA
// session (mfa.go): a wrong code burns it and the user starts again from the password, so
// every code guess costs a password check as well as counting against the throttle.

var mfaPage = template.Must(template.New("mfa").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Verification code</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.4rem 0}
code{word-break:break-all}</style></head>
<body><h1>{{if .Secret}}Set up your authenticator{{else}}Verification code{{end}}</h1>
{{if .Client}}<p>to <strong>{{.Client}}</strong></p>{{end}}
{{if .Secret}}<p>Add this key to your authenticator app (time-based, 6 digits):</p>
<p><code id="secret">{{.Secret}}</code></p>
<p>or open <code id="otpauth">{{.URI}}</code></p>
{{else}}<p>Enter the code from your authenticator app{{if .Device}} ({{.Device}}){{end}}.</p>{{end}}
<form method="post" action="{{.Action}}">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<input type="hidden" name="username" value="{{.Username}}">
<input type="hidden" name="mfa_session" value="{{.Session}}">
<input type="hidden" name="mfa_challenge" value="{{.Challenge}}">
<label for="totp_code">Code</label><input id="totp_code" name="totp_code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required autofocus>
<button type="submit">Verify</button></form>
</body></html>
`))

type mfaView struct {
	Client, Action, CSRF string
	Params               map[string]string
	Username, Session    string
	Challenge, Device    string
	Secret, URI          string // MFA_SETUP only
}

func (p *IdP) renderMFA(w http.ResponseWriter, v mfaView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(http.StatusOK)
	if err := mfaPage.Execute(w, v); err != nil {
		p.log.Error("render MFA page", "err", err)
	}
}

// otpauthURI is the key-URI format authenticator apps import: the label names the pool and
// the user, the issuer the pool.
func otpauthURI(pool *Pool, username, secret string) string {
	q := url.Values{"secret": {secret}, "issuer": {pool.Name}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return "otpauth://totp/" + url.PathEscape(pool.Name+":"+username) + "?" + q.Encode()
}

// startAuthorizeMFA answers the right password of a user whom MFA challenges with the code
// form (and, for MFA_SETUP, a new pending secret).
func (p *IdP) startAuthorizeMFA(w http.ResponseWriter, r *http.Request, a *authzRequest, view loginView, u *User) {
	ctx := r.Context()
	v := mfaView{Client: view.Client, Action: view.Action, CSRF: view.CSRF, Params: a.params, Username: u.Username,
		Challenge: mfaChallengeFor(a.pool, u)}
	var err error
	switch v.Challenge {
	case challengeSoftwareToken:
		v.Device = u.MFA.DeviceName
		err = p.st.Update(ctx, func(tx store.Tx) error {
			var err error
			v.Session, err = p.newMFASession(ctx, tx, a.pool.ID, mfaSession{ClientID: a.client.ID, Username: u.Username,
				Sub: u.Sub, Challenge: challengeSoftwareToken})
			return err
		})
	case challengeMFASetup:
		c := &mfaCaller{pool: a.pool, username: u.Username, sub: u.Sub, clientID: a.client.ID}
		v.Secret, v.Session, err = p.associate(ctx, c, true, " (hosted login page)")
		v.URI = otpauthURI(a.pool, u.Username, v.Secret)
	}
	if err != nil {
		p.log.Error("start MFA on the login page", "pool", a.pool.ID, "err", err)
		view.Error = "Sign-in failed. Try again later."
		p.renderLogin(w, http.StatusInternalServerError, view)
		return
	}
	p.renderMFA(w, v)
}

// serveAuthorizeMFA answers the code form: the authorization code for the right code, the
// login page (start again) for anything else.
func (p *IdP) serveAuthorizeMFA(w http.ResponseWriter, r *http.Request, a *authzRequest, view loginView) {
	ctx := r.Context()
	f := r.PostForm
	username, session, code := f.Get("username"), f.Get("mfa_session"), f.Get("totp_code")
	var u *User
	var err error
	switch ch := f.Get("mfa_challenge"); ch {
	case challengeSoftwareToken:
		u, err = p.completeMFA(ctx, a.pool, a.client, session, ch, username, code)
	case challengeMFASetup:
		var c *mfaCaller
		c, err = p.mfaCallerOf(ctx, "", session)
		if err == nil && (c.pool.ID != a.pool.ID || c.username != username) {
			err = errMFASession
		}
		if err == nil {
			_, u, err = p.verifyPending(ctx, c, code, "", " (hosted login page)")
		}
	default:
		err = errMFASession
	}
	if err != nil {
		var ie *Error
		switch {
		case errors.As(err, &ie) && (ie.Code == CodeCodeMismatch || ie.Code == CodeEnableSoftwareTokenMFA):
			view.Error = "Wrong code. Sign in again."
		case errors.As(err, &ie) && ie.Code == CodeNotAuthorized && strings.HasPrefix(ie.Message, "Invalid session"):
			view.Error = "Your sign-in took too long. Sign in again."
		case errors.As(err, &ie):
			view.Error = ie.Message
		default:
			p.log.Error("authorize MFA failed", "err", err)
			view.Error = "Sign-in failed. Try again later."
		}
		p.renderLogin(w, http.StatusUnauthorized, view)
		return
	}
	p.issueAuthCode(w, r, a, view, u)
}
