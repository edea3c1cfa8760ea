package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Why not keyfunc's own storage and refresh: keyfunc/jwkset fetch with no response size or key
// count limit, offer no bound on how long stale keys are served, and replace the stored set on any
// successful HTTP fetch. This package therefore does the fetch itself (net/http, io.LimitReader,
// status and size checks), uses jwkset only to turn each JWK into a Go public key, and keeps the
// result as an immutable snapshot swapped atomically, so the hot path takes no lock.
//
// Cache-Control max-age on a JWKS response shortens the refresh interval, clamped to
// [minRefresh, refreshInterval]: an IdP that announces a short lifetime (the built-in IdP says 300 s)
// gets its removed keys dropped sooner, but neither it nor anything on its path can make us fetch
// more often than minRefresh or hold rotated keys longer than the configured refresh interval.
// Expires is ignored.

type keyFamily string

const (
	famRSA     keyFamily = "RSA"
	famP256    keyFamily = "EC P-256"
	famP384    keyFamily = "EC P-384"
	famP521    keyFamily = "EC P-521"
	famEd25519 keyFamily = "Ed25519"
)

const minRSABits = 2048

type verifyKey struct {
	kid    string
	alg    string // the JWK's alg, if it named one
	family keyFamily
	pub    any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey; never []byte
}

type keySnapshot struct {
	keys      map[string]*verifyKey
	fetched   time.Time
	refreshAt time.Time // fetched + the refresh interval, shortened by Cache-Control max-age
	version   uint64    // bumped only when the key material changes
	fp        [32]byte
}

// minRefresh is the shortest refresh interval a Cache-Control max-age can ask for.
const minRefresh = time.Minute

// errNotSigningKey marks keys published for other purposes (encryption); skipping them is normal.
var errNotSigningKey = errors.New("not a signing key")

// errRateLimited means a fetch was wanted but the per-issuer limiter said no.
var errRateLimited = errors.New("jwks fetch rate limited")

// keySet is the key material of one issuer (shared by every Source naming that issuer and key
// location).
type keySet struct {
	reg       *Registry
	issuer    string
	jwksURL   string // configured or derived; empty when discovery is used
	discovery string

	snap       atomic.Pointer[keySnapshot]
	limiter    *rate.Limiter // every fetch, periodic or forced, passes through it
	sf         singleflight.Group
	refreshing atomic.Bool

	mu         sync.Mutex
	discovered string               // jwks_uri from discovery, cleared on failure
	negative   map[string]time.Time // unknown kid -> start of the fetch it was missing from
	lastErr    string

	lastFetch atomic.Int64 // unix nanos of the last fetch the limiter allowed

	// install serializes snapshot replacement (fetches and ReplaceKeys); pushes counts
	// ReplaceKeys calls, so a fetch that started before one discards its older answer.
	install sync.Mutex
	pushes  atomic.Uint64

	lastUsed atomic.Int64 // unix seconds of the last lookup or cache hit
	dropped  atomic.Bool  // removed from the registry: stamps of its tokens are never current

	fetches, failures, discoveries, rateLimited, unknownKID atomic.Uint64
}

// touch records use at second granularity, writing only when the second changed, so concurrent
// validations do not all write one cache line.
func (ks *keySet) touch(now time.Time) {
	if sec := now.Unix(); ks.lastUsed.Load() != sec {
		ks.lastUsed.Store(sec)
	}
}

const maxNegativeKIDs = 1024

func newKeySet(r *Registry, c *compiledSource) *keySet {
	ks := &keySet{
		reg: r, issuer: c.issuer, jwksURL: c.jwksURL, discovery: c.discovery,
		limiter:  rate.NewLimiter(rate.Every(r.unknownKIDInterval), 1),
		negative: make(map[string]time.Time),
	}
	ks.touch(r.now())
	return ks
}

// current returns the snapshot if it is young enough to trust, else nil.
func (ks *keySet) current(now time.Time) *keySnapshot {
	s := ks.snap.Load()
	if s == nil || now.Sub(s.fetched) > ks.reg.maxStaleness {
		return nil
	}
	return s
}

