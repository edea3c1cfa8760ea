// Package app assembles one Gatehouse node from its settings — store, decision engine,
// identity registry, management API, gateway and built-in IdP — and runs its listeners. The
// command and the end-to-end tests both start nodes through it. The decision pipeline itself
// is the store-agnostic Core (core.go), which the Lambda authorizer mode runs alone.
//
// Invariants:
//   - /readyz answers ready only while the store answers a read of its revisions now; a
//     corrupt store is not_ready at once, an unreachable one degraded until maxStaleness.
//   - A starting node answers starting (503) until the snapshot of every policy store is
//     built (policystore.Snapshots.Preload), so no request routed to a ready node waits for
//     a store to load.
//   - Once Serve's context ends the node reports shutting_down (503) and keeps serving for
//     shutdownDelay, answering with Connection: close; only then does it stop accepting and
//     drain for at most shutdownTimeout. The store is watched until the drain is over.
//   - Every request of the gateway, forward-auth and ext_authz listeners is counted once in
//     gatehouse_requests_total with the API and route the gateway reported (observe.go); with
//     tracing on, every request of those listeners and of the management API is a server
//     span, continuing the caller's trace context only when the peer is in trustedProxies,
//     and the upstream receives the traceparent of Gatehouse's own client span.
package app

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/metrics"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/tracing"
)

// Node is a running (or ready to run) Gatehouse node.
type Node struct {
	Config      config.Config
	Logger      *slog.Logger
	Store       *sqldb.DB
	Policies    *policystore.Service
	Snapshots   *policystore.Snapshots
	Identity    *identity.Registry
	Decider     *authz.Decider
	Metrics     *metrics.Metrics
	Tracing     *tracing.Provider // nil while tracing is off (docs/observability.md)
	IdP         *idp.IdP
	APIs        *apidef.Service
	Gateway     *gateway.Gateway
	Audit       *audit.Writer
	Credentials Credentials

	group   *server.Group
	closers []func()
	auditor *auditor
	obs     *observer
	// stopping is set when shutdown begins: readiness fails from then on.
	stopping atomic.Bool
	// loaded is set once every policy store's snapshot is built: readiness waits for it.
	loaded atomic.Bool
}

// Credentials are the management key pair.
type Credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// Generated is true when Gatehouse made the pair (no credentials were configured).
	Generated bool `json:"-"`
}

// credentialsKind stores the generated management key pair when none is configured, so a new
// user gets a working, random secret without reading docs first.
const credentialsKind store.Kind = "management_credentials"

// RandomString returns n characters drawn from alphabet with crypto/rand.
func RandomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

// EnsureCredentials returns the configured credentials, else the stored generated ones, else
// generates, stores and returns a new pair.
func EnsureCredentials(ctx context.Context, st store.Store, cfg config.Config) (Credentials, error) {
	if cfg.AccessKeyID != "" {
		return Credentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}, nil
	}
	var out Credentials
	err := st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, "", credentialsKind, "default")
		if err == nil {
			return json.Unmarshal(o.Data, &out)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		out = Credentials{
			AccessKeyID:     "GH" + RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 18),
			SecretAccessKey: RandomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
			Generated:       true,
		}
		data, _ := json.Marshal(out)
		return tx.Create(ctx, store.Object{Kind: credentialsKind, ID: "default", Data: data})
	})
	if err != nil {
		return out, fmt.Errorf("management credentials: %w", err)
	}
	return out, nil
}

// StoredCredentials reads the generated credentials from a database.
func StoredCredentials(ctx context.Context, st store.Store) (Credentials, error) {
	o, err := st.Get(ctx, "", credentialsKind, "default")
	if err != nil {
		return Credentials{}, fmt.Errorf("no generated credentials stored (set GATEHOUSE_ACCESS_KEY_ID and GATEHOUSE_SECRET_ACCESS_KEY): %w", err)
	}
	var c Credentials
	if err := json.Unmarshal(o.Data, &c); err != nil {
		return c, fmt.Errorf("stored credentials: %w", err)
	}
	return c, nil
}

