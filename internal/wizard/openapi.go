package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// MaxDocumentBytes bounds an OpenAPI document.
const MaxDocumentBytes = 10 << 20

// AnyMethodExtension is API Gateway's path-item extension for an operation that accepts every
// method.
const AnyMethodExtension = "x-amazon-apigateway-any-method"

// anyMethods are the methods an ANY operation stands for, as actions (delete, get, patch, post, put, as the AVP wizard expands it).
var anyMethods = []string{"delete", "get", "patch", "post", "put"}

// Document is a parsed OpenAPI document and what reading it found.
type Document struct {
	*openapi3.T
	// BasePath is the path of the document's first server (Swagger 2: basePath) without
	// variables, "" when it has none: the upstream serves the operations under it.
	BasePath string
	// BaseFrom names where BasePath comes from: servers, basePath or the API Gateway
	// integrations' URIs.
	BaseFrom string
	// Warnings name, by their place in the document (paths./pets.get), everything that was
	// wrong with it but does not matter for authorization.
	Warnings []string
}

// maxValidationWarnings bounds the schema-level problems listed one by one.
const maxValidationWarnings = 20

// Parse reads an OpenAPI 3 or Swagger 2 document, JSON or YAML. A Swagger 2 document is
// converted to OpenAPI 3. External $refs are not followed: a document names only itself.
//
// Only what authorization needs is an error (paths, methods, parameters, security); the
// rest of kin-openapi's validation — response schemas, their regular expressions (often
// ECMAScript, which Go's regexp cannot compile), defaults, examples — becomes a warning.
func Parse(ctx context.Context, data []byte) (doc *Document, err error) {
	// kin-openapi is not hardened against every malformed document (nil path items panic in
	// the Swagger 2 converter); a bad document must be an error, never a crash.
	defer func() {
		if v := recover(); v != nil {
			doc, err = nil, fmt.Errorf("openapi document: malformed (%v)", v)
		}
	}()
	if len(data) > MaxDocumentBytes {
		return nil, fmt.Errorf("openapi document is larger than %d bytes", MaxDocumentBytes)
	}
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("openapi document: %w", err)
	}
	var probe struct {
		OpenAPI *string `json:"openapi"`
		Swagger *string `json:"swagger"`
	}
	var versionWarn string
	if err := json.Unmarshal(js, &probe); err != nil {
		// YAML reads an unquoted `swagger: 2.0` (or `openapi: 3.0`) as a number.
		if js, versionWarn = numericVersion(js); versionWarn == "" {
			return nil, fmt.Errorf("openapi document: want an object: %w", err)
		}
		if err := json.Unmarshal(js, &probe); err != nil {
			return nil, fmt.Errorf("openapi document: want an object: %w", err)
		}
	}
	switch {
	case probe.OpenAPI != nil && probe.Swagger != nil:
		return nil, errors.New("openapi document: has both openapi and swagger version keys")
	case probe.Swagger != nil:
		if *probe.Swagger != "2.0" {
			return nil, fmt.Errorf("openapi document: swagger version %q is not supported (want 2.0)", *probe.Swagger)
		}
	case probe.OpenAPI != nil:
		if !strings.HasPrefix(*probe.OpenAPI, "3.") {
			return nil, fmt.Errorf("openapi document: version %q is not supported (want 3.x)", *probe.OpenAPI)
		}
	default:
		return nil, errors.New(`openapi document: neither "openapi: 3.x" nor "swagger: \"2.0\"" found`)
	}
	swagger2 := probe.Swagger != nil
	out, err := load(js, swagger2)
	if err != nil {
		// What failed may not matter for authorization (a number for a string, a broken or
		// external schema $ref): read the document again reduced to what init uses.
		var raw map[string]any
		if json.Unmarshal(js, &raw) != nil {
			return nil, err
		}
		skel, warns, serr := skeleton(raw, swagger2)
		if serr != nil {
			return nil, fmt.Errorf("openapi document: %w", serr)
		}
		b, merr := json.Marshal(skel)
		if merr != nil {
			return nil, err
		}
		if out, serr = load(b, swagger2); serr != nil {
			return nil, fmt.Errorf("%w (read again with only paths, methods, parameters and security: %v)", err, serr)
		}
		out.Warnings = append([]string{fmt.Sprintf("the document does not load as a whole (%v): only what authorization needs was read (paths, methods, operationIds, parameter names, security, API Gateway extensions), the rest is ignored", err)},
			append(warns, out.Warnings...)...)
	}
	if out.T.Paths == nil || out.T.Paths.Len() == 0 {
		return nil, errors.New("invalid openapi document: paths: the document has no operations")
	}
	if versionWarn != "" {
		out.Warnings = append([]string{versionWarn}, out.Warnings...)
	}
	if out.BasePath != "" {
		out.BaseFrom = map[bool]string{true: "basePath", false: "servers"}[swagger2]
	}
	// The integrations' URIs are what API Gateway calls, but they name AWS's upstream, often
	// a demo endpoint: the upstream the user gives is taken as it is, with a warning when
	// the integrations put the operations under another path.
	base, ok, warns := integrationBase(out.T)
	out.Warnings = append(out.Warnings, warns...)
	if ok && base != out.BasePath {
		out.Warnings = append(out.Warnings, fmt.Sprintf("x-amazon-apigateway-integration uri: API Gateway calls the operations under %q on the integrations' host (upstream path prefix taken: %q); give --upstream with that path if your upstream serves them there",
			base, out.BasePath))
	}
	out.Warnings = append(out.Warnings, validate(ctx, out.T)...)
	return out, nil
}

