package console

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"
)

// IdPSignIn lets people sign in through the built-in IdP: authorization code with PKCE, as
// a user of one pool and app client (a public client whose callback URLs include the
// console's /console/oauth2/callback). Roles are the user's groups named viewer, author or
// administrator.
type IdPSignIn struct {
	// Issuer is the pool's issuer as browsers reach it (its /oauth2/authorize is where they
	// are sent).
	Issuer   string
	PoolID   string
	ClientID string
	// Token is the IdP's handler: the code is exchanged in process, so the ID token comes
	// straight from the IdP and no network hop or key fetch stands between them.
	Token http.Handler
	// Revoked reports whether a token of the pool no longer stands (its user was disabled,
	// deleted or signed out everywhere after it was issued): the session it opened ends at the
	// person's next request (idp.IdP.Revoked; nil checks nothing).
	Revoked func(*identity.Token) bool
}

// oauthCookie binds a pending sign-in to the browser that started it. It is Lax, not
// Strict: the IdP's redirect back is a top-level navigation from the IdP's pages.
const oauthCookie = "gatehouse-console-oauth"

// pendingTTL bounds how long a started IdP sign-in may take.
const pendingTTL = 10 * time.Minute

type pending struct {
	verifier, nonce, next, redirect string
	created                         time.Time
}

func (c *Console) callbackURL(r *http.Request) string {
	scheme := "http"
	if c.overTLS(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix + "oauth2/callback"
}

// idpStart sends the browser to the IdP's login page with a fresh state, nonce and PKCE
// challenge.
func (c *Console) idpStart(w http.ResponseWriter, r *http.Request) {
	cfg := c.d.IdP
	if cfg == nil {
		c.errorPage(w, r, nil, http.StatusNotFound, "Not configured", "Sign-in through the built-in IdP is not configured (settings consolePool and consoleClientId).")
		return
	}
	state, verifier, nonce := randomToken(), randomToken(), randomToken()
	sum := sha256.Sum256([]byte(verifier))
	p := &pending{verifier: verifier, nonce: nonce, next: safeNext(r.URL.Query().Get("next")), redirect: c.callbackURL(r), created: c.now()}
	if err := c.sessions.putPending(r.Context(), state, p); err != nil {
		c.d.Logger.Error("console IdP sign-in unavailable", "err", err)
		c.errorPage(w, r, nil, http.StatusServiceUnavailable, "Sign-in unavailable", "The sign-in could not be stored; try again shortly.")
		return
	}
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: state, Path: Prefix + "oauth2/", MaxAge: int(pendingTTL.Seconds()),
		HttpOnly: true, Secure: c.overTLS(r), SameSite: http.SameSiteLaxMode})
	q := url.Values{"response_type": {"code"}, "client_id": {cfg.ClientID}, "redirect_uri": {p.redirect}, "scope": {"openid"},
		"state": {state}, "nonce": {nonce}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	http.Redirect(w, r, cfg.Issuer+"/oauth2/authorize?"+q.Encode(), http.StatusSeeOther)
}

