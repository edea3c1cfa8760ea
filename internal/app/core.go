package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Core is the store-agnostic part of a node that every front end shares: the policy-store
// service and its snapshots, token validation, the Cedar decider, the API definitions and the
// gateway's decision pipeline. The server (New) adds the management API, the built-in IdP,
// audit and listeners around it; the Lambda authorizer mode runs it alone on a read-only
// in-memory store.
//
// NewCore writes nothing to the store. Capabilities only some stores have are used when the
// store has them: a store.ContactReporter bounds how stale served decisions may be
// (maxStaleness); a store.Watcher is watched by the server, not here.
type Core struct {
	Store     store.Store
	Policies  *policystore.Service
	Snapshots *policystore.Snapshots
	Identity  *identity.Registry
	Decider   *authz.Decider
	APIs      *apidef.Service
	Gateway   *gateway.Gateway
}

// CoreOptions are what the front ends add to a core.
type CoreOptions struct {
	// CognitoEndpoint maps a Cognito pool id to the issuer base serving it when that is not
	// AWS (the built-in IdP, an emulator); nil or "" means AWS.
	CognitoEndpoint func(ctx context.Context, poolID string) string
	// Revocations, when set, fails tokens their issuer revoked (the built-in IdP).
	Revocations identity.RevocationChecker
	// OnDecision and OnUpstreamError are the gateway's observers (gateway.Deps).
	OnDecision      func(ctx context.Context, d gateway.Decision)
	OnUpstreamError func(ctx context.Context, api, kind string)
	// WrapTokens, when set, wraps the token validator of the gateway and the decider (the
	// server's tracing).
	WrapTokens func(gateway.TokenValidator) gateway.TokenValidator
	// GatewayOptions are added to the gateway's (the server's upstream transport wrapper).
	GatewayOptions []gateway.Option
}

// NewCore builds the core on st from cfg (region, account, trusted proxies, cache budget,
// schema limit, maxStaleness). Close the core's Identity when done with it.
func NewCore(st store.Store, cfg config.Config, logger *slog.Logger, o CoreOptions) (*Core, error) {
	if logger == nil {
		logger = slog.Default()
	}
	var trusted []netip.Prefix
	for _, c := range cfg.TrustedProxies {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return nil, fmt.Errorf("trustedProxies: %w", err)
		}
		trusted = append(trusted, p)
	}
	c := &Core{Store: st}
	tokenCache, decisionCache := cfg.CacheBudgets()
	idOpts := []identity.Option{identity.WithLogger(logger), identity.WithTokenCacheBytes(tokenCache)}
	if o.Revocations != nil {
		idOpts = append(idOpts, identity.WithRevocationChecker(o.Revocations))
	}
	c.Identity = identity.New(idOpts...)
	psOpts := []policystore.Option{policystore.WithAccount(cfg.Region, cfg.AccountID), policystore.WithMaxSchemaBytes(cfg.MaxSchemaBytes)}
	if o.CognitoEndpoint != nil {
		psOpts = append(psOpts, policystore.WithCognitoEndpoint(o.CognitoEndpoint))
	}
	c.Policies = policystore.New(st, psOpts...)
	var snapOpts []policystore.SnapshotsOption
	if cr, ok := st.(store.ContactReporter); ok {
		snapOpts = append(snapOpts, policystore.WithMaxStaleness(time.Duration(cfg.MaxStaleness), cr.LastContact))
	}
	c.Snapshots = policystore.NewSnapshots(st, logger, snapOpts...)
	var tokens gateway.TokenValidator = c.Identity
	if o.WrapTokens != nil {
		tokens = o.WrapTokens(tokens)
	}
	c.Decider = authz.New(c.Snapshots, tokens)
	c.APIs = apidef.NewService(st)
	c.Gateway = gateway.New(gateway.Deps{Store: st, Snapshots: c.Snapshots, Tokens: tokens, Logger: logger,
		Region: cfg.Region, Account: cfg.AccountID, TrustedProxies: trusted, CognitoEndpoint: o.CognitoEndpoint,
		Fresh: c.Snapshots.Fresh, OnDecision: o.OnDecision, OnUpstreamError: o.OnUpstreamError}, append([]gateway.Option{gateway.WithCacheBytes(decisionCache)}, o.GatewayOptions...)...)
	return c, nil
}
