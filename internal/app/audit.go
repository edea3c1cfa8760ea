package app

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// auditor turns decisions and management writes into audit records.
type auditor struct {
	w *audit.Writer
	// deny: answer 503 instead of deciding while the trail cannot be written (auditFailure).
	deny bool
	// closeErr is the writer's Close error: records neither in the trail nor in a gap record.
	closeErr error
}

// The audit signing key and the latest digest of each trail live in the store, apart from
// the trail they vouch for.
const (
	auditScope                 = "audit"
	auditKeyKind    store.Kind = "audit_signing_key"
	auditDigestKind store.Kind = "audit_digest"
	auditKeyID                 = "current"
)

type auditKey struct {
	KeyID   string    `json:"keyId"`
	Seed    []byte    `json:"seed"`
	Created time.Time `json:"created"`
}

type auditAnchor struct {
	Trail string `json:"trail"`
	audit.Digest
}

// openAudit starts the audit trail when one is configured: digests signed with the store's
// key and anchored in the store, auditFailure applied, and Close's verdict kept for AuditErr.
func (n *Node) openAudit(ctx context.Context) error {
	cfg := n.Config
	if cfg.AuditFile == "" {
		return nil
	}
	host, _ := os.Hostname()
	opts := []audit.Option{audit.WithInstance(fmt.Sprintf("%s:%d", host, os.Getpid())), audit.WithLogger(n.Logger)}
	// A node with configured credentials starts without its database; its trail then has no
	// digests until a restart reaches the key, and says so in the log (verify lists the
	// records as unsigned).
	if key, kid, err := auditSigningKey(ctx, n.Store); err != nil {
		n.Logger.Error("audit digests off until restart: the signing key could not be read from the store", "err", err)
	} else {
		trail := AuditTrailName(cfg.AuditFile)
		opts = append(opts, audit.WithDigests(audit.DigestConfig{Key: key, KeyID: kid, Interval: time.Duration(cfg.AuditDigestInterval),
			Anchor: func(ctx context.Context, d audit.Digest) error {
				data, err := json.Marshal(auditAnchor{Trail: trail, Digest: d})
				if err != nil {
					return err
				}
				return n.Store.Update(ctx, func(tx store.Tx) error {
					return tx.Put(ctx, store.Object{Scope: auditScope, Kind: auditDigestKind, ID: trail, Data: data})
				})
			}}))
	}
	w, err := audit.Open(cfg.AuditFile, opts...)
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	n.Audit = w
	n.auditor = &auditor{w: w, deny: cfg.AuditFailure == "deny"}
	n.Metrics.RegisterAudit(w)
	// Closed after the listeners drained (Serve returns first), so in-flight decisions are
	// recorded before the trail is flushed.
	n.closers = append(n.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			n.auditor.closeErr = err
			n.Logger.Error("audit trail not fully flushed", "err", err)
		}
	})
	return nil
}

// AuditErr returns, after Close, why the audit trail did not close cleanly: records that are
// neither in it nor reported by a gap record. The serve command exits non-zero on it.
func (n *Node) AuditErr() error {
	if n.auditor == nil {
		return nil
	}
	return n.auditor.closeErr
}

// AuditTrailName names the trail written to path on this host: the id of its digest in the
// store.
func AuditTrailName(path string) string {
	host, _ := os.Hostname()
	if abs, err := filepath.Abs(path); err == nil && path != "stdout" && path != "-" {
		path = abs
	}
	return host + ":" + path
}

// auditSigningKey returns the store's audit signing key, creating it on first use.
func auditSigningKey(ctx context.Context, st store.Store) (ed25519.PrivateKey, string, error) {
	var k auditKey
	for range 2 { // a second try reads the key another node created meanwhile
		err := st.Update(ctx, func(tx store.Tx) error {
			o, err := tx.Get(ctx, auditScope, auditKeyKind, auditKeyID)
			if err == nil {
				return json.Unmarshal(o.Data, &k)
			}
			if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			seed := make([]byte, ed25519.SeedSize)
			if _, err := rand.Read(seed); err != nil {
				return err
			}
			sum := sha256.Sum256(ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey))
			k = auditKey{KeyID: hex.EncodeToString(sum[:8]), Seed: seed, Created: time.Now().UTC()}
			data, err := json.Marshal(k)
			if err != nil {
				return err
			}
			return tx.Create(ctx, store.Object{Scope: auditScope, Kind: auditKeyKind, ID: auditKeyID, Data: data})
		})
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		if err != nil {
			return nil, "", fmt.Errorf("signing key: %w", err)
		}
		if len(k.Seed) != ed25519.SeedSize {
			return nil, "", errors.New("signing key: stored seed has the wrong size")
		}
		return ed25519.NewKeyFromSeed(k.Seed), k.KeyID, nil
	}
	return nil, "", errors.New("signing key: created concurrently and not readable")
}