// numericVersion rewrites a number under swagger or openapi as the version string it stands
// for (2 → "2.0", 3.1 → "3.1.0" as YAML wrote 2.0 and 3.1), with a warning; "" when neither
// key holds a number.
func numericVersion(js []byte) ([]byte, string) {
	var raw map[string]any
	if json.Unmarshal(js, &raw) != nil {
		return js, ""
	}
	var warn string
	for _, k := range []string{"swagger", "openapi"} {
		n, ok := raw[k].(float64)
		if !ok {
			continue
		}
		v := strconv.FormatFloat(n, 'f', -1, 64)
		if !strings.Contains(v, ".") {
			v += ".0"
		}
		if k == "openapi" {
			v += ".0"
		}
		raw[k] = v
		warn = fmt.Sprintf("%s: %v is a number (YAML); read as %q (quote it)", k, n, v)
	}
	if warn == "" {
		return js, ""
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return js, ""
	}
	return b, warn
}

// load reads a document whose version Parse checked: a Swagger 2 one is converted to OpenAPI 3.
// kin-openapi is not hardened against every malformed document: a panic is an error here, so
// the reduced document gets its chance.
func load(js []byte, swagger2 bool) (doc *Document, err error) {
	defer func() {
		if v := recover(); v != nil {
			doc, err = nil, fmt.Errorf("openapi document: malformed (%v)", v)
		}
	}()
	loader := openapi3.NewLoader()
	out := &Document{}
	if swagger2 {
		var d2 openapi2.T
		if err := json.Unmarshal(js, &d2); err != nil {
			return nil, fmt.Errorf("swagger 2 document: %w", err)
		}
		for p, item := range d2.Paths {
			if item == nil {
				return nil, fmt.Errorf("swagger 2 document: paths.%s: empty path item", p)
			}
		}
		out.BasePath, out.Warnings = swagger2Base(&d2)
		if out.T, err = openapi2conv.ToV3WithLoader(&d2, loader, nil); err != nil {
			return nil, fmt.Errorf("convert swagger 2 document: %w", err)
		}
		return out, nil
	}
	if out.T, err = loader.LoadFromData(js); err != nil {
		// kin-openapi tries JSON, then YAML, and reports both; the input is JSON here.
		msg, _, _ := strings.Cut(err.Error(), ", yaml error:")
		return nil, fmt.Errorf("openapi document: %s", strings.TrimPrefix(msg, "failed to unmarshal data: json error: "))
	}
	var w string
	out.BasePath, w = serversBase(out.T.Servers)
	if w != "" {
		out.Warnings = append(out.Warnings, w)
	}
	return out, nil
}

// integrationBase reads the http and http_proxy integrations of API Gateway exports
// (x-amazon-apigateway-integration): when every integration URI is <upstream><prefix><the
// operation's path>, the prefix is the path API Gateway calls them under (ok). Stage variables in the URIs
// (${stageVariables.host}) have no value in the document: a warning says the upstream comes
// from --upstream.
func integrationBase(doc *openapi3.T) (base string, ok bool, warns []string) {
	vars := map[string]bool{}
	found, agree := false, true
	for _, path := range doc.Paths.Keys() {
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		ops := item.Operations()
		for _, method := range slices.Sorted(maps.Keys(ops)) {
			integ, _ := ops[method].Extensions["x-amazon-apigateway-integration"].(map[string]any)
			t, _ := integ["type"].(string)
			uri, _ := integ["uri"].(string)
			if t = strings.ToLower(t); t != "http" && t != "http_proxy" || uri == "" {
				continue
			}
			for _, v := range stageVarRE.FindAllString(uri, -1) {
				if strings.HasPrefix(v, "${stageVariables.") {
					vars[v] = true
				}
			}
			rest, hasScheme := strings.CutPrefix(uri, "http://")
			if !hasScheme {
				rest, hasScheme = strings.CutPrefix(uri, "https://")
			}
			slash := strings.IndexByte(rest, '/')
			p, _, _ := strings.Cut(path, "#")
			p = strings.ReplaceAll(p, "+}", "}")
			if !hasScheme || slash < 0 {
				agree = false
				continue
			}
			up := strings.ReplaceAll(rest[slash:], "+}", "}")
			prefix, isSuffix := strings.CutSuffix(up, p)
			if !isSuffix || strings.ContainsAny(prefix, "{}$?#") {
				agree = false
				continue
			}
			prefix = cleanBase(prefix)
			if found && prefix != base {
				agree = false
			}
			base, found = prefix, true
		}
	}
	if len(vars) > 0 {
		warns = append(warns, fmt.Sprintf("x-amazon-apigateway-integration uri: stage variables %s have no value in the document; the upstream is --upstream",
			strings.Join(slices.Sorted(maps.Keys(vars)), ", ")))
	}
	if found && !agree {
		warns = append(warns, "x-amazon-apigateway-integration uri: the operations' integrations do not share one upstream path prefix; none is taken from them")
		return "", false, warns
	}
	return base, found && base != "", warns
}

