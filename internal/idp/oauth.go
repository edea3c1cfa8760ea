package idp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Handler serves the IdP listener: the Cognito JSON API at POST /, and per pool the discovery
// document, the JWKS and the OAuth endpoints under /<poolId>/oauth2/... (also under /oauth2/...
// when the client id identifies the pool).
func (p *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	api := p.cognitoAPI()
	mux.Handle("/{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.ServeHTTP(w, r.WithContext(withClientIP(r.Context(), p.clientAddr(r))))
	}))
	mux.HandleFunc("GET /{pool}/.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("GET /{pool}/.well-known/jwks.json", p.serveJWKS)
	for _, prefix := range []string{"/{pool}/oauth2/", "/oauth2/"} {
		mux.HandleFunc("POST "+prefix+"token", p.serveToken)
		mux.HandleFunc("GET "+prefix+"authorize", p.serveAuthorize)
		mux.HandleFunc("POST "+prefix+"authorize", p.serveAuthorize)
		mux.HandleFunc("GET "+prefix+"userInfo", p.serveUserInfo)
		mux.HandleFunc("POST "+prefix+"userInfo", p.serveUserInfo)
		mux.HandleFunc("POST "+prefix+"revoke", p.serveRevoke)
	}
	for _, prefix := range []string{"/{pool}/", "/"} {
		p.registerHostedPages(mux, prefix) // hosted.go
	}
	return cors(mux)
}

// cors lets browser apps (Amplify-style SPAs) call the JSON API, the token, userInfo and
// revoke endpoints, the discovery document and the JWKS. None of them reads cookies, so any
// origin is safe; the authorize page, which does, is excluded.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/authorize") || isHostedPage(r.URL.Path) || r.Header.Get("Origin") == "" {
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "x-amzn-RequestId, X-Amzn-ErrorType")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Amz-Target, X-Amz-User-Agent, X-Amz-Date, X-Amz-Content-Sha256, X-Amz-Security-Token, Amz-Sdk-Invocation-Id, Amz-Sdk-Request")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientAddr is the address sign-ins from r are throttled under: the TCP peer, or, when the
// peer is a trusted proxy, the right-most X-Forwarded-For entry that is not itself a trusted
// proxy (entries left of it were written by the client and prove nothing). The gateway decides
// its client address the same way.
func (p *IdP) clientAddr(r *http.Request) string {
	peer := parseAddr(r.RemoteAddr)
	if !p.isTrusted(peer) {
		return addrString(peer, r.RemoteAddr)
	}
	xff := r.Header.Values("X-Forwarded-For")
	for i := len(xff) - 1; i >= 0; i-- {
		parts := strings.Split(xff[i], ",")
		for j := len(parts) - 1; j >= 0; j-- {
			a, err := netip.ParseAddr(strings.TrimSpace(parts[j]))
			if err != nil {
				return peer.String() // unparseable: stop believing the chain
			}
			if a = a.Unmap(); !p.isTrusted(a) {
				return a.String()
			}
		}
	}
	return peer.String()
}

func (p *IdP) isTrusted(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, pr := range p.trusted {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr parses "host:port" or a bare address; the zero Addr if neither.
func parseAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap()
	}
	return netip.Addr{}
}

// addrString is a's text, or raw when a did not parse (a unix socket peer, say).
func addrString(a netip.Addr, raw string) string {
	if a.IsValid() {
		return a.String()
	}
	return raw
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	w.Write(b)
}

