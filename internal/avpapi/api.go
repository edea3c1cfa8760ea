// Package avpapi serves the Amazon Verified Permissions API (AWS JSON 1.0, target prefix
// VerifiedPermissions) over Gatehouse's policy stores, so AWS SDKs and the AWS CLI work
// against Gatehouse unchanged, plus Gatehouse's own operations (entities, gateway APIs, group
// IAM policies) in the same protocol under the target prefix Gatehouse.
package avpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Target prefixes served.
const (
	TargetPrefix          = "VerifiedPermissions"
	GatehouseTargetPrefix = "Gatehouse"
)

// MaxBatch is AVP's limit of requests per batch authorization call.
const MaxBatch = 30

// DecisionObserver is told about every decision made through the API (the audit trail).
type DecisionObserver interface {
	Decided(ctx context.Context, d Decided)
}

// Decided describes one decision for audit.
type Decided struct {
	Operation           string
	PolicyStoreID       string
	Revision            int64
	Principal           string
	Action              string
	Resource            string
	Decision            string
	DeterminingPolicies []string
	Errors              []string
	TokenIDs            []string
}

// API implements the operations.
type API struct {
	svc      *policystore.Service
	decider  *authz.Decider
	logger   *slog.Logger
	observer DecisionObserver
	extra    map[string]awsjson.Op
	wrap     func(target string, op awsjson.Op) awsjson.Op
}

// WithOpWrapper wraps every operation (target is "<prefix>.<Op>"), e.g. to audit writes.
func WithOpWrapper(wrap func(target string, op awsjson.Op) awsjson.Op) Option {
	return func(a *API) { a.wrap = wrap }
}

func (a *API) wrapAll(prefix string, ops map[string]awsjson.Op) map[string]awsjson.Op {
	if a.wrap == nil {
		return ops
	}
	out := make(map[string]awsjson.Op, len(ops))
	for name, op := range ops {
		out[name] = a.wrap(prefix+"."+name, op)
	}
	return out
}

// Option configures an API.
type Option func(*API)

// WithObserver reports every decision to o.
func WithObserver(o DecisionObserver) Option { return func(a *API) { a.observer = o } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(a *API) { a.logger = l } }

// WithGatehouseOps adds operations under the Gatehouse target prefix (the gateway's admin
// operations are registered by their owner this way).
func WithGatehouseOps(ops map[string]awsjson.Op) Option {
	return func(a *API) {
		for k, v := range ops {
			a.extra[k] = v
		}
	}
}

// New returns the API.
func New(svc *policystore.Service, decider *authz.Decider, opts ...Option) *API {
	a := &API{svc: svc, decider: decider, logger: slog.Default(), extra: map[string]awsjson.Op{}}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Handler serves both target prefixes at POST /, authenticated with verifier, or, for a
// request without any SigV4 material, by sessions when it is not nil (the web console).
func (a *API) Handler(verifier *sigv4.Verifier, sessions awsjson.SessionAuthenticator) http.Handler {
	vp := &awsjson.Service{TargetPrefix: TargetPrefix, JSONVersion: "1.0", Ops: a.wrapAll(TargetPrefix, a.Ops()), Verifier: verifier, Sessions: sessions, Logger: a.logger}
	gh := &awsjson.Service{TargetPrefix: GatehouseTargetPrefix, JSONVersion: "1.0", Ops: a.wrapAll(GatehouseTargetPrefix, a.GatehouseOps()), Verifier: verifier, Sessions: sessions, Logger: a.logger}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), GatehouseTargetPrefix+".") {
			gh.ServeHTTP(w, r)
			return
		}
		vp.ServeHTTP(w, r)
	})
}

// Operation returns the operation a target ("VerifiedPermissions.CreatePolicy",
// "Gatehouse.PutEntities") names, wrapped as Handler serves it (audit included), so another
// front door (the web console) runs exactly the management API's code for it.
func (a *API) Operation(target string) (awsjson.Op, bool) {
	prefix, name, _ := strings.Cut(target, ".")
	var ops map[string]awsjson.Op
	switch prefix {
	case TargetPrefix:
		ops = a.Ops()
	case GatehouseTargetPrefix:
		ops = a.GatehouseOps()
	default:
		return nil, false
	}
	o, ok := ops[name]
	if !ok {
		return nil, false
	}
	if a.wrap != nil {
		o = a.wrap(target, o)
	}
	return o, true
}

// op adapts a typed handler: strict decoding, then error mapping.
func op[In any, Out any](fn func(ctx context.Context, in *In) (Out, error)) awsjson.Op {
	return func(ctx context.Context, body []byte) (any, error) {
		var in In
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		out, err := fn(ctx, &in)
		if err != nil {
			return nil, mapError(err)
		}
		return out, nil
	}
}

// mapError turns domain errors into AWS errors. Anything unrecognized is an internal error;
// awsjson logs it and answers without detail.
func mapError(err error) error {
	var (
		ae *awsjson.Error
		ve *policystore.ValidationError
		nf *policystore.NotFoundError
		ce *policystore.ConflictError
		ie *authz.InputError
		te *authz.TokenError
		fe *identity.FieldError
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &ve):
		fields := make([]awsjson.FieldError, len(ve.Fields))
		for i, f := range ve.Fields {
			fields[i] = awsjson.FieldError{Path: f.Path, Message: f.Message}
		}
		return awsjson.Validation(ve.Message, fields...)
	case errors.As(err, &nf):
		return awsjson.NotFound(nf.Error(), nf.ResourceID, nf.ResourceType)
	case errors.As(err, &ce):
		var res []awsjson.Resource
		if ce.ResourceID != "" {
			res = append(res, awsjson.Resource{ID: ce.ResourceID, Type: ce.ResourceType})
		}
		return awsjson.Conflict(ce.Message, res...)
	case errors.Is(err, policystore.ErrInvalidState):
		return &awsjson.Error{Type: "InvalidStateException", Message: err.Error(), Status: http.StatusBadRequest}
	case errors.As(err, &ie):
		return invalid(ie.Field, "%s", ie.Message)
	case errors.As(err, &te):
		// The reason code tells the caller what to fix without echoing token content.
		return invalid(te.Field, "token is not valid (%s)", identity.Reason(te.Err))
	case errors.As(err, &fe):
		return invalid(fe.Field, "%s", fe.Message)
	case errors.Is(err, store.ErrNotFound):
		return awsjson.NotFound(err.Error(), "", "")
	case errors.Is(err, store.ErrConflict):
		return awsjson.Conflict(err.Error())
	}
	return fmt.Errorf("internal: %w", err)
}

func required(path, v string) error {
	if v == "" {
		return invalid(path, "member must not be null")
	}
	return nil
}

func pageSize(p *int32) int {
	if p == nil {
		return 0
	}
	if *p <= 0 {
		return -1 // rejected by the service with a field error
	}
	return int(*p)
}
