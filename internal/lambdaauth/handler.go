package lambdaauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// ErrUnauthorized is the error API Gateway answers 401 to; its message must be exactly
// "Unauthorized".
var ErrUnauthorized = errors.New("Unauthorized") //nolint:staticcheck // API Gateway matches this exact text

// AnonymousPrincipal is principalId when the route needs no identity (API Gateway requires one).
const AnonymousPrincipal = "anonymous"

// Checker decides one request as the gateway does (gateway.Gateway).
type Checker interface {
	Check(ctx context.Context, in gateway.Input) gateway.Verdict
}

// Options configure the handler.
type Options struct {
	// SimpleResponses answers HTTP API payload 2.0 events with {isAuthorized, context}, for
	// authorizers created with enableSimpleResponses; otherwise they get an IAM policy.
	SimpleResponses bool
	Logger          *slog.Logger
}

// Handler answers authorizer events. It implements the aws-lambda-go lambda.Handler interface.
type Handler struct {
	c    Checker
	opts Options
}

// New returns a handler deciding with c.
func New(c Checker, opts Options) *Handler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{c: c, opts: opts}
}

// Invoke answers one event (JSON in, JSON out).
func (h *Handler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	ev, err := ParseEvent(payload)
	if err != nil {
		h.opts.Logger.WarnContext(ctx, "authorizer event refused", "err", err)
		return nil, err
	}
	resp, err := h.Decide(ctx, ev)
	if err != nil {
		return nil, err
	}
	return json.Marshal(resp)
}

// Decide decides a parsed event and returns the response object, or ErrUnauthorized, or an
// error for a verdict API Gateway must answer 500.
func (h *Handler) Decide(ctx context.Context, ev Event) (any, error) {
	return Respond(ev, h.c.Check(ctx, ev.Input), h.opts.SimpleResponses)
}

// Respond carries a verdict out in API Gateway's terms (see the package doc).
func Respond(ev Event, v gateway.Verdict, simple bool) (any, error) {
	switch {
	case v.Status == http.StatusUnauthorized:
		return nil, ErrUnauthorized
	case v.Status >= 500:
		return nil, fmt.Errorf("authorizer failed: %s (decision %s)", v.Reason, v.DecisionID)
	}
	ctxMap := Context(v)
	if simple && ev.Kind == KindV2 {
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: v.Allow, Context: ctxMap}, nil
	}
	principal := v.Principal
	if principal == "" {
		principal = AnonymousPrincipal
	}
	effect := "Deny"
	if v.Allow {
		effect = "Allow"
	}
	doc := events.APIGatewayCustomAuthorizerPolicy{Version: "2012-10-17", Statement: []events.IAMPolicyStatement{{
		Action: []string{"execute-api:Invoke"}, Effect: effect, Resource: []string{ev.ARN},
	}}}
	if ev.Kind == KindV2 {
		return events.APIGatewayV2CustomAuthorizerIAMPolicyResponse{PrincipalID: principal, PolicyDocument: doc, Context: ctxMap}, nil
	}
	return events.APIGatewayCustomAuthorizerResponse{PrincipalID: principal, PolicyDocument: doc, Context: ctxMap}, nil
}

// Context is the authorizer context of a verdict: strings only, which every API Gateway
// flavour accepts ($context.authorizer.<key> in REST mappings, $context.authorizer.lambda.<key>
// in HTTP APIs). Integrations map these into request headers, so the principal, the groups and
// the claims are encoded as the identity headers are: a comma in a group name never reads as
// a separator.
func Context(v gateway.Verdict) map[string]any {
	m := map[string]any{
		"principal":  gateway.EncodeIdentity(v.Principal),
		"groups":     gateway.EncodeIdentityList(v.Groups),
		"decisionId": v.DecisionID,
	}
	if v.APIName != "" {
		m["api"] = v.APIName
	}
	if v.RouteKey != "" {
		m["route"] = v.RouteKey
	}
	if v.Reason != "" {
		m["reason"] = string(v.Reason)
	}
	if len(v.Claims) > 0 {
		b, _ := json.Marshal(v.Claims)
		m["claims"] = string(b)
	}
	return m
}
