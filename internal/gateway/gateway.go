package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Snapshots yields the current compiled snapshot of a policy store.
type Snapshots interface {
	Get(ctx context.Context, storeID string) (*policystore.Snapshot, error)
}

// TokenValidator validates bearer tokens (an *identity.Registry).
type TokenValidator interface {
	Validate(ctx context.Context, raw string, use identity.TokenUse, sources []*identity.Source) (*identity.Token, *identity.Source, error)
}

// Deps are the gateway's collaborators.
type Deps struct {
	// Store holds the API definitions (scope "gateway"); its OnChange marks the state stale.
	Store store.Store
	// Snapshots serves cedar authorizers, which decide on the snapshot they read
	// (authz.PrincipalFromToken, authz.DecideWithPrincipal).
	Snapshots Snapshots
	// Tokens validates tokens of jwt, iam and cedar authorizers.
	Tokens TokenValidator
	Logger *slog.Logger
	// Region (default us-east-1) and Account (default 000000000000) appear in method ARNs.
	Region  string
	Account string
	// TrustedProxies are peers whose X-Forwarded-For/-Proto/-Host are believed; from anyone
	// else those headers are dropped and the peer address is the client.
	TrustedProxies []netip.Prefix
	// CognitoEndpoint returns the issuer base of a user pool served locally (the built-in IdP),
	// or "" for a pool in AWS; used for jwt and iam authorizers' identity sources.
	CognitoEndpoint func(ctx context.Context, poolID string) string
	// OnDecision, when set, receives every decision (allowed or denied, including requests
	// refused before routing) for audit records and metrics. It is called synchronously on
	// the request path and must not block.
	OnDecision func(ctx context.Context, d Decision)
	// OnUpstreamError, when set, is told of each failed upstream call: kind is
	// "upstream_timeout", "upstream_error" or "body_too_large". It must not block.
	OnUpstreamError func(ctx context.Context, api, kind string)
	// Fresh, when set, reports an error once the node's data may be stale (the store has
	// not answered for longer than maxStaleness): every request is then answered 503
	// {"message":"Service Unavailable","reason":"store_unavailable"}.
	Fresh func() error
}

// Decision is one authorization decision as the gateway reports it to Deps.OnDecision. It never
// holds a token: TokenHash is audit.TokenHash of it.
type Decision struct {
	ID     string // the decision id (X-Gatehouse-Decision-Id), also $context.requestId
	Source string // SourceGateway or SourceForwardAuth
	Time   time.Time
	API    string
	// Route is "METHOD /path" as written; "" when no route matched.
	Route          string
	Authorizer     string // the route's authorizer name, "none" for public routes
	AuthorizerType string // jwt, cedar, iam or none
	Method         string
	Path           string // canonical path; "" when the path was refused
	ClientIP       string
	Allowed        bool
	// Status is the status answered for a denial (0 when the request went on to the upstream
	// or the mock).
	Status    int
	Reason    string // stable reason of a denial (no_route, missing_token, policy_deny, ...)
	Principal string
	TokenHash string
	// PolicyStoreID and Revision: the cedar authorizer's store and the snapshot revision
	// decided at; otherwise Revision is the gateway state's revision.
	PolicyStoreID       string
	Revision            int64
	DeterminingPolicies []string
	Cached              bool // the decision (or identity) came from the decision cache
	Latency             time.Duration
	// Routed is when the route was found (Time to Routed is route selection; zero when no
	// route was found), for tracing.
	Routed time.Time
}

// Option configures a Gateway.
type Option func(*Gateway)

// WithTransport replaces the upstream transport.
func WithTransport(rt http.RoundTripper) Option { return func(g *Gateway) { g.transport = rt } }

// WithTransportWrapper wraps the upstream transport (the default or WithTransport's), e.g. to
// time upstream calls and propagate trace context. The requests it sees carry the client
// request's context.
func WithTransportWrapper(wrap func(http.RoundTripper) http.RoundTripper) Option {
	return func(g *Gateway) { g.wrapTransport = wrap }
}

// WithUpstreamTimeouts sets the dial and response-header timeouts of the default transport
// (defaults 10s and 60s).
func WithUpstreamTimeouts(dial, responseHeader time.Duration) Option {
	return func(g *Gateway) { g.dialTimeout, g.headerTimeout = dial, responseHeader }
}

// WithCacheBytes bounds the decision cache shared by every authorizer (estimated heap bytes;
// default 32 MiB, half of the default cacheMemory). 0 turns decision caching off.
func WithCacheBytes(n uint64) Option { return func(g *Gateway) { g.cacheBytes = n } }

// Gateway is the data plane. It is safe for concurrent use.
type Gateway struct {
	deps          Deps
	log           *slog.Logger
	now           func() time.Time
	region        string
	account       string
	transport     http.RoundTripper
	wrapTransport func(http.RoundTripper) http.RoundTripper
	dialTimeout   time.Duration
	headerTimeout time.Duration
	cacheBytes    uint64
	decisions     *decisionCache // nil: caching off

	buffers *bufferPool // shared by every upstream's proxy, across state rebuilds

	cur      atomic.Pointer[state]
	wanted   atomic.Int64 // newest rev("gateway") heard of
	lastFail atomic.Int64 // unix nanos of the last failed rebuild
	build    singleflight.Group
}

