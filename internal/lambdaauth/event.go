package lambdaauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// Kind is the shape of an authorizer event.
type Kind string

// Event kinds.
const (
	KindRequest Kind = "REQUEST" // REST API REQUEST authorizer (also HTTP API payload 1.0)
	KindToken   Kind = "TOKEN"   // REST API TOKEN authorizer
	KindV2      Kind = "V2"      // HTTP API payload 2.0 authorizer
)

// MaxEventBytes bounds an event: API Gateway's own request limits keep real ones far smaller.
const MaxEventBytes = 1 << 20

// Event is an authorizer event read into the gateway's terms.
type Event struct {
	Kind Kind
	// ARN is the methodArn (REST) or routeArn (HTTP API) the answer's policy names.
	ARN   string
	Input gateway.Input
}

// FieldError is an event that cannot be read; Field names the offending member.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("invalid authorizer event: %s: %s", e.Field, e.Message)
}

func invalid(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// wireEvent holds every member the three event shapes use, named as in aws-lambda-go's events
// types (APIGatewayCustomAuthorizerRequestTypeRequest, APIGatewayCustomAuthorizerRequest,
// APIGatewayV2CustomAuthorizerV2Request), so an event is decoded in one pass whatever its kind.
// identitySource is left out: it is a string in payload 1.0 and a list in 2.0, and the
// request's own headers already carry it.
type wireEvent struct {
	Type                            string              `json:"type"`
	Version                         string              `json:"version"`
	MethodArn                       string              `json:"methodArn"`
	RouteArn                        string              `json:"routeArn"`
	AuthorizationToken              string              `json:"authorizationToken"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	RawPath                         string              `json:"rawPath"`
	RawQueryString                  string              `json:"rawQueryString"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	Cookies                         []string            `json:"cookies"`
	RequestContext                  struct {
		Stage      string `json:"stage"`
		HTTPMethod string `json:"httpMethod"`
		Identity   struct {
			SourceIP string `json:"sourceIp"`
		} `json:"identity"`
		HTTP struct {
			Method   string `json:"method"`
			Path     string `json:"path"`
			SourceIP string `json:"sourceIp"`
		} `json:"http"`
	} `json:"requestContext"`
}

// ParseEvent reads one authorizer event. The kind comes from the event itself: "version":"2.0"
// is HTTP API payload 2.0, else "type" is TOKEN or REQUEST.
func ParseEvent(payload []byte) (Event, error) {
	if len(payload) > MaxEventBytes {
		return Event{}, invalid("event", "larger than %d bytes", MaxEventBytes)
	}
	var e wireEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return Event{}, invalid("event", "not an authorizer event: %v", jsonError(err))
	}
	switch {
	case e.Version == "2.0":
		return fromV2(&e)
	case e.Type == string(KindToken):
		return fromToken(&e)
	case e.Type == string(KindRequest):
		return fromRequest(&e)
	}
	return Event{}, invalid("type", "want TOKEN or REQUEST (or version 2.0), got type %q version %q", e.Type, e.Version)
}

// jsonError names the member a type mismatch is in.
func jsonError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("%s: want %s, got %s", te.Field, te.Type, te.Value)
	}
	return err
}

// MethodARN is a parsed execute-api ARN.
type MethodARN struct {
	Region, Account, APIID, Stage, Method string
	// Path is the resource path after the method, with a leading "/" ("/" when none).
	Path string
}

// ParseMethodARN reads arn:aws:execute-api:region:account:apiId/stage/VERB/path.
func ParseMethodARN(field, arn string) (MethodARN, error) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "execute-api" {
		return MethodARN{}, invalid(field, "not an execute-api ARN (arn:aws:execute-api:region:account:apiId/stage/VERB/path)")
	}
	res := strings.SplitN(parts[5], "/", 4)
	if len(res) < 3 || res[0] == "" || res[1] == "" || res[2] == "" {
		return MethodARN{}, invalid(field, "resource %q is not apiId/stage/VERB/path", parts[5])
	}
	m := MethodARN{Region: parts[3], Account: parts[4], APIID: res[0], Stage: res[1], Method: res[2], Path: "/"}
	if len(res) == 4 {
		m.Path = "/" + res[3]
	}
	return m, nil
}

// stagePath is the path the gateway routes for a REST API request: "/<stage><path>", the
// stage taking the place of the bundle API's default base path.
func stagePath(stage, path string) string {
	esc := (&url.URL{Path: path}).EscapedPath()
	if stage == "" || stage == "$default" {
		return esc
	}
	// A stage is one segment: a "/" in it is escaped, and the gateway refuses the path.
	return "/" + url.PathEscape(stage) + esc
}

func clientAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func contentLength(h http.Header) int64 {
	if n, err := strconv.ParseInt(h.Get("Content-Length"), 10, 64); err == nil && n >= 0 {
		return n
	}
	return -1
}

func fromRequest(e *wireEvent) (Event, error) {
	if e.MethodArn == "" {
		return Event{}, invalid("methodArn", "required")
	}
	arn, err := ParseMethodARN("methodArn", e.MethodArn)
	if err != nil {
		return Event{}, err
	}
	method := e.HTTPMethod
	if method == "" {
		method = e.RequestContext.HTTPMethod
	}
	if method == "" {
		return Event{}, invalid("httpMethod", "required")
	}
	path := e.Path
	if path == "" {
		return Event{}, invalid("path", "required")
	}
	if !strings.HasPrefix(path, "/") {
		return Event{}, invalid("path", "must start with /")
	}
	stage := e.RequestContext.Stage
	if stage == "" {
		stage = arn.Stage
	}
	routed := stagePath(stage, path)
	if e.Version == "1.0" {
		// HTTP API payload 1.0 has the REST shape, but its path is the one API Gateway
		// received, which for a named stage already starts with it (as 2.0's rawPath).
		routed = (&url.URL{Path: path}).EscapedPath()
	}
	// Multi-value members carry every value; API Gateway fills both forms.
	h := make(http.Header, len(e.Headers))
	if len(e.MultiValueHeaders) > 0 {
		for k, vs := range e.MultiValueHeaders {
			for _, v := range vs {
				h.Add(k, v)
			}
		}
	} else {
		for k, v := range e.Headers {
			h.Add(k, v)
		}
	}
	q := url.Values{}
	if len(e.MultiValueQueryStringParameters) > 0 {
		for k, vs := range e.MultiValueQueryStringParameters {
			q[k] = append(q[k], vs...)
		}
	} else {
		for k, v := range e.QueryStringParameters {
			q.Add(k, v)
		}
	}
	return Event{Kind: KindRequest, ARN: e.MethodArn, Input: gateway.Input{
		Source: gateway.SourceLambda, Method: method, RawPath: routed, RawQuery: q.Encode(),
		Header: h, Client: clientAddr(e.RequestContext.Identity.SourceIP), TLS: true, ContentLength: contentLength(h),
	}}, nil
}

func fromToken(e *wireEvent) (Event, error) {
	if e.MethodArn == "" {
		return Event{}, invalid("methodArn", "required")
	}
	arn, err := ParseMethodARN("methodArn", e.MethodArn)
	if err != nil {
		return Event{}, err
	}
	h := http.Header{}
	if e.AuthorizationToken != "" {
		h.Set("Authorization", e.AuthorizationToken)
	}
	return Event{Kind: KindToken, ARN: e.MethodArn, Input: gateway.Input{
		Source: gateway.SourceLambda, Method: arn.Method, RawPath: stagePath(arn.Stage, arn.Path),
		Header: h, TLS: true, ContentLength: -1,
	}}, nil
}

func fromV2(e *wireEvent) (Event, error) {
	if e.RouteArn == "" {
		return Event{}, invalid("routeArn", "required")
	}
	if _, err := ParseMethodARN("routeArn", e.RouteArn); err != nil {
		return Event{}, err
	}
	method := e.RequestContext.HTTP.Method
	if method == "" {
		return Event{}, invalid("requestContext.http.method", "required")
	}
	path := e.RawPath
	if path == "" {
		path = e.RequestContext.HTTP.Path
	}
	if path == "" {
		return Event{}, invalid("rawPath", "required")
	}
	if !strings.HasPrefix(path, "/") {
		return Event{}, invalid("rawPath", "must start with /")
	}
	// Payload 2.0 joins repeated headers with commas and moves cookies to their own member.
	h := make(http.Header, len(e.Headers)+1)
	for k, v := range e.Headers {
		h.Add(k, v)
	}
	if len(e.Cookies) > 0 {
		h.Set("Cookie", strings.Join(e.Cookies, "; "))
	}
	return Event{Kind: KindV2, ARN: e.RouteArn, Input: gateway.Input{
		Source: gateway.SourceLambda, Method: method, RawPath: path, RawQuery: e.RawQueryString,
		Header: h, Client: clientAddr(e.RequestContext.HTTP.SourceIP), TLS: true, ContentLength: contentLength(h),
	}}, nil
}
