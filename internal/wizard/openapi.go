package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"
)

// MaxDocumentBytes bounds an OpenAPI document.
const MaxDocumentBytes = 10 << 20

// AnyMethodExtension is API Gateway's path-item extension for an operation that accepts every
// method.
const AnyMethodExtension = "x-amazon-apigateway-any-method"

// anyMethods are the methods an ANY operation stands for, as actions (SPEC §2.1).
var anyMethods = []string{"delete", "get", "patch", "post", "put"}

// Parse reads an OpenAPI 3 or Swagger 2 document, JSON or YAML, and validates it. A Swagger 2
// document is converted to OpenAPI 3. External $refs are not followed: a document names only
// itself.
func Parse(ctx context.Context, data []byte) (doc *openapi3.T, err error) {
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
	if err := json.Unmarshal(js, &probe); err != nil {
		return nil, fmt.Errorf("openapi document: want an object: %w", err)
	}
	loader := openapi3.NewLoader()
	switch {
	case probe.OpenAPI != nil && probe.Swagger != nil:
		return nil, errors.New("openapi document: has both openapi and swagger version keys")
	case probe.Swagger != nil:
		if *probe.Swagger != "2.0" {
			return nil, fmt.Errorf("openapi document: swagger version %q is not supported (want 2.0)", *probe.Swagger)
		}
		var d2 openapi2.T
		if err := json.Unmarshal(js, &d2); err != nil {
			return nil, fmt.Errorf("swagger 2 document: %w", err)
		}
		for p, item := range d2.Paths {
			if item == nil {
				return nil, fmt.Errorf("swagger 2 document: paths.%s: empty path item", p)
			}
		}
		if doc, err = openapi2conv.ToV3WithLoader(&d2, loader, nil); err != nil {
			return nil, fmt.Errorf("convert swagger 2 document: %w", err)
		}
	case probe.OpenAPI != nil:
		if !strings.HasPrefix(*probe.OpenAPI, "3.") {
			return nil, fmt.Errorf("openapi document: version %q is not supported (want 3.x)", *probe.OpenAPI)
		}
		if doc, err = loader.LoadFromData(js); err != nil {
			return nil, fmt.Errorf("openapi document: %w", err)
		}
	default:
		return nil, errors.New(`openapi document: neither "openapi: 3.x" nor "swagger: \"2.0\"" found`)
	}
	if err := validate(ctx, doc); err != nil {
		return nil, fmt.Errorf("invalid openapi document: %w", err)
	}
	return doc, nil
}

// validate runs kin-openapi's validation. API Gateway documents name the parameter of a greedy
// segment {proxy+} "proxy", which kin-openapi reads as a parameter called "proxy+"; the paths
// are validated under their {proxy} spelling so such documents (AWS's own exports) pass.
func validate(ctx context.Context, doc *openapi3.T) error {
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		return errors.New("paths: the document has no operations")
	}
	orig := doc.Paths
	plain := openapi3.NewPathsWithCapacity(orig.Len())
	plain.Extensions = orig.Extensions
	for _, p := range orig.Keys() {
		plain.Set(strings.ReplaceAll(p, "+}", "}"), orig.Value(p))
	}
	if plain.Len() != orig.Len() {
		return errors.New("paths: two paths differ only in a greedy {name+} segment")
	}
	doc.Paths = plain
	defer func() { doc.Paths = orig }()
	return doc.Validate(ctx, openapi3.DisableExamplesValidation())
}

// operation is one route of the document: a method (or ANY) on a path template.
type operation struct {
	Method      string // upper case: GET, POST, ... or ANY
	Path        string // the template as written in the document
	OperationID string
	PathParams  []string // from the template, {proxy+} → proxy
	QueryParams []string // declared in: query, path item and operation, sorted
	Mock        *mockIntegration
	// explicit (ANY only) are the methods the path also has their own operation for: those
	// win, as they do in the gateway, so their actions belong to them.
	explicit []string
}

type mockIntegration struct {
	Status int
	Body   string
}

// Route is "METHOD /path" as the gateway writes it.
func (o *operation) Route() string { return o.Method + " " + o.Path }

// actions returns the operation's action ids, "<lowercase method> <path>".
func (o *operation) actions() []string {
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

// skippedMethods are not turned into routes: OPTIONS is the CORS preflight (API Gateway answers
// it without an authorizer) and TRACE is never routed.
var skippedMethods = []string{"OPTIONS", "TRACE", "CONNECT"}

var methodRE = regexp.MustCompile(`^[A-Z]{1,16}$`)

// operations lists the document's operations sorted by path, then method.
func operations(doc *openapi3.T) ([]*operation, error) {
	var out []*operation
	for _, path := range doc.Paths.Keys() {
		item := doc.Paths.Value(path)
		if item == nil {
			continue
		}
		pathParams := templateParams(path)
		common := item.Parameters
		for method, op := range item.Operations() {
			if slices.Contains(skippedMethods, method) || op == nil {
				continue
			}
			if !methodRE.MatchString(method) {
				return nil, fmt.Errorf("paths.%s: method %q is not a plain HTTP method name", path, method)
			}
			o := &operation{Method: method, Path: path, OperationID: op.OperationID, PathParams: pathParams,
				QueryParams: queryParams(common, op.Parameters)}
			o.Mock = mockOf(op.Extensions)
			out = append(out, o)
		}
		if raw, ok := item.Extensions[AnyMethodExtension]; ok {
			op, err := anyOperation(doc, raw)
			if err != nil {
				return nil, fmt.Errorf("paths.%s.%s: %w", path, AnyMethodExtension, err)
			}
			o := &operation{Method: "ANY", Path: path, OperationID: op.OperationID, PathParams: pathParams,
				QueryParams: queryParams(common, op.Parameters)}
			o.Mock = mockOf(op.Extensions)
			out = append(out, o)
		}
	}
	for _, a := range out {
		if a.Method != "ANY" {
			continue
		}
		for _, b := range out {
			if b.Path == a.Path && b.Method != "ANY" {
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
	seen := map[string]string{}
	for _, o := range out {
		if o.OperationID == "" {
			continue
		}
		if prev, dup := seen[o.OperationID]; dup {
			return nil, fmt.Errorf("operationId %q is used by %s and %s", o.OperationID, prev, o.Route())
		}
		seen[o.OperationID] = o.Route()
	}
	if len(out) == 0 {
		return nil, errors.New("the document has no operations (OPTIONS operations are skipped)")
	}
	return out, nil
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
// response and its application/json template become the route's mock answer.
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
	return m
}

// ListOperations describes the document's routes for people choosing among them:
// "GET /pets (listPets)", one per route, in the order init writes them.
func ListOperations(doc *openapi3.T) ([]string, error) {
	ops, err := operations(doc)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(ops))
	for i, o := range ops {
		out[i] = o.Route()
		if o.OperationID != "" {
			out[i] += " (" + o.OperationID + ")"
		}
	}
	return out, nil
}
