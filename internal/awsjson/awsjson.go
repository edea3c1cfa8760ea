// Package awsjson serves AWS JSON 1.0/1.1 protocol APIs: target dispatch,
// request limits, authentication and AWS-shaped errors.
//
// Order of checks for every request, each failing closed:
//
//  1. POST / only: another path → 404, another method → 405
//     (UnknownOperationException).
//  2. X-Amz-Target "<TargetPrefix>.<Op>" with a registered Op, else 400
//     UnknownOperationException.
//  3. Content-Type application/x-amz-json-<JSONVersion> (parameters such as
//     charset are ignored), else 400 SerializationException.
//  4. Body at most MaxBody bytes, else 413 ValidationException.
//  5. SigV4 unless the Op is in Public. Authentication failures map as:
//     no Authorization header → 403 AccessDeniedException "Missing
//     Authentication Token"; unknown access key → 400
//     UnrecognizedClientException; malformed Authorization →
//     400 IncompleteSignatureException; bad scope, bad signature or a
//     request time outside the skew → 400 InvalidSignatureException (the
//     codes and statuses AWS's JSON services use, so SDKs behave as against
//     AWS, including clock-skew correction). A Service without a Verifier
//     rejects every non-public Op. A request that carries no SigV4 material at
//     all (no Authorization header, no X-Amz-Credential or X-Amz-Signature
//     query parameter) may instead be authenticated by Sessions (the web
//     console's session, which also authorizes the Op); any request with SigV4
//     material is decided by the Verifier alone, so a session never makes a bad
//     signature pass.
//  6. The Op runs with the caller's access key id in its context (Caller).
//     An *Error it returns is sent as is; any other error or a panic is
//     logged and answered with a generic 500 InternalServerException.
//
// Every response carries x-amzn-RequestId; errors also carry
// X-Amzn-ErrorType and the body {"__type":...,"message":...,...}.
package awsjson

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
)

// DefaultMaxBody is the request body limit when Service.MaxBody is zero.
const DefaultMaxBody = 1 << 20

// Op handles one operation. body is the raw request body; decode it with
// Decode. The result is marshalled with encoding/json; nil sends {}.
type Op func(ctx context.Context, body []byte) (any, error)

// Service is an http.Handler for one AWS JSON protocol service.
type Service struct {
	TargetPrefix string          // e.g. "VerifiedPermissions"
	JSONVersion  string          // "1.0" (default) or "1.1"
	Ops          map[string]Op   // by operation name
	Public       map[string]bool // ops allowed without a signature, e.g. Cognito InitiateAuth
	Verifier     *sigv4.Verifier
	// Sessions, when set, authenticates requests that carry no SigV4 material.
	Sessions SessionAuthenticator
	MaxBody  int64        // 0 means DefaultMaxBody
	Logger   *slog.Logger // nil discards
}

// SessionAuthenticator authenticates and authorizes a request that carries no AWS signature
// by other means. It answers handled=false when the request is not of its kind (no session
// cookie), so the Service answers as it would without it; an *Error refuses the request.
// caller becomes the request's Caller (the audit actor).
type SessionAuthenticator interface {
	AuthenticateSession(r *http.Request, target string, body []byte) (caller string, handled bool, err *Error)
}

type callerKey struct{}