// AuditVerifyOptions reads what `audit verify` checks a trail against from the store: the
// public key of the digests and the latest digest anchored for trail (see AuditTrailName).
func AuditVerifyOptions(ctx context.Context, st store.Reader, trail string) (audit.VerifyOptions, error) {
	var opts audit.VerifyOptions
	o, err := st.Get(ctx, auditScope, auditKeyKind, auditKeyID)
	if errors.Is(err, store.ErrNotFound) {
		return opts, errors.New("the store holds no audit signing key (no node has written a trail with it)")
	}
	if err != nil {
		return opts, fmt.Errorf("audit signing key: %w", err)
	}
	var k auditKey
	if err := json.Unmarshal(o.Data, &k); err != nil || len(k.Seed) != ed25519.SeedSize {
		return opts, fmt.Errorf("audit signing key: unreadable (%v)", err)
	}
	opts.Keys = map[string]ed25519.PublicKey{k.KeyID: ed25519.NewKeyFromSeed(k.Seed).Public().(ed25519.PublicKey)}
	o, err = st.Get(ctx, auditScope, auditDigestKind, trail)
	if errors.Is(err, store.ErrNotFound) {
		return opts, nil
	}
	if err != nil {
		return opts, fmt.Errorf("audit digest of %s: %w", trail, err)
	}
	var a auditAnchor
	if err := json.Unmarshal(o.Data, &a); err != nil {
		return opts, fmt.Errorf("audit digest of %s: %w", trail, err)
	}
	opts.Anchors = []audit.Digest{a.Digest}
	return opts, nil
}

// auditGate answers 503 instead of deciding while the trail cannot be written, when
// auditFailure is deny ("no audit, no access").
func (n *Node) auditGate(h http.Handler) http.Handler {
	if n.auditor == nil || !n.auditor.deny {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.auditor.w.Err() != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `{"message":"Service Unavailable: the audit trail cannot be written"}`+"\n")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// errAuditUnavailable is the management API's answer while the trail cannot be written in
// deny mode.
var errAuditUnavailable = &awsjson.Error{Type: "ServiceUnavailableException", Message: "the audit trail cannot be written", Status: http.StatusServiceUnavailable}

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

// isRead reports whether a management operation only reads.
func isRead(op string) bool {
	for _, p := range []string{"Get", "List", "Describe"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// wrapOp records successful management writes: who, what, on which target, and a hash of
// the request (the request itself may hold policy text; the hash ties the record to it
// without copying it). In deny mode every operation but reads (decisions and writes, which
// the trail records) answers 503 while the trail cannot be written.
func (a *auditor) wrapOp(target string, op awsjson.Op) awsjson.Op {
	_, name, _ := strings.Cut(target, ".")
	if a == nil || a.w == nil {
		return op
	}
	if isWrite(name) {
		op = a.recordWrite(target, op)
	}
	if !a.deny || isRead(name) {
		return op
	}
	return func(ctx context.Context, body []byte) (any, error) {
		if a.w.Err() != nil {
			return nil, errAuditUnavailable
		}
		return op(ctx, body)
	}
}

func (a *auditor) recordWrite(target string, op awsjson.Op) awsjson.Op {
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

// gatewayDecided feeds a gateway or forward-auth decision to the metrics, the request's
// spans (observe.go) and the audit trail.
func (n *Node) gatewayDecided(ctx context.Context, d gateway.Decision) {
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
	if !d.Allowed {
		n.Metrics.Denials.WithLabelValues(d.API, d.Reason, d.Source).Inc()
	}
	n.obs.decided(ctx, d)
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
