package policystore

import (
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Resource types as AVP names them in errors.
const (
	ResourcePolicyStore    = "POLICY_STORE"
	ResourcePolicy         = "POLICY"
	ResourceTemplate       = "POLICY_TEMPLATE"
	ResourceSchema         = "SCHEMA"
	ResourceIdentitySource = "IDENTITY_SOURCE"
	ResourceEntity         = "ENTITY"
)

// FieldError names one invalid input field.
type FieldError struct {
	Path    string
	Message string
}

// ValidationError is bad input; nothing was written.
type ValidationError struct {
	Message string
	Fields  []FieldError
}

func (e *ValidationError) Error() string { return e.Message }

func invalid(path, format string, args ...any) *ValidationError {
	msg := fmt.Sprintf(format, args...)
	return &ValidationError{Message: path + ": " + msg, Fields: []FieldError{{Path: path, Message: msg}}}
}

// NotFoundError names the missing resource. errors.Is(err, store.ErrNotFound) holds.
type NotFoundError struct {
	ResourceType string
	ResourceID   string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %q not found", e.ResourceType, e.ResourceID)
}

// Is makes NotFoundError match store.ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == store.ErrNotFound }

// ConflictError names the resource in the way. errors.Is(err, store.ErrConflict) holds.
type ConflictError struct {
	Message      string
	ResourceType string
	ResourceID   string
}

func (e *ConflictError) Error() string { return e.Message }

// Is makes ConflictError match store.ErrConflict.
func (e *ConflictError) Is(target error) bool { return target == store.ErrConflict }

// ErrInvalidState is returned when an operation is not allowed in the resource's state (a
// protected store cannot be deleted).
var ErrInvalidState = errors.New("invalid state")

// notFound converts a store miss into a NotFoundError and passes other errors through.
func notFound(err error, resourceType, id string) error {
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{ResourceType: resourceType, ResourceID: id}
	}
	return err
}
