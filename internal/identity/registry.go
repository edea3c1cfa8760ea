package identity

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/maypok86/otter/v2"
)

// Registry validates tokens and owns the key sets (one per issuer, shared by every Source and
// policy store naming that issuer) and the verified-token cache. It is safe for concurrent use;
// create one per process and Close it on shutdown.
type Registry struct {
	client             *http.Client
	now                func() time.Time
	refreshInterval    time.Duration
	unknownKIDInterval time.Duration
	maxStaleness       time.Duration
	fetchTimeout       time.Duration
	// Fixed by New: discovery and JWKS bodies up to 1 MiB, at most 100 keys per JWKS, 30 s of
	// clock skew on exp, nbf and iat.
	maxBody    int64
	maxKeys    int
	leeway     time.Duration
	cacheBytes uint64
	log        *slog.Logger
	revoker    RevocationChecker

	ctx    context.Context
	cancel context.CancelFunc

	sets sync.Map // keySetKey -> *keySet; read on every validation, so no mutex

	mu     sync.Mutex // guards closed and wg.Add against Close
	closed bool
	wg     sync.WaitGroup // refresh loop
	async  sync.WaitGroup // refreshAsync goroutines

	cache                  *otter.Cache[[32]byte, *cacheEntry]
	cacheHits, cacheMisses atomic.Uint64
}

// Option configures a Registry.
type Option func(*Registry)

// WithHTTPClient sets the client for JWKS and discovery fetches. The default client refuses more
// than 3 redirects and any https→http redirect. Timeouts come from WithFetchTimeout either way.
func WithHTTPClient(c *http.Client) Option { return func(r *Registry) { r.client = c } }

// WithClock replaces time.Now (tests).
func WithClock(now func() time.Time) Option { return func(r *Registry) { r.now = now } }

// WithRefreshInterval sets how old keys may get before a background refetch (default 10m).
func WithRefreshInterval(d time.Duration) Option { return func(r *Registry) { r.refreshInterval = d } }

// WithUnknownKIDInterval sets the minimum time between two fetches of one issuer's keys, which
// bounds refetches caused by unknown kids (default 5s, the floor is 1s). It is also the longest a
// key the issuer did not pre-publish waits before its tokens are accepted.
func WithUnknownKIDInterval(d time.Duration) Option {
	return func(r *Registry) { r.unknownKIDInterval = d }
}

// WithMaxStaleness sets how long after the last successful fetch keys are still used while the
// IdP fails (default 24h). After that, validation fails closed with ErrKeysUnavailable.
func WithMaxStaleness(d time.Duration) Option { return func(r *Registry) { r.maxStaleness = d } }

// WithFetchTimeout bounds each discovery or JWKS request (default 5s).
func WithFetchTimeout(d time.Duration) Option { return func(r *Registry) { r.fetchTimeout = d } }

// WithTokenCacheBytes bounds the verified-token cache by estimated heap bytes (default 32 MiB,
// half of the default cacheMemory; each entry weighs what its decoded claims hold, see weigh).
// 0 disables the cache.
func WithTokenCacheBytes(n uint64) Option { return func(r *Registry) { r.cacheBytes = n } }

// WithLogger sets the logger (default: discard). Tokens are never logged.
func WithLogger(l *slog.Logger) Option { return func(r *Registry) { r.log = l } }

// RevocationChecker reports whether a token's issuer revoked it after signing it (a sign-out,
// a disabled or deleted user). It is consulted after the signature verifies, on every
// verified-token cache hit and by [KeyStamp.Current], so it must answer from memory.
type RevocationChecker interface {
	Revoked(tok *Token) bool
}

// WithRevocationChecker makes every validation, and every decision cached from a token, fail
// once c reports the token revoked.
func WithRevocationChecker(c RevocationChecker) Option { return func(r *Registry) { r.revoker = c } }

type cacheEntry struct {
	tok    *Token
	weight uint32
}