type oauthError struct {
	status int
	code   string
	desc   string
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func oerr(status int, code, desc string) *oauthError { return &oauthError{status, code, desc} }

func (p *IdP) writeOAuthError(w http.ResponseWriter, err error) {
	var oe *oauthError
	var ie *Error
	switch {
	case errors.As(err, &oe):
	case errors.As(err, &ie):
		switch ie.Code {
		case CodeNotAuthorized:
			oe = oerr(http.StatusBadRequest, "invalid_grant", ie.Message)
		case CodeUserNotFound:
			// The OAuth endpoints never reveal which users exist.
			oe = oerr(http.StatusBadRequest, "invalid_grant", errBadCredentials.Message)
		case CodeTooManyRequests:
			oe = oerr(http.StatusTooManyRequests, "invalid_request", ie.Message)
		case CodeResourceNotFound:
			oe = oerr(http.StatusUnauthorized, "invalid_client", "Invalid client.")
		case CodeUnexpectedLambda, CodeInvalidLambdaResp:
			oe = oerr(http.StatusBadRequest, "invalid_request", ie.Message)
		default:
			oe = oerr(http.StatusBadRequest, "invalid_request", ie.Message)
		}
	default:
		p.log.Error("oauth endpoint failed", "err", err)
		oe = oerr(http.StatusInternalServerError, "server_error", "Internal error.")
	}
	if oe.code == "invalid_client" {
		w.Header().Set("WWW-Authenticate", `Basic realm="gatehouse"`)
	}
	writeJSON(w, oe.status, map[string]string{"error": oe.code, "error_description": oe.desc})
}

// --- discovery and keys ---------------------------------------------------------------------

func (p *IdP) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	poolID := r.PathValue("pool")
	pool, err := p.getPool(r.Context(), p.st, poolID)
	if err != nil {
		p.writeNotFound(w, err)
		return
	}
	iss := p.poolIssuer(pool)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth2/authorize",
		"token_endpoint":                        iss + "/oauth2/token",
		"userinfo_endpoint":                     iss + "/oauth2/userInfo",
		"revocation_endpoint":                   iss + "/oauth2/revoke",
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "client_credentials", "password"},
		"scopes_supported":                      []string{"openid", "email", "phone", "profile"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "token_use",
			"cognito:username", "cognito:groups", "email", "email_verified", "name", "phone_number"},
	})
}

func (p *IdP) writeNotFound(w http.ResponseWriter, err error) {
	var ie *Error
	if errors.As(err, &ie) && ie.Code == CodeResourceNotFound {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": ie.Message})
		return
	}
	p.log.Error("idp request failed", "err", err)
	writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal error."})
}

func (p *IdP) serveJWKS(w http.ResponseWriter, r *http.Request) {
	b, err := p.JWKS(r.Context(), r.PathValue("pool"))
	if err != nil {
		p.writeNotFound(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	// Short cache: verifiers must see a rotated key soon.
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b)
}

// --- client authentication ------------------------------------------------------------------

const maxForm = 64 << 10

func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if mt := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(mt), "application/x-www-form-urlencoded") {
		return oerr(http.StatusBadRequest, "invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
	}
	if err := r.ParseForm(); err != nil {
		return oerr(http.StatusBadRequest, "invalid_request", "Malformed form body.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return oerr(http.StatusBadRequest, "invalid_request", "Parameter "+k+" is repeated.")
		}
	}
	return nil
}

// resolveClient finds the pool and client of a request: the pool from the path when present
// (the client must belong to it), else from the client id.
func (p *IdP) resolveClient(ctx context.Context, r *http.Request, clientID string) (*Pool, *Client, error) {
	poolID := r.PathValue("pool")
	if poolID == "" {
		var err error
		if poolID, err = p.poolOfClient(ctx, clientID); err != nil {
			return nil, nil, oerr(http.StatusUnauthorized, "invalid_client", "Invalid client.")
		}
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, nil, oerr(http.StatusUnauthorized, "invalid_client", "Invalid client.")
	}
	c, err := p.getClient(ctx, p.st, poolID, clientID)
	if err != nil {
		return nil, nil, oerr(http.StatusUnauthorized, "invalid_client", "Invalid client.")
	}
	return pool, c, nil
}

