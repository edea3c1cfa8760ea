// Package apidef defines gateway APIs (routes, authorizers, upstreams, gateway responses) and
// persists them with their group IAM policies.
//
// A Definition is written by users as YAML or JSON (see [Parse]); [Definition.Validate] checks
// everything that can be checked without the store, and [Service.Put] adds the checks that need
// it (unique base path, existing policy store) before writing. Every API and group policy lives
// in the single store scope [Scope], so one revision, rev("gateway"), covers every gateway
// setting: the gateway rebuilds its compiled state whenever it moves.
package apidef

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// MaxDefinitionBytes bounds a definition document.
const MaxDefinitionBytes = 1 << 20

// Authorizer types.
const (
	TypeJWT   = "jwt"
	TypeCedar = "cedar"
	TypeIAM   = "iam"
	// AuthorizerNone is the authorizer name a route uses to be public.
	AuthorizerNone = "none"
)

// Token types of cedar and iam authorizers (AVP's names).
const (
	AccessToken   = "accessToken"
	IdentityToken = "identityToken"
)

// Definition is one API.
type Definition struct {
	// ID is assigned by the store (10 lowercase alphanumerics, like API Gateway's ids).
	ID string `json:"id,omitempty"`
	// Name is unique among APIs.
	Name string `json:"name"`
	// Stage names the deployment; the base path defaults to "/<stage>".
	Stage string `json:"stage,omitempty"`
	// BasePath overrides "/<stage>"; "/" serves the API at the root. Unique across APIs.
	BasePath string `json:"basePath,omitempty"`
	// Upstream is the default upstream URL (http or https).
	Upstream string `json:"upstream,omitempty"`
	// Region is used in method ARNs; default from the service.
	Region           string                     `json:"region,omitempty"`
	Authorizers      map[string]Authorizer      `json:"authorizers,omitempty"`
	Routes           []Route                    `json:"routes"`
	GatewayResponses map[string]GatewayResponse `json:"gatewayResponses,omitempty"`
	IdentityHeaders  *IdentityHeaders           `json:"identityHeaders,omitempty"`

	Created time.Time `json:"-"`
	Updated time.Time `json:"-"`
}

// Authorizer configures one named authorizer of an API.
type Authorizer struct {
	// Type is jwt, cedar or iam.
	Type string `json:"type"`
	// IdentitySources are the trusted issuers of jwt and iam authorizers, in AVP's
	// identity-source configuration shape.
	IdentitySources []IdentitySource `json:"identitySources,omitempty"`
	// PolicyStoreID is the cedar authorizer's policy store; its identity sources validate tokens.
	PolicyStoreID string `json:"policyStoreId,omitempty"`
	// TokenType is accessToken or identityToken. cedar and iam default to accessToken; for jwt
	// the default is API Gateway's Cognito rule (routes with scopes take access tokens, others ID
	// tokens) and setting it forces one kind on every route.
	TokenType string `json:"tokenType,omitempty"`
	// Namespace of the cedar authorizer's actions and default resource; default the policy
	// store schema's single namespace.
	Namespace string `json:"namespace,omitempty"`
	// CacheTTL bounds how long a decision is cached (default 300s, 0 disables, max 3600s).
	// Decisions are also keyed by every revision they depend on, so the TTL never delays a
	// change.
	CacheTTL *Duration `json:"cacheTtl,omitempty"`
	// RoleHierarchy, highest first, lets a jwt route's groups admit higher roles too.
	RoleHierarchy []string `json:"roleHierarchy,omitempty"`
}

// IdentitySource is an issuer trusted by a jwt or iam authorizer.
type IdentitySource struct {
	Configuration       identity.Configuration `json:"configuration"`
	PrincipalEntityType string                 `json:"principalEntityType,omitempty"`
}

// Route is one METHOD + path of an API and how it is authorized and served.
type Route struct {
	// Route is "METHOD /path", e.g. "GET /pets/{petId}" or "ANY /admin/{proxy+}".
	Route string `json:"route"`
	// Authorizer names one of the API's authorizers, or "none".
	Authorizer string `json:"authorizer"`
	// Scopes (jwt): the access token must carry any of them.
	Scopes []string `json:"scopes,omitempty"`
	// Groups (jwt): the token must be in any of them (or a higher role of the hierarchy).
	Groups []string `json:"groups,omitempty"`
	// Action (cedar) overrides the action id, default "<lowercase method> <route path>".
	Action string `json:"action,omitempty"`
	// Resource (cedar) is an entity template such as `Appointment::"{id}"`; default
	// `<NS>::Application::"<NS>"`.
	Resource string `json:"resource,omitempty"`
	// Upstream overrides the API's upstream.
	Upstream string `json:"upstream,omitempty"`
	// Mock answers without an upstream.
	Mock *Mock `json:"mock,omitempty"`
	// MaxBodyBytes bounds the request body (default 10 MiB).
	MaxBodyBytes *int64 `json:"maxBodyBytes,omitempty"`
	// WebSocket lets an authorized GET with "Upgrade: websocket" open a tunnel to this route's
	// upstream path. Only the upgrade request is authorized; the frames inside the tunnel are
	// not. Without it every protocol upgrade is refused, and h2c is refused always.
	WebSocket bool `json:"websocket,omitempty"`
}