// New returns a Registry. It starts one background goroutine for periodic key refresh; Close
// stops it.
func New(opts ...Option) *Registry {
	r := &Registry{
		now:                time.Now,
		refreshInterval:    10 * time.Minute,
		unknownKIDInterval: 5 * time.Second,
		maxStaleness:       24 * time.Hour,
		fetchTimeout:       5 * time.Second,
		maxBody:            1 << 20,
		maxKeys:            100,
		leeway:             30 * time.Second,
		cacheBytes:         32 << 20,
	}
	for _, o := range opts {
		o(r)
	}
	if r.client == nil {
		r.client = &http.Client{CheckRedirect: checkRedirect}
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	r.unknownKIDInterval = max(r.unknownKIDInterval, time.Second)
	r.refreshInterval = max(r.refreshInterval, r.unknownKIDInterval)
	if r.fetchTimeout <= 0 {
		r.fetchTimeout = 5 * time.Second
	}
	if r.maxStaleness <= 0 {
		r.maxStaleness = 24 * time.Hour
	}
	if r.cacheBytes > 0 {
		r.cache = otter.Must(&otter.Options[[32]byte, *cacheEntry]{
			MaximumWeight: r.cacheBytes,
			Weigher:       func(_ [32]byte, e *cacheEntry) uint32 { return e.weight },
			ExpiryCalculator: otter.ExpiryCreatingFunc(func(e otter.Entry[[32]byte, *cacheEntry]) time.Duration {
				return e.Value.tok.Expiry.Sub(r.now())
			}),
			Clock: otterClock{r.now},
		})
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Add(1)
	go r.refreshLoop()
	return r
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 3 {
		return errors.New("too many redirects")
	}
	if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
		return errors.New("refusing redirect from https to " + req.URL.Scheme)
	}
	return nil
}

// otterClock lets cache expiry follow the injected clock. Tick returns nil, so otter runs no
// clean-up ticker: expired entries are dropped on access or evicted by weight.
type otterClock struct{ now func() time.Time }

func (c otterClock) NowNano() int64                      { return c.now().UnixNano() }
func (c otterClock) Tick(time.Duration) <-chan time.Time { return nil }

// Close stops background refreshes and in-flight fetches. Validate must not be called after Close.
func (r *Registry) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	r.async.Wait()
	if r.cache != nil {
		r.cache.StopAllGoroutines()
	}
}

func (r *Registry) refreshLoop() {
	defer r.wg.Done()
	t := time.NewTicker(max(r.refreshInterval/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-r.ctx.Done():
			return
		case <-t.C:
			now := r.now()
			r.sets.Range(func(k, v any) bool {
				ks := v.(*keySet)
				// A key set nobody used for longer than the staleness bound (a deleted identity
				// source, an idle issuer) is dropped rather than polled forever; the next token for
				// it starts over with a lazy fetch.
				if now.Sub(time.Unix(ks.lastUsed.Load(), 0)) > r.maxStaleness {
					if r.sets.CompareAndDelete(k, v) {
						ks.dropped.Store(true)
					}
					return true
				}
				if s := ks.snap.Load(); s != nil && !now.Before(s.refreshAt) {
					ks.refresh(r.ctx)
				}
				return r.ctx.Err() == nil
			})
		}
	}
}

// refreshAsync starts a background refresh of ks unless one is running.
func (r *Registry) refreshAsync(ks *keySet) {
	if !ks.refreshing.CompareAndSwap(false, true) {
		return
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		ks.refreshing.Store(false)
		return
	}
	r.async.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.async.Done()
		defer ks.refreshing.Store(false)
		ks.refresh(r.ctx)
	}()
}

func (r *Registry) keySet(c *compiledSource) *keySet {
	if v, ok := r.sets.Load(c.keySetKey); ok {
		return v.(*keySet)
	}
	v, _ := r.sets.LoadOrStore(c.keySetKey, newKeySet(r, c))
	return v.(*keySet)
}

type candidate struct {
	src *Source
	c   *compiledSource
}

// candidates returns the sources whose issuer is iss. A source with invalid configuration never
// matches (its Validate error is reported at configuration time).
func candidates(sources []*Source, iss string) []candidate {
	var out []candidate
	for _, s := range sources {
		if s == nil || s.Issuer != iss {
			continue
		}
		if c, err := s.compiled(); err == nil {
			out = append(out, candidate{s, c})
		}
	}
	return out
}