// authenticateClient applies client_secret_basic, client_secret_post or none (public clients).
func (p *IdP) authenticateClient(r *http.Request) (*Pool, *Client, error) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	_, hasPostSecret := r.PostForm["client_secret"]
	if bid, bsecret, ok := r.BasicAuth(); ok {
		if hasPostSecret {
			return nil, nil, oerr(http.StatusBadRequest, "invalid_request", "Use one client authentication method.")
		}
		var err1, err2 error
		bid, err1 = url.QueryUnescape(bid)
		bsecret, err2 = url.QueryUnescape(bsecret)
		if err1 != nil || err2 != nil || (id != "" && id != bid) {
			return nil, nil, oerr(http.StatusUnauthorized, "invalid_client", "Invalid client.")
		}
		id, secret, hasPostSecret = bid, bsecret, true
	}
	if id == "" {
		return nil, nil, oerr(http.StatusUnauthorized, "invalid_client", "Client authentication is required.")
	}
	pool, c, err := p.resolveClient(r.Context(), r, id)
	if err != nil {
		return nil, nil, err
	}
	if c.Secret != "" && (!hasPostSecret || !checkClientSecret(c, secret)) || c.Secret == "" && hasPostSecret && secret != "" {
		return nil, nil, oerr(http.StatusUnauthorized, "invalid_client", "Invalid client.")
	}
	return pool, c, nil
}

