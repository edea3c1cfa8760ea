package extauthz

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/google/uuid"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// Checker decides a request (a *gateway.Gateway).
type Checker interface {
	Check(ctx context.Context, in gateway.Input) gateway.Verdict
}

// PathPrefix is the path under which the HTTP service mode is served: Envoy's http_service
// path_prefix. Envoy appends the original path to it.
const PathPrefix = "/ext-authz"

// HeaderRemove is the HTTP service mode's way to name headers Envoy must remove from the
// upstream request (a comma-separated list), the counterpart of OkHttpResponse.headers_to_remove.
const HeaderRemove = "X-Envoy-Auth-Headers-To-Remove"

// maxDrain bounds how much of an HTTP-service request body (with_request_body) is read before
// answering; the body takes no part in the decision, and reading it keeps the connection
// reusable.
const maxDrain = 8 << 20

// Server answers Envoy's ext_authz requests, gRPC and HTTP, with the gateway's decisions.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	checker Checker
	log     *slog.Logger
	grpc    *grpc.Server
	ready   func(context.Context) error
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger of malformed requests (decisions are logged by the gateway).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithReadiness serves grpc.health.v1.Health beside the Authorization service: SERVING while
// ready returns nil, NOT_SERVING otherwise, so that an Envoy cluster's grpc_health_check stops
// sending checks to a node that is not ready or is shutting down.
func WithReadiness(ready func(context.Context) error) Option {
	return func(s *Server) { s.ready = ready }
}

// New returns a Server deciding with c.
func New(c Checker, opts ...Option) *Server {
	s := &Server{checker: c}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.grpc = grpc.NewServer()
	authv3.RegisterAuthorizationServer(s.grpc, s)
	if s.ready != nil {
		healthgrpc.RegisterHealthServer(s.grpc, health{ready: s.ready})
	}
	return s
}

// health answers grpc.health.v1 Check for the whole server ("") and for the Authorization
// service; Watch is not served (Envoy's health checker calls Check).
type health struct {
	healthgrpc.UnimplementedHealthServer
	ready func(context.Context) error
}

func (h health) Check(ctx context.Context, req *healthgrpc.HealthCheckRequest) (*healthgrpc.HealthCheckResponse, error) {
	if svc := req.GetService(); svc != "" && svc != authv3.Authorization_ServiceDesc.ServiceName {
		return nil, status.Errorf(codes.NotFound, "unknown service %q", svc)
	}
	if h.ready(ctx) != nil {
		return &healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_NOT_SERVING}, nil
	}
	return &healthgrpc.HealthCheckResponse{Status: healthgrpc.HealthCheckResponse_SERVING}, nil
}

// Handler serves both modes on one listener: HTTP/2 requests with a gRPC content type go to
// envoy.service.auth.v3.Authorization; every other request is an HTTP-service check under
// PathPrefix. The listener must speak HTTP/2 without TLS (h2c) when it has no TLS: Envoy's gRPC
// client uses prior knowledge.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
		s.grpc.ServeHTTP(w, r)
		return
	}
	s.serveHTTPService(w, r)
}

// Check implements envoy.service.auth.v3.Authorization/Check.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	in, err := FromCheckRequest(req)
	if err != nil {
		st, body, h := s.malformed(ctx, err)
		return denied(st, body, h), nil
	}
	v := s.checker.Check(ctx, in)
	if !v.Allow {
		return denied(v.Status, v.Body, v.Header), nil
	}
	ok := &authv3.OkHttpResponse{HeadersToRemove: removals(v)}
	for _, k := range sortedKeys(v.Set) {
		for _, val := range v.Set[k] {
			ok.Headers = append(ok.Headers, overwrite(k, val))
		}
	}
	if v.DecisionID != "" {
		// Every response the client gets carries the decision id, as on the proxy path.
		ok.ResponseHeadersToAdd = []*corev3.HeaderValueOption{overwrite(gateway.HeaderDecisionID, v.DecisionID)}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(codes.OK)},
		HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: ok},
	}, nil
}

// denied is the CheckResponse of a refusal: the gateway's status, body and headers for Envoy to
// send to the client. The gRPC status is never OK, so Envoy denies whatever failure_mode_allow
// says (that setting only covers a failed call).
func denied(status int, body []byte, h http.Header) *authv3.CheckResponse {
	code := codes.PermissionDenied
	switch {
	case status == http.StatusUnauthorized:
		code = codes.Unauthenticated
	case status == http.StatusServiceUnavailable:
		code = codes.Unavailable
	}
	d := &authv3.DeniedHttpResponse{Status: &typev3.HttpStatus{Code: typev3.StatusCode(validStatus(status))}, Body: string(body)}
	for _, k := range sortedKeys(h) {
		if strings.EqualFold(k, "Content-Length") {
			continue // Envoy sets it from the body
		}
		for _, val := range h[k] {
			d.Headers = append(d.Headers, overwrite(k, val))
		}
	}
	return &authv3.CheckResponse{
		Status:       &rpcstatus.Status{Code: int32(code), Message: http.StatusText(status)},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: d},
	}
}