// lookup returns the key for kid (or the single compatible key when kid is empty) and the version of
// the snapshot it came from.
func (ks *keySet) lookup(ctx context.Context, kid, alg string) (*verifyKey, uint64, error) {
	now := ks.reg.now()
	ks.touch(now)
	snap := ks.current(now)
	if snap == nil {
		ks.refresh(ctx)
		if snap = ks.current(ks.reg.now()); snap == nil {
			ks.mu.Lock()
			last := ks.lastErr
			ks.mu.Unlock()
			return nil, 0, fail(ErrKeysUnavailable, "no usable keys for issuer %q (last error: %s)", ks.issuer, last)
		}
	} else if !now.Before(snap.refreshAt) {
		ks.reg.refreshAsync(ks)
	}
	if kid == "" {
		return snap.single(alg, ks.issuer)
	}
	if k := snap.keys[kid]; k != nil {
		return k, snap.version, nil
	}
	if ks.isNegative(kid, now) {
		ks.unknownKID.Add(1)
		return nil, 0, fail(ErrUnknownKey, "kid %.64q not in the key set of %q", kid, ks.issuer)
	}
	// OIDC Core §10.1.1: an unfamiliar kid may mean rotation, so refetch, but only as often as the
	// limiter allows and once for all concurrent callers.
	ks.refresh(ctx)
	if snap = ks.current(ks.reg.now()); snap != nil {
		if k := snap.keys[kid]; k != nil {
			return k, snap.version, nil
		}
	}
	ks.addNegative(kid)
	ks.unknownKID.Add(1)
	return nil, 0, fail(ErrUnknownKey, "kid %.64q not in the key set of %q", kid, ks.issuer)
}

// single picks the key for a token without kid: only when exactly one key can verify alg, so a
// kid-less token can never be tried against several keys.
func (s *keySnapshot) single(alg, issuer string) (*verifyKey, uint64, error) {
	fam := supportedAlgs[alg]
	var found *verifyKey
	for _, k := range s.keys {
		if k.family == fam && (k.alg == "" || k.alg == alg) {
			if found != nil {
				return nil, 0, fail(ErrUnknownKey, "token has no kid and issuer %q has several %s keys", issuer, alg)
			}
			found = k
		}
	}
	if found == nil {
		return nil, 0, fail(ErrUnknownKey, "token has no kid and issuer %q has no %s key", issuer, alg)
	}
	return found, s.version, nil
}

func (ks *keySet) isNegative(kid string, now time.Time) bool {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	t, ok := ks.negative[kid]
	return ok && now.Sub(t) < ks.reg.unknownKIDInterval
}

// addNegative remembers kid as unknown from the start of the last fetch, not from now: a kid
// refused because the limiter held a fetch back must become eligible again exactly when the
// limiter allows the next fetch, or a key published just after a fetch would wait up to two
// intervals instead of one.
func (ks *keySet) addNegative(kid string) {
	at := time.Unix(0, ks.lastFetch.Load())
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if len(ks.negative) >= maxNegativeKIDs {
		clear(ks.negative) // a flood of random kids must not grow memory
	}
	ks.negative[kid] = at
}

// refresh fetches the key set unless the limiter refuses; concurrent callers share one fetch. The
// fetch runs under the registry's context and timeout, not the caller's, because its result is
// shared; callers wait at most the fetch timeout.
func (ks *keySet) refresh(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	_, _, _ = ks.sf.Do("fetch", func() (any, error) {
		now := ks.reg.now()
		if !ks.limiter.AllowN(now, 1) {
			ks.rateLimited.Add(1)
			return nil, errRateLimited
		}
		ks.lastFetch.Store(now.UnixNano())
		fctx, cancel := context.WithTimeout(ks.reg.ctx, ks.reg.fetchTimeout)
		defer cancel()
		return nil, ks.fetchAndStore(fctx)
	})
}

func (ks *keySet) fetchAndStore(ctx context.Context) error {
	pushes := ks.pushes.Load()
	keys, maxAge, err := ks.fetch(ctx)
	if err != nil {
		ks.failures.Add(1)
		ks.mu.Lock()
		ks.lastErr = err.Error()
		ks.discovered = "" // rediscover next time: the jwks_uri may have moved
		ks.mu.Unlock()
		ks.reg.log.Warn("jwks fetch failed; keeping previous keys", "issuer", ks.issuer, "error", err)
		return err
	}
	now := ks.reg.now()
	ks.install.Lock()
	defer ks.install.Unlock()
	if ks.pushes.Load() != pushes {
		return nil // the issuer's own keys were pushed while this fetch ran: they are newer
	}
	ks.store(keys, now, now.Add(ks.reg.refreshAfter(maxAge)))
	return nil
}

