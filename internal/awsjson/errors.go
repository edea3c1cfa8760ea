package awsjson

import (
	"encoding/json"
	"net/http"
)

// Error is an AWS-shaped error. Ops return it to choose the __type, status
// and members of the error response; any other error becomes a generic
// InternalServerException.
type Error struct {
	Type    string // __type, e.g. "ValidationException"
	Message string
	Status  int
	Fields  []FieldError   // ValidationException fieldList
	Extra   map[string]any // other members, e.g. resourceId
}

// FieldError is one entry of a ValidationException fieldList.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Resource names a conflicting resource in a ConflictException.
type Resource struct {
	ID   string `json:"resourceId"`
	Type string `json:"resourceType"`
}

func (e *Error) Error() string { return e.Type + ": " + e.Message }

// MarshalJSON encodes e as the AWS JSON protocols do:
// {"__type":"...","message":"...",<members>}.
func (e *Error) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e.Extra)+3)
	for k, v := range e.Extra {
		m[k] = v
	}
	m["__type"] = e.Type
	m["message"] = e.Message
	if len(e.Fields) > 0 {
		m["fieldList"] = e.Fields
	}
	return json.Marshal(m)
}

// Validation is a 400 ValidationException listing the offending fields.
func Validation(msg string, fields ...FieldError) *Error {
	return &Error{Type: "ValidationException", Message: msg, Status: http.StatusBadRequest, Fields: fields}
}

// NotFound is a 404 ResourceNotFoundException. resourceType is one of AVP's
// ResourceType values (POLICY_STORE, POLICY, POLICY_TEMPLATE,
// IDENTITY_SOURCE, SCHEMA, POLICY_STORE_ALIAS).
func NotFound(msg, resourceID, resourceType string) *Error {
	return &Error{Type: "ResourceNotFoundException", Message: msg, Status: http.StatusNotFound,
		Extra: map[string]any{"resourceId": resourceID, "resourceType": resourceType}}
}

// Conflict is a 409 ConflictException naming the conflicting resources.
func Conflict(msg string, resources ...Resource) *Error {
	if resources == nil {
		resources = []Resource{} // the member is required by the model
	}
	return &Error{Type: "ConflictException", Message: msg, Status: http.StatusConflict,
		Extra: map[string]any{"resources": resources}}
}

// QuotaExceeded is a 402 ServiceQuotaExceededException.
func QuotaExceeded(msg, resourceType string) *Error {
	return &Error{Type: "ServiceQuotaExceededException", Message: msg, Status: http.StatusPaymentRequired,
		Extra: map[string]any{"resourceType": resourceType}}
}

// Throttling is a 429 ThrottlingException. SDKs retry it.
func Throttling(msg string) *Error {
	return &Error{Type: "ThrottlingException", Message: msg, Status: http.StatusTooManyRequests}
}

// AccessDenied is a 403 AccessDeniedException.
func AccessDenied(msg string) *Error {
	return &Error{Type: "AccessDeniedException", Message: msg, Status: http.StatusForbidden}
}

// Internal is a 500 InternalServerException. SDKs retry it. msg must not
// carry internal detail.
func Internal(msg string) *Error {
	return &Error{Type: "InternalServerException", Message: msg, Status: http.StatusInternalServerError}
}

// Errors produced by the protocol layer itself.
func unknownOperation(msg string, status int) *Error {
	return &Error{Type: "UnknownOperationException", Message: msg, Status: status}
}

func serialization(msg string) *Error {
	return &Error{Type: "SerializationException", Message: msg, Status: http.StatusBadRequest}
}