// stageVarRE matches API Gateway's ${...} variables (stage variables, or template variables
// of the tools that render AWS's examples).
var stageVarRE = regexp.MustCompile(`\$\{[^}]*\}`)

// swagger2Base reads basePath. Segments that are ${...} variables (API Gateway stage
// variables, template placeholders) stand for the stage, which Gatehouse serves as
// /<stage>: they are dropped, as is a host made of variables, so the converted servers entry
// is a plain URL.
func swagger2Base(d *openapi2.T) (string, []string) {
	var warns []string
	if stageVarRE.MatchString(d.Host) {
		warns = append(warns, fmt.Sprintf("host: %q is a variable; the upstream comes from --upstream", d.Host))
		d.Host = ""
	}
	if !strings.Contains(d.BasePath, "${") {
		return cleanBase(d.BasePath), warns
	}
	var keep []string
	for _, seg := range strings.Split(d.BasePath, "/") {
		if stageVarRE.MatchString(seg) {
			continue
		}
		if seg != "" {
			keep = append(keep, seg)
		}
	}
	base := "/" + strings.Join(keep, "/")
	warns = append(warns, fmt.Sprintf("basePath: %q: the ${...} variables stand for the stage (served as /<stage>, --stage); upstream path prefix %q", d.BasePath, cleanBase(base)))
	d.BasePath = base
	return cleanBase(base), warns
}

// serversBase is the path of the first server, its variables replaced by their defaults.
func serversBase(servers openapi3.Servers) (string, string) {
	if len(servers) == 0 || servers[0] == nil {
		return "", ""
	}
	url := stageVarRE.ReplaceAllString(servers[0].URL, "")
	for name, v := range servers[0].Variables {
		if v != nil {
			url = strings.ReplaceAll(url, "{"+name+"}", v.Default)
		}
	}
	if i := strings.Index(url, "://"); i >= 0 {
		url = url[i+3:]
		if j := strings.IndexByte(url, '/'); j >= 0 {
			url = url[j:]
		} else {
			url = ""
		}
	}
	if strings.ContainsAny(url, "{}?#") {
		return "", fmt.Sprintf("servers[0].url: %q has a path init cannot read; no upstream path prefix taken from it", servers[0].URL)
	}
	return cleanBase(url), ""
}

func cleanBase(p string) string {
	p = strings.TrimRight(p, "/")
	if p != "" && !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return p
}

// validate runs kin-openapi's validation with the checks that do not concern authorization
// switched off, and returns what it still finds as warnings: a response schema's pattern or
// a parameter's default never decides who may call an operation. API Gateway documents name
// the parameter of a greedy segment {proxy+} "proxy", which kin-openapi reads as a parameter
// called "proxy+"; the paths are validated under their {proxy} spelling so AWS's own exports
// pass.
//
// kin-openapi checks each schema with everything it refers to, so its time grows with the
// square of the number of schemas that refer to one another (400 schemas in a ring: 14 s). A
// document with more than maxValidatedSchemas schemas is checked without them: paths,
// operations, parameters and security only.
func validate(ctx context.Context, doc *openapi3.T) []string {
	orig := doc.Paths
	plain := openapi3.NewPathsWithCapacity(orig.Len())
	plain.Extensions = orig.Extensions
	for _, p := range orig.Keys() {
		plain.Set(strings.ReplaceAll(p, "+}", "}"), orig.Value(p))
	}
	doc.Paths = plain
	defer func() { doc.Paths = orig }()
	target := doc
	var out []string
	if doc.Components != nil && len(doc.Components.Schemas) > maxValidatedSchemas {
		target = authorizationView(doc)
		out = append(out, fmt.Sprintf("openapi validation: the document's %d schemas are not checked (they do not decide authorization; paths, parameters and security are)", len(doc.Components.Schemas)))
	}
	err := target.Validate(ctx, openapi3.EnableMultiError(), openapi3.DisableExamplesValidation(),
		openapi3.DisableSchemaPatternValidation(), openapi3.DisableSchemaDefaultsValidation(), openapi3.DisableSchemaFormatValidation())
	if err == nil {
		return out
	}
	var errs []error
	var me openapi3.MultiError
	if errors.As(err, &me) {
		errs = me
	} else {
		errs = []error{err}
	}
	for i, e := range errs {
		if i == maxValidationWarnings {
			out = append(out, fmt.Sprintf("openapi validation: %d more problems not listed", len(errs)-i))
			break
		}
		out = append(out, "openapi validation (ignored, not needed for authorization): "+strings.ReplaceAll(e.Error(), "\n", " "))
	}
	return out
}

