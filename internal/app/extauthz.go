package app

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"

	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/server"
)

// extAuthzListener serves Envoy's ext_authz (gRPC and HTTP service) with the gateway's
// decisions: over TLS with the gateway's certificate when the node has one, else plaintext
// HTTP/1.1 and h2c, which Envoy's gRPC client speaks.
func (n *Node) extAuthzListener(tlsCfg *tls.Config) server.Listener {
	s := extauthz.New(auditGatedChecker{n}, extauthz.WithLogger(n.Logger), extauthz.WithReadiness(n.extAuthzReady))
	// A copy: net/http adds "h2" to the NextProtos of each server's config as it starts, and
	// the gateway's listener starts with the same one at the same time (a data race).
	tlsCfg = tlsCfg.Clone()
	return server.Listener{Name: "ext-authz", Addr: n.Config.ExtAuthzListen, Handler: n.obs.observeHTTP("ext-authz", countVerdictStatus, s.Handler()), TLS: tlsCfg, H2C: tlsCfg == nil}
}

// extAuthzReady is /readyz's answer for the gRPC health service.
func (n *Node) extAuthzReady(ctx context.Context) error {
	if r, code := n.Readiness(ctx); code != http.StatusOK {
		return errors.New(r.Status)
	}
	return nil
}

// auditGatedChecker is the gateway's Check under auditGate's rule: while the audit trail
// cannot be written in deny mode, every decision is a 503. It is a verdict rather than an HTTP
// answer so that both ext_authz modes carry it to Envoy as a denial.
type auditGatedChecker struct{ n *Node }

func (c auditGatedChecker) Check(ctx context.Context, in gateway.Input) gateway.Verdict {
	if a := c.n.auditor; a != nil && a.deny && a.w.Err() != nil {
		return gateway.Verdict{Status: http.StatusServiceUnavailable,
			Body:   []byte(`{"message":"Service Unavailable: the audit trail cannot be written"}` + "\n"),
			Header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"1"}}}
	}
	return c.n.Gateway.Check(ctx, in)
}
