package idp

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

type ipKeyT struct{}

// withClientIP records the caller's address for login throttling.
func withClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ipKeyT{}, ip)
}

func clientIP(ctx context.Context) string {
	s, _ := ctx.Value(ipKeyT{}).(string)
	return s
}

// secretHash is Cognito's SECRET_HASH: base64(HMAC-SHA256(clientSecret, username+clientId)).
func secretHash(secret, username, clientID string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(username + clientID))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// checkSecretHash verifies SECRET_HASH for a client with a secret against any of the given
// usernames (the username or, for refresh, also the sub).
func checkSecretHash(c *Client, got string, usernames ...string) error {
	if c.Secret == "" {
		return nil
	}
	if got == "" {
		return errf(CodeNotAuthorized, "Client %s is configured for secret but secret was not received", c.ID)
	}
	ok := 0
	for _, u := range usernames {
		ok |= subtle.ConstantTimeCompare([]byte(secretHash(c.Secret, u, c.ID)), []byte(got))
	}
	if ok != 1 {
		return errf(CodeNotAuthorized, "Unable to verify secret hash for client %s", c.ID)
	}
	return nil
}

// checkClientSecret compares a presented client secret in constant time.
func checkClientSecret(c *Client, got string) bool {
	if c.Secret == "" {
		return got == ""
	}
	return subtle.ConstantTimeCompare([]byte(c.Secret), []byte(got)) == 1
}

// errNewPassword signals the NEW_PASSWORD_REQUIRED challenge.
var errNewPassword = errors.New("new password required")

// checkPassword authenticates a user of pool for client, applying throttling. The returned
// errors are Cognito's: NotAuthorized (wrong password, "Password attempts exceeded" while this
// user must wait or is locked out, disabled), UserNotFound (unless the client prevents user
// existence errors), TooManyRequests (address locked out), or errNewPassword together with
// the user. Every password check in the IdP goes through here.
func (p *IdP) checkPassword(ctx context.Context, pool *Pool, client *Client, username, password string) (*User, error) {
	ip := clientIP(ctx)
	denied := func(reason string) {
		p.log.Info("sign-in denied", "pool", pool.ID, "client", client.ID, "username", username, "ip", ip, "reason", reason)
	}
	if username == "" {
		return nil, errf(CodeInvalidParameter, "Missing required parameter USERNAME")
	}
	if password == "" {
		return nil, errf(CodeInvalidParameter, "Missing required parameter PASSWORD")
	}
	at, refused := p.throttle.begin(p.now(), pool.ID, username, ip)
	switch refused {
	case refusedPair, refusedUser:
		denied(refused)
		return nil, errf(CodeNotAuthorized, "Password attempts exceeded")
	case refusedIP:
		denied(refused)
		return nil, errf(CodeTooManyRequests, "Too many failed sign-in attempts from this address; try again later.")
	}
	defer p.throttle.abandoned(at)
	u, err := p.getUser(ctx, p.st, pool.ID, username)
	var ie *Error
	if errors.As(err, &ie) && ie.Code == CodeUserNotFound {
		// Spend the same time as a real check so timing does not reveal which users exist.
		_, _ = p.verifyPassword(ctx, p.dummyHash(), password)
		p.throttle.failed(p.now(), at)
		denied("unknown_user")
		if client.PreventUserExistenceErrors {
			return nil, errBadCredentials
		}
		return nil, ie
	}
	if err != nil {
		return nil, err
	}
	ok := false
	if u.PasswordHash == "" {
		_, _ = p.verifyPassword(ctx, p.dummyHash(), password) // same timing as a real check
	} else {
		ok, err = p.verifyPassword(ctx, u.PasswordHash, password)
		if err != nil && ctx.Err() != nil {
			return nil, err
		}
		if err != nil {
			p.log.Error("stored password hash unusable", "pool", pool.ID, "err", err)
		}
	}
	if !ok {
		p.throttle.failed(p.now(), at)
		denied("bad_password")
		return nil, errBadCredentials
	}
	p.throttle.succeeded(at)
	if !u.Enabled {
		denied("user_disabled")
		return nil, errf(CodeNotAuthorized, "User is disabled.")
	}
	if u.Status == userStatusUnconfirmed {
		return nil, errf(CodeUserNotConfirmed, "User is not confirmed.")
	}
	if u.Status == userStatusReset {
		return nil, errf(CodeResetRequired, "Password reset required for the user")
	}
	if u.Status == userStatusNew {
		return u, errNewPassword
	}
	return u, nil
}