// maxValidatedSchemas is the most component schemas validate checks.
const maxValidatedSchemas = 250

// authorizationView is a copy of doc with what authorization needs: paths, operations with
// their operationIds, parameters (as strings) and security, the security schemes. Responses,
// request bodies and schemas are left out.
func authorizationView(doc *openapi3.T) *openapi3.T {
	v := &openapi3.T{OpenAPI: doc.OpenAPI, Info: doc.Info, Servers: doc.Servers, Security: doc.Security, Components: &openapi3.Components{}}
	if doc.Components != nil {
		v.Components.SecuritySchemes = doc.Components.SecuritySchemes
	}
	params := func(ps openapi3.Parameters) openapi3.Parameters {
		var out openapi3.Parameters
		for _, p := range ps {
			if p == nil || p.Value == nil {
				out = append(out, p)
				continue
			}
			out = append(out, &openapi3.ParameterRef{Value: &openapi3.Parameter{Name: p.Value.Name, In: p.Value.In, Required: p.Value.Required,
				Schema: &openapi3.SchemaRef{Value: openapi3.NewStringSchema()}}})
		}
		return out
	}
	ok := openapi3.NewResponses(openapi3.WithName("default", openapi3.NewResponse().WithDescription("not checked")))
	v.Paths = openapi3.NewPathsWithCapacity(doc.Paths.Len())
	for _, path := range doc.Paths.Keys() {
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		vi := &openapi3.PathItem{Parameters: params(item.Parameters)}
		for method, op := range item.Operations() {
			if op != nil {
				vi.SetOperation(method, &openapi3.Operation{OperationID: op.OperationID, Parameters: params(op.Parameters), Security: op.Security, Responses: ok})
			}
		}
		v.Paths.Set(path, vi)
	}
	return v
}

// operation is one route of the document: a method (or ANY) on a path template.
type operation struct {
	Method string // upper case: GET, POST, ... ANY or OPTIONS
	// Path is the path of the operation's action ids: the document's path without a URL
	// fragment (never sent in a request).
	Path string
	// RoutePath is the gateway's template: partial segments such as {Sid}.json become whole
	// {Sid} segments (their literal part is a rule, below) and sibling parameters at one
	// position take one name, as API Gateway requires.
	RoutePath   string
	OperationID string
	// Refs are the document's names of the operation: paths.<path>.<method>, one per document
	// path merged into this route (paths that differ only by a fragment are one request).
	Refs        []string
	PathParams  []string // of RoutePath, {proxy+} → proxy
	QueryParams []string // declared in: query, path item and operation, sorted
	Mock        *mockIntegration
	// Rules hold the literal part of partial segments: the parameter's value must match.
	Rules []paramRule
	// Public: the document says the operation takes no credentials (security: []).
	Public bool
	// Scopes are the OAuth2/OpenID Connect scopes the document requires, any one of them
	// (ScopesAll: a requirement needs several at once, which a jwt route cannot express).
	Scopes    []string
	ScopesAll bool
	// CORS: an OPTIONS route answering preflights (no token, no action).
	CORS bool
	// explicit (ANY only) are the methods the path also has their own operation for: those
	// win, as they do in the gateway, so their actions belong to them.
	explicit []string
	aliases  []string // operationIds of merged operations
	shared   []string // operationIds other routes have too: they name no route
}

// paramRule says a path parameter's value must look like Cedar's like pattern (the literal
// text around it in a partial segment, * for the parameter).
type paramRule struct {
	Param   string
	Pattern string
}

type mockIntegration struct {
	Status  int
	Body    string
	Headers map[string]string
}

// Route is "METHOD /path" as the gateway writes it.
func (o *operation) Route() string { return o.Method + " " + o.RoutePath }

// docRoute is "METHOD /path" as the document writes it (for the people reading it).
func (o *operation) docRoute() string { return o.Method + " " + o.Path }

// actions returns the operation's action ids, "<lowercase method> <path>".
func (o *operation) actions() []string {
	if o.CORS {
		return nil
	}
	if o.Method == "ANY" {
		out := make([]string, 0, len(anyMethods))
		for _, m := range anyMethods {
			if !slices.Contains(o.explicit, m) {
				out = append(out, m+" "+o.Path)
			}
		}
		return out
	}
	return []string{strings.ToLower(o.Method) + " " + o.Path}
}

// skippedMethods are never routed.
var skippedMethods = []string{"TRACE", "CONNECT"}

