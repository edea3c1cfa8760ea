package idp

import (
	"crypto/subtle"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// Hosted sign-up, confirmation and password reset pages, next to the /oauth2/authorize login
// page and at Cognito's hosted UI paths: /signup, /confirm, /forgotPassword and
// /confirmForgotPassword (also under /<poolId>/). Each page takes the authorization request's
// parameters, validated as the login page validates them, and carries them through its forms,
// so that it ends on the login page of the same request. The forms are protected against
// cross-site posting as the login form is (a cookie matched by a hidden field), and the pages
// never reveal which users exist.

// hostedPages are the page names, which are also their path's last element.
var hostedPages = []string{"signup", "confirm", "forgotPassword", "confirmForgotPassword"}

var hostedPage = template.Must(template.New("hosted").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.4rem 0}
.err{color:#b00020}.notice{color:#1b5e20}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Client}}<p>for <strong>{{.Client}}</strong></p>{{end}}
{{if .Notice}}<p class="notice" role="status">{{.Notice}}</p>{{end}}
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Form}}<form method="post" action="{{.Action}}">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="hidden" name="csrf_token" value="{{.CSRF}}">
{{if eq .Page "signup"}}<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus value="{{.Username}}">
<label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" value="{{.Email}}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="new-password" required>
<button type="submit">Sign up</button>
{{else if eq .Page "confirm"}}<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="{{.Username}}">
<label for="code">Confirmation code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus>
<button type="submit">Confirm account</button>
<button type="submit" name="resend" value="1" formnovalidate>Send a new code</button>
{{else if eq .Page "forgotPassword"}}<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus value="{{.Username}}">
<button type="submit">Reset my password</button>
{{else}}<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="{{.Username}}">
<label for="code">Code</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" required autofocus>
<label for="password">New password</label><input id="password" name="password" type="password" autocomplete="new-password" required>
<button type="submit">Change password</button>
{{end}}</form>{{end}}
{{if .SignIn}}<p><a href="{{.SignIn}}">Back to sign in</a></p>{{end}}
</body></html>
`))

type hostedView struct {
	Page     string
	Title    string
	Client   string
	Notice   string
	Error    string
	Form     bool
	Action   string
	Params   map[string]string
	CSRF     string
	Username string
	Email    string
	SignIn   string
}

var hostedTitles = map[string]string{"signup": "Sign up", "confirm": "Confirm your account",
	"forgotPassword": "Forgot your password?", "confirmForgotPassword": "Reset your password"}

// registerHostedPages adds the hosted pages under prefix ("/" or "/{pool}/").
func (p *IdP) registerHostedPages(mux *http.ServeMux, prefix string) {
	for _, page := range hostedPages {
		h := p.serveHosted(page)
		mux.HandleFunc("GET "+prefix+page, h)
		mux.HandleFunc("POST "+prefix+page, h)
	}
}

// isHostedPage reports whether path is one of the hosted pages (which read cookies, so CORS
// must not apply to them).
func isHostedPage(path string) bool {
	for _, page := range hostedPages {
		if strings.HasSuffix(path, "/"+page) {
			return true
		}
	}
	return false
}

// hostedPath is the path of page ("signup", …, or "oauth2/authorize") next to the authorize
// or hosted page at path: both live under "/" or "/<poolId>/".
func hostedPath(path, page string) string {
	base := path[:strings.LastIndexByte(path, '/')+1]
	return strings.TrimSuffix(base, "oauth2/") + page
}

// hostedLink is hostedPath with the authorization request's parameters.
func hostedLink(path, page string, params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return hostedPath(path, page) + "?" + q.Encode()
}

// setCSRFCookie returns the browser's CSRF token, a new one when it has none yet (a page
// opened next to the login page must not invalidate the login form), and renews the cookie.
func (p *IdP) setCSRFCookie(w http.ResponseWriter, r *http.Request) string {
	token := ""
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
		token = ck.Value
	} else {
		token, _ = newRefreshToken()
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: token, Path: "/", HttpOnly: true,
		Secure: strings.HasPrefix(p.base, "https://"), SameSite: http.SameSiteLaxMode, MaxAge: 1800})
	return token
}

func (p *IdP) renderHosted(w http.ResponseWriter, status int, v hostedView) {
	v.Title = hostedTitles[v.Page]
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if err := hostedPage.Execute(w, v); err != nil {
		p.log.Error("render hosted page", "page", v.Page, "err", err)
	}
}

// hostedMessage is what a page shows for err: the Cognito message of an expected failure,
// a generic one otherwise (logged).
func (p *IdP) hostedMessage(page string, err error) string {
	var ie *Error
	if errors.As(err, &ie) && ie.Code != CodeInternal {
		return ie.Message
	}
	p.log.Error("hosted page failed", "page", page, "err", err)
	return "Something went wrong. Try again later."
}

func (p *IdP) serveHosted(page string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ctx := withClientIP(r.Context(), p.clientAddr(r))
		r = r.WithContext(ctx)
		get := r.URL.Query().Get
		if r.Method == http.MethodPost {
			if err := parseForm(w, r); err != nil {
				p.renderLogin(w, http.StatusBadRequest, loginView{Error: "Malformed form."})
				return
			}
			get = r.PostForm.Get
		}
		a, ok := p.parseAuthorize(w, r, get)
		if !ok {
			return
		}
		view := hostedView{Page: page, Client: a.client.Name, Form: true, Action: r.URL.Path, Params: a.params,
			SignIn: hostedLink(r.URL.Path, "oauth2/authorize", a.params)}
		if page == "signup" && a.pool.AllowAdminCreateUserOnly {
			view.Form, view.Error = false, "Sign-up is not available for this application: ask an administrator for an account."
			p.renderHosted(w, http.StatusForbidden, view)
			return
		}
		if r.Method == http.MethodGet {
			view.Username = get("username")
			view.CSRF = p.setCSRFCookie(w, r)
			p.renderHosted(w, http.StatusOK, view)
			return
		}
		ck, err := r.Cookie(csrfCookie)
		if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostForm.Get("csrf_token"))) != 1 {
			view.Form, view.Error = false, "Your session expired. Reload the page and try again."
			p.renderHosted(w, http.StatusForbidden, view)
			return
		}
		view.CSRF = ck.Value
		f := r.PostForm
		username := f.Get("username")
		view.Username = username
		sh := ""
		if a.client.Secret != "" {
			// The page is the client's own server side: it knows the secret.
			sh = secretHash(a.client.Secret, username, a.client.ID)
		}
		// signIn ends the flow on the login page of the same authorization request.
		signIn := func(notice string) {
			p.renderLogin(w, http.StatusOK, loginView{Client: a.client.Name, Form: true,
				Action: hostedPath(r.URL.Path, "oauth2/authorize"),
				Params: a.params, CSRF: ck.Value, Notice: notice})
		}
		fail := func(err error) {
			view.Error = p.hostedMessage(page, err)
			p.renderHosted(w, http.StatusBadRequest, view)
		}
		switch page {
		case "signup":
			view.Email = f.Get("email")
			var attrs map[string]string
			if e := f.Get("email"); e != "" {
				attrs = map[string]string{"email": e}
			}
			res, err := p.signUp(ctx, a.pool, a.client, SignUpInput{Username: username, Password: f.Get("password"), SecretHash: sh, Attributes: attrs})
			if err != nil {
				fail(err)
				return
			}
			if res.Delivery == nil {
				signIn("Your account was created. An administrator must confirm it before you can sign in.")
				return
			}
			view.Page, view.Action = "confirm", hostedPath(r.URL.Path, "confirm")
			view.Notice = "We sent a code to " + res.Delivery.Destination + "."
			p.renderHosted(w, http.StatusOK, view)
		case "confirm":
			if f.Get("resend") != "" {
				d, err := p.resendConfirmationCode(ctx, a.pool, a.client, username, sh)
				if err != nil && !isUserNotFound(err) {
					fail(err)
					return
				}
				view.Notice = "We sent a new code."
				if d != nil {
					view.Notice = "We sent a new code to " + d.Destination + "."
				}
				p.renderHosted(w, http.StatusOK, view)
				return
			}
			if err := p.confirmSignUp(ctx, a.pool, a.client, username, f.Get("code"), sh); err != nil {
				if isUserNotFound(err) {
					err = errCodeMismatch
				}
				fail(err)
				return
			}
			signIn("Your account is confirmed. Sign in.")
		case "forgotPassword":
			_, err := p.forgotPassword(ctx, a.pool, a.client, username, sh)
			if err != nil && !isUserNotFound(err) {
				fail(err)
				return
			}
			view.Page = "confirmForgotPassword"
			view.Action = hostedPath(r.URL.Path, "confirmForgotPassword")
			// The same answer whether or not the user exists.
			view.Notice = "If the account exists and has a verified email address or phone number, a code was sent to it."
			p.renderHosted(w, http.StatusOK, view)
		case "confirmForgotPassword":
			if err := p.confirmForgotPassword(ctx, a.pool, a.client, username, f.Get("code"), f.Get("password"), sh); err != nil {
				if isUserNotFound(err) {
					err = errCodeMismatch
				}
				fail(err)
				return
			}
			signIn("Your password was changed. Sign in with the new password.")
		}
	}
}

func isUserNotFound(err error) bool {
	var ie *Error
	return errors.As(err, &ie) && ie.Code == CodeUserNotFound
}
