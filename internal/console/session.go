package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cookie names: __Host- binds the cookie to this host and path / over TLS (browsers refuse
// it without Secure), so a sibling subdomain cannot plant or overwrite it.
const (
	cookieTLS   = "__Host-gatehouse-console"
	cookiePlain = "gatehouse-console"
)

type session struct {
	key      string // hex SHA-256 of the cookie value: the session's id in the store
	user     string // access key id, or idp:<user name>
	roles    []string
	csrf     string
	created  time.Time
	lastSeen time.Time
	idp      *idpIdentity // set when the session was opened through the built-in IdP
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Console) cookieName(r *http.Request) string {
	if c.overTLS(r) {
		return cookieTLS
	}
	return cookiePlain
}

func (c *Console) sessionOf(r *http.Request) *session {
	ck, err := r.Cookie(c.cookieName(r))
	if err != nil || ck.Value == "" {
		return nil
	}
	s, err := c.sessions.get(r.Context(), ck.Value, c.ttl, c.idle)
	if err != nil {
		c.d.Logger.Error("console session unavailable", "err", err)
		return nil
	}
	if s != nil && s.idp != nil && c.idpRevoked(s.idp) {
		c.d.Logger.Info("console session ended", "actor", "console:"+s.user, "reason", "revoked by the IdP")
		if err := c.sessions.end(r.Context(), s); err != nil {
			c.d.Logger.Error("console session not deleted", "err", err)
		}
		return nil
	}
	return s
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: c.cookieName(r), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.overTLS(r), SameSite: http.SameSiteStrictMode})
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if c.sessionOf(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, nil, http.StatusOK, "signin", map[string]any{"Next": safeNext(r.URL.Query().Get("next")), "IdP": c.d.IdP != nil})
}

// safeNext keeps a post-sign-in redirect inside the console (no open redirect).
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix + "stores"
	}
	if u, err := url.Parse(next); err != nil || u.Host != "" || u.Scheme != "" {
		return Prefix + "stores"
	}
	return next
}

// dummySecret is compared against when the key id is unknown, so the answer takes as long
// as for a known id with a wrong secret.
var dummySecret = []byte(strings.Repeat("x", 40))

func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.PostFormValue("next"))
	if !c.sameOrigin(r) {
		c.errorPage(w, r, nil, http.StatusForbidden, "Request refused", "The sign-in form did not come from this console (Origin check).")
		return
	}
	addr := clientAddr(r)
	if wait := c.failures.blocked(addr, c.now()); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		c.d.Logger.Warn("console sign-in refused", "reason", "throttled", "client", addr)
		c.render(w, r, nil, http.StatusTooManyRequests, "signin", map[string]any{"Next": next, "IdP": c.d.IdP != nil,
			"Error": "Too many failed sign-ins from your address: try again in " + wait.Round(time.Second).String() + "."})
		return
	}
	id := strings.TrimSpace(r.PostFormValue("accessKeyId"))
	secret := r.PostFormValue("secretAccessKey")
	fail := func(field, msg string) {
		c.render(w, r, nil, http.StatusUnauthorized, "signin", map[string]any{"Next": next, "AccessKeyID": id, "Field": field, "Error": msg, "IdP": c.d.IdP != nil})
	}
	switch {
	case id == "":
		fail("accessKeyId", "Access key id: enter the access key id.")
		return
	case secret == "":
		fail("secretAccessKey", "Secret access key: enter the secret.")
		return
	}
	k, ok := c.d.Keys(id)
	want := dummySecret
	if ok {
		want = []byte(k.Secret)
	}
	if subtle.ConstantTimeCompare([]byte(secret), want) != 1 || !ok {
		c.failures.add(addr, c.now())
		c.d.Logger.Warn("console sign-in refused", "reason", "bad_credentials", "client", addr)
		fail("secretAccessKey", "The access key id or the secret access key is wrong.")
		return
	}
	c.failures.clear(addr)
	value, _, err := c.sessions.create(r.Context(), id, k.Roles, c.ttl, nil)
	if err != nil {
		c.d.Logger.Error("console sign-in failed", "err", err)
		c.errorPage(w, r, nil, http.StatusServiceUnavailable, "Sign-in unavailable", "The session could not be stored; try again shortly.")
		return
	}
	c.setCookie(w, r, value, int(c.ttl.Seconds()))
	c.d.Logger.Info("console sign-in", "actor", "console:"+id)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.sessions.end(r.Context(), s); err != nil {
		c.d.Logger.Error("console sign-out: session not deleted", "err", err)
		c.errorPage(w, r, s, http.StatusServiceUnavailable, "Sign-out unavailable", "The session could not be ended; try again shortly.")
		return
	}
	c.setCookie(w, r, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// idpRevoked reports whether the IdP revoked the token a session was opened with. A session
// opened through the IdP on a node that no longer offers IdP sign-in is ended too.
func (c *Console) idpRevoked(t *idpIdentity) bool {
	if c.d.IdP == nil {
		return true
	}
	if c.d.IdP.Revoked == nil {
		return false
	}
	tok := &identity.Token{Issuer: t.Issuer, Subject: t.Subject, IssuedAt: t.IssuedAt, Claims: map[string]any{}}
	if t.Origin != "" {
		tok.Claims["origin_jti"] = t.Origin
	}
	return c.d.IdP.Revoked(tok)
}