// Mock is a canned response. Body may use $context variables (see the gateway package).
type Mock struct {
	Status      int               `json:"status,omitempty"`
	Body        string            `json:"body,omitempty"`
	ContentType string            `json:"contentType,omitempty"`
	Headers     map[string]string `json:"headers,omitempty"`
}

// GatewayResponse customizes one gateway response type (ACCESS_DENIED, UNAUTHORIZED, ...).
type GatewayResponse struct {
	Status  int               `json:"status,omitempty"`
	Body    string            `json:"body,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// IdentityHeaders selects token claims forwarded upstream as X-Gatehouse-Claim-<Name>.
type IdentityHeaders struct {
	Claims []string `json:"claims,omitempty"`
}

// Duration is a time.Duration written as "300s" / "5m", or as a number of seconds.
type Duration struct{ time.Duration }

// UnmarshalJSON accepts a Go duration string or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("must be a duration like \"300s\"")
		}
		d.Duration = v
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 || n > 1<<31 {
		return fmt.Errorf("must be a duration like \"300s\" or a whole number of seconds")
	}
	d.Duration = time.Duration(n) * time.Second
	return nil
}

// MarshalJSON writes the duration as a string ("5m0s").
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// Parse decodes a YAML or JSON definition strictly: unknown keys, duplicate keys and wrong
// types are errors naming the key path (e.g. `routes[2].scope: unknown key`). The result is
// not validated; call [Definition.Validate].
func Parse(data []byte) (Definition, error) {
	if len(data) > MaxDefinitionBytes {
		return Definition{}, fieldError("", "definition is larger than %d bytes", MaxDefinitionBytes)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return Definition{}, fieldError("", "%v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return Definition{}, fieldError("", "%v", err)
	}
	if raw == nil {
		return Definition{}, fieldError("", "definition is empty")
	}
	if err := checkShape(raw, reflect.TypeFor[Definition](), ""); err != nil {
		return Definition{}, err
	}
	var d Definition
	if err := json.Unmarshal(js, &d); err != nil {
		// checkShape accepted every value, so this is a type it does not model.
		return Definition{}, fieldError("", "%v", err)
	}
	return d, nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// checkShape walks a decoded JSON value against the Go type it will be decoded into, so errors
// name the exact key path and keys match only exactly (encoding/json would accept "Name" for
// "name", which would let two spellings of one key through).
func checkShape(v any, t reflect.Type, path string) error {
	if v == nil {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			return nil
		}
		return fieldError(path, "must not be null")
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		b, _ := json.Marshal(v)
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
			return fieldError(path, "%v", err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return checkShape(v, t.Elem(), path)
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return fieldError(path, "must be an object")
		}
		fields := jsonFields(t)
		for k, val := range m {
			f, ok := fields[k]
			if !ok {
				return fieldError(join(path, k), "unknown key")
			}
			if err := checkShape(val, f.Type, join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return fieldError(path, "must be an object")
		}
		for k, val := range m {
			if err := checkShape(val, t.Elem(), join(path, k)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Slice:
		a, ok := v.([]any)
		if !ok {
			return fieldError(path, "must be a list")
		}
		for i, val := range a {
			if err := checkShape(val, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case reflect.String:
		if _, ok := v.(string); !ok {
			return fieldError(path, "must be a string")
		}
		return nil
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return fieldError(path, "must be true or false")
		}
		return nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			return fieldError(path, "must be a number")
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil {
			return fieldError(path, "must be a whole number")
		}
		if reflect.Zero(t).OverflowInt(i) {
			return fieldError(path, "is out of range")
		}
		return nil
	}
	return fieldError(path, "unsupported value")
}

type jsonField struct{ Type reflect.Type }

func jsonFields(t reflect.Type) map[string]jsonField {
	out := make(map[string]jsonField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name := tag
		if i := bytes.IndexByte([]byte(tag), ','); i >= 0 {
			name = tag[:i]
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{Type: f.Type}
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