// New opens the store and builds every component, binding no sockets yet.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger) (*Node, error) {
	if logger == nil {
		logger = slog.Default()
	}
	opts := []sqldb.Option{sqldb.WithLogger(logger), sqldb.WithTimeout(time.Duration(cfg.StoreTimeout))}
	if cfg.AccessKeyID != "" {
		// Configured credentials need no database: start even if it is down, not ready
		// and deciding nothing until it answers.
		opts = append(opts, sqldb.WithDeferredConnect())
	}
	st, err := sqldb.Open(ctx, cfg.DB, opts...)
	if err != nil {
		return nil, err
	}
	n := &Node{Config: cfg, Logger: logger, Store: st}
	n.closers = append(n.closers, func() { st.Close() })
	if n.Credentials, err = EnsureCredentials(ctx, st, cfg); err != nil {
		n.Close()
		return nil, err
	}
	if err := n.startTracing(ctx); err != nil {
		n.Close()
		return nil, err
	}
	n.IdP = NewIdP(st, cfg, logger, n.Verifier().Lookup, idp.WithAudit(n.idpChanged), idp.WithSignInObserver(n.obs.signIn), idp.WithKeysChanged(n.idpKeysChanged))
	if config.Enabled(cfg.IdPListen) {
		n.recordIssuerBase()
	}
	// Tokens of the built-in IdP that it revoked fail validation and drop cached decisions.
	core, err := NewCore(st, cfg, logger, CoreOptions{CognitoEndpoint: n.localPoolEndpoint, Revocations: n.IdP,
		WrapTokens: n.obs.wrapTokens, GatewayOptions: []gateway.Option{gateway.WithTransportWrapper(n.obs.wrapTransport)}, OnDecision: n.gatewayDecided, OnUpstreamError: func(_ context.Context, api, kind string) {
			n.Metrics.UpstreamErrors.WithLabelValues(api, kind).Inc()
		}})
	if err != nil {
		n.Close()
		return nil, err
	}
	n.closers = append(n.closers, core.Identity.Close)
	n.Policies, n.Snapshots, n.Identity, n.Decider, n.APIs, n.Gateway = core.Policies, core.Snapshots, core.Identity, core.Decider, core.APIs, core.Gateway
	n.Metrics = metrics.New(n.Identity, n.Snapshots)
	n.observeMetrics()
	n.Metrics.RegisterStore(st.LastContact, 2*time.Duration(cfg.PollInterval)+5*time.Second)
	if err := n.openAudit(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

// NewIdP builds the built-in IdP on st; the CLI uses it offline with the same settings.
func NewIdP(st store.Store, cfg config.Config, logger *slog.Logger, creds func(string) (string, bool), extra ...idp.Option) *idp.IdP {
	base := cfg.IdPIssuerBase
	if base == "" && config.Enabled(cfg.IdPListen) {
		base = "http://" + cfg.IdPListen
	} // else none: CreatePool refuses rather than guess an issuer
	var trusted []netip.Prefix
	for _, c := range cfg.TrustedProxies {
		if p, err := netip.ParsePrefix(c); err == nil { // config validation rejects the others
			trusted = append(trusted, p)
		}
	}
	opts := []idp.Option{idp.WithBaseURL(base), idp.WithRegion(cfg.Region), idp.WithLogger(logger), idp.WithTrustedProxies(trusted), idp.WithThrottle(signInThrottle(cfg))}
	if creds != nil {
		opts = append(opts, idp.WithCredentials(creds))
	}
	if s := codeSender(cfg, logger); s != nil {
		opts = append(opts, idp.WithCodeSender(s))
	}
	return idp.New(st, append(opts, extra...)...)
}

// localPoolEndpoint maps a Cognito pool id served by the built-in IdP to its issuer base.
func (n *Node) localPoolEndpoint(ctx context.Context, poolID string) string {
	if !config.Enabled(n.Config.IdPListen) {
		return ""
	}
	if _, err := n.Store.Get(ctx, "", "user_pool", poolID); err != nil {
		return ""
	}
	return n.Config.IdPIssuerBase
}

// Verifier checks management requests against the node's credentials.
func (n *Node) Verifier(services ...string) *sigv4.Verifier {
	id, secret := n.Credentials.AccessKeyID, n.Credentials.SecretAccessKey
	return &sigv4.Verifier{
		Lookup: func(k string) (string, bool) {
			if k == id && id != "" {
				return secret, true
			}
			return "", false
		},
		Services: services,
		Region:   n.Config.Region,
	}
}

// AdminHandler serves the management API, health and (later) metrics.
func (n *Node) AdminHandler() http.Handler {
	ops := avpapi.APIOps(n.APIs)
	ops["FlushAuthorizerCache"] = func(ctx context.Context, body []byte) (any, error) {
		var in avpapi.APIRef
		if err := awsjson.Decode(body, &in); err != nil {
			return nil, err
		}
		n.Gateway.FlushCache(in.API)
		return struct{}{}, nil
	}
	maps.Copy(ops, avpapi.RouteAccessOps(n.Gateway))
	opts := []avpapi.Option{avpapi.WithLogger(n.Logger), avpapi.WithGatehouseOps(ops)}
	if n.auditor != nil {
		opts = append(opts, avpapi.WithObserver(n.auditor))
	}
	opts = append(opts, avpapi.WithOpWrapper(n.wrapOp))
	api := avpapi.New(n.Policies, n.Decider, opts...)
	mux := http.NewServeMux()
	sessions := n.mountConsole(mux, api)
	mux.Handle("POST /{$}", api.Handler(n.Verifier("verifiedpermissions", "gatehouse"), sessions))
	n.handleHealth(mux)
	return mux
}

// HealthHandler serves /healthz, /readyz and /metrics alone (the healthListen listener).
func (n *Node) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	n.handleHealth(mux)
	return mux
}

