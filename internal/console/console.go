package console

import (
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

//go:embed assets
var assetsFS embed.FS

// Key is one access key pair allowed to sign in, with the console roles it gets.
type Key struct {
	Secret string
	Roles  []string
}

// Deps are what the console works with. Every field but AuditFile and AuditVerify is
// required.
type Deps struct {
	// Operation returns a management API operation by target, wrapped as the API serves it
	// (avpapi.API.Operation): every console write goes through one.
	Operation func(target string) (awsjson.Op, bool)
	Policies  *policystore.Service
	Decider   *authz.Decider
	APIs      *apidef.Service
	Store     store.Store
	// Keys looks up an access key id (the management key pair and the configured console
	// keys).
	Keys func(accessKeyID string) (Key, bool)
	// AuditFile is the node's audit trail file ("" or stdout: the audit page says there is
	// none to show); AuditVerify returns what to verify its chain against.
	AuditFile   string
	AuditVerify func(ctx context.Context) (audit.VerifyOptions, error)
	// TrustedProxies are the peers whose X-Forwarded-Proto is believed (the trustedProxies
	// setting): behind a TLS-terminating proxy the console then sets a Secure __Host- cookie
	// and expects an https Origin.
	TrustedProxies []netip.Prefix
	// IdP, when set, offers sign-in through the built-in IdP besides access keys.
	IdP *IdPSignIn
	// IdPDirectory, when set, serves the read-only IdP pages (pools, users, groups, app
	// clients); NewIdPDirectory makes one. Without it they say the node serves no IdP.
	IdPDirectory IdPDirectory
	Logger       *slog.Logger
}

// Console serves the web console.
type Console struct {
	d        Deps
	sessions *sessions
	tmpl     map[string]*template.Template
	index    *policyIndex
	seeded   seedState
	failures failures
	ttl      time.Duration
	idle     time.Duration
	now      func() time.Time
}

// Option configures a Console.
type Option func(*Console)

// WithSessionLifetime sets a session's absolute lifetime (default 8h) and idle timeout
// (default 30m).
func WithSessionLifetime(ttl, idle time.Duration) Option {
	return func(c *Console) {
		if ttl > 0 {
			c.ttl = ttl
		}
		if idle > 0 {
			c.idle = idle
		}
	}
}

// WithClock sets the clock sessions expire by (tests).
func WithClock(now func() time.Time) Option { return func(c *Console) { c.now = now } }

// Prefix is where the console is mounted.
const Prefix = "/console/"

// New returns a console. It writes nothing until the first signed-in request, which seeds
// the reserved policy store if it is missing.
func New(d Deps, opts ...Option) (*Console, error) {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Operation == nil || d.Policies == nil || d.Decider == nil || d.APIs == nil || d.Store == nil || d.Keys == nil {
		return nil, errors.New("console: missing dependency")
	}
	c := &Console{d: d, ttl: 8 * time.Hour, idle: 30 * time.Minute, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	c.sessions = newSessions(d.Store, c.now)
	c.index = newPolicyIndex(d.Store)
	var err error
	if c.tmpl, err = parseTemplates(); err != nil {
		return nil, err
	}
	return c, nil
}

func parseTemplates() (map[string]*template.Template, error) {
	base, err := template.New("layout.html").Funcs(template.FuncMap{
		"join":  strings.Join,
		"query": url.QueryEscape,
		"path":  url.PathEscape,
		"cell":  cellClass,
		"cellPolicies": func(l cellLinks, route, group string) []string {
			return l[route][group]
		},
	}).ParseFS(assetsFS, "assets/layout.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	files, err := fs.Glob(assetsFS, "assets/*.html")
	if err != nil {
		return nil, fmt.Errorf("console templates: %w", err)
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		p := strings.TrimSuffix(path.Base(f), ".html")
		if p == "layout" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(assetsFS, f)
		if err != nil {
			return nil, fmt.Errorf("console template %s: %w", p, err)
		}
		out[p] = t
	}
	return out, nil
}

// Handler serves the console under Prefix.
func (c *Console) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assetsFS, "assets")
	files := http.StripPrefix(Prefix+"assets/", http.FileServerFS(static))
	mux.Handle("GET "+Prefix+"assets/{file}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Only the stylesheet and the scripts are public: the page templates are not served.
		if f := r.PathValue("file"); f != "console.css" && f != "console.js" && f != "cedar.js" {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET "+Prefix+"signin", c.signinPage)
	mux.HandleFunc("POST "+Prefix+"signin", c.signin)
	mux.HandleFunc("GET "+Prefix+"oauth2/start", c.idpStart)
	mux.HandleFunc("GET "+Prefix+"oauth2/callback", c.idpCallback)
	mux.Handle("POST "+Prefix+"signout", c.authed(c.signout))
	mux.Handle("GET "+Prefix+"{$}", c.authed(func(w http.ResponseWriter, r *http.Request, s *session) {
		http.Redirect(w, r, Prefix+"stores", http.StatusSeeOther)
	}))
	mux.Handle("GET "+Prefix+"stores", c.authed(c.storesPage))
	mux.Handle("POST "+Prefix+"stores", c.authed(c.createStore))
	mux.Handle("GET "+Prefix+"stores/{store}", c.authed(c.storePage))
	mux.Handle("POST "+Prefix+"stores/{store}/schema", c.authed(c.putSchema))
	mux.Handle("GET "+Prefix+"stores/{store}/policies", c.authed(c.policiesPage))
	mux.Handle("GET "+Prefix+"stores/{store}/policies/new", c.authed(c.policyPage))
	mux.Handle("POST "+Prefix+"stores/{store}/policies", c.authed(c.savePolicy))
	mux.Handle("GET "+Prefix+"stores/{store}/policies/{policy}", c.authed(c.policyPage))
	mux.Handle("POST "+Prefix+"stores/{store}/policies/{policy}", c.authed(c.savePolicy))
	mux.Handle("POST "+Prefix+"stores/{store}/policies/{policy}/delete", c.authed(c.deletePolicy))
	mux.Handle("POST "+Prefix+"stores/{store}/validate", c.authed(c.validate))
	mux.Handle("GET "+Prefix+"stores/{store}/test", c.authed(c.testPage))
	mux.Handle("POST "+Prefix+"stores/{store}/test", c.authed(c.runTest))
	mux.Handle("GET "+Prefix+"stores/{store}/entities", c.authed(c.entitiesPage))
	mux.Handle("GET "+Prefix+"stores/{store}/sources", c.authed(c.sourcesPage))
	mux.Handle("GET "+Prefix+"stores/{store}/templates", c.authed(c.templatesPage))
	mux.Handle("GET "+Prefix+"apis", c.authed(c.apisPage))
	mux.Handle("GET "+Prefix+"matrix", c.authed(c.matrixPage))
	mux.Handle("GET "+Prefix+"audit", c.authed(c.auditPage))
	mux.Handle("GET "+Prefix+"idp", c.authed(c.idpPoolsPage))
	mux.Handle("GET "+Prefix+"idp/{pool}", c.authed(c.idpPoolPage))
	c.editRoutes(mux)
	c.idpEditRoutes(mux)
	c.explainRoutes(mux)
	c.reviewRoutes(mux)
	mux.HandleFunc(Prefix, func(w http.ResponseWriter, r *http.Request) {
		c.errorPage(w, r, nil, http.StatusNotFound, "Not found", "There is no console page at "+r.URL.Path+".")
	})
	return securityHeaders(http.MaxBytesHandler(mux, maxFormBytes))
}

// maxFormBytes bounds a console request body: a schema or policy is at most 1 MiB (the
// management API's limit), plus the other fields.
const maxFormBytes = 2 << 20

// csp allows scripts and styles only from the console's own files: nothing inline, no
// other origin, no framing, forms posting only back to the console.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Cache-Control", "no-store")
		hd.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// overTLS reports whether the person's browser reached the console over TLS: directly, or
// through a trusted proxy that says so in X-Forwarded-Proto.
func (c *Console) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	if len(c.d.TrustedProxies) == 0 || r.Header.Get("X-Forwarded-Proto") != "https" {
		return false
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range c.d.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// sameOrigin reports whether a state-changing request comes from a page of this console:
// browsers send Origin on every POST (Referer as the fallback), and Sec-Fetch-Site when they
// know it.
func (c *Console) sameOrigin(r *http.Request) bool {
	if sfs := r.Header.Get("Sec-Fetch-Site"); sfs != "" && sfs != "same-origin" {
		return false
	}
	src := r.Header.Get("Origin")
	if src == "" || src == "null" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return false
	}
	u, err := url.Parse(src)
	if err != nil {
		return false
	}
	scheme := "http"
	if c.overTLS(r) {
		scheme = "https"
	}
	return u.Scheme == scheme && strings.EqualFold(u.Host, r.Host)
}

// authed wraps a handler that needs a live session; POSTs also need the synchronizer token
// and the console's own origin.
func (c *Console) authed(h func(http.ResponseWriter, *http.Request, *session)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			c.errorPage(w, r, nil, http.StatusUnauthorized, "Signed out", "Your session has ended. Sign in again.")
			return
		}
		if r.Method == http.MethodPost {
			if !c.sameOrigin(r) {
				c.errorPage(w, r, s, http.StatusForbidden, "Request refused", "The request did not come from a console page (Origin check).")
				return
			}
			tok := r.PostFormValue("csrf")
			if tok == "" {
				tok = r.Header.Get("X-CSRF-Token")
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf)) != 1 {
				c.errorPage(w, r, s, http.StatusForbidden, "Request refused", "The form's csrf token is missing or does not belong to your session. Reload the page and try again.")
				return
			}
		}
		h(w, r, s)
	})
}

// caller is the context management operations run with: the audit trail names the person.
func caller(ctx context.Context, s *session) context.Context {
	return awsjson.WithCaller(ctx, "console:"+s.user)
}

// call runs a management API operation as the signed-in person.
func (c *Console) call(ctx context.Context, s *session, target string, in any) (any, error) {
	op, ok := c.d.Operation(target)
	if !ok {
		return nil, fmt.Errorf("console: no operation %s", target)
	}
	body, err := jsonMarshal(in)
	if err != nil {
		return nil, err
	}
	return op(caller(ctx, s), body)
}