// store installs keys as the current snapshot, bumping the version only when the key material
// changed. The caller holds ks.install.
func (ks *keySet) store(keys map[string]*verifyKey, now, refreshAt time.Time) {
	fp := fingerprint(keys)
	old := ks.snap.Load()
	next := &keySnapshot{keys: keys, fetched: now, refreshAt: refreshAt, version: 1, fp: fp}
	changed := true
	if old != nil {
		next.version = old.version
		if old.fp == fp {
			changed = false
		} else {
			next.version++
		}
	}
	ks.snap.Store(next)
	ks.mu.Lock()
	ks.lastErr = ""
	if changed {
		clear(ks.negative)
	}
	ks.mu.Unlock()
	if changed {
		ks.reg.log.Info("jwks keys loaded", "issuer", ks.issuer, "keys", len(keys), "version", next.version)
	}
}

// fetch returns the keys and the response's Cache-Control max-age (negative when absent).
func (ks *keySet) fetch(ctx context.Context) (map[string]*verifyKey, time.Duration, error) {
	u := ks.jwksURL
	if u == "" {
		var err error
		if u, err = ks.discover(ctx); err != nil {
			return nil, 0, err
		}
	}
	ks.fetches.Add(1)
	body, hdr, err := ks.reg.get(ctx, u)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch jwks: %w", err)
	}
	keys, err := parseJWKS(body, ks.reg.maxKeys, ks.reg.log.With("issuer", ks.issuer))
	if err != nil {
		return nil, 0, fmt.Errorf("parse jwks from %s: %w", u, err)
	}
	return keys, cacheMaxAge(hdr.Values("Cache-Control")), nil
}

// refreshAfter is the refresh interval of a snapshot whose response said maxAge (negative: none).
func (r *Registry) refreshAfter(maxAge time.Duration) time.Duration {
	if maxAge < 0 {
		return r.refreshInterval
	}
	return min(r.refreshInterval, max(maxAge, minRefresh))
}

// cacheMaxAge reads the max-age of Cache-Control field values (RFC 9111 §5.2.2.1); no-cache and
// no-store count as 0. It returns -1 when there is no usable directive. Malformed or duplicated
// max-age directives count as absent, so a confused header never shortens the interval.
func cacheMaxAge(values []string) time.Duration {
	age, found := time.Duration(-1), false
	for _, v := range values {
		for d := range strings.SplitSeq(v, ",") {
			name, arg, hasArg := strings.Cut(strings.TrimSpace(d), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-cache", "no-store":
				return 0
			case "max-age":
				arg = strings.Trim(strings.TrimSpace(arg), `"`)
				n, err := strconv.ParseUint(arg, 10, 32)
				if !hasArg || err != nil || found {
					return -1
				}
				age, found = time.Duration(n)*time.Second, true
			}
		}
	}
	return age
}

func (ks *keySet) discover(ctx context.Context) (string, error) {
	ks.mu.Lock()
	u := ks.discovered
	ks.mu.Unlock()
	if u != "" {
		return u, nil
	}
	ks.discoveries.Add(1)
	body, _, err := ks.reg.get(ctx, ks.discovery)
	if err != nil {
		return "", fmt.Errorf("openid discovery: %w", err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := unmarshalUTF8(body, &doc); err != nil {
		return "", fmt.Errorf("openid discovery: %w", err)
	}
	// OIDC Discovery §4.3: the document must name the issuer we asked about.
	if doc.Issuer != ks.issuer {
		return "", fmt.Errorf("openid discovery: issuer %.100q does not match %q", doc.Issuer, ks.issuer)
	}
	if err := checkFetchURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("openid discovery: jwks_uri: %w", err)
	}
	// An https issuer's keys must come over https too; plain http stays a loopback-only affair of
	// http issuers (built-in IdP, emulators).
	if strings.HasPrefix(ks.issuer, "https://") && !strings.HasPrefix(doc.JWKSURI, "https://") {
		return "", fmt.Errorf("openid discovery: jwks_uri %.100q is not https", doc.JWKSURI)
	}
	ks.mu.Lock()
	ks.discovered = doc.JWKSURI
	ks.mu.Unlock()
	return doc.JWKSURI, nil
}

// get performs one bounded GET: the caller's deadline, status 200 only, body capped.
func (r *Registry) get(ctx context.Context, u string) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	// Ask intermediaries for a fresh copy: a refetch usually means the keys rotated (go-oidc#485).
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, r.maxBody+1))
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if int64(len(body)) > r.maxBody {
		return nil, nil, fmt.Errorf("GET %s: body exceeds %d bytes", u, r.maxBody)
	}
	return body, resp.Header, nil
}

