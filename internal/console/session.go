package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cookie names: __Host- binds the cookie to this host and path / over TLS (browsers refuse
// it without Secure), so a sibling subdomain cannot plant or overwrite it.
const (
	cookieTLS   = "__Host-gatehouse-console"
	cookiePlain = "gatehouse-console"
)

type session struct {
	key      [32]byte // sha256 of the cookie value
	user     string   // access key id
	roles    []string
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// sessions are the live console sessions of this node, by the hash of their id.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[[32]byte]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[[32]byte]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(user string, roles []string) (string, *session) {
	id := randomToken()
	now := ss.now()
	s := &session{key: sha256.Sum256([]byte(id)), user: user, roles: roles, csrf: randomToken(), created: now, lastSeen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.m[s.key] = s
	return id, s
}

// get returns the live session of id and marks it used; an expired or idle one is removed.
func (ss *sessions) get(id string, ttl, idle time.Duration) *session {
	key := sha256.Sum256([]byte(id))
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[key]
	if s == nil {
		return nil
	}
	if now.Sub(s.created) >= ttl || now.Sub(s.lastSeen) >= idle {
		delete(ss.m, key)
		return nil
	}
	s.lastSeen = now
	// Sweep the others lazily: the map never outgrows the sessions of one idle period.
	for k, o := range ss.m {
		if now.Sub(o.created) >= ttl || now.Sub(o.lastSeen) >= idle {
			delete(ss.m, k)
		}
	}
	return s
}

func (ss *sessions) end(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, s.key)
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
	return c.sessions.get(ck.Value, c.ttl, c.idle)
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
	value, _ := c.sessions.create(id, k.Roles)
	c.setCookie(w, r, value, int(c.ttl.Seconds()))
	c.d.Logger.Info("console sign-in", "actor", "console:"+id)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) signout(w http.ResponseWriter, r *http.Request, s *session) {
	c.sessions.end(s)
	c.setCookie(w, r, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