func (p *IdP) dummyHash() string {
	p.dummyMu.Do(func() {
		// Not the request's context: a cancelled first request must not leave the dummy empty.
		h, err := p.hashPassword(context.Background(), "gatehouse-dummy-password")
		if err == nil {
			p.dummy = h
		}
	})
	return p.dummy
}

// defaultUserScopes are the scopes of tokens from InitiateAuth and the password grant:
// aws.cognito.signin.user.admin plus the client's allowed resource-server scopes.
func defaultUserScopes(c *Client) []string {
	s := []string{scopeAdmin}
	for _, x := range c.AllowedOAuthScopes {
		if strings.Contains(x, "/") && !slices.Contains(s, x) {
			s = append(s, x)
		}
	}
	return s
}

// IssueTokens signs a user in without a password (for scripts and `gatehouse idp token`):
// access, ID and refresh tokens as USER_PASSWORD_AUTH would return them, hook included.
func (p *IdP) IssueTokens(ctx context.Context, poolID, clientID, username string) (*Tokens, error) {
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, err
	}
	client, err := p.getClient(ctx, p.st, poolID, clientID)
	if err != nil {
		return nil, err
	}
	u, err := p.getUser(ctx, p.st, poolID, username)
	if err != nil {
		return nil, err
	}
	if !u.Enabled {
		return nil, errf(CodeNotAuthorized, "User is disabled.")
	}
	return p.issue(ctx, issueReq{pool: pool, client: client, user: u, scopes: defaultUserScopes(client),
		trigger: triggerAuthentication, idToken: true, refresh: client.allowsFlow(FlowRefreshToken)})
}

// InitiateAuthInput is Cognito's InitiateAuth request.
type InitiateAuthInput struct {
	AuthFlow       string            `json:"AuthFlow"`
	ClientID       string            `json:"ClientId"`
	AuthParameters map[string]string `json:"AuthParameters,omitempty"`
	ClientMetadata map[string]string `json:"ClientMetadata,omitempty"`
	// Accepted and ignored, as the SDK may send them.
	AnalyticsMetadata map[string]any `json:"AnalyticsMetadata,omitempty"`
	UserContextData   map[string]any `json:"UserContextData,omitempty"`
	Session           string         `json:"Session,omitempty"`
}

// Challenge is an authentication challenge (NEW_PASSWORD_REQUIRED).
type Challenge struct {
	Name       string
	Parameters map[string]string
	Session    string
}

// InitiateAuth runs USER_PASSWORD_AUTH or REFRESH_TOKEN_AUTH for a client of any pool.
func (p *IdP) InitiateAuth(ctx context.Context, in InitiateAuthInput) (*Tokens, *Challenge, error) {
	return p.initiateAuth(ctx, "", in)
}

// AdminInitiateAuth runs ADMIN_USER_PASSWORD_AUTH (alias ADMIN_NO_SRP_AUTH) or
// REFRESH_TOKEN_AUTH for a client of poolID. Callers are trusted (SigV4-signed).
func (p *IdP) AdminInitiateAuth(ctx context.Context, poolID string, in InitiateAuthInput) (*Tokens, *Challenge, error) {
	if poolID == "" {
		return nil, nil, errf(CodeInvalidParameter, "1 validation error detected: Value null at 'userPoolId' failed to satisfy constraint: Member must not be null")
	}
	return p.initiateAuth(ctx, poolID, in)
}

