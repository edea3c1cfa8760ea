package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// IdPDirectoryOption configures NewIdPDirectory.
type IdPDirectoryOption func(*cognitoDirectory)

// WithIdPOperations lets the directory change the IdP: ops returns the IdP's own Cognito
// operation by name (idp.IdP.Operation), which the console runs in process with the signed-in
// person as the caller, so the IdP validates the request as it validates an SDK's and its
// audit record names "console:<user>" rather than the node's key pair.
func WithIdPOperations(ops func(name string) (awsjson.Op, bool)) IdPDirectoryOption {
	return func(d *cognitoDirectory) { d.ops = ops }
}

// IdPEditor runs one Cognito operation of the built-in IdP as actor: in is the request
// (marshalled to the operation's JSON), out (may be nil) receives its response. An IdP refusal
// comes back as an *awsjson.Error carrying the Cognito exception name.
type IdPEditor interface {
	Cognito(ctx context.Context, actor, operation string, in, out any) error
}

// errNoEditor: the node's directory cannot write (made without WithIdPOperations).
var errNoEditor = errors.New("this node's console cannot change the built-in IdP")

// Cognito runs operation in process; the response goes through JSON exactly as it would
// over HTTP, so out sees what an SDK sees.
func (d cognitoDirectory) Cognito(ctx context.Context, actor, operation string, in, out any) error {
	if d.ops == nil {
		return errNoEditor
	}
	op, ok := d.ops(operation)
	if !ok {
		return fmt.Errorf("%w: the IdP has no operation %s", errNoEditor, operation)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s request: %w", operation, err)
	}
	res, err := op(awsjson.WithCaller(ctx, actor), body)
	if err != nil {
		return err
	}
	if out == nil || res == nil {
		return nil
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("%s response: %w", operation, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s response: %w", operation, err)
	}
	return nil
}
