package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
)

// auditor turns decisions and management writes into audit records.
type auditor struct {
	w *audit.Writer
}

func (a *auditor) write(r audit.Record) {
	if a == nil || a.w == nil {
		return
	}
	// Write never blocks past its bound; a record it cannot queue is counted and the loss is
	// recorded in the chain as a gap, so nothing here can stall a decision.
	_ = a.w.Write(r)
}

// Decided records an AVP-API decision.
func (a *auditor) Decided(ctx context.Context, d avpapi.Decided) {
	a.write(audit.Record{Kind: "decision", Source: "avp", Operation: d.Operation, Actor: awsjson.Caller(ctx),
		Principal: d.Principal, TokenJTI: strings.Join(d.TokenIDs, ","), PolicyStoreID: d.PolicyStoreID, Revision: d.Revision,
		Cedar:    &audit.Cedar{Principal: d.Principal, Action: d.Action, Resource: d.Resource},
		Decision: d.Decision, DeterminingPolicies: d.DeterminingPolicies, Errors: d.Errors})
}

// BundleApplied records one committed Gatehouse.ApplyBundle: one record per bundle, however
// many objects it changed.
func (a *auditor) BundleApplied(ctx context.Context, b avpapi.BundleApplied) {
	a.write(audit.Record{Kind: "write", Source: "admin", Actor: awsjson.Caller(ctx), Operation: "Gatehouse.ApplyBundle",
		Target: b.Scope, PolicyStoreID: b.PolicyStoreID, RevisionBefore: b.RevisionBefore, Revision: b.RevisionAfter, Change: b.Digest})
}

// isWrite reports whether a management operation changes state.
func isWrite(op string) bool {
	for _, p := range []string{"Create", "Update", "Delete", "Put", "Flush"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// wrapOp records successful management writes: who, what, on which target, and a hash of
// the request (the request itself may hold policy text; the hash ties the record to it
// without copying it).
func (a *auditor) wrapOp(target string, op awsjson.Op) awsjson.Op {
	_, name, _ := strings.Cut(target, ".")
	if a == nil || a.w == nil || !isWrite(name) {
		return op
	}
	return func(ctx context.Context, body []byte) (any, error) {
		start := time.Now()
		out, err := op(ctx, body)
		if err != nil {
			return out, err
		}
		var ids struct {
			PolicyStoreID    string `json:"policyStoreId"`
			PolicyID         string `json:"policyId"`
			PolicyTemplateID string `json:"policyTemplateId"`
			IdentitySourceID string `json:"identitySourceId"`
			API              string `json:"api"`
			Group            string `json:"group"`
		}
		_ = json.Unmarshal(body, &ids)
		parts := []string{}
		for _, v := range []string{ids.PolicyStoreID, ids.PolicyID, ids.PolicyTemplateID, ids.IdentitySourceID, ids.API, ids.Group} {
			if v != "" {
				parts = append(parts, v)
			}
		}
		sum := sha256.Sum256(body)
		a.write(audit.Record{Kind: "write", Source: "admin", Actor: awsjson.Caller(ctx), Operation: target,
			Target: strings.Join(parts, "/"), PolicyStoreID: ids.PolicyStoreID, Change: "sha256:" + hex.EncodeToString(sum[:8]),
			LatencyUs: time.Since(start).Microseconds()})
		return out, nil
	}
}

// gatewayDecided feeds a gateway or forward-auth decision to the metrics and the audit trail.
func (n *Node) gatewayDecided(_ context.Context, d gateway.Decision) {
	result := "deny"
	if d.Allowed {
		result = "allow"
	}
	typ := d.AuthorizerType
	if typ == "" {
		typ = "none"
	}
	n.Metrics.Decisions.WithLabelValues(typ, d.PolicyStoreID, result).Inc()
	n.Metrics.DecisionLatency.WithLabelValues(typ).Observe(d.Latency.Seconds())
	if typ != "none" {
		cache := "miss"
		if d.Cached {
			cache = "hit"
		}
		n.Metrics.DecisionCache.WithLabelValues(typ, cache).Inc()
	}
	if n.auditor == nil {
		return
	}
	n.auditor.write(audit.Record{ID: d.ID, Kind: audit.KindDecision, Source: d.Source, DecisionID: d.ID, Time: d.Time,
		ClientIP: d.ClientIP, Method: d.Method, Path: d.Path, RouteID: d.API + " " + d.Route, Principal: d.Principal,
		TokenHash: d.TokenHash, Reason: d.Reason, PolicyStoreID: d.PolicyStoreID, Revision: d.Revision,
		Decision: strings.ToUpper(result), DeterminingPolicies: d.DeterminingPolicies, LatencyUs: d.Latency.Microseconds(),
		UpstreamStatus: d.Status})
}
