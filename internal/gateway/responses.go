package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
)

// Gateway response types used by the gateway (API Gateway's names).
const (
	respUnauthorized   = "UNAUTHORIZED"
	respExpiredToken   = "EXPIRED_TOKEN"
	respAccessDenied   = "ACCESS_DENIED"
	respMissingToken   = "MISSING_AUTHENTICATION_TOKEN"
	respAuthorizerFail = "AUTHORIZER_FAILURE"
	respIntegrationErr = "INTEGRATION_FAILURE"
	respIntegrationTO  = "INTEGRATION_TIMEOUT"
	respTooLarge       = "REQUEST_TOO_LARGE"
	respBadParameters  = "BAD_REQUEST_PARAMETERS"
)

// Messages ($context.error.message) of the default responses.
const (
	msgUnauthorized   = "Unauthorized"
	msgExpired        = "The incoming token has expired"
	msgImplicitDeny   = "User is not authorized to access this resource"
	msgExplicitDeny   = "User is not authorized to access this resource with an explicit deny"
	msgMissingToken   = "Missing Authentication Token"
	msgIntegrationErr = "Internal server error"
	msgIntegrationTO  = "Endpoint request timed out"
	msgTooLarge       = "Request Too Long"
	msgBadParameters  = "Invalid request parameters"
	msgUpgrade        = "Protocol upgrade not allowed"
)

// response is a compiled gateway response.
type response struct {
	status    int
	errorType string // x-amzn-ErrorType
	body      template
	headers   map[string]string
}

// defaults are API Gateway's default responses. Authorizer 403s use "Message" with a capital M
// as API Gateway does; AUTHORIZER_FAILURE is the literal {"message": null}.
var defaults = map[string]*response{
	respUnauthorized:   {status: 401, errorType: "UnauthorizedException", body: compileTemplate(`{"message":$context.error.messageString}`)},
	respExpiredToken:   {status: 401, errorType: "UnauthorizedException", body: compileTemplate(`{"message":$context.error.messageString}`)},
	respAccessDenied:   {status: 403, errorType: "AccessDeniedException", body: compileTemplate(`{"Message":$context.error.messageString}`)},
	respMissingToken:   {status: 403, errorType: "MissingAuthenticationTokenException", body: compileTemplate(`{"message":$context.error.messageString}`)},
	respAuthorizerFail: {status: 500, errorType: "AuthorizerConfigurationException", body: compileTemplate(`{"message": null}`)},
	respIntegrationErr: {status: 502, errorType: "InternalServerErrorException", body: compileTemplate(`{"message":$context.error.messageString}`)},
	respIntegrationTO:  {status: 504, errorType: "InternalServerErrorException", body: compileTemplate(`{"message":$context.error.messageString}`)},
	respTooLarge:       {status: 413, errorType: "RequestTooLargeException", body: compileTemplate(`{"message":$context.error.messageString}`)},
	respBadParameters:  {status: 400, errorType: "BadRequestException", body: compileTemplate(`{"message":$context.error.messageString}`)},
}

// compileResponses resolves an API's customizations: a specific type, else DEFAULT_4XX /
// DEFAULT_5XX by the default status class, else the default. A customization without a
// status keeps the default status.
func compileResponses(custom map[string]apidef.GatewayResponse) (map[string]*response, error) {
	out := make(map[string]*response, len(defaults))
	for typ, def := range defaults {
		c, ok := custom[typ]
		if !ok {
			fallback := "DEFAULT_4XX"
			if def.status >= 500 {
				fallback = "DEFAULT_5XX"
			}
			c, ok = custom[fallback]
		}
		if !ok {
			out[typ] = def
			continue
		}
		r := &response{status: def.status, errorType: def.errorType, body: def.body, headers: c.Headers}
		if c.Status != 0 {
			r.status = c.Status
		}
		if c.Body != "" {
			r.body = compileTemplate(c.Body)
		}
		out[typ] = r
	}
	return out, nil
}