// validStatus keeps a denial a denial: a status outside 400-599 (which no gateway response
// has) becomes 500.
func validStatus(s int) int {
	if s < 400 || s > 599 {
		return http.StatusInternalServerError
	}
	return s
}

// overwrite is a header for Envoy to set, replacing any value of the same name (lower-case, as
// HTTP/2 and Envoy's header maps key them).
func overwrite(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{
		Header:       &corev3.HeaderValue{Key: strings.ToLower(k), Value: v},
		AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
	}
}

// envoyKeeps are headers of Verdict.Remove that stay Envoy's business: hop-by-hop and framing
// headers (Envoy strips or regenerates them itself) and the forwarding headers Envoy sets or
// sanitizes by its own use_remote_address and xff_num_trusted_hops rules. The gateway lists
// them because, as a proxy, it is the edge; behind Envoy it is not.
var envoyKeeps = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true, "transfer-encoding": true,
	"te": true, "trailer": true, "upgrade": true,
	"x-forwarded-for": true, "x-forwarded-proto": true, "x-forwarded-host": true, "x-forwarded-port": true,
}

// removals are the lower-cased names Envoy must remove from the upstream request: the
// verdict's Remove (every client X-Gatehouse-* spelling among them), less what envoyKeeps and
// less the headers the verdict sets, which Envoy would otherwise remove after setting them.
func removals(v gateway.Verdict) []string {
	var out []string
	for _, k := range v.Remove {
		lk := strings.ToLower(k)
		if envoyKeeps[lk] || len(v.Set.Values(k)) > 0 || slices.Contains(out, lk) {
			continue
		}
		out = append(out, lk)
	}
	slices.Sort(out)
	return out
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// malformed answers a request that does not say which request Envoy asks about: 400 with a
// body naming the field, logged with reason bad_path (the request line cannot be read one way
// only). No decision is reported to the gateway: there is no request to decide.
func (s *Server) malformed(ctx context.Context, err error) (int, []byte, http.Header) {
	id := newDecisionID()
	var bad *BadRequestError
	msg := err.Error()
	if errors.As(err, &bad) {
		msg = bad.Field + ": " + bad.Problem
	}
	s.log.InfoContext(ctx, "request denied", "reason", string(gateway.ReasonBadPath), "status", http.StatusBadRequest,
		"decisionId", id, "source", gateway.SourceExtAuthz, "err", msg)
	body, _ := json.Marshal(map[string]string{"message": "Invalid ext_authz request: " + msg})
	h := http.Header{"Content-Type": {"application/json"}, gateway.HeaderDecisionID: {id}}
	return http.StatusBadRequest, body, h
}

func newDecisionID() string {
	id, err := uuid.NewV7()
	if err != nil {
		id = uuid.New()
	}
	return id.String()
}

// serveHTTPService answers Envoy's HTTP service mode: 200 with the identity headers (Envoy
// copies those its allowed_upstream_headers lists) and HeaderRemove; otherwise the gateway's
// status, headers and body, which Envoy sends to the client.
func (s *Server) serveHTTPService(w http.ResponseWriter, r *http.Request) {
	in, err := fromHTTPService(r, PathPrefix)
	if errors.Is(err, errNotOurs) {
		writeJSON(w, r, http.StatusNotFound, []byte(`{"message":"Not Found: ext_authz HTTP checks are served under `+PathPrefix+`/"}`), nil)
		return
	}
	if err != nil {
		st, body, h := s.malformed(r.Context(), err)
		writeJSON(w, r, st, body, h)
		return
	}
	// with_request_body: the body is not part of the decision.
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxDrain))
	v := s.checker.Check(r.Context(), in)
	if !v.Allow {
		writeJSON(w, r, validStatus(v.Status), v.Body, v.Header)
		return
	}
	h := w.Header()
	for k, vals := range v.Set {
		h[k] = append([]string(nil), vals...)
	}
	if rm := removals(v); len(rm) > 0 {
		h.Set(HeaderRemove, strings.Join(rm, ", "))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

func writeJSON(w http.ResponseWriter, r *http.Request, status int, body []byte, hdr http.Header) {
	h := w.Header()
	for k, vals := range hdr {
		h[k] = append([]string(nil), vals...)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
