package apidef

import (
	"errors"
	"fmt"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// Limits.
const (
	DefaultCacheTTL     = 300 * time.Second
	MaxCacheTTL         = 3600 * time.Second
	DefaultMaxBodyBytes = 10 << 20
	MaxBodyBytesLimit   = 1 << 30
	maxRoutes           = 1000
	maxTemplateBytes    = 10 << 10
)

// ResponseTypes are the gateway response types an API may customize (API Gateway's names).
var ResponseTypes = []string{
	"ACCESS_DENIED", "API_CONFIGURATION_ERROR", "AUTHORIZER_CONFIGURATION_ERROR", "AUTHORIZER_FAILURE",
	"BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS", "DEFAULT_4XX", "DEFAULT_5XX", "EXPIRED_TOKEN",
	"INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "INVALID_API_KEY", "INVALID_SIGNATURE",
	"MISSING_AUTHENTICATION_TOKEN", "QUOTA_EXCEEDED", "REQUEST_TOO_LARGE", "RESOURCE_NOT_FOUND",
	"THROTTLED", "UNAUTHORIZED", "UNSUPPORTED_MEDIA_TYPE", "WAF_FILTERED",
}

var (
	nameRE      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)
	stageRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	authzNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	entityTypRE = regexp.MustCompile(`^([_a-zA-Z][_a-zA-Z0-9]*::)*[_a-zA-Z][_a-zA-Z0-9]*$`)
	paramRefRE  = regexp.MustCompile(`\{([A-Za-z0-9_-]+)\}`)
)

// fieldError is a ValidationError naming one field.
func fieldError(path, format string, args ...any) *policystore.ValidationError {
	msg := fmt.Sprintf(format, args...)
	full := msg
	if path != "" {
		full = path + ": " + msg
	}
	return &policystore.ValidationError{Message: full, Fields: []policystore.FieldError{{Path: path, Message: msg}}}
}

// EffectiveBasePath returns the path prefix the API is served under: BasePath, else
// "/<stage>", else "/".
func (d *Definition) EffectiveBasePath() string {
	switch {
	case d.BasePath != "":
		return d.BasePath
	case d.Stage != "":
		return "/" + d.Stage
	}
	return "/"
}

// StageName is the stage used in method ARNs and $context.stage: Stage, else the base path
// without slashes, else "$default".
func (d *Definition) StageName() string {
	switch {
	case d.Stage != "":
		return d.Stage
	case d.BasePath != "" && d.BasePath != "/":
		return strings.ReplaceAll(strings.Trim(d.BasePath, "/"), "/", "-")
	}
	return "$default"
}

// SplitRoute splits "METHOD /path" into its parts.
func SplitRoute(s string) (method, path string, err error) {
	method, path, ok := strings.Cut(s, " ")
	if !ok || method == "" || path == "" || strings.ContainsAny(path, " \t") {
		return "", "", errors.New(`must be "METHOD /path", e.g. "GET /pets/{petId}"`)
	}
	return method, path, nil
}