// --- token endpoint -------------------------------------------------------------------------

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	IDToken      string `json:"id_token,omitempty"`
	RefreshToken string `json:"refresh_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int32  `json:"expires_in"`
}

func (p *IdP) serveToken(w http.ResponseWriter, r *http.Request) {
	t, err := p.token(r.WithContext(withClientIP(r.Context(), p.clientAddr(r))), w)
	if err != nil {
		p.writeOAuthError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{AccessToken: t.AccessToken, IDToken: t.IDToken,
		RefreshToken: t.RefreshToken, TokenType: t.TokenType, ExpiresIn: t.ExpiresIn})
}

func (p *IdP) token(r *http.Request, w http.ResponseWriter) (*Tokens, error) {
	ctx := r.Context()
	if err := parseForm(w, r); err != nil {
		return nil, err
	}
	pool, c, err := p.authenticateClient(r)
	if err != nil {
		return nil, err
	}
	f := r.PostForm
	switch gt := f.Get("grant_type"); gt {
	case "password":
		if !c.allowsFlow(FlowUserPassword) {
			return nil, oerr(http.StatusBadRequest, "unauthorized_client", "USER_PASSWORD_AUTH flow not enabled for this client")
		}
		scopes, err := requestedScopes(f.Get("scope"), defaultUserScopes(c), append([]string{scopeAdmin}, c.AllowedOAuthScopes...))
		if err != nil {
			return nil, err
		}
		u, err := p.checkPassword(ctx, pool, c, f.Get("username"), f.Get("password"))
		if errors.Is(err, errNewPassword) {
			return nil, oerr(http.StatusBadRequest, "invalid_grant", "The user must change the password first.")
		}
		if err != nil {
			return nil, err
		}
		if mfaRequiredForGrant(pool, u) {
			// The grant has no way to ask for the second factor.
			return nil, oerr(http.StatusBadRequest, "invalid_grant", "The user must pass MFA: sign in with InitiateAuth or the authorization code flow.")
		}
		return p.issue(ctx, issueReq{pool: pool, client: c, user: u, scopes: scopes, trigger: triggerAuthentication,
			idToken: true, refresh: c.allowsFlow(FlowRefreshToken)})
	case "client_credentials":
		if !slices.Contains(c.AllowedOAuthFlows, "client_credentials") || c.Secret == "" {
			return nil, oerr(http.StatusBadRequest, "unauthorized_client", "client_credentials flow not enabled for this client")
		}
		var custom []string
		for _, s := range c.AllowedOAuthScopes {
			if strings.Contains(s, "/") {
				custom = append(custom, s)
			}
		}
		scopes, err := requestedScopes(f.Get("scope"), custom, custom)
		if err != nil {
			return nil, err
		}
		if len(scopes) == 0 {
			return nil, oerr(http.StatusBadRequest, "invalid_scope", "The client has no custom scopes.")
		}
		return p.issue(ctx, issueReq{pool: pool, client: c, scopes: scopes})
	case "refresh_token":
		if !c.allowsFlow(FlowRefreshToken) {
			return nil, oerr(http.StatusBadRequest, "unauthorized_client", "REFRESH_TOKEN_AUTH flow not enabled for this client")
		}
		t, err := p.refresh(ctx, pool, c, f.Get("refresh_token"), nil)
		if err != nil {
			return nil, oerr(http.StatusBadRequest, "invalid_grant", "Invalid refresh token.")
		}
		return t, nil
	case "authorization_code":
		return p.redeemCode(ctx, pool, c, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier"))
	case "":
		return nil, oerr(http.StatusBadRequest, "invalid_request", "grant_type is required.")
	default:
		return nil, oerr(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type "+gt+".")
	}
}

// requestedScopes parses a scope parameter; every scope must be allowed. Empty means def.
func requestedScopes(param string, def, allowed []string) ([]string, error) {
	if strings.TrimSpace(param) == "" {
		return slices.Clone(def), nil
	}
	var out []string
	for s := range strings.FieldsSeq(param) {
		if !slices.Contains(allowed, s) {
			return nil, oerr(http.StatusBadRequest, "invalid_scope", "Scope "+s+" is not allowed for this client.")
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (p *IdP) redeemCode(ctx context.Context, pool *Pool, c *Client, code, redirectURI, verifier string) (*Tokens, error) {
	bad := oerr(http.StatusBadRequest, "invalid_grant", "Invalid authorization code.")
	if code == "" || len(code) > 512 {
		return nil, bad
	}
	id := hashSecret(code)
	var rec *authCode
	var failed error
	err := p.st.Update(ctx, func(tx store.Tx) error {
		rec, failed = nil, nil
		got, err := getJSON[authCode](ctx, tx, pool.ID, kindAuthCode, id)
		if errors.Is(err, store.ErrNotFound) {
			failed = bad
			return nil
		}
		if err != nil {
			return err
		}
		// Deleted before any check and committed even when a check fails: a code is presented
		// at most once.
		if err := tx.Delete(ctx, pool.ID, kindAuthCode, id); errors.Is(err, store.ErrNotFound) {
			failed = bad // a concurrent redemption won
			return nil
		} else if err != nil {
			return err
		}
		rec = got
		return nil
	})
	if err != nil {
		return nil, err
	}
	if failed != nil {
		return nil, failed
	}
	switch {
	case !p.now().Before(rec.Expires):
		return nil, oerr(http.StatusBadRequest, "invalid_grant", "Authorization code expired.")
	case subtle.ConstantTimeCompare([]byte(rec.ClientID), []byte(c.ID)) != 1:
		return nil, bad
	case rec.RedirectURI != redirectURI:
		return nil, oerr(http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request.")
	}
	if rec.Challenge != "" || verifier != "" {
		if !validVerifier(verifier) || rec.Challenge == "" {
			return nil, oerr(http.StatusBadRequest, "invalid_grant", "Invalid code_verifier.")
		}
		sum := sha256.Sum256([]byte(verifier))
		if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(rec.Challenge)) != 1 {
			return nil, oerr(http.StatusBadRequest, "invalid_grant", "Invalid code_verifier.")
		}
	}
	u, err := p.getUser(ctx, p.st, pool.ID, rec.Username)
	if err != nil {
		return nil, bad
	}
	if !u.Enabled {
		return nil, oerr(http.StatusBadRequest, "invalid_grant", "User is disabled.")
	}
	return p.issue(ctx, issueReq{pool: pool, client: c, user: u, scopes: rec.Scopes, trigger: triggerHostedAuth,
		authTime: rec.AuthTime, nonce: rec.Nonce, idToken: slices.Contains(rec.Scopes, "openid"),
		refresh: c.allowsFlow(FlowRefreshToken)})
}

// validVerifier checks RFC 7636: 43–128 characters of [A-Za-z0-9-._~].
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}

// --- authorize endpoint ---------------------------------------------------------------------

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:22rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;box-sizing:border-box;margin:.4rem 0}
.err{color:#b00020}</style></head>
<body><h1>Sign in</h1>
{{if .Client}}<p>to <strong>{{.Client}}</strong></p>{{end}}
{{if .Notice}}<p class="notice" role="status">{{.Notice}}</p>{{end}}
{{if .Error}}<p class="err" role="alert">{{.Error}}</p>{{end}}
{{if .Form}}<form method="post" action="{{.Action}}">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="hidden" name="csrf_token" value="{{.CSRF}}">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button></form>
<p><a href="{{.ForgotURL}}">Forgot your password?</a></p>
<p>Need an account? <a href="{{.SignUpURL}}">Sign up</a></p>{{end}}
</body></html>
`))

