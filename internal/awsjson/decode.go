package awsjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Decode strictly decodes a request body into v: unknown members, duplicate
// member names, invalid UTF-8, trailing data and wrong types are rejected
// with a ValidationException whose message and fieldList name the offending
// field path (e.g. "entities.entityList[0].identifier.entityId"). Member
// names match case-sensitively. An empty body decodes as {}.
func Decode(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	err := jsonv2.Unmarshal(body, v, jsonv2.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) {
		// An UnmarshalJSON method already produced an AWS error; prefix
		// its relative field paths with where it sat in the document.
		var se *jsonv2.SemanticError
		if errors.As(err, &se) && se.JSONPointer != "" {
			prefix := fieldPath(body, se.JSONPointer)
			out := *ae
			out.Fields = make([]FieldError, len(ae.Fields))
			for i, f := range ae.Fields {
				out.Fields[i] = FieldError{Path: JoinPath(prefix, f.Path), Message: f.Message}
			}
			return &out
		}
		return ae
	}

	var (
		ptr    jsontext.Pointer
		reason string
	)
	var se *jsonv2.SemanticError
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &syn):
		ptr = syn.JSONPointer
		reason = "is not valid JSON"
		if syn.Err != nil && strings.Contains(syn.Err.Error(), "duplicate") {
			reason = "is a duplicate member name"
		}
	case errors.As(err, &se):
		ptr = se.JSONPointer
		switch {
		case errors.Is(se.Err, jsonv2.ErrUnknownName):
			reason = "is not a known member"
		case se.GoType != nil:
			reason = "must be " + describeType(se.GoType)
		default:
			reason = "is invalid"
		}
	default:
		return Validation("Request body is not valid JSON.")
	}
	path := fieldPath(body, ptr)
	if path == "" {
		return Validation(fmt.Sprintf("1 validation error detected: Request body %s", reason),
			FieldError{Path: "", Message: "Request body " + reason})
	}
	return Validation(fmt.Sprintf("1 validation error detected: Value at '%s' %s", path, reason),
		FieldError{Path: path, Message: "Value " + reason})
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// describeType names the JSON kind a Go type expects.
func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// Types with their own decoding (timestamps, unions) say why in
	// their own error; their Go kind says nothing about the JSON expected.
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		return "a valid value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a valid value"
}

// fieldPath renders a JSON pointer into body as the AWS field path style
// "a.b[0].c". Whether a token is an array index is decided by walking the
// document, so numeric map keys stay member names.
func fieldPath(body []byte, ptr jsontext.Pointer) string {
	var doc any
	walk := json.Unmarshal(body, &doc) == nil
	var b strings.Builder
	for tok := range ptr.Tokens() {
		isIndex := false
		if walk {
			switch d := doc.(type) {
			case []any:
				i, err := strconv.Atoi(tok)
				if err == nil && i >= 0 && i < len(d) {
					isIndex, doc = true, d[i]
				} else {
					walk = false
				}
			case map[string]any:
				doc = d[tok]
			default:
				walk = false
			}
		} else if _, err := strconv.Atoi(tok); err == nil {
			isIndex = true
		}
		if isIndex {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// JoinPath joins a parent field path and a relative one.
func JoinPath(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent
	case strings.HasPrefix(child, "["):
		return parent + child
	}
	return parent + "." + child
}
