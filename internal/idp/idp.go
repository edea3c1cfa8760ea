// Package idp is Gatehouse's built-in identity provider: Cognito-compatible user pools with OIDC
// endpoints and the Cognito JSON API.
//
// Everything a pool owns lives in the store under Scope = pool id (kinds prefixed idp_); the
// pool itself is the container object (Scope "", Kind "user_pool"). Invariants:
//   - passwords are stored only as argon2id hashes plus, for USER_SRP_AUTH, Cognito's SRP
//     verifier g^x (x is a salted SHA-256 of the password, as the protocol fixes: a store dump
//     allows guessing at SHA-256 speed, so the store must be protected like a password file);
//     refresh tokens, authorization codes and SRP secret blocks only as SHA-256 hashes, so a
//     store dump cannot be replayed;
//   - a global sign-out, a disabled or deleted user, or a revoked refresh token is recorded in
//     the scope _idp_revocations in the same transaction; every node holds that scope in
//     memory (loaded through the store's change notifications before a local write returns)
//     and, as the identity registry's RevocationChecker, refuses the tokens it covers — beyond
//     Cognito, whose access tokens stay valid elsewhere until they expire. No token is issued
//     with iat before its user's revocation epoch;
//   - an authorization code is deleted in the same transaction that redeems it, so it can be
//     redeemed at most once, and any attempt to redeem it (right or wrong) burns it;
//   - a verification code (sign-up, password reset, attribute; codes.go) is stored only as an
//     argon2id hash, expires, is cleared in the transaction that applies it, dies when a newer
//     one is issued, and every check is counted in the store before the comparison, so wrong
//     guesses and code requests draw on one per-user budget on every node; codes never reach
//     the audit trail or the log (except through the development LogSender);
//   - an UNCONFIRMED user (self sign-up) gets no token: a correct password answers
//     UserNotConfirmedException;
//   - every IdP transaction is serialized with every other writer before its first read (the
//     store is wrapped in serialStore, so no write can forget it): concurrent read-modify-writes
//     of one record (a pool's settings and keys, a user, a group, a client, a code budget) on
//     any node never overwrite each other;
//   - a user whom MFA challenges (mfa.go) gets no token and no authorization code from a first
//     factor alone: password, SRP and new-password sign-ins end in SOFTWARE_TOKEN_MFA or
//     MFA_SETUP, and the password grant is refused; a TOTP code is accepted at most once, its
//     challenge session is single use, and every code check is throttled like a password
//     check; the TOTP secret is returned only when it is created, never logged or audited;
//   - every issued token carries a fresh jti and event_id; tokens are RS256 with a kid that the
//     pool's JWKS publishes until every token signed with that key has expired, or until the
//     key is removed (RemoveKey); a key change is recorded in the scope _idp_keys in the same
//     transaction, and every node, on hearing it, hands the pool's new JWKS to WithKeysChanged
//     (the gateway's registry), on the writing node before the write returns;
//   - secrets (passwords, SECRET_HASH, client secrets, PKCE verifiers) are compared in
//     constant time;
//   - every password check is throttled (see Throttle) by user and client address, with a
//     higher per-user ceiling and a per-address limit; the client address is the TCP peer
//     unless the peer is a trusted proxy, so a forged X-Forwarded-For cannot move an attempt
//     to another address's budget.
package idp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// DefaultBaseURL is the public base URL of the IdP listener when none is configured.
const DefaultBaseURL = "http://127.0.0.1:9229"

// IdP serves user pools stored in a store.Store. Create it with New; it is safe for concurrent use.
type IdP struct {
	st       store.Store
	base     string
	region   string
	now      func() time.Time
	log      *slog.Logger
	creds    func(accessKeyID string) (string, bool)
	argon    Argon2Params
	hashSem  chan struct{}
	throttle *throttler
	trusted  []netip.Prefix // proxies whose X-Forwarded-For names the client address
	hookHTTP *http.Client
	hookWait time.Duration
	sender   CodeSender // delivers verification codes; nil: none configured

	keyCache sync.Map // kid -> *signingKey (immutable once created)
	clientMu sync.Mutex
	clientIx map[string]string // client id -> pool id; client ids are random and never reused
	revs     revocations
	keys     keyWatch // pools whose signing keys changed reach WithKeysChanged (keychange.go)
	onChange func(context.Context, Change)
	signIns  func(pool, result string) // WithSignInObserver
	dummy    string                    // hash verified for unknown users so timing does not reveal them
	dummyMu  sync.Once
}

// Option configures an IdP.
type Option func(*IdP)

// WithBaseURL sets the public base URL of the IdP listener; a pool's issuer is <base>/<poolId>.
func WithBaseURL(u string) Option {
	return func(p *IdP) { p.base = strings.TrimRight(u, "/") }
}