type loginView struct {
	Client string
	Error  string
	Form   bool
	Action string
	Params map[string]string
	CSRF   string
	// Notice, SignUpURL and ForgotURL: the hosted pages (hosted.go).
	Notice, SignUpURL, ForgotURL string
}

// authorizeParams are the parameters the login form carries back.
var authorizeParams = []string{"response_type", "client_id", "redirect_uri", "state", "scope",
	"code_challenge", "code_challenge_method", "nonce"}

const csrfCookie = "gatehouse_idp_csrf"

type authzRequest struct {
	pool     *Pool
	client   *Client
	redirect *url.URL
	params   map[string]string
	scopes   []string
}

func (p *IdP) renderLogin(w http.ResponseWriter, status int, v loginView) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	w.WriteHeader(status)
	if v.Form {
		v.SignUpURL, v.ForgotURL = hostedLink(v.Action, "signup", v.Params), hostedLink(v.Action, "forgotPassword", v.Params)
	}
	if err := loginPage.Execute(w, v); err != nil {
		p.log.Error("render login page", "err", err)
	}
}

// redirectError sends an OAuth error to the validated redirect URI.
func redirectError(w http.ResponseWriter, r *http.Request, a *authzRequest, code, desc string) {
	u := *a.redirect
	q := u.Query()
	q.Set("error", code)
	q.Set("error_description", desc)
	if s := a.params["state"]; s != "" {
		q.Set("state", s)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// parseAuthorize validates an authorization request. Until the client and redirect URI are
// known good, errors are shown on the page (never redirected): an unregistered redirect_uri
// must not receive anything.
func (p *IdP) parseAuthorize(w http.ResponseWriter, r *http.Request, get func(string) string) (*authzRequest, bool) {
	a := &authzRequest{params: map[string]string{}}
	for _, k := range authorizeParams {
		if v := get(k); v != "" {
			if len(v) > 2048 {
				p.renderLogin(w, http.StatusBadRequest, loginView{Error: "Parameter " + k + " is too long."})
				return nil, false
			}
			a.params[k] = v
		}
	}
	var err error
	a.pool, a.client, err = p.resolveClient(r.Context(), r, a.params["client_id"])
	if err != nil {
		p.renderLogin(w, http.StatusBadRequest, loginView{Error: "Unknown client."})
		return nil, false
	}
	ru := a.params["redirect_uri"]
	if ru == "" || !slices.Contains(a.client.CallbackURLs, ru) {
		p.renderLogin(w, http.StatusBadRequest, loginView{Error: "redirect_uri is missing or not registered for this client."})
		return nil, false
	}
	if a.redirect, err = url.Parse(ru); err != nil {
		p.renderLogin(w, http.StatusBadRequest, loginView{Error: "redirect_uri is invalid."})
		return nil, false
	}
	switch {
	case a.params["response_type"] != "code":
		redirectError(w, r, a, "unsupported_response_type", "Only response_type=code is supported.")
		return nil, false
	case !slices.Contains(a.client.AllowedOAuthFlows, "code"):
		redirectError(w, r, a, "unauthorized_client", "The code flow is not enabled for this client.")
		return nil, false
	}
	ch, method := a.params["code_challenge"], a.params["code_challenge_method"]
	switch {
	case ch == "" && method != "":
		redirectError(w, r, a, "invalid_request", "code_challenge_method without code_challenge.")
		return nil, false
	case ch == "" && a.client.Secret == "":
		redirectError(w, r, a, "invalid_request", "PKCE (code_challenge with S256) is required for public clients.")
		return nil, false
	case ch != "" && method != "S256":
		redirectError(w, r, a, "invalid_request", "Only code_challenge_method=S256 is supported.")
		return nil, false
	case ch != "" && (len(ch) != 43 || !validVerifier(ch+"aaaa")):
		redirectError(w, r, a, "invalid_request", "code_challenge must be a base64url SHA-256 digest.")
		return nil, false
	}
	a.scopes, err = requestedScopes(a.params["scope"], a.client.AllowedOAuthScopes, a.client.AllowedOAuthScopes)
	if err != nil {
		redirectError(w, r, a, "invalid_scope", "A requested scope is not allowed for this client.")
		return nil, false
	}
	return a, true
}

func (p *IdP) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	ctx := withClientIP(r.Context(), p.clientAddr(r))
	r = r.WithContext(ctx)
	if r.Method == http.MethodGet {
		a, ok := p.parseAuthorize(w, r, r.URL.Query().Get)
		if !ok {
			return
		}
		// One token per browser, so the hosted pages open beside it keep their forms valid.
		token := p.setCSRFCookie(w, r)
		p.renderLogin(w, http.StatusOK, loginView{Client: a.client.Name, Form: true, Action: r.URL.Path,
			Params: a.params, CSRF: token})
		return
	}
	if err := parseForm(w, r); err != nil {
		p.renderLogin(w, http.StatusBadRequest, loginView{Error: "Malformed form."})
		return
	}
	a, ok := p.parseAuthorize(w, r, r.PostForm.Get)
	if !ok {
		return
	}
	view := loginView{Client: a.client.Name, Form: true, Action: r.URL.Path, Params: a.params}
	ck, err := r.Cookie(csrfCookie)
	form := r.PostForm.Get("csrf_token")
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		view.Error, view.Form = "Your sign-in session expired. Reload the page and try again.", false
		p.renderLogin(w, http.StatusForbidden, view)
		return
	}
	view.CSRF = ck.Value
	if r.PostForm.Get("mfa_session") != "" {
		p.serveAuthorizeMFA(w, r, a, view) // the second step (mfa_hosted.go)
		return
	}
	u, err := p.checkPassword(ctx, a.pool, a.client, r.PostForm.Get("username"), r.PostForm.Get("password"))
	if err != nil {
		var ie *Error
		switch {
		case errors.Is(err, errNewPassword):
			view.Error = "You must change your password before signing in here."
		case errors.As(err, &ie) && ie.Code == CodeUserNotFound:
			view.Error = errBadCredentials.Message // the page never reveals which users exist
		case errors.As(err, &ie):
			view.Error = ie.Message
		default:
			p.log.Error("authorize sign-in failed", "err", err)
			view.Error = "Sign-in failed. Try again later."
		}
		p.renderLogin(w, http.StatusUnauthorized, view)
		return
	}
	if mfaChallengeFor(a.pool, u) != "" {
		p.startAuthorizeMFA(w, r, a, view, u) // a code is issued only after the second factor
		return
	}
	p.issueAuthCode(w, r, a, view, u)
}