// ClaimHeader returns the header carrying a forwarded claim: X-Gatehouse-Claim-<Name>, where
// characters not allowed in header names become '-'.
func ClaimHeader(claim string) string {
	b := []byte(claim)
	for i, c := range b {
		if !isTokenChar(c) || c == '_' {
			b[i] = '-'
		}
	}
	return textproto.CanonicalMIMEHeaderKey("X-Gatehouse-Claim-" + string(b))
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// CheckUpstream validates an upstream URL.
func CheckUpstream(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("must be an absolute http or https URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("must be an absolute http or https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return errors.New("must not have user info, a query or a fragment")
	}
	if u.Path != "" {
		if p, err := router.Canonicalize(u.EscapedPath()); err != nil || p != u.EscapedPath() {
			return errors.New("path must be a canonical path (no dot segments, '//', or encoded delimiters)")
		}
	}
	return nil
}

// ResourceTemplate is a parsed cedar resource template `Type::"id with {param}"`.
type ResourceTemplate struct {
	Type string // as written; unqualified types get the authorizer's namespace
	ID   string // may contain {param} references
}

// ParseResourceTemplate parses `Type::"id"`. The id is a Cedar string literal without escapes
// other than \" and \\.
func ParseResourceTemplate(s string) (ResourceTemplate, error) {
	i := strings.Index(s, `::"`)
	if i <= 0 || !strings.HasSuffix(s, `"`) || len(s) < i+4 {
		return ResourceTemplate{}, errors.New(`must look like Type::"id" (the id may use {param})`)
	}
	typ, lit := s[:i], s[i+3:len(s)-1]
	if !entityTypRE.MatchString(typ) {
		return ResourceTemplate{}, fmt.Errorf("%q is not an entity type name", typ)
	}
	var id strings.Builder
	for j := 0; j < len(lit); j++ {
		c := lit[j]
		switch {
		case c == '\\' && j+1 < len(lit) && (lit[j+1] == '"' || lit[j+1] == '\\'):
			id.WriteByte(lit[j+1])
			j++
		case c == '\\' || c == '"':
			return ResourceTemplate{}, errors.New(`the id may only escape \" and \\`)
		default:
			id.WriteByte(c)
		}
	}
	if id.Len() == 0 {
		return ResourceTemplate{}, errors.New("the id must not be empty")
	}
	return ResourceTemplate{Type: typ, ID: id.String()}, nil
}

// Params returns the {param} names the template refers to.
func (t ResourceTemplate) Params() []string {
	var out []string
	for _, m := range paramRefRE.FindAllStringSubmatch(t.ID, -1) {
		out = append(out, m[1])
	}
	return out
}

// RoutePattern is a route split into its parts.
type RoutePattern struct {
	Method string
	Path   string
	Params []string
}

func parseRoute(s string) (RoutePattern, error) {
	m, p, err := SplitRoute(s)
	if err != nil {
		return RoutePattern{}, err
	}
	if _, err := router.New([]router.Route{{Method: m, Path: p}}); err != nil {
		msg := err.Error()
		if i := strings.Index(msg, ": "); i >= 0 && strings.HasPrefix(msg, "route ") {
			msg = msg[i+2:]
		}
		msg = strings.TrimPrefix(msg, router.ErrInvalidRoute.Error()+": ")
		return RoutePattern{}, errors.New(msg)
	}
	rp := RoutePattern{Method: m, Path: p}
	for _, seg := range strings.Split(p, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			rp.Params = append(rp.Params, strings.TrimSuffix(seg[1:len(seg)-1], "+"))
		}
	}
	return rp, nil
}

// Validate checks the definition without the store; errors are *policystore.ValidationError
// naming the field (routes[3].route, authorizers.avp.policyStoreId, ...).
func (d *Definition) Validate() error {
	if !nameRE.MatchString(d.Name) {
		return fieldError("name", "must be 1 to 128 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if d.Stage != "" && !stageRE.MatchString(d.Stage) {
		return fieldError("stage", "must be 1 to 128 letters, digits, '_' or '-'")
	}
	if bp := d.BasePath; bp != "" {
		c, err := router.Canonicalize(bp)
		if err != nil || c != bp || (bp != "/" && strings.HasSuffix(bp, "/")) || strings.ContainsAny(bp, "{}") {
			return fieldError("basePath", "must be \"/\" or a canonical path without a trailing slash or braces, e.g. /demo")
		}
	}
	if d.Region != "" && !regionRE.MatchString(d.Region) {
		return fieldError("region", "must be a region name like us-east-1")
	}
	if d.Upstream != "" {
		if err := CheckUpstream(d.Upstream); err != nil {
			return fieldError("upstream", "%v", err)
		}
	}
	names := make([]string, 0, len(d.Authorizers))
	for n := range d.Authorizers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		if err := validateAuthorizer(n, d.Authorizers[n]); err != nil {
			return err
		}
	}
	if len(d.Routes) == 0 {
		return fieldError("routes", "at least one route is required")
	}
	if len(d.Routes) > maxRoutes {
		return fieldError("routes", "at most %d routes", maxRoutes)
	}
	table := make([]router.Route, 0, len(d.Routes))
	for i, r := range d.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		rp, err := parseRoute(r.Route)
		if err != nil {
			return fieldError(path+".route", "%v", err)
		}
		table = append(table, router.Route{Method: rp.Method, Path: rp.Path})
		if _, err := router.New(table); err != nil {
			return fieldError(path+".route", "%s conflicts with an earlier route: %v", r.Route, lastLine(err))
		}
		if err := validateRoute(d, path, r, rp); err != nil {
			return err
		}
	}
	for _, typ := range sortedKeys(d.GatewayResponses) {
		gr := d.GatewayResponses[typ]
		path := "gatewayResponses." + typ
		if !slices.Contains(ResponseTypes, typ) {
			return fieldError(path, "unknown gateway response type (one of %s)", strings.Join(ResponseTypes, ", "))
		}
		if gr.Status != 0 && (gr.Status < 200 || gr.Status > 599) {
			return fieldError(path+".status", "must be 200 to 599")
		}
		if len(gr.Body) > maxTemplateBytes {
			return fieldError(path+".body", "must be at most %d bytes", maxTemplateBytes)
		}
		if err := checkHeaders(path+".headers", gr.Headers); err != nil {
			return err
		}
	}
	if ih := d.IdentityHeaders; ih != nil {
		seen := map[string]int{}
		for i, c := range ih.Claims {
			path := fmt.Sprintf("identityHeaders.claims[%d]", i)
			if c == "" || len(c) > 128 {
				return fieldError(path, "must be 1 to 128 characters")
			}
			h := ClaimHeader(c)
			if j, dup := seen[h]; dup {
				return fieldError(path, "maps to header %s like claims[%d]", h, j)
			}
			seen[h] = i
		}
	}
	return nil
}