// initiateAuth serves both APIs; adminPool is "" for the public InitiateAuth.
func (p *IdP) initiateAuth(ctx context.Context, adminPool string, in InitiateAuthInput) (*Tokens, *Challenge, error) {
	if in.ClientID == "" {
		return nil, nil, errf(CodeInvalidParameter, "1 validation error detected: Value null at 'clientId' failed to satisfy constraint: Member must not be null")
	}
	poolID, err := p.poolOfClient(ctx, in.ClientID)
	if err != nil {
		return nil, nil, err
	}
	if adminPool != "" && adminPool != poolID {
		if _, err := p.getPool(ctx, p.st, adminPool); err != nil {
			return nil, nil, err
		}
		return nil, nil, errf(CodeResourceNotFound, "User pool client %s does not exist.", in.ClientID)
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, nil, err
	}
	client, err := p.getClient(ctx, p.st, poolID, in.ClientID)
	if err != nil {
		return nil, nil, err
	}
	ap := in.AuthParameters
	flow := in.AuthFlow
	switch {
	case adminPool == "" && strings.HasPrefix(flow, "ADMIN_"),
		adminPool != "" && (flow == "USER_PASSWORD_AUTH" || flow == "USER_SRP_AUTH"):
		return nil, nil, errf(CodeInvalidParameter, "Invalid AuthFlow %s for this API.", flow)
	case flow == "ADMIN_NO_SRP_AUTH":
		flow = "ADMIN_USER_PASSWORD_AUTH"
	}
	switch flow {
	case "USER_PASSWORD_AUTH", "ADMIN_USER_PASSWORD_AUTH":
		need := FlowUserPassword
		if adminPool != "" {
			need = FlowAdminUserPwd
		}
		if !client.allowsFlow(need) {
			return nil, nil, errf(CodeInvalidParameter, "%s flow not enabled for this client", flow)
		}
		if err := checkSecretHash(client, ap["SECRET_HASH"], ap["USERNAME"]); err != nil {
			return nil, nil, err
		}
		u, err := p.checkPassword(ctx, pool, client, ap["USERNAME"], ap["PASSWORD"])
		if errors.Is(err, errNewPassword) {
			ch, err := p.newPasswordChallenge(ctx, pool, client, u)
			return nil, ch, err
		}
		if err != nil {
			return nil, nil, err
		}
		if u.SRPVerifier == "" {
			p.addSRPVerifier(ctx, pool.ID, u.Username, ap["PASSWORD"])
		}
		return p.afterFirstFactor(ctx, pool, client, u)
	case "REFRESH_TOKEN_AUTH", "REFRESH_TOKEN":
		if !client.allowsFlow(FlowRefreshToken) {
			return nil, nil, errf(CodeInvalidParameter, "REFRESH_TOKEN_AUTH flow not enabled for this client")
		}
		t, err := p.refresh(ctx, pool, client, ap["REFRESH_TOKEN"], func(rec *refreshRecord) error {
			names := []string{rec.Username, rec.Sub}
			if ap["USERNAME"] != "" {
				names = []string{ap["USERNAME"]}
			}
			return checkSecretHash(client, ap["SECRET_HASH"], names...)
		})
		return t, nil, err
	case "USER_SRP_AUTH":
		if !client.allowsFlow(FlowUserSRP) {
			return nil, nil, errf(CodeInvalidParameter, "USER_SRP_AUTH flow not enabled for this client")
		}
		if err := checkSecretHash(client, ap["SECRET_HASH"], ap["USERNAME"]); err != nil {
			return nil, nil, err
		}
		ch, err := p.srpStart(ctx, pool, client, ap["USERNAME"], ap["SRP_A"])
		return nil, ch, err
	case "CUSTOM_AUTH", "USER_AUTH":
		return nil, nil, errf(CodeInvalidParameter, "%s is not supported by Gatehouse; use USER_PASSWORD_AUTH.", in.AuthFlow)
	case "":
		return nil, nil, errf(CodeInvalidParameter, "1 validation error detected: Value null at 'authFlow' failed to satisfy constraint: Member must not be null")
	}
	return nil, nil, errf(CodeInvalidParameter, "Invalid AuthFlow %q.", in.AuthFlow)
}