// unknownIssuer logs the issuer a refused token named (cut to 100 bytes: it is the caller's
// input), so an operator sees which identity source is missing or misconfigured.
func (r *Registry) unknownIssuer(ctx context.Context, iss string) error {
	if len(iss) > 100 {
		iss = iss[:100]
	}
	r.log.InfoContext(ctx, "token from an issuer that is not an identity source here", "iss", iss)
	return fail(ErrUnknownIssuer, "issuer %.100q is not an identity source here", iss)
}

// Validate checks raw as a token of the given use against sources, in the order of sec.md §1:
// size and syntax, header, issuer (which picks the key set; an unknown issuer causes no fetch),
// key by (issuer, kid), algorithm, signature, claims, token use, client. It returns the token and
// the Source that accepted it. Every error wraps one of the Err* classes.
func (r *Registry) Validate(ctx context.Context, raw string, use TokenUse, sources []*Source) (*Token, *Source, error) {
	if use != UseAccess && use != UseID {
		return nil, nil, fail(ErrTokenUse, "unknown token use %d", int(use))
	}
	if len(raw) > MaxTokenSize {
		return nil, nil, fail(ErrMalformed, "token is %d bytes, limit %d", len(raw), MaxTokenSize)
	}
	hash := hashToken(raw)
	now := r.now()
	if r.cache != nil {
		if e, ok := r.cache.GetIfPresent(hash); ok {
			cands := candidates(sources, e.tok.Issuer)
			if len(cands) == 0 {
				return nil, nil, r.unknownIssuer(ctx, e.tok.Issuer)
			}
			// The entry is only as good as the key set that verified it: the caller's sources
			// must name that key set, and it must still hold the same key material.
			if ks := r.keySet(cands[0].c); ks == e.tok.keys.ks && e.tok.keys.Current() {
				r.cacheHits.Add(1)
				if r.revoked(e.tok) {
					return nil, nil, fail(ErrRevoked, "token of %.100q was revoked by its issuer", e.tok.Issuer)
				}
				return applyPolicy(e.tok, use, cands, now, r.leeway)
			}
			r.cache.Invalidate(hash)
		}
		r.cacheMisses.Add(1)
	}

	p, err := parseCompact(raw)
	if err != nil {
		return nil, nil, err
	}
	iss, ok := p.claims["iss"].(string)
	if !ok || iss == "" {
		return nil, nil, fail(ErrClaims, "iss must be a non-empty string")
	}
	cands := candidates(sources, iss)
	if len(cands) == 0 {
		return nil, nil, r.unknownIssuer(ctx, iss)
	}
	alg := p.hdr.alg
	fam, supported := supportedAlgs[alg]
	if !supported {
		// none (any case), HS*, and anything unknown: refused before any key is touched.
		return nil, nil, fail(ErrSignature, "algorithm %.20q is not accepted", alg)
	}
	allowed := false
	for _, c := range cands {
		allowed = allowed || c.c.algs[alg]
	}
	if !allowed {
		return nil, nil, fail(ErrSignature, "algorithm %s is not allowed for issuer %q", alg, iss)
	}
	ks := r.keySet(cands[0].c)
	key, version, err := ks.lookup(ctx, p.hdr.kid, alg)
	if err != nil {
		return nil, nil, err
	}
	if key.family != fam || (key.alg != "" && key.alg != alg) {
		return nil, nil, fail(ErrSignature, "key %.64q (%s, alg %q) cannot verify %s", key.kid, key.family, key.alg, alg)
	}
	if err := verifiers[alg].Verify(p.signingInput, p.sig, key.pub); err != nil {
		return nil, nil, fail(ErrSignature, "%s signature does not verify with key %.64q: %v", alg, key.kid, err)
	}
	tok, err := newToken(p, hash)
	if err != nil {
		return nil, nil, err
	}
	tok.keys = KeyStamp{ks: ks, version: version, tok: tok}
	if r.cache != nil && tok.Expiry.After(now) {
		r.cache.Set(hash, &cacheEntry{tok: tok, weight: weigh(tok)})
	}
	if r.revoked(tok) {
		return nil, nil, fail(ErrRevoked, "token of %.100q was revoked by its issuer", tok.Issuer)
	}
	return applyPolicy(tok, use, cands, now, r.leeway)
}