// unmarshalUTF8 is json.Unmarshal for documents that must be valid UTF-8 (RFC 8259 §8.1):
// encoding/json would silently turn invalid bytes and lone surrogate escapes into U+FFFD, so
// two distinct kids could name one key.
func unmarshalUTF8(data []byte, v any) error {
	if err := checkJSONText(data); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// parseJWKS keeps the keys that may verify signatures and drops the rest with a log line. A set
// with no usable key is an error, so it never replaces a good set.
func parseJWKS(body []byte, maxKeys int, log *slog.Logger) (map[string]*verifyKey, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := unmarshalUTF8(body, &doc); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if len(doc.Keys) > maxKeys {
		return nil, fmt.Errorf("%d keys, limit %d", len(doc.Keys), maxKeys)
	}
	keys := make(map[string]*verifyKey, len(doc.Keys))
	dups := map[string]bool{}
	for i, raw := range doc.Keys {
		k, err := toVerifyKey(raw)
		if errors.Is(err, errNotSigningKey) {
			log.Debug("jwks key skipped", "index", i, "reason", err.Error())
			continue
		}
		if err != nil {
			log.Warn("jwks key skipped", "index", i, "reason", err.Error())
			continue
		}
		id := k.kid
		if id == "" {
			id = "\x00" + strconv.Itoa(i) // never matches a token kid, which is non-empty
		}
		if _, dup := keys[id]; dup {
			dups[id] = true
		}
		keys[id] = k
	}
	for id := range dups {
		log.Warn("jwks kid used by several keys; all skipped", "kid", id)
		delete(keys, id)
	}
	if len(keys) == 0 {
		return nil, errors.New("no usable signing keys")
	}
	return keys, nil
}

func toVerifyKey(raw json.RawMessage) (*verifyKey, error) {
	var m jwkset.JWKMarshal
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("invalid JWK: %w", err)
	}
	if m.USE != "" && m.USE != jwkset.UseSig {
		return nil, fmt.Errorf("%w: use %q", errNotSigningKey, m.USE)
	}
	if len(m.KEYOPS) > 0 && !slices.Contains(m.KEYOPS, jwkset.KeyOpsVerify) {
		return nil, fmt.Errorf("%w: key_ops without verify", errNotSigningKey)
	}
	switch m.KTY {
	case jwkset.KtyRSA, jwkset.KtyEC, jwkset.KtyOKP:
	default:
		return nil, fmt.Errorf("key type %q is not accepted", m.KTY)
	}
	if len(m.KID) > maxKIDLen {
		return nil, errors.New("kid too long")
	}
	// Only public parameters go to jwkset: no private parts, no x5u (which it could fetch), no x5c.
	clean := jwkset.JWKMarshal{KTY: m.KTY, CRV: m.CRV, X: m.X, Y: m.Y, N: m.N, E: m.E, KID: m.KID, ALG: m.ALG}
	jwk, err := jwkset.NewJWKFromMarshal(clean, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{SkipUse: true, SkipKeyOps: true})
	if err != nil {
		return nil, err
	}
	k := &verifyKey{kid: m.KID, alg: string(m.ALG)}
	switch pub := jwk.Key().(type) {
	case *rsa.PublicKey:
		if pub.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is below %d", pub.N.BitLen(), minRSABits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return nil, fmt.Errorf("RSA exponent %d is invalid", pub.E)
		}
		k.family, k.pub = famRSA, pub
	case *ecdsa.PublicKey:
		switch pub.Curve {
		case elliptic.P256():
			k.family = famP256
		case elliptic.P384():
			k.family = famP384
		case elliptic.P521():
			k.family = famP521
		default:
			return nil, errors.New("unsupported curve")
		}
		k.pub = pub
	case ed25519.PublicKey:
		k.family, k.pub = famEd25519, pub
	default:
		return nil, fmt.Errorf("unsupported key %T", pub)
	}
	if k.alg != "" {
		fam, ok := supportedAlgs[k.alg]
		if !ok || fam != k.family {
			return nil, fmt.Errorf("alg %q does not fit a %s key", k.alg, k.family)
		}
	}
	return k, nil
}

func fingerprint(keys map[string]*verifyKey) [32]byte {
	ids := make([]string, 0, len(keys))
	for id := range keys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	h := sha256.New()
	for _, id := range ids {
		k := keys[id]
		der, _ := x509.MarshalPKIXPublicKey(k.pub)
		fmt.Fprintf(h, "%q %q %q %x\n", id, k.alg, k.family, der)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}