// refresh issues new access and ID tokens from a refresh token (no new refresh token).
func (p *IdP) refresh(ctx context.Context, pool *Pool, client *Client, token string, check func(*refreshRecord) error) (*Tokens, error) {
	rec, err := p.redeemRefresh(ctx, pool.ID, client.ID, token)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := check(rec); err != nil {
			return nil, err
		}
	}
	u, err := p.getUser(ctx, p.st, pool.ID, rec.Username)
	var ie *Error
	if errors.As(err, &ie) && ie.Code == CodeUserNotFound || err == nil && u.Sub != rec.Sub {
		return nil, errf(CodeNotAuthorized, "Invalid Refresh Token")
	}
	if err != nil {
		return nil, err
	}
	if !u.Enabled {
		return nil, errf(CodeNotAuthorized, "User is disabled.")
	}
	nb, err := p.userNotBefore(ctx, p.st, p.poolIssuer(pool), u.Sub)
	if err != nil {
		return nil, err
	}
	if rec.AuthTime < nb {
		return nil, errf(CodeNotAuthorized, "Refresh Token has been revoked")
	}
	return p.issue(ctx, issueReq{pool: pool, client: client, user: u, scopes: rec.Scopes, trigger: triggerRefresh,
		authTime: rec.AuthTime, idToken: true, origin: rec.OriginJTI})
}

type sessionRecord struct {
	ClientID string    `json:"clientId"`
	Username string    `json:"username"`
	Expires  time.Time `json:"expires"`
}

const kindSession store.Kind = "idp_auth_session"

func (p *IdP) newPasswordChallenge(ctx context.Context, pool *Pool, client *Client, u *User) (*Challenge, error) {
	session, id := newRefreshToken()
	rec := sessionRecord{ClientID: client.ID, Username: u.Username, Expires: p.now().Add(3 * time.Minute).UTC()}
	err := p.st.Update(ctx, func(tx store.Tx) error {
		return putJSON(ctx, tx, true, pool.ID, kindSession, id, "", "", rec)
	})
	if err != nil {
		return nil, err
	}
	return &Challenge{Name: "NEW_PASSWORD_REQUIRED", Session: session, Parameters: map[string]string{
		"USER_ID_FOR_SRP": u.Username, "requiredAttributes": "[]", "userAttributes": "{}"}}, nil
}

// RespondToAuthChallengeInput is Cognito's RespondToAuthChallenge request.
type RespondToAuthChallengeInput struct {
	ChallengeName      string            `json:"ChallengeName"`
	ClientID           string            `json:"ClientId"`
	Session            string            `json:"Session,omitempty"`
	ChallengeResponses map[string]string `json:"ChallengeResponses,omitempty"`
	ClientMetadata     map[string]string `json:"ClientMetadata,omitempty"`
	AnalyticsMetadata  map[string]any    `json:"AnalyticsMetadata,omitempty"`
	UserContextData    map[string]any    `json:"UserContextData,omitempty"`
}

// RespondToAuthChallenge answers PASSWORD_VERIFIER (USER_SRP_AUTH; it may lead to
// NEW_PASSWORD_REQUIRED), NEW_PASSWORD_REQUIRED (sets the new password), and the MFA
// challenges SOFTWARE_TOKEN_MFA and MFA_SETUP (mfa.go) that either of the first two may lead
// to. Every session is single use.
func (p *IdP) RespondToAuthChallenge(ctx context.Context, in RespondToAuthChallengeInput) (*Tokens, *Challenge, error) {
	return p.respondToAuthChallenge(ctx, "", in)
}

// AdminRespondToAuthChallenge is RespondToAuthChallenge for a client of poolID (callers are
// trusted, SigV4-signed), answering the challenges AdminInitiateAuth returns.
func (p *IdP) AdminRespondToAuthChallenge(ctx context.Context, poolID string, in RespondToAuthChallengeInput) (*Tokens, *Challenge, error) {
	if err := required("userPoolId", poolID); err != nil {
		return nil, nil, err
	}
	if _, err := p.getPool(ctx, p.st, poolID); err != nil {
		return nil, nil, err
	}
	if owner, err := p.poolOfClient(ctx, in.ClientID); err != nil || owner != poolID {
		return nil, nil, errf(CodeResourceNotFound, "User pool client %s does not exist.", in.ClientID)
	}
	return p.respondToAuthChallenge(ctx, poolID, in)
}

func (p *IdP) respondToAuthChallenge(ctx context.Context, adminPool string, in RespondToAuthChallengeInput) (*Tokens, *Challenge, error) {
	switch in.ChallengeName {
	case "PASSWORD_VERIFIER":
		return p.respondPasswordVerifier(ctx, in)
	case challengeSoftwareToken, challengeMFASetup:
		return p.respondMFA(ctx, adminPool, in)
	}
	return p.respondNewPassword(ctx, in)
}