var (
	methodRE    = regexp.MustCompile(`^[A-Z]{1,16}$`)
	paramNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// docRef names an operation's place in the document.
func docRef(path, method string) string {
	if method == "ANY" {
		return "paths." + path + "." + AnyMethodExtension
	}
	return "paths." + path + "." + strings.ToLower(method)
}

// operations lists the document's routes sorted by path, then method, and warnings naming
// every operation it could not route faithfully (skipped) or routed differently from how the
// document writes it. One bad operation never fails the run; a document none of whose
// operations can be routed does.
func operations(doc *Document) ([]*operation, []string, error) {
	var out []*operation
	var warns []string
	skip := func(ref, why string, args ...any) {
		warns = append(warns, fmt.Sprintf("%s: skipped: %s", ref, fmt.Sprintf(why, args...)))
	}
	cors, corsWarn := corsExtension(doc.Extensions)
	if corsWarn != "" {
		warns = append(warns, corsWarn)
	}
	for _, path := range doc.Paths.Keys() {
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		common := item.Parameters
		methods := item.Operations()
		for _, method := range slices.Sorted(maps.Keys(methods)) {
			op := methods[method]
			ref := docRef(path, method)
			if slices.Contains(skippedMethods, method) || op == nil {
				continue
			}
			if !methodRE.MatchString(method) {
				skip(ref, "method %q is not a plain HTTP method name", method)
				continue
			}
			o := &operation{Method: method, OperationID: op.OperationID, Refs: []string{ref},
				QueryParams: queryParams(common, op.Parameters), Mock: mockOf(op.Extensions)}
			if method == http.MethodOptions {
				// A preflight carries no credentials: OPTIONS is public, answered by the
				// document's mock (API Gateway's CORS mock) or by the upstream.
				o.CORS, o.Public = true, true
			} else {
				var w string
				o.Public, o.Scopes, o.ScopesAll, w = security(doc.T, op, ref)
				if w != "" {
					warns = append(warns, w)
				}
			}
			out = append(out, o)
			setPath(o, path)
		}
		if raw, ok := item.Extensions[AnyMethodExtension]; ok {
			ref := docRef(path, "ANY")
			op, err := anyOperation(doc.T, raw)
			if err != nil {
				skip(ref, "%v", err)
				continue
			}
			o := &operation{Method: "ANY", OperationID: op.OperationID, Refs: []string{ref},
				QueryParams: queryParams(common, op.Parameters), Mock: mockOf(op.Extensions)}
			var w string
			o.Public, o.Scopes, o.ScopesAll, w = security(doc.T, op, ref)
			if w != "" {
				warns = append(warns, w)
			}
			out = append(out, o)
			setPath(o, path)
		}
	}

	// Map each document path onto a gateway template.
	kept := out[:0]
	for _, o := range out {
		if err := mapRoute(o); err != nil {
			skip(o.Refs[0], "%v", err)
			continue
		}
		kept = append(kept, o)
	}
	out = kept
	slices.SortStableFunc(out, func(a, b *operation) int { return strings.Compare(a.Path, b.Path) })
	warns = append(warns, unifyParams(out)...)

	// Operations that are one request (same method and template: paths that differ by a URL
	// fragment) are one route with one action; two different actions on one route (e.g.
	// {Sid}.json and {Sid}.xml) cannot be told apart by the gateway, so the later is skipped.
	byRoute := map[string]*operation{}
	kept = out[:0]
	for _, o := range out {
		key := o.Method + " " + routeKey(o.RoutePath)
		prev, dup := byRoute[key]
		switch {
		case !dup:
			byRoute[key] = o
			kept = append(kept, o)
		case prev.Path == o.Path:
			prev.Refs = append(prev.Refs, o.Refs...)
			if o.OperationID != "" {
				prev.aliases = append(prev.aliases, o.OperationID)
			}
			warns = append(warns, fmt.Sprintf("%s: the same request as %s (a URL fragment is never sent): one route %s and one action authorize both",
				o.Refs[0], prev.Refs[0], prev.Route()))
		default:
			skip(o.Refs[0], "the gateway cannot tell its requests from those of %s (both are %s)", prev.Refs[0], prev.Route())
		}
	}
	out = kept

	// Cedar sees the route's parameters; a route whose action path is not its template needs
	// the route's action setting, which names one action, so an ANY route cannot have it.
	kept = out[:0]
	for _, o := range out {
		if _, err := router.New([]router.Route{{Method: o.Method, Path: o.RoutePath}}); err != nil {
			skip(o.Refs[0], "as %s: %v", o.Route(), err) // e.g. a parameter name used twice after unifying
			continue
		}
		if o.Method == "ANY" && o.RoutePath != o.Path {
			skip(o.Refs[0], "an any-method route on %s would need its template changed to %s, which names one action per method", o.Path, o.RoutePath)
			continue
		}
		if o.RoutePath != o.Path && strings.ContainsAny(o.Path, "\"\\") {
			skip(o.Refs[0], "quotes and backslashes cannot appear in a route's action")
			continue
		}
		o.PathParams = templateParams(o.RoutePath)
		if len(o.Rules) > 0 {
			warns = append(warns, fmt.Sprintf("%s: routed as %s with action %q (API Gateway routes whole segments); the group policies check %s",
				o.Refs[0], o.Route(), o.actions()[0], rulesText(o.Rules)))
		}
		kept = append(kept, o)
	}
	out = kept

	if cors != nil {
		out = append(out, corsRoutes(out, cors)...)
	}
	for _, a := range out {
		if a.Method != "ANY" {
			continue
		}
		for _, b := range out {
			if b.Path == a.Path && b.Method != "ANY" && !b.CORS {
				a.explicit = append(a.explicit, strings.ToLower(b.Method))
			}
		}
	}
	slices.SortFunc(out, func(a, b *operation) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Method, b.Method)
	})
	// An operationId several routes share (copy-pasted operations, a path item $ref to another
	// path) names none of them: answers name those by method and path.
	users := map[string][]*operation{}
	for _, o := range out {
		for _, id := range append([]string{o.OperationID}, o.aliases...) {
			if id != "" && !slices.Contains(users[id], o) {
				users[id] = append(users[id], o)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(users)) {
		if len(users[id]) < 2 {
			continue
		}
		var refs []string
		for _, o := range users[id] {
			refs = append(refs, o.Refs[0])
			o.shared = append(o.shared, id)
		}
		warns = append(warns, fmt.Sprintf("operationId %q is used by %s: it names none of them (name them by method and path, e.g. %q)",
			id, strings.Join(refs, " and "), users[id][0].docRoute()))
	}
	if !slices.ContainsFunc(out, func(o *operation) bool { return !o.CORS }) {
		msg := "the document has no operations gatehouse can route"
		if len(warns) > 0 {
			msg += ": " + strings.Join(warns, "; ")
		}
		return nil, nil, errors.New(msg)
	}
	return out, warns, nil
}

// setPath sets the action path: the document path without a URL fragment.
func setPath(o *operation, path string) {
	p, _, _ := strings.Cut(path, "#")
	o.Path, o.RoutePath = p, p
}

// mapRoute turns o.Path into a gateway template: {name} and a final {name+} stay, a segment
// with one parameter and literal text around it becomes the whole-segment parameter plus a
// rule. Anything else the router would refuse is an error.
func mapRoute(o *operation) error {
	if strings.Contains(o.Path, "${") {
		return errors.New("the path contains \"${\", which apply reads as a variable")
	}
	if !strings.HasPrefix(o.Path, "/") {
		return errors.New("the path does not start with /")
	}
	if o.Path == "/" {
		return nil
	}
	segs := strings.Split(o.Path[1:], "/")
	for i, seg := range segs {
		open := strings.IndexByte(seg, '{')
		if open < 0 {
			if strings.ContainsAny(seg, "}") {
				return fmt.Errorf("segment %q has an unmatched brace", seg)
			}
			continue
		}
		end := strings.IndexByte(seg, '}')
		if end < open || strings.Count(seg, "{") != 1 || strings.Count(seg, "}") != 1 {
			return fmt.Errorf("segment %q has more than one parameter or unmatched braces", seg)
		}
		name := seg[open+1 : end]
		greedy := strings.HasSuffix(name, "+")
		if !paramNameRE.MatchString(strings.TrimSuffix(name, "+")) {
			return fmt.Errorf("parameter name %q: the gateway takes letters, digits, _ and -", name)
		}
		if greedy && (i != len(segs)-1 || open != 0 || end != len(seg)-1) {
			return fmt.Errorf("greedy parameter {%s} must be a whole last segment", name)
		}
		if open == 0 && end == len(seg)-1 {
			continue
		}
		pattern := likeEscape(seg[:open]) + "*" + likeEscape(seg[end+1:])
		o.Rules = append(o.Rules, paramRule{Param: name, Pattern: pattern})
		segs[i] = "{" + name + "}"
	}
	o.RoutePath = "/" + strings.Join(segs, "/")
	if strings.HasSuffix(o.RoutePath, "/") {
		return errors.New("the path ends in /, which the gateway cannot route (API Gateway resources cannot either)")
	}
	method := o.Method
	if o.CORS {
		method = http.MethodOptions
	}
	if _, err := router.New([]router.Route{{Method: method, Path: o.RoutePath}}); err != nil {
		return err
	}
	return nil
}

// likeEscape quotes literal text for a Cedar like pattern.
func likeEscape(s string) string { return strings.ReplaceAll(s, "*", `\*`) }

// routeKey is a template with its parameter names erased: two templates with the same key
// route the same requests.
func routeKey(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		switch {
		case strings.HasSuffix(s, "+}"):
			segs[i] = "{+}"
		case strings.HasPrefix(s, "{"):
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// unifyParams gives the parameters at one position of the route tree one name (the first
// in path order), as the router and API Gateway require: /pets/{petId} and /pets/{id}/photos
// become /pets/{petId} and /pets/{petId}/photos. The actions keep the document's spelling;
// Cedar's context.pathParameters uses the route's.
func unifyParams(ops []*operation) []string {
	type key struct {
		parent string
		greedy bool
	}
	names := map[key]string{}
	var warns []string
	for _, o := range ops {
		segs := strings.Split(o.RoutePath, "/")
		renamed := map[string]string{}
		for i := 1; i < len(segs); i++ {
			s := segs[i]
			if !strings.HasPrefix(s, "{") {
				continue
			}
			greedy := strings.HasSuffix(s, "+}")
			name := strings.TrimSuffix(strings.TrimSuffix(s[1:], "}"), "+")
			k := key{routeKey(strings.Join(segs[:i], "/")), greedy}
			first, ok := names[k]
			if !ok {
				names[k] = name
				continue
			}
			if first != name {
				renamed[name] = first
				if greedy {
					segs[i] = "{" + first + "+}"
				} else {
					segs[i] = "{" + first + "}"
				}
			}
		}
		if len(renamed) == 0 {
			continue
		}
		o.RoutePath = strings.Join(segs, "/")
		for i := range o.Rules {
			if n, ok := renamed[o.Rules[i].Param]; ok {
				o.Rules[i].Param = n
			}
		}
		var list []string
		for _, from := range slices.Sorted(maps.Keys(renamed)) {
			list = append(list, fmt.Sprintf("{%s} is pathParameters.%s", from, renamed[from]))
		}
		warns = append(warns, fmt.Sprintf("%s: routed as %s (sibling paths name the parameter differently; %s)",
			o.Refs[0], o.Route(), strings.Join(list, ", ")))
	}
	return warns
}

// security reads the operation's security requirements (the document's when it has none).
// Only the operation's own security: [] (or an empty requirement among its alternatives)
// makes it public: a document-wide optional requirement is not read as opening every
// operation. The scopes of OAuth2 and OpenID Connect schemes are the scopes a token needs.
func security(doc *openapi3.T, op *openapi3.Operation, ref string) (public bool, scopes []string, all bool, warn string) {
	reqs := doc.Security
	if op.Security != nil {
		reqs = *op.Security
		if len(reqs) == 0 || slices.ContainsFunc(reqs, func(r openapi3.SecurityRequirement) bool { return len(r) == 0 }) {
			return true, nil, false, ""
		}
	}
	anyToken := false
	for _, req := range reqs {
		if len(req) == 0 {
			continue // optional authentication document-wide: the token, if any, is checked
		}
		var need []string
		oauth := false
		for name, sc := range req {
			var scheme *openapi3.SecuritySchemeRef
			if doc.Components != nil {
				scheme = doc.Components.SecuritySchemes[name]
			}
			if scheme == nil || scheme.Value == nil {
				warn = fmt.Sprintf("%s.security: scheme %q is not defined in components.securitySchemes", ref, name)
				continue
			}
			if t := scheme.Value.Type; t == "oauth2" || t == "openIdConnect" {
				oauth = true
				need = append(need, sc...)
			}
		}
		switch {
		case !oauth:
		case len(need) == 0:
			anyToken = true
		case len(need) == 1:
			if !slices.Contains(scopes, need[0]) {
				scopes = append(scopes, need[0])
			}
		default:
			all = true
		}
	}
	if anyToken {
		scopes = nil
	}
	return false, scopes, all, warn
}

// anyOperation decodes the any-method extension, resolving local parameter $refs (the loader
// does not look inside extensions).
func anyOperation(doc *openapi3.T, raw any) (*openapi3.Operation, error) {
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	var op openapi3.Operation
	if err := json.Unmarshal(b, &op); err != nil {
		return nil, fmt.Errorf("not an operation object: %w", err)
	}
	for i, p := range op.Parameters {
		if p == nil {
			return nil, fmt.Errorf("parameters[%d]: empty", i)
		}
		if p.Value != nil {
			continue
		}
		name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
		var ref *openapi3.ParameterRef
		if ok && doc.Components != nil {
			ref = doc.Components.Parameters[name]
		}
		if ref == nil || ref.Value == nil {
			return nil, fmt.Errorf("parameters[%d]: cannot resolve $ref %q", i, p.Ref)
		}
		p.Value = ref.Value
	}
	return &op, nil
}

func templateParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			out = append(out, strings.TrimSuffix(seg[1:len(seg)-1], "+"))
		}
	}
	return out
}