func (n *Node) handleHealth(mux *http.ServeMux) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /readyz", n.ready)
	mux.Handle("GET /metrics", n.Metrics.Handler())
}

// Listen binds the node's listeners.
func (n *Node) Listen() error {
	gw := server.Listener{Name: "gateway", Addr: n.Config.Listen, Handler: n.GatewayHandler()}
	if n.Config.TLSCertFile != "" {
		tlsCfg, err := server.ReloadingTLS(n.Config.TLSCertFile, n.Config.TLSKeyFile, n.Logger)
		if err != nil {
			return err
		}
		gw.TLS = tlsCfg
	}
	ls := []server.Listener{
		gw,
		{Name: "admin", Addr: n.Config.AdminListen, Handler: n.obs.observeHTTP("admin", noCount, n.AdminHandler())},
	}
	if config.Enabled(n.Config.ForwardAuthListen) {
		ls = append(ls, server.Listener{Name: "forward-auth", Addr: n.Config.ForwardAuthListen, Handler: n.obs.observeHTTP("forward-auth", countHTTPStatus, n.auditGate(n.Gateway.ForwardAuthHandler()))})
	}
	if config.Enabled(n.Config.IdPListen) {
		ls = append(ls, server.Listener{Name: "idp", Addr: n.Config.IdPListen, Handler: n.IdP.Handler()})
	}
	if config.Enabled(n.Config.ExtAuthzListen) {
		ls = append(ls, n.extAuthzListener(gw.TLS))
	}
	if config.Enabled(n.Config.HealthListen) {
		ls = append(ls, server.Listener{Name: "health", Addr: n.Config.HealthListen, Handler: n.HealthHandler()})
	}
	g, err := server.Bind(n.Logger, ls)
	if err != nil {
		return err
	}
	n.group = g
	return nil
}

// Addr returns the bound address of a listener ("admin", "gateway", "idp", "forward-auth",
// "ext-authz", "health").
func (n *Node) Addr(name string) string {
	if n.group == nil {
		return ""
	}
	return n.group.Addr(name)
}

// Serve runs the listeners until ctx ends, then shuts down as a rolling update needs:
// readiness fails at once, requests are served for shutdownDelay more (while load balancers
// stop sending), then the listeners stop accepting and drain.
func (n *Node) Serve(ctx context.Context) error {
	if n.group == nil {
		if err := n.Listen(); err != nil {
			return err
		}
	}
	// The store is watched until the drain is over: requests served meanwhile must still
	// see every change.
	run, stopRun := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRun()
	go n.Store.Watch(run, time.Duration(n.Config.PollInterval))
	go n.preload(run)
	go n.sweep(run)
	serve, stopServing := context.WithCancel(run)
	defer stopServing()
	go func() {
		select {
		case <-ctx.Done():
		case <-run.Done():
			return
		}
		n.stopping.Store(true)
		delay := time.Duration(n.Config.ShutdownDelay)
		n.Logger.Info("shutting down: not ready, serving until the delay is over", "shutdownDelay", delay)
		// Clients holding connections open are told to reconnect, which takes them to other
		// nodes once the load balancer has dropped this one.
		n.group.CloseAfterResponses()
		select {
		case <-time.After(delay):
		case <-run.Done():
		}
		stopServing()
	}()
	return n.group.Serve(serve, time.Duration(n.Config.ShutdownTimeout))
}