// issueAuthCode ends a sign-in on the login page: it stores an authorization code for u and
// redirects to the client with it.
func (p *IdP) issueAuthCode(w http.ResponseWriter, r *http.Request, a *authzRequest, view loginView, u *User) {
	ctx := r.Context()
	code, id := newRefreshToken()
	rec := authCode{ClientID: a.client.ID, RedirectURI: a.params["redirect_uri"], Username: u.Username,
		Scopes: a.scopes, Challenge: a.params["code_challenge"], Nonce: a.params["nonce"],
		AuthTime: p.now().Unix(), Expires: p.now().Add(authCodeLifetime).UTC()}
	err := p.st.Update(ctx, func(tx store.Tx) error {
		return putJSON(ctx, tx, true, a.pool.ID, kindAuthCode, id, "", "", rec)
	})
	if err != nil {
		p.log.Error("store authorization code", "err", err)
		view.Error = "Sign-in failed. Try again later."
		p.renderLogin(w, http.StatusInternalServerError, view)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: "", Path: "/", MaxAge: -1})
	dst := *a.redirect
	q := dst.Query()
	q.Set("code", code)
	if s := a.params["state"]; s != "" {
		q.Set("state", s)
	}
	dst.RawQuery = q.Encode()
	http.Redirect(w, r, dst.String(), http.StatusFound)
}