// New returns a Gateway and registers it for the store's change notifications. The state is
// built on the first request (or by [Gateway.Refresh]).
func New(deps Deps, opts ...Option) *Gateway {
	g := &Gateway{deps: deps, now: time.Now, region: deps.Region, account: deps.Account,
		dialTimeout: 10 * time.Second, headerTimeout: 60 * time.Second, cacheBytes: 32 << 20}
	for _, o := range opts {
		o(g)
	}
	g.buffers = newBufferPool()
	g.decisions = newDecisionCache(g.cacheBytes, g.now)
	g.log = deps.Logger
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.region == "" {
		g.region = "us-east-1"
	}
	if g.account == "" {
		g.account = "000000000000"
	}
	if g.transport == nil {
		g.transport = &http.Transport{
			Proxy:                 nil, // never an environment proxy: upstreams are explicit
			DialContext:           (&net.Dialer{Timeout: g.dialTimeout, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          1024,
			MaxIdleConnsPerHost:   256,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ResponseHeaderTimeout: g.headerTimeout,
			ExpectContinueTimeout: time.Second,
		}
	}
	if g.wrapTransport != nil {
		g.transport = g.wrapTransport(g.transport)
	}
	if deps.Store != nil {
		deps.Store.OnChange(g.observe)
	}
	return g
}

// observe records a newer gateway revision; the rebuild happens on the next request.
func (g *Gateway) observe(revs map[string]int64) {
	rev, ok := revs[apidef.Scope]
	if !ok {
		return
	}
	for {
		cur := g.wanted.Load()
		if rev <= cur || g.wanted.CompareAndSwap(cur, rev) {
			return
		}
	}
}

// Refresh re-reads rev("gateway") (for changes made by other nodes whose notifications may
// have been missed) and rebuilds the state if it moved.
func (g *Gateway) Refresh(ctx context.Context) error {
	rev, err := g.deps.Store.Revision(ctx, apidef.Scope)
	if err != nil {
		return fmt.Errorf("read gateway revision: %w", err)
	}
	g.observe(map[string]int64{apidef.Scope: rev})
	_, err = g.state(ctx)
	return err
}

// Revision returns the revision of the state currently served (0 before the first build).
func (g *Gateway) Revision() int64 {
	if s := g.cur.Load(); s != nil {
		return s.rev
	}
	return 0
}

// FlushCache drops the cached decisions of an API's authorizers ("" flushes every API).
func (g *Gateway) FlushCache(apiName string) {
	s := g.cur.Load()
	if s == nil {
		return
	}
	for _, a := range s.apis {
		if apiName != "" && a.name != apiName && a.id != apiName {
			continue
		}
		for _, az := range a.authorizers {
			if az.cache != nil {
				az.cache.InvalidateAll()
			}
		}
	}
}

const retryAfterFailure = time.Second

var errNoState = errors.New("gateway state unavailable")

// errStoreUnreadable marks a state build that failed because the API definitions could not be
// read from the store (an outage, not a fault in the definitions): with no state built before,
// the node has no data and answers 503 store_unavailable, as its readiness says.
var errStoreUnreadable = errors.New("api definitions unreadable")

// state returns the current compiled state, rebuilding it when a newer revision was heard of.
// The steady state is two atomic loads.
func (g *Gateway) state(ctx context.Context) (*state, error) {
	s := g.cur.Load()
	if s != nil && s.rev >= g.wanted.Load() {
		return s, nil
	}
	if s != nil && g.now().UnixNano()-g.lastFail.Load() < int64(retryAfterFailure) {
		return s, nil
	}
	v, err, _ := g.build.Do("state", func() (any, error) {
		// Detached from the request: one caller's cancellation must not fail everyone's build.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return g.rebuild(bctx)
	})
	if err != nil {
		g.lastFail.Store(g.now().UnixNano())
		if s != nil {
			g.log.Error("gateway state rebuild failed; serving the last good state", "revision", s.rev, "err", err)
			return s, nil
		}
		g.log.Error("gateway state unavailable", "err", err)
		if errors.Is(err, errStoreUnreadable) {
			return nil, fmt.Errorf("%w: %w", errNoState, errStoreUnreadable)
		}
		return nil, errNoState
	}
	return v.(*state), nil
}

func (g *Gateway) rebuild(ctx context.Context) (*state, error) {
	if s := g.cur.Load(); s != nil && s.rev >= g.wanted.Load() {
		return s, nil
	}
	as, err := apidef.Load(ctx, g.deps.Store)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errStoreUnreadable, err)
	}
	s, err := g.compile(ctx, as)
	if err != nil {
		return nil, err
	}
	g.cur.Store(s)
	for {
		w := g.wanted.Load()
		if s.rev <= w || g.wanted.CompareAndSwap(w, s.rev) {
			break
		}
	}
	g.log.Info("gateway state loaded", "revision", s.rev, "apis", len(s.apis))
	return s, nil
}
