package identity

import (
	"errors"
	"fmt"
)

// Error classes returned by [Registry.Validate]. Every error wraps exactly one of them, so callers
// branch with errors.Is and log [Reason]; the detail text is for logs, never for clients.
var (
	ErrMalformed       = errors.New("malformed token")
	ErrUnknownIssuer   = errors.New("unknown issuer")
	ErrUnknownKey      = errors.New("unknown signing key")
	ErrKeysUnavailable = errors.New("signing keys unavailable")
	ErrSignature       = errors.New("invalid signature")
	ErrExpired         = errors.New("token expired")
	ErrNotYetValid     = errors.New("token not yet valid")
	ErrClaims          = errors.New("invalid claims")
	ErrTokenUse        = errors.New("wrong token use")
	ErrAudience        = errors.New("wrong audience or client")
	ErrRevoked         = errors.New("token revoked")
)

// ValidationError carries the error class and a detail for logs.
type ValidationError struct {
	Kind   error // one of the Err* classes above
	Detail string
}

func (e *ValidationError) Error() string { return e.Kind.Error() + ": " + e.Detail }

func (e *ValidationError) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &ValidationError{Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

var reasons = []struct {
	err    error
	reason string
}{
	{ErrMalformed, "jwt_malformed"},
	{ErrUnknownIssuer, "jwt_unknown_issuer"},
	{ErrUnknownKey, "jwt_unknown_key"},
	{ErrKeysUnavailable, "jwks_unavailable"},
	{ErrSignature, "jwt_bad_signature"},
	{ErrExpired, "jwt_expired"},
	{ErrNotYetValid, "jwt_not_yet_valid"},
	{ErrClaims, "jwt_bad_claims"},
	{ErrTokenUse, "jwt_wrong_token_use"},
	{ErrAudience, "jwt_wrong_audience"},
	{ErrRevoked, "jwt_revoked"},
}

// Reason returns a stable, low-cardinality reason code for logs and metrics ("jwt_expired", ...),
// or "jwt_invalid" for an error that is not one of this package's classes.
func Reason(err error) string {
	for _, r := range reasons {
		if errors.Is(err, r.err) {
			return r.reason
		}
	}
	return "jwt_invalid"
}