// --- userInfo and revoke --------------------------------------------------------------------

// userFromAccessToken verifies an access token of poolID (or, when poolID is "", of the pool
// its issuer names) and returns its live user.
func (p *IdP) userFromAccessToken(ctx context.Context, poolID, token string) (*User, map[string]any, error) {
	if poolID == "" {
		_, payload, _, _, err := splitJWT(token)
		if err != nil {
			return nil, nil, err
		}
		var c struct {
			Iss string `json:"iss"`
		}
		if json.Unmarshal(payload, &c) != nil {
			return nil, nil, errBadToken
		}
		rest, ok := strings.CutPrefix(c.Iss, p.base+"/")
		if !ok || rest == "" || strings.Contains(rest, "/") {
			return nil, nil, errBadToken
		}
		poolID = rest
	}
	c, err := p.verifyJWT(ctx, poolID, token)
	if err != nil {
		return nil, nil, err
	}
	if c["token_use"] != "access" {
		return nil, nil, errBadToken
	}
	origin, _ := c["origin_jti"].(string)
	if revoked, err := p.originRevoked(ctx, poolID, origin); err != nil || revoked {
		return nil, nil, errBadToken
	}
	iss, _ := c["iss"].(string)
	sub, _ := c["sub"].(string)
	var iat time.Time
	if n, ok := c["iat"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			iat = time.Unix(v, 0)
		}
	}
	if p.revoked(iss, sub, origin, iat) {
		return nil, nil, errBadToken
	}
	username, _ := c["username"].(string)
	u, err := p.getUser(ctx, p.st, poolID, username)
	if err != nil || u.Sub != c["sub"] || !u.Enabled {
		return nil, nil, errBadToken
	}
	return u, c, nil
}

func (p *IdP) serveUserInfo(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		token, ok = strings.CutPrefix(auth, "bearer ")
	}
	if !ok || token == "" {
		w.Header().Set("WWW-Authenticate", `Bearer`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_request", "error_description": "Access token is missing."})
		return
	}
	u, c, err := p.userFromAccessToken(r.Context(), r.PathValue("pool"), token)
	if err == nil {
		scope, _ := c["scope"].(string)
		if !slices.ContainsFunc(strings.Fields(scope), func(s string) bool { return s == "openid" || s == scopeAdmin }) {
			err = errBadToken
		}
	}
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Access token is invalid."})
		return
	}
	out := map[string]string{"sub": u.Sub, "username": u.Username}
	for k, v := range u.Attributes {
		out[k] = v
	}
	writeJSON(w, http.StatusOK, out)
}

func (p *IdP) serveRevoke(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		p.writeOAuthError(w, err)
		return
	}
	pool, c, err := p.authenticateClient(r)
	if err != nil {
		p.writeOAuthError(w, err)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		p.writeOAuthError(w, oerr(http.StatusBadRequest, "invalid_request", "token is required."))
		return
	}
	if strings.Count(tok, ".") == 2 {
		p.writeOAuthError(w, oerr(http.StatusBadRequest, "unsupported_token_type", "Only refresh tokens can be revoked."))
		return
	}
	if err := p.revokeRefresh(r.Context(), pool.ID, c.ID, tok); err != nil {
		var ie *Error
		if errors.As(err, &ie) {
			err = oerr(http.StatusBadRequest, "unsupported_token_type", "The token was not issued to this client.")
		}
		p.writeOAuthError(w, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