func lastLine(err error) string {
	s := err.Error()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func checkHeaders(path string, h map[string]string) error {
	for _, k := range sortedKeys(h) {
		if k == "" || strings.IndexFunc(k, func(r rune) bool { return r > 127 || !isTokenChar(byte(r)) }) >= 0 {
			return fieldError(path+"."+k, "is not a valid header name")
		}
		if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(k, "_", "-")), "x-gatehouse-") {
			return fieldError(path+"."+k, "X-Gatehouse- headers are set by the gateway")
		}
		if strings.ContainsAny(h[k], "\r\n\x00") {
			return fieldError(path+"."+k, "must not contain CR, LF or NUL")
		}
	}
	return nil
}

func validateAuthorizer(name string, a Authorizer) error {
	path := "authorizers." + name
	if !authzNameRE.MatchString(name) || name == AuthorizerNone {
		return fieldError(path, "authorizer names are 1 to 64 letters, digits, '_' or '-', and not %q", AuthorizerNone)
	}
	if a.CacheTTL != nil && (a.CacheTTL.Duration < 0 || a.CacheTTL.Duration > MaxCacheTTL) {
		return fieldError(path+".cacheTtl", "must be 0 to %s", MaxCacheTTL)
	}
	if a.TokenType != "" && a.TokenType != AccessToken && a.TokenType != IdentityToken {
		return fieldError(path+".tokenType", "must be accessToken or identityToken")
	}
	switch a.Type {
	case TypeJWT, TypeIAM:
		if a.PolicyStoreID != "" {
			return fieldError(path+".policyStoreId", "only cedar authorizers use a policy store")
		}
		if a.Namespace != "" {
			return fieldError(path+".namespace", "only cedar authorizers have a namespace")
		}
		if len(a.IdentitySources) == 0 {
			return fieldError(path+".identitySources", "at least one identity source is required")
		}
		issuers := map[string]bool{}
		for i, is := range a.IdentitySources {
			ip := fmt.Sprintf("%s.identitySources[%d]", path, i)
			src, err := identity.SourceFromAVP(fmt.Sprintf("%s-%d", name, i), is.Configuration, is.PrincipalEntityType, identity.SourceOptions{})
			if err != nil {
				var fe *identity.FieldError
				if errors.As(err, &fe) {
					return fieldError(ip+"."+fe.Field, "%s", fe.Message)
				}
				return fieldError(ip, "%v", err)
			}
			if issuers[src.Issuer] {
				return fieldError(ip, "issuer %s is listed twice", src.Issuer)
			}
			issuers[src.Issuer] = true
		}
		if a.Type == TypeIAM && len(a.RoleHierarchy) > 0 {
			return fieldError(path+".roleHierarchy", "only jwt authorizers have a role hierarchy")
		}
		seen := map[string]bool{}
		for i, r := range a.RoleHierarchy {
			if r == "" || seen[r] {
				return fieldError(fmt.Sprintf("%s.roleHierarchy[%d]", path, i), "roles must be non-empty and distinct")
			}
			seen[r] = true
		}
	case TypeCedar:
		if a.PolicyStoreID == "" {
			return fieldError(path+".policyStoreId", "a cedar authorizer needs a policy store")
		}
		if len(a.IdentitySources) > 0 {
			return fieldError(path+".identitySources", "a cedar authorizer uses its policy store's identity sources")
		}
		if len(a.RoleHierarchy) > 0 {
			return fieldError(path+".roleHierarchy", "only jwt authorizers have a role hierarchy")
		}
		if a.Namespace != "" && !entityTypRE.MatchString(a.Namespace) {
			return fieldError(path+".namespace", "must be a Cedar namespace like PetStore")
		}
	case "":
		return fieldError(path+".type", "is required (jwt, cedar or iam)")
	default:
		return fieldError(path+".type", "must be jwt, cedar or iam")
	}
	return nil
}