// respondPasswordVerifier completes USER_SRP_AUTH.
func (p *IdP) respondPasswordVerifier(ctx context.Context, in RespondToAuthChallengeInput) (*Tokens, *Challenge, error) {
	poolID, err := p.poolOfClient(ctx, in.ClientID)
	if err != nil {
		return nil, nil, err
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, nil, err
	}
	client, err := p.getClient(ctx, p.st, poolID, in.ClientID)
	if err != nil {
		return nil, nil, err
	}
	if !client.allowsFlow(FlowUserSRP) {
		return nil, nil, errf(CodeInvalidParameter, "USER_SRP_AUTH flow not enabled for this client")
	}
	cr := in.ChallengeResponses
	if err := checkSecretHash(client, cr["SECRET_HASH"], cr["USERNAME"]); err != nil {
		return nil, nil, err
	}
	u, err := p.srpVerify(ctx, pool, client, cr)
	if errors.Is(err, errNewPassword) {
		ch, err := p.newPasswordChallenge(ctx, pool, client, u)
		return nil, ch, err
	}
	if err != nil {
		return nil, nil, err
	}
	return p.afterFirstFactor(ctx, pool, client, u)
}

// respondNewPassword answers NEW_PASSWORD_REQUIRED.
func (p *IdP) respondNewPassword(ctx context.Context, in RespondToAuthChallengeInput) (_ *Tokens, _ *Challenge, err error) {
	defer p.audited(ctx, &err, func() Change {
		poolID, _ := p.poolOfClient(ctx, in.ClientID)
		return Change{Operation: "RespondToAuthChallenge", PoolID: poolID, Username: in.ChallengeResponses["USERNAME"], Detail: "new password set"}
	})
	if in.ChallengeName != "NEW_PASSWORD_REQUIRED" {
		return nil, nil, errf(CodeInvalidParameter, "Unsupported ChallengeName %q.", in.ChallengeName)
	}
	ctx = WithActor(ctx, "user:"+in.ChallengeResponses["USERNAME"])
	poolID, err := p.poolOfClient(ctx, in.ClientID)
	if err != nil {
		return nil, nil, err
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, nil, err
	}
	client, err := p.getClient(ctx, p.st, poolID, in.ClientID)
	if err != nil {
		return nil, nil, err
	}
	cr := in.ChallengeResponses
	if err := checkSecretHash(client, cr["SECRET_HASH"], cr["USERNAME"]); err != nil {
		return nil, nil, err
	}
	if err := validatePassword(cr["NEW_PASSWORD"]); err != nil {
		return nil, nil, err
	}
	hash, err := p.hashPassword(ctx, cr["NEW_PASSWORD"])
	if err != nil {
		return nil, nil, err
	}
	badSession := errf(CodeNotAuthorized, "Invalid session for the user, session is expired.")
	if in.Session == "" || len(in.Session) > 512 {
		return nil, nil, badSession
	}
	var u *User
	var bad error
	err = p.st.Update(ctx, func(tx store.Tx) error {
		bad, u = nil, nil
		id := hashSecret(in.Session)
		rec, err := getJSON[sessionRecord](ctx, tx, poolID, kindSession, id)
		if errors.Is(err, store.ErrNotFound) {
			bad = badSession
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, poolID, kindSession, id); errors.Is(err, store.ErrNotFound) {
			bad = badSession // a concurrent response won
			return nil
		} else if err != nil {
			return err
		}
		if rec.ClientID != client.ID || rec.Username != cr["USERNAME"] || !p.now().Before(rec.Expires) {
			bad = badSession
			return nil
		}
		u, err = p.getUser(ctx, tx, poolID, rec.Username)
		if err != nil {
			return err
		}
		if err := setPassword(u, poolID, hash, cr["NEW_PASSWORD"]); err != nil {
			return err
		}
		u.Status, u.Updated = userStatusOK, p.now().UTC()
		return putJSON(ctx, tx, false, poolID, kindUser, u.Username, u.Sub, "", u)
	})
	if err != nil {
		return nil, nil, err
	}
	if bad != nil {
		return nil, nil, bad
	}
	return p.afterFirstFactor(ctx, pool, client, u)
}