// Caller returns the access key id that signed the request, or "" for a
// public operation.
func Caller(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

// WithCaller returns ctx carrying the caller's access key id; for tests and
// in-process callers that bypass HTTP.
func WithCaller(ctx context.Context, accessKeyID string) context.Context {
	return context.WithValue(ctx, callerKey{}, accessKeyID)
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Service) contentType() string {
	if s.JSONVersion == "" {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-" + s.JSONVersion
}

func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	w.Header().Set("x-amzn-RequestId", reqID)
	log := s.logger().With("request_id", reqID)

	if r.URL.Path != "/" {
		s.writeError(w, unknownOperation("Unknown operation: path must be /.", http.StatusNotFound))
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.writeError(w, unknownOperation("Unknown operation: method must be POST.", http.StatusMethodNotAllowed))
		return
	}
	prefix, opName, ok := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	op := s.Ops[opName]
	if !ok || prefix != s.TargetPrefix || op == nil {
		s.writeError(w, unknownOperation("Unknown operation: X-Amz-Target must name an operation of "+s.TargetPrefix+".", http.StatusBadRequest))
		return
	}
	log = log.With("op", opName)
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != s.contentType() {
		s.writeError(w, serialization("Content-Type must be "+s.contentType()+"."))
		return
	}

	max := s.MaxBody
	if max <= 0 {
		max = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e := Validation(fmt.Sprintf("Request body exceeds the maximum size of %d bytes.", max))
			e.Status = http.StatusRequestEntityTooLarge
			s.writeError(w, e)
			return
		}
		log.Info("read request body", "err", err)
		s.writeError(w, serialization("Could not read the request body."))
		return
	}

	ctx := r.Context()
	if !s.Public[opName] {
		key, aerr := s.authenticate(r, prefix+"."+opName, body)
		if aerr != nil {
			log.Info("authentication failed", "reason", aerr.Type, "err", aerr.Message)
			s.writeError(w, aerr)
			return
		}
		ctx = WithCaller(ctx, key)
		log = log.With("caller", key)
	}

	out, err := s.call(ctx, log, op, body)
	if err != nil {
		var ae *Error
		if !errors.As(err, &ae) {
			log.Error("operation failed", "err", err)
			ae = Internal("An internal error occurred. Retry the request; if it keeps failing, check the service logs for request id " + reqID + ".")
		}
		s.writeError(w, ae)
		return
	}
	if out == nil {
		out = struct{}{}
	}
	b, err := json.Marshal(out)
	if err != nil {
		log.Error("marshal response", "err", err)
		s.writeError(w, Internal("An internal error occurred while encoding the response."))
		return
	}
	w.Header().Set("Content-Type", s.contentType())
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// call runs op, turning a panic into an error so one bad request cannot take
// the listener down.
func (s *Service) call(ctx context.Context, log *slog.Logger, op Op, body []byte) (out any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("operation panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, err = nil, fmt.Errorf("panic: %v", p)
		}
	}()
	return op(ctx, body)
}

// hasSigV4 reports whether r carries any part of an AWS signature, in a header or (presigned)
// in the query.
func hasSigV4(r *http.Request) bool {
	if r.Header.Get("Authorization") != "" {
		return true
	}
	q := r.URL.Query()
	return q.Has("X-Amz-Credential") || q.Has("X-Amz-Signature") || q.Has("X-Amz-Algorithm")
}

func (s *Service) authenticate(r *http.Request, target string, body []byte) (string, *Error) {
	if s.Sessions != nil && !hasSigV4(r) {
		caller, handled, err := s.Sessions.AuthenticateSession(r, target, body)
		if err != nil {
			return "", err
		}
		if handled {
			return caller, nil
		}
	}
	if s.Verifier == nil {
		return "", AccessDenied("Authentication is not configured for this service.")
	}
	key, err := s.Verifier.Verify(r, body)
	if err == nil {
		return key, nil
	}
	msg := err.Error()
	switch {
	case errors.Is(err, sigv4.ErrMissing):
		return "", AccessDenied("Missing Authentication Token")
	case errors.Is(err, sigv4.ErrUnknownKey):
		return "", &Error{Type: "UnrecognizedClientException", Message: msg, Status: http.StatusBadRequest}
	case errors.Is(err, sigv4.ErrMalformed):
		return "", &Error{Type: "IncompleteSignatureException", Message: msg, Status: http.StatusBadRequest}
	case errors.Is(err, sigv4.ErrExpired), errors.Is(err, sigv4.ErrInvalid):
		return "", &Error{Type: "InvalidSignatureException", Message: msg, Status: http.StatusBadRequest}
	}
	return "", AccessDenied("The request could not be authenticated.")
}

func (s *Service) writeError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	b, err := json.Marshal(e)
	if err != nil {
		// Extra held something unencodable; drop it rather than fail open.
		b, _ = json.Marshal(&Error{Type: e.Type, Message: e.Message})
	}
	h := w.Header()
	h.Set("Content-Type", s.contentType())
	h.Set("X-Amzn-ErrorType", e.Type)
	w.WriteHeader(status)
	w.Write(b)
}