// idpCallback finishes an IdP sign-in: the state must be the one this browser started, the
// code is exchanged with its PKCE verifier, and the ID token must be the pool's, for this
// client, with this sign-in's nonce.
func (c *Console) idpCallback(w http.ResponseWriter, r *http.Request) {
	cfg := c.d.IdP
	refuse := func(msg string) {
		c.d.Logger.Warn("console IdP sign-in refused", "reason", msg)
		c.render(w, r, nil, http.StatusUnauthorized, "signin", map[string]any{"Next": Prefix + "stores", "Error": "Sign-in through the IdP failed: " + msg + ".", "IdP": cfg != nil})
	}
	if cfg == nil {
		c.errorPage(w, r, nil, http.StatusNotFound, "Not configured", "Sign-in through the built-in IdP is not configured.")
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	ck, err := r.Cookie(oauthCookie)
	http.SetCookie(w, &http.Cookie{Name: oauthCookie, Value: "", Path: Prefix + "oauth2/", MaxAge: -1, HttpOnly: true, Secure: c.overTLS(r), SameSite: http.SameSiteLaxMode})
	if err != nil || state == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(state)) != 1 {
		refuse("the sign-in was not started by this browser (state)")
		return
	}
	p, err := c.sessions.takePending(r.Context(), state)
	if err != nil {
		c.d.Logger.Error("console IdP sign-in unavailable", "err", err)
		c.errorPage(w, r, nil, http.StatusServiceUnavailable, "Sign-in unavailable", "The sign-in could not be read; try again shortly.")
		return
	}
	if p == nil {
		refuse("the sign-in expired or was already used; start again")
		return
	}
	if e := q.Get("error"); e != "" {
		refuse("the IdP answered " + e + ": " + q.Get("error_description"))
		return
	}
	code := q.Get("code")
	if code == "" {
		refuse("the IdP sent no code")
		return
	}
	claims, err := c.exchange(r, cfg, code, p)
	if err != nil {
		refuse(err.Error())
		return
	}
	username, _ := claims["cognito:username"].(string)
	var roles []string
	if gs, ok := claims["cognito:groups"].([]any); ok {
		for _, g := range gs {
			if s, _ := g.(string); (s == RoleViewer || s == RoleAuthor || s == RoleAdministrator) && !slices.Contains(roles, s) {
				roles = append(roles, s)
			}
		}
	}
	if username == "" || len(roles) == 0 {
		refuse(fmt.Sprintf("user %q is in none of the console groups (viewer, author, administrator)", username))
		return
	}
	iat, _ := claims["iat"].(float64)
	origin, _ := claims["origin_jti"].(string)
	iss, _ := claims["iss"].(string)
	sub, _ := claims["sub"].(string)
	value, _, err := c.sessions.create(r.Context(), "idp:"+username, roles, c.ttl,
		&idpIdentity{Issuer: iss, Subject: sub, Origin: origin, IssuedAt: time.Unix(int64(iat), 0).UTC()})
	if err != nil {
		c.d.Logger.Error("console sign-in failed", "err", err)
		c.errorPage(w, r, nil, http.StatusServiceUnavailable, "Sign-in unavailable", "The session could not be stored; try again shortly.")
		return
	}
	c.setCookie(w, r, value, int(c.ttl.Seconds()))
	c.d.Logger.Info("console sign-in", "actor", "console:idp:"+username, "via", "idp")
	// A page of this origin moves on, not a redirect: the chain began on the IdP's pages, and
	// browsers withhold SameSite=Strict cookies from a navigation a cross-site page started.
	c.render(w, r, nil, http.StatusOK, "continue", map[string]any{"Title": "Signed in", "Next": p.next})
}

// exchange trades the code for tokens at the IdP's token endpoint (in process) and returns
// the checked ID token claims.
func (c *Console) exchange(r *http.Request, cfg *IdPSignIn, code string, p *pending) (map[string]any, error) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {p.redirect}, "client_id": {cfg.ClientID},
		"code_verifier": {p.verifier}}
	req := httptest.NewRequestWithContext(r.Context(), http.MethodPost, "/"+cfg.PoolID+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.RemoteAddr = r.RemoteAddr // the IdP throttles by the person's address
	rec := httptest.NewRecorder()
	cfg.Token.ServeHTTP(rec, req)
	var tok struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &tok); err != nil || rec.Code != http.StatusOK || tok.IDToken == "" {
		return nil, fmt.Errorf("the token endpoint answered %d %s", rec.Code, tok.Error)
	}
	parts := strings.Split(tok.IDToken, ".")
	if len(parts) != 3 {
		return nil, errors.New("the ID token is malformed")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("the ID token is malformed")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, errors.New("the ID token is malformed")
	}
	exp, _ := claims["exp"].(float64)
	switch {
	case claims["iss"] != cfg.Issuer:
		return nil, errors.New("the ID token is from another issuer")
	case claims["aud"] != cfg.ClientID:
		return nil, errors.New("the ID token is for another client")
	case claims["token_use"] != "id":
		return nil, errors.New("not an ID token")
	case claims["nonce"] != p.nonce:
		return nil, errors.New("the ID token's nonce is not this sign-in's")
	case time.Unix(int64(exp), 0).Before(c.now()):
		return nil, errors.New("the ID token has expired")
	}
	return claims, nil
}