// WithRegion sets the region that prefixes new pool ids (default us-east-1).
func WithRegion(r string) Option { return func(p *IdP) { p.region = r } }

// WithClock sets the time source (tests).
func WithClock(now func() time.Time) Option { return func(p *IdP) { p.now = now } }

// WithLogger sets the logger; nil discards.
func WithLogger(l *slog.Logger) Option { return func(p *IdP) { p.log = l } }

// WithCredentials sets the management credentials that must SigV4-sign admin calls of the
// Cognito JSON API. Without it every admin call is rejected.
func WithCredentials(lookup func(accessKeyID string) (secret string, ok bool)) Option {
	return func(p *IdP) { p.creds = lookup }
}

// WithArgon2 sets the argon2id parameters for new password hashes. Existing hashes keep
// verifying with the parameters recorded in them.
func WithArgon2(a Argon2Params) Option { return func(p *IdP) { p.argon = a } }

// WithTrustedProxies lists the peers (reverse proxies) whose X-Forwarded-For is believed when
// throttling sign-ins; from any other peer the TCP peer address is the client address.
func WithTrustedProxies(prefixes []netip.Prefix) Option {
	return func(p *IdP) { p.trusted = prefixes }
}

// WithThrottle sets the login throttling policy.
func WithThrottle(t Throttle) Option { return func(p *IdP) { p.throttle = newThrottler(t) } }

// WithHookClient sets the HTTP client and default timeout used for pre-token-generation
// webhooks (default: a plain client, 5 s).
func WithHookClient(c *http.Client, timeout time.Duration) Option {
	return func(p *IdP) {
		if c != nil {
			p.hookHTTP = c
		}
		if timeout > 0 {
			p.hookWait = timeout
		}
	}
}

// New returns an IdP over st.
func New(st store.Store, opts ...Option) *IdP {
	p := &IdP{
		st:     st,
		base:   DefaultBaseURL,
		region: "us-east-1",
		now:    time.Now,
		argon:  DefaultArgon2,
		// The hook answers itself; following redirects would only widen where sign-in data goes.
		hookHTTP: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		hookWait: 5 * time.Second,
		clientIx: map[string]string{},
	}
	for _, o := range opts {
		o(p)
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.throttle == nil {
		p.throttle = newThrottler(DefaultThrottle)
	}
	p.throttle.observe = p.signIns
	if p.now == nil {
		p.now = time.Now
	}
	// Each argon2id evaluation holds MemoryKiB of RAM; bound how many run at once so a burst of
	// logins cannot exhaust memory.
	n := max(int(p.argon.Threads)*2, 4)
	p.hashSem = make(chan struct{}, n)
	if st != nil {
		p.st = serialStore{st}
		st.OnChange(p.observe)
		st.OnChange(p.observeKeys)
	}
	return p
}

// Issuer returns the issuer URL a new pool gets: <base>/<poolId>.
func (p *IdP) Issuer(poolID string) string { return p.base + "/" + poolID }

// poolIssuer is the issuer stored with the pool at creation (pools created before it was
// stored get the listener's).
func (p *IdP) poolIssuer(pool *Pool) string {
	if pool.Issuer != "" {
		return pool.Issuer
	}
	return p.Issuer(pool.ID)
}

// Error is a Cognito-style failure: Code is the Cognito exception name
// (e.g. "NotAuthorizedException"), Message its message.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Cognito exception names used by this package.
const (
	CodeNotAuthorized      = "NotAuthorizedException"
	CodeUserNotFound       = "UserNotFoundException"
	CodeInvalidParameter   = "InvalidParameterException"
	CodeResourceNotFound   = "ResourceNotFoundException"
	CodeUsernameExists     = "UsernameExistsException"
	CodeGroupExists        = "GroupExistsException"
	CodeTooManyRequests    = "TooManyRequestsException"
	CodeInvalidPassword    = "InvalidPasswordException"
	CodeUnexpectedLambda   = "UnexpectedLambdaException"
	CodeInvalidLambdaResp  = "InvalidLambdaResponseException"
	CodeUserNotConfirmed   = "UserNotConfirmedException"
	CodeUnsupportedToken   = "UnsupportedTokenTypeException"
	CodeInternal           = "InternalErrorException"
	CodeLimitExceeded      = "LimitExceededException"
	CodeUnsupportedOp      = "UnsupportedOperationException"
	CodeCodeMismatch       = "CodeMismatchException"
	CodeExpiredCode        = "ExpiredCodeException"
	CodeInvalidUserPoolCfg = "InvalidUserPoolConfigurationException"
	CodeResetRequired      = "PasswordResetRequiredException"
)

func errf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

var errBadCredentials = &Error{Code: CodeNotAuthorized, Message: "Incorrect username or password."}