func queryParams(lists ...openapi3.Parameters) []string {
	var out []string
	for _, l := range lists {
		for _, p := range l {
			if p != nil && p.Value != nil && p.Value.In == openapi3.ParameterInQuery && !slices.Contains(out, p.Value.Name) {
				out = append(out, p.Value.Name)
			}
		}
	}
	slices.Sort(out)
	return out
}

// mockOf reads an x-amazon-apigateway-integration of type mock: the status of its default
// response, its application/json template and its static header mappings
// (method.response.header.X: "'value'", how API Gateway's CORS mock sets
// Access-Control-Allow-*) become the route's mock answer.
func mockOf(ext map[string]any) *mockIntegration {
	integ, ok := ext["x-amazon-apigateway-integration"].(map[string]any)
	if !ok {
		return nil
	}
	if t, _ := integ["type"].(string); !strings.EqualFold(t, "mock") {
		return nil
	}
	m := &mockIntegration{Status: 200}
	responses, _ := integ["responses"].(map[string]any)
	def, _ := responses["default"].(map[string]any)
	if s, ok := def["statusCode"].(string); ok {
		if n, err := strconv.Atoi(s); err == nil && n >= 200 && n <= 599 {
			m.Status = n
		}
	}
	if tmpl, ok := def["responseTemplates"].(map[string]any); ok {
		if body, ok := tmpl["application/json"].(string); ok {
			m.Body = body
		}
	}
	params, _ := def["responseParameters"].(map[string]any)
	for k, v := range params {
		name, ok := strings.CutPrefix(k, "method.response.header.")
		val, isStr := v.(string)
		if !ok || !isStr || len(val) < 2 || val[0] != '\'' || val[len(val)-1] != '\'' {
			continue // a mapping from the request or context, not a constant
		}
		if m.Headers == nil {
			m.Headers = map[string]string{}
		}
		m.Headers[name] = val[1 : len(val)-1]
	}
	return m
}