func validateRoute(d *Definition, path string, r Route, rp RoutePattern) error {
	var a Authorizer
	switch r.Authorizer {
	case "":
		return fieldError(path+".authorizer", "is required (an authorizer name or %q)", AuthorizerNone)
	case AuthorizerNone:
	default:
		var ok bool
		if a, ok = d.Authorizers[r.Authorizer]; !ok {
			return fieldError(path+".authorizer", "unknown authorizer %q", r.Authorizer)
		}
	}
	if len(r.Scopes) > 0 && a.Type != TypeJWT {
		return fieldError(path+".scopes", "only routes with a jwt authorizer take scopes")
	}
	for i, s := range r.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n") {
			return fieldError(fmt.Sprintf("%s.scopes[%d]", path, i), "must be a non-empty scope without spaces")
		}
	}
	if len(r.Groups) > 0 && a.Type != TypeJWT {
		return fieldError(path+".groups", "only routes with a jwt authorizer take groups")
	}
	for i, g := range r.Groups {
		if g == "" {
			return fieldError(fmt.Sprintf("%s.groups[%d]", path, i), "must not be empty")
		}
	}
	if r.Action != "" || r.Resource != "" {
		if a.Type != TypeCedar {
			field := "action"
			if r.Action == "" {
				field = "resource"
			}
			return fieldError(path+"."+field, "only routes with a cedar authorizer take an action or resource")
		}
	}
	if r.Action != "" && strings.ContainsAny(r.Action, "\"\\\r\n") {
		return fieldError(path+".action", "must not contain quotes, backslashes or line breaks")
	}
	if r.Resource != "" {
		rt, err := ParseResourceTemplate(r.Resource)
		if err != nil {
			return fieldError(path+".resource", "%v", err)
		}
		for _, p := range rt.Params() {
			if !slices.Contains(rp.Params, p) {
				return fieldError(path+".resource", "{%s} is not a parameter of %s", p, rp.Path)
			}
		}
	}
	if r.Upstream != "" {
		if err := CheckUpstream(r.Upstream); err != nil {
			return fieldError(path+".upstream", "%v", err)
		}
	}
	if r.Mock != nil {
		if r.Upstream != "" {
			return fieldError(path+".mock", "a route has either a mock or an upstream")
		}
		if r.Mock.Status != 0 && (r.Mock.Status < 200 || r.Mock.Status > 599) {
			return fieldError(path+".mock.status", "must be 200 to 599")
		}
		if len(r.Mock.Body) > maxTemplateBytes {
			return fieldError(path+".mock.body", "must be at most %d bytes", maxTemplateBytes)
		}
		if strings.ContainsAny(r.Mock.ContentType, "\r\n\x00") {
			return fieldError(path+".mock.contentType", "must not contain CR, LF or NUL")
		}
		if err := checkHeaders(path+".mock.headers", r.Mock.Headers); err != nil {
			return err
		}
	} else if r.Upstream == "" && d.Upstream == "" {
		return fieldError(path+".upstream", "the route needs an upstream (or a mock) and the API has no default upstream")
	}
	if r.MaxBodyBytes != nil && (*r.MaxBodyBytes < 0 || *r.MaxBodyBytes > MaxBodyBytesLimit) {
		return fieldError(path+".maxBodyBytes", "must be 0 to %d", MaxBodyBytesLimit)
	}
	if r.WebSocket {
		// A WebSocket handshake is a GET (RFC 6455 §4.1) and needs an upstream to tunnel to.
		if rp.Method != "GET" && rp.Method != "ANY" {
			return fieldError(path+".websocket", "only GET or ANY routes can open a websocket")
		}
		if r.Mock != nil {
			return fieldError(path+".websocket", "a mock route cannot open a websocket")
		}
	}
	return nil
}