// vars are the $context variables of templates.
type vars struct {
	path         string // full canonical path, stage included
	resourcePath string
	httpMethod   string
	stage        string
	apiID        string
	requestID    string
	principalID  string
	sourceIP     string
	errMessage   string
	responseType string
}

type varID uint8

const (
	varNone varID = iota
	varPath
	varResourcePath
	varHTTPMethod
	varStage
	varAPIID
	varRequestID
	varPrincipalID
	varSourceIP
	varErrMessage
	varErrMessageString
	varResponseType
)

// Longest names first so "$context.error.messageString" is not read as "...message" + "String".
var varNames = []struct {
	name string
	id   varID
}{
	{"$context.authorizer.principalId", varPrincipalID},
	{"$context.error.messageString", varErrMessageString},
	{"$context.error.responseType", varResponseType},
	{"$context.identity.sourceIp", varSourceIP},
	{"$context.error.message", varErrMessage},
	{"$context.resourcePath", varResourcePath},
	{"$context.httpMethod", varHTTPMethod},
	{"$context.requestId", varRequestID},
	{"$context.stage", varStage},
	{"$context.apiId", varAPIID},
	{"$context.path", varPath},
}

type part struct {
	lit string
	v   varID
}

// template is a body with $context variables. Values are inserted JSON-escaped (without quotes;
// messageString adds them), since bodies are JSON and values such as principal ids come from
// tokens.
type template []part

func compileTemplate(s string) template {
	var t template
	for {
		i := strings.Index(s, "$context.")
		if i < 0 {
			break
		}
		id := varNone
		n := 0
		for _, v := range varNames {
			if strings.HasPrefix(s[i:], v.name) {
				id, n = v.id, len(v.name)
				break
			}
		}
		if id == varNone {
			t = append(t, part{lit: s[:i+1]})
			s = s[i+1:]
			continue
		}
		if i > 0 {
			t = append(t, part{lit: s[:i]})
		}
		t = append(t, part{v: id})
		s = s[i+n:]
	}
	if s != "" {
		t = append(t, part{lit: s})
	}
	return t
}

func (t template) render(v *vars) []byte {
	var b []byte
	for _, p := range t {
		switch p.v {
		case varNone:
			b = append(b, p.lit...)
		case varErrMessageString:
			q, _ := json.Marshal(v.errMessage)
			b = append(b, q...)
		default:
			b = appendEscaped(b, v.get(p.v))
		}
	}
	return b
}

func (v *vars) get(id varID) string {
	switch id {
	case varPath:
		return v.path
	case varResourcePath:
		return v.resourcePath
	case varHTTPMethod:
		return v.httpMethod
	case varStage:
		return v.stage
	case varAPIID:
		return v.apiID
	case varRequestID:
		return v.requestID
	case varPrincipalID:
		return v.principalID
	case varSourceIP:
		return v.sourceIP
	case varErrMessage:
		return v.errMessage
	case varResponseType:
		return v.responseType
	}
	return ""
}

// appendEscaped appends s as the inside of a JSON string.
func appendEscaped(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q[1:len(q)-1]...)
}

// writeResponse writes a gateway response.
func writeResponse(w http.ResponseWriter, r *response, v *vars) {
	body := r.body.render(v)
	h := w.Header()
	for k, val := range r.headers {
		h.Set(k, val)
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// API Gateway's spelling; clients read header names case-insensitively.
	h["x-amzn-ErrorType"] = []string{r.errorType}
	w.WriteHeader(r.status)
	_, _ = w.Write(body)
}

// mock is a compiled mock integration.
type mock struct {
	status      int
	contentType string
	headers     map[string]string
	body        template
}

func compileMock(m *apidef.Mock) *mock {
	out := &mock{status: m.Status, contentType: m.ContentType, headers: m.Headers, body: compileTemplate(m.Body)}
	if out.status == 0 {
		out.status = http.StatusOK
	}
	if out.contentType == "" {
		out.contentType = "application/json"
	}
	return out
}