// corsConfig is API Gateway HTTP API's x-amazon-apigateway-cors.
type corsConfig struct {
	AllowOrigins     []string `json:"allowOrigins"`
	AllowMethods     []string `json:"allowMethods"`
	AllowHeaders     []string `json:"allowHeaders"`
	ExposeHeaders    []string `json:"exposeHeaders"`
	MaxAge           *int     `json:"maxAge"`
	AllowCredentials bool     `json:"allowCredentials"`
}

// corsExtension reads x-amazon-apigateway-cors. A preflight answer is one fixed set of
// headers, so several allowed origins (which need the request's Origin echoed) are refused
// with a warning.
func corsExtension(ext map[string]any) (*corsConfig, string) {
	raw, ok := ext["x-amazon-apigateway-cors"]
	if !ok {
		return nil, ""
	}
	b, _ := json.Marshal(raw)
	var c corsConfig
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Sprintf("x-amazon-apigateway-cors: ignored: %v", err)
	}
	if len(c.AllowOrigins) != 1 {
		return nil, fmt.Sprintf("x-amazon-apigateway-cors: ignored: preflights are answered with one fixed origin, the document allows %d (add OPTIONS operations, or let the upstream answer them)", len(c.AllowOrigins))
	}
	return &c, ""
}

// corsRoutes adds, for every path without an OPTIONS operation, a public OPTIONS route
// answering the preflight with the configured headers, as API Gateway does for an HTTP API
// with CORS configured.
func corsRoutes(ops []*operation, c *corsConfig) []*operation {
	h := map[string]string{"Access-Control-Allow-Origin": c.AllowOrigins[0]}
	if len(c.AllowMethods) > 0 {
		h["Access-Control-Allow-Methods"] = strings.Join(c.AllowMethods, ",")
	}
	if len(c.AllowHeaders) > 0 {
		h["Access-Control-Allow-Headers"] = strings.Join(c.AllowHeaders, ",")
	}
	if len(c.ExposeHeaders) > 0 {
		h["Access-Control-Expose-Headers"] = strings.Join(c.ExposeHeaders, ",")
	}
	if c.MaxAge != nil {
		h["Access-Control-Max-Age"] = strconv.Itoa(*c.MaxAge)
	}
	if c.AllowCredentials {
		h["Access-Control-Allow-Credentials"] = "true"
	}
	has := map[string]bool{}
	for _, o := range ops {
		if o.Method == http.MethodOptions {
			has[o.RoutePath] = true
		}
	}
	var out []*operation
	for _, o := range ops {
		if has[o.RoutePath] {
			continue
		}
		has[o.RoutePath] = true
		out = append(out, &operation{Method: http.MethodOptions, Path: o.Path, RoutePath: o.RoutePath, PathParams: o.PathParams,
			Refs: []string{"x-amazon-apigateway-cors"}, CORS: true, Public: true, Mock: &mockIntegration{Status: 204, Headers: h}})
	}
	return out
}

// ListOperations describes the document's routes for people choosing among them:
// "GET /pets (listPets)", one per route, in the order init writes them.
func ListOperations(doc *Document) ([]string, error) {
	ops, _, err := operations(doc)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range ops {
		if o.CORS {
			continue
		}
		s := o.docRoute()
		if o.OperationID != "" && !slices.Contains(o.shared, o.OperationID) {
			s += " (" + o.OperationID + ")"
		}
		out = append(out, s)
	}
	return out, nil
}

// Issuer returns the OIDC issuer of the document's OpenID Connect security scheme (its
// openIdConnectUrl without /.well-known/openid-configuration), "" unless exactly one issuer
// is named.
func (d *Document) Issuer() string {
	if d.Components == nil {
		return ""
	}
	var found string
	for _, s := range d.Components.SecuritySchemes {
		if s == nil || s.Value == nil || s.Value.Type != "openIdConnect" {
			continue
		}
		iss, ok := strings.CutSuffix(s.Value.OpenIdConnectUrl, "/.well-known/openid-configuration")
		if !ok || !strings.HasPrefix(iss, "https://") && !strings.HasPrefix(iss, "http://") || found != "" && found != iss {
			return ""
		}
		found = iss
	}
	return found
}