func (r *Registry) revoked(tok *Token) bool { return r.revoker != nil && r.revoker.Revoked(tok) }

// hashToken is sha256.Sum256([]byte(raw)) without copying the token to the heap: the digest is
// fed through a stack buffer (the compiler devirtualizes sha256.New, so nothing escapes).
func hashToken(raw string) [32]byte {
	h := sha256.New()
	var buf [256]byte
	for len(raw) > 0 {
		n := copy(buf[:], raw)
		h.Write(buf[:n])
		raw = raw[n:]
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// applyPolicy applies the caller-specific rules; the first candidate that accepts wins, else the
// first candidate's error is returned.
func applyPolicy(tok *Token, use TokenUse, cands []candidate, now time.Time, leeway time.Duration) (*Token, *Source, error) {
	var first error
	for _, cd := range cands {
		err := checkSource(cd.c, tok, use, now, leeway)
		if err == nil {
			out := *tok // shallow: Claims is shared and read-only
			out.Use = use
			return &out, cd.src, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, nil, first
}

func checkSource(c *compiledSource, tok *Token, use TokenUse, now time.Time, leeway time.Duration) error {
	if !c.algs[tok.alg] {
		return fail(ErrSignature, "algorithm %s is not allowed for issuer %q", tok.alg, c.issuer)
	}
	if !now.Before(tok.Expiry.Add(leeway)) {
		return fail(ErrExpired, "expired at %s", tok.Expiry.UTC().Format(time.RFC3339))
	}
	if !tok.NotBefore.IsZero() && tok.NotBefore.After(now.Add(leeway)) {
		return fail(ErrNotYetValid, "nbf %s is in the future", tok.NotBefore.UTC().Format(time.RFC3339))
	}
	if !tok.IssuedAt.IsZero() && tok.IssuedAt.After(now.Add(leeway)) {
		return fail(ErrNotYetValid, "iat %s is in the future", tok.IssuedAt.UTC().Format(time.RFC3339))
	}
	switch {
	case c.selection == AccessTokenOnly && use != UseAccess:
		return fail(ErrTokenUse, "identity source accepts access tokens only")
	case c.selection == IdentityTokenOnly && use != UseID:
		return fail(ErrTokenUse, "identity source accepts identity tokens only")
	}
	switch c.kind {
	case KindCognito:
		if tok.tokenUse != use.String() {
			return fail(ErrTokenUse, "token_use %.20q, want %q", tok.tokenUse, use.String())
		}
		if c.clientIDs != nil {
			if use == UseID && !anyIn(tok.aud, c.clientIDs) {
				return fail(ErrAudience, "aud is not a configured client id")
			}
			if use == UseAccess && !c.clientIDs[tok.clientID] {
				return fail(ErrAudience, "client_id is not a configured client id")
			}
		}
	case KindOIDC:
		if use == UseID && isAccessTokenType(tok.typ) {
			return fail(ErrTokenUse, "typ %q marks an access token", tok.typ)
		}
		if use == UseID && c.clientIDs != nil && !anyIn(tok.aud, c.clientIDs) {
			return fail(ErrAudience, "no aud is a configured client id")
		}
		if use == UseAccess && c.audiences != nil {
			if len(tok.aud) > 0 {
				if !anyIn(tok.aud, c.audiences) {
					return fail(ErrAudience, "no aud is a configured audience")
				}
			} else if !c.audiences[tok.clientID] && !c.audiences[tok.cid] {
				return fail(ErrAudience, "token has no aud and client_id/cid is not a configured audience")
			}
		}
	}
	if _, err := principalClaim(c, tok); err != nil {
		return err
	}
	if c.kind == KindCognito {
		if err := checkReservedClaims(tok.Claims); err != nil {
			return err
		}
	}
	if c.groupClaim != "" {
		if v, present := tok.Claims[c.groupClaim]; present {
			if _, ok := v.(string); !ok && !isStringArray(v) {
				return fail(ErrClaims, "%s must be a string or an array of strings", c.groupClaim)
			}
		}
	}
	return nil
}

func anyIn(vals []string, set map[string]bool) bool {
	for _, v := range vals {
		if set[v] {
			return true
		}
	}
	return false
}

func isAccessTokenType(typ string) bool {
	t := strings.ToLower(typ)
	return t == "at+jwt" || t == "application/at+jwt"
}

// Stats is a snapshot of the registry's counters.
type Stats struct {
	CacheHits   uint64
	CacheMisses uint64
	Issuers     []IssuerStats // sorted by Issuer
}

// IssuerStats are the counters of one key set.
type IssuerStats struct {
	Issuer        string
	JWKSURL       string // configured or derived; empty when discovered
	Fetches       uint64 // JWKS GETs attempted
	FetchFailures uint64 // discovery or JWKS fetches that failed (keys were kept)
	Discoveries   uint64 // discovery GETs attempted
	RateLimited   uint64 // fetches refused by the per-issuer limiter
	UnknownKIDs   uint64 // tokens refused for an unknown kid
	Keys          int
	KeysVersion   uint64
	LastSuccess   time.Time // zero if never
	LastError     string
}

// Stats returns the current counters.
func (r *Registry) Stats() Stats {
	st := Stats{CacheHits: r.cacheHits.Load(), CacheMisses: r.cacheMisses.Load()}
	r.sets.Range(func(_, v any) bool {
		ks := v.(*keySet)
		is := IssuerStats{
			Issuer: ks.issuer, JWKSURL: ks.jwksURL,
			Fetches: ks.fetches.Load(), FetchFailures: ks.failures.Load(), Discoveries: ks.discoveries.Load(),
			RateLimited: ks.rateLimited.Load(), UnknownKIDs: ks.unknownKID.Load(),
		}
		if s := ks.snap.Load(); s != nil {
			is.Keys, is.KeysVersion, is.LastSuccess = len(s.keys), s.version, s.fetched
		}
		ks.mu.Lock()
		is.LastError = ks.lastErr
		ks.mu.Unlock()
		st.Issuers = append(st.Issuers, is)
		return true
	})
	sort.Slice(st.Issuers, func(i, j int) bool { return st.Issuers[i].Issuer < st.Issuers[j].Issuer })
	return st
}

// Heap cost estimates for weigh, calibrated with the gateway's TestCacheMemoryMeasurement:
// otter's node and hash-table slot for a [32]byte key plus the cacheEntry, a map's fixed part,
// a map slot (string key header and interface value), and an allocation's average size-class
// rounding.
const (
	nodeOverhead = 160 + 16
	mapOverhead  = 48 + 8*16
	mapSlot      = 32 + 8
	allocSlack   = 8
)

// weigh estimates the heap bytes a cached token holds, so the cache is bounded by memory rather
// than by count: a token with many or long claims costs what it weighs.
func weigh(t *Token) uint32 {
	n := nodeOverhead + int(unsafe.Sizeof(*t)) + 16*len(t.aud) + valueWeight(t.Claims)
	return uint32(min(n, 1<<31))
}

// valueWeight is the heap cost of a decoded JSON value stored in an interface.
func valueWeight(v any) int {
	switch x := v.(type) {
	case string:
		return 16 + len(x) + 2*allocSlack // boxed header and bytes
	case json.Number:
		return 16 + len(x) + 2*allocSlack
	case []any:
		n := 24 + 16*cap(x) + 2*allocSlack
		for _, e := range x {
			n += valueWeight(e)
		}
		return n
	case map[string]any:
		n := mapOverhead
		for k, e := range x {
			n += mapSlot + len(k) + allocSlack + valueWeight(e)
		}
		return n
	}
	return 0 // bool and nil are not allocated
}