// preload builds every policy store's snapshot, retrying while the store cannot be read, and
// then lets readiness report ready.
func (n *Node) preload(ctx context.Context) {
	start := time.Now()
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := n.Snapshots.Preload(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return
		}
		n.Logger.Warn("loading policy stores; not ready until they load", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	n.loaded.Store(true)
	n.Logger.Info("policy stores loaded", "stores", len(n.Snapshots.States()), "seconds", time.Since(start).Seconds())
}

// Close releases the node's resources.
func (n *Node) Close() {
	for i := len(n.closers) - 1; i >= 0; i-- {
		n.closers[i]()
	}
	n.closers = nil
}

// Readiness is the /readyz document.
type Readiness struct {
	Status string `json:"status"` // starting, ready, degraded, not_ready, shutting_down
	// StoreError is why the store's revisions could not be read (when they could not).
	StoreError string `json:"storeError,omitempty"`
	// StoreUnreachableFor is how long the store has not answered (degraded and not_ready).
	StoreUnreachableFor string              `json:"storeUnreachableFor,omitempty"`
	Snapshots           []SnapshotReadiness `json:"snapshots"`
	Issuers             []IssuerReadiness   `json:"issuers"`
}

// SnapshotReadiness is one policy store snapshot served by the node.
type SnapshotReadiness struct {
	PolicyStoreID string `json:"policyStoreId"`
	Revision      int64  `json:"revision"`
	AgeSeconds    int64  `json:"ageSeconds"`
}

// IssuerReadiness is one token issuer's key state.
type IssuerReadiness struct {
	Issuer    string `json:"issuer"`
	Keys      int    `json:"keys"`
	LastError string `json:"lastError,omitempty"`
}

// Readiness reports whether the node can decide with current data: starting (503) until every
// policy store's snapshot is built; ready when the store answers a read of its revisions;
// degraded (still 200) while it is unreachable for less than maxStaleness, serving the last
// snapshots; not ready (503) after that, or at once when the store is corrupt;
// shutting_down (503) once shutdown has begun.
func (n *Node) Readiness(ctx context.Context) (Readiness, int) {
	r := Readiness{Status: "ready", Snapshots: []SnapshotReadiness{}, Issuers: []IssuerReadiness{}}
	for _, s := range n.Snapshots.States() {
		r.Snapshots = append(r.Snapshots, SnapshotReadiness{PolicyStoreID: s.PolicyStoreID, Revision: s.Revision, AgeSeconds: int64(time.Since(s.LoadedAt).Seconds())})
	}
	for _, is := range n.Identity.Stats().Issuers {
		r.Issuers = append(r.Issuers, IssuerReadiness{Issuer: is.Issuer, Keys: is.Keys, LastError: is.LastError})
	}
	if n.stopping.Load() {
		r.Status = "shutting_down"
		return r, http.StatusServiceUnavailable
	}
	// Probes time out after a second or so: answer degraded before they give up.
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	err := n.Store.Ping(pctx)
	if err == nil {
		if !n.loaded.Load() {
			r.Status = "starting"
			return r, http.StatusServiceUnavailable
		}
		return r, http.StatusOK
	}
	r.StoreError = err.Error()
	if errors.Is(err, sqldb.ErrCorrupt) {
		// Damage does not heal: the last snapshots are no reason to stay in rotation.
		r.Status = "not_ready"
		return r, http.StatusServiceUnavailable
	}
	since := time.Duration(0)
	if last := n.Store.LastContact(); !last.IsZero() {
		since = time.Since(last)
		r.StoreUnreachableFor = since.Round(time.Second).String()
	}
	if since > 0 && since < time.Duration(n.Config.MaxStaleness) && n.loaded.Load() {
		r.Status = "degraded"
		return r, http.StatusOK
	}
	r.Status = "not_ready"
	return r, http.StatusServiceUnavailable
}

func (n *Node) ready(w http.ResponseWriter, r *http.Request) {
	doc, code := n.Readiness(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(doc)
}

// sweep deletes the IdP's expired codes, sessions and refresh tokens every few minutes.
func (n *Node) sweep(ctx context.Context) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if removed, err := n.IdP.Sweep(ctx); err != nil {
				n.Logger.Warn("idp sweep failed", "err", err)
			} else if removed > 0 {
				n.Logger.Debug("idp sweep", "removed", removed)
			}
		}
	}
}
