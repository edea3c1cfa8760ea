package idp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Software-token (TOTP) multi-factor authentication, as Cognito has it.
//
// A pool's MfaConfiguration is OFF, OPTIONAL or ON; TOTP is the only factor Gatehouse offers
// (no SMS, e-mail or WebAuthn), so OPTIONAL and ON require it enabled. A user associates an
// authenticator (AssociateSoftwareToken hands out a fresh 160-bit secret, once), proves it
// with a code (VerifySoftwareToken) and turns it on (SetUserMFAPreference). From then on every
// first factor (password, SRP, new password; never a refresh) of that user ends in the
// SOFTWARE_TOKEN_MFA challenge instead of tokens. With MfaConfiguration ON a user without a
// token turned on gets MFA_SETUP instead and must associate and verify one within the sign-in
// before any token is issued (so an administrator recovers a user who lost the authenticator
// by turning the token off with AdminSetUserMFAPreference).
//
// Invariants:
//   - a challenge session is single use: any answer, right or wrong, deletes it in the
//     transaction that reads it, and it expires after 3 minutes (Cognito's default);
//   - every code check is throttled by the policy of password checks (throttle.go): per user
//     and address, per user, and per address, so a second factor cannot be guessed faster
//     than a password; wrong codes are counted apart from wrong passwords, because the right
//     password every code guess needs first would otherwise clear the count;
//   - a code is accepted at most once: the user's record keeps the time step of the last
//     accepted code and only later steps are accepted, checked and written in one transaction
//     ordered after every other writer (Tx.Revision), so two concurrent uses of one code cannot
//     both pass;
//   - the secret is returned only by the AssociateSoftwareToken call that created it, and is
//     never logged or audited. It is stored in the user record as the SRP verifier is (the
//     store must be protected like a password file; see the package doc);
//   - the password grant of /oauth2/token, which has no way to ask for a second factor, is
//     refused for a user who would be challenged.
const (
	mfaOff      = "OFF"
	mfaOptional = "OPTIONAL"
	mfaOn       = "ON"

	challengeSoftwareToken = "SOFTWARE_TOKEN_MFA"
	challengeMFASetup      = "MFA_SETUP"

	kindMFASession store.Kind = "idp_mfa_session"
	mfaSessionLife            = 3 * time.Minute

	// Cognito exception names of the MFA calls.
	CodeEnableSoftwareTokenMFA = "EnableSoftwareTokenMFAException"
	CodeSoftwareTokenNotFound  = "SoftwareTokenMFANotFoundException"
)

// UserMFA is a user's software-token state.
type UserMFA struct {
	// Secret is the verified authenticator's key (base32). Pending is a newly associated key
	// not yet verified: as in Cognito the verified one keeps working until it is replaced.
	Secret     string `json:"secret,omitempty"`
	Pending    string `json:"pending,omitempty"`
	DeviceName string `json:"deviceName,omitempty"`
	Enabled    bool   `json:"enabled,omitempty"`
	Preferred  bool   `json:"preferred,omitempty"`
	// LastStep is the RFC 6238 time step of the last accepted code; only later ones pass.
	LastStep int64 `json:"lastStep,omitempty"`
}

// mfaMode is the pool's MfaConfiguration as Cognito names it.
func (pool *Pool) mfaMode() string {
	if pool.MFA == "" {
		return mfaOff
	}
	return pool.MFA
}

// parseMFAMode validates a MfaConfiguration value; "" is def.
func parseMFAMode(v, def string) (string, error) {
	switch v {
	case "":
		return def, nil
	case mfaOff, mfaOptional, mfaOn:
		return v, nil
	}
	return "", errf(CodeInvalidParameter, "1 validation error detected: Value '%s' at 'mfaConfiguration' failed to satisfy constraint: Member must satisfy enum value set: [OFF, ON, OPTIONAL]", v)
}

// setMFAMode applies a MfaConfiguration set through CreateUserPool or UpdateUserPool, which
// (unlike SetUserPoolMfaConfig) cannot name a factor: OPTIONAL and ON enable the only one
// Gatehouse has, software tokens.
func (pool *Pool) setMFAMode(mode string) {
	pool.MFA = mode
	if mode == mfaOff {
		pool.MFA = ""
	} else {
		pool.SoftwareTokenMFA = true
	}
}

// mfaChallengeFor names the challenge that u must pass after its first factor, or "".
func mfaChallengeFor(pool *Pool, u *User) string {
	if pool.mfaMode() == mfaOff || !pool.SoftwareTokenMFA {
		return ""
	}
	switch {
	case u.MFA != nil && u.MFA.Secret != "" && u.MFA.Enabled:
		return challengeSoftwareToken
	case pool.mfaMode() == mfaOn:
		// Also for a user whose token an administrator turned off (a lost phone): a new one
		// is set up within the sign-in.
		return challengeMFASetup
	}
	return ""
}

// mfaSession is one step of an MFA challenge, stored under the SHA-256 of its session string.
type mfaSession struct {
	ClientID  string `json:"clientId"`
	Username  string `json:"username"`
	Sub       string `json:"sub"`
	Challenge string `json:"challenge"`
	// MFA_SETUP progress: a token was associated in this sign-in, then verified.
	Associated bool      `json:"associated,omitempty"`
	Verified   bool      `json:"verified,omitempty"`
	Expires    time.Time `json:"expires"`
}

var errMFASession = errf(CodeNotAuthorized, "Invalid session for the user, session is expired.")

// newMFASession stores s and returns its session string: "<poolId>.<256 random bits>". The
// pool id lets AssociateSoftwareToken and VerifySoftwareToken, which name no client, find the
// session; it is public anyway (it is in every token's iss).
func (p *IdP) newMFASession(ctx context.Context, tx store.Tx, poolID string, s mfaSession) (string, error) {
	token, _ := newRefreshToken()
	session := poolID + "." + token
	s.Expires = p.now().Add(mfaSessionLife).UTC()
	if err := putJSON(ctx, tx, true, poolID, kindMFASession, hashSecret(session), "", "", s); err != nil {
		return "", fmt.Errorf("store MFA session: %w", err)
	}
	return session, nil
}

// takeMFASession deletes and returns the session in tx; errMFASession when it is unknown,
// already used, expired, or not for this client and challenge.
func (p *IdP) takeMFASession(ctx context.Context, tx store.Tx, poolID, clientID, session, challenge string) (*mfaSession, error) {
	if session == "" || len(session) > 512 {
		return nil, errMFASession
	}
	id := hashSecret(session)
	s, err := getJSON[mfaSession](ctx, tx, poolID, kindMFASession, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errMFASession
	}
	if err != nil {
		return nil, err
	}
	if err := tx.Delete(ctx, poolID, kindMFASession, id); errors.Is(err, store.ErrNotFound) {
		return nil, errMFASession // a concurrent answer won
	} else if err != nil {
		return nil, err
	}
	if s.ClientID != clientID || s.Challenge != challenge || !p.now().Before(s.Expires) {
		return nil, errMFASession
	}
	return s, nil
}

// afterFirstFactor ends a successful first factor for u: tokens, or the MFA challenge u must
// pass first.
func (p *IdP) afterFirstFactor(ctx context.Context, pool *Pool, client *Client, u *User) (*Tokens, *Challenge, error) {
	name := mfaChallengeFor(pool, u)
	if name == "" {
		t, err := p.issue(ctx, issueReq{pool: pool, client: client, user: u, scopes: defaultUserScopes(client),
			trigger: triggerAuthentication, idToken: true, refresh: client.allowsFlow(FlowRefreshToken)})
		return t, nil, err
	}
	var session string
	err := p.st.Update(ctx, func(tx store.Tx) error {
		var err error
		session, err = p.newMFASession(ctx, tx, pool.ID, mfaSession{ClientID: client.ID, Username: u.Username, Sub: u.Sub, Challenge: name})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	params := map[string]string{"USER_ID_FOR_SRP": u.Username}
	if name == challengeMFASetup {
		params["MFAS_CAN_SETUP"] = `["SOFTWARE_TOKEN_MFA"]`
	} else if u.MFA.DeviceName != "" {
		params["FRIENDLY_DEVICE_NAME"] = u.MFA.DeviceName
	}
	return nil, &Challenge{Name: name, Session: session, Parameters: params}, nil
}

// beginCodeCheck registers a code check by username with the sign-in throttle (a code guess
// counts as a password guess); finish it with endCodeCheck once the transaction that judged
// the code has committed (an Update may run its function more than once, so the counting stays
// out of it).
func (p *IdP) beginCodeCheck(ctx context.Context, pool *Pool, username string) (*attempt, error) {
	ip := clientIP(ctx)
	// Counted apart from the user's password failures: the right password that every code
	// guess needs first would otherwise clear the count of wrong codes each time.
	at, refused := p.throttle.begin(p.now(), pool.ID, username+"\x00totp", ip)
	switch refused {
	case refusedPair, refusedUser:
		p.log.Info("mfa code refused", "pool", pool.ID, "username", username, "ip", ip, "reason", refused)
		return nil, errf(CodeNotAuthorized, "Password attempts exceeded")
	case refusedIP:
		p.log.Info("mfa code refused", "pool", pool.ID, "username", username, "ip", ip, "reason", refused)
		return nil, errf(CodeTooManyRequests, "Too many failed sign-in attempts from this address; try again later.")
	}
	return at, nil
}

// codeVerdict is what a transaction found of a code: not judged (session or state refused it
// first), right or wrong.
type codeVerdict int

const (
	codeUnjudged codeVerdict = iota
	codeRight
	codeWrong
)

func (p *IdP) endCodeCheck(ctx context.Context, pool *Pool, username string, at *attempt, v codeVerdict) {
	switch v {
	case codeRight:
		p.throttle.succeeded(at)
	case codeWrong:
		p.throttle.failed(p.now(), at)
		p.log.Info("mfa code denied", "pool", pool.ID, "username", username, "ip", clientIP(ctx), "reason", "bad_code")
	default:
		p.throttle.abandoned(at)
	}
}

// judgeTOTP checks code against the user's verified secret (pending=false) or the one being
// associated (pending=true) inside tx and, when it is right, writes the user with the step
// recorded (so the code cannot be used again) and a pending secret promoted.
func (p *IdP) judgeTOTP(ctx context.Context, tx store.Tx, poolID string, u *User, code string, pending bool) (codeVerdict, error) {
	secret := ""
	if u.MFA != nil {
		secret = u.MFA.Secret
		if pending {
			secret = u.MFA.Pending
		}
	}
	key, err := decodeTOTPSecret(secret)
	if secret == "" || err != nil {
		return codeUnjudged, errf(CodeSoftwareTokenNotFound, "Software token MFA has not been set up for the user.")
	}
	step, ok := matchTOTP(key, code, p.now(), u.MFA.LastStep)
	if !ok {
		return codeWrong, nil
	}
	u.MFA.LastStep = step
	if pending {
		u.MFA.Secret, u.MFA.Pending = u.MFA.Pending, ""
	}
	u.Updated = p.now().UTC()
	return codeRight, putJSON(ctx, tx, false, poolID, kindUser, u.Username, u.Sub, "", u)
}

// userForUpdate reads u again in tx after ordering tx behind every writer (Tx.Revision), so
// the MFA state read is the latest and the write that follows cannot be raced.
func (p *IdP) userForUpdate(ctx context.Context, tx store.Tx, poolID, username, sub string) (*User, error) {
	if _, err := tx.Revision(ctx, poolID); err != nil {
		return nil, err
	}
	u, err := p.getUser(ctx, tx, poolID, username)
	var ie *Error
	if errors.As(err, &ie) && ie.Code == CodeUserNotFound || err == nil && u.Sub != sub {
		return nil, errMFASession // deleted (or deleted and re-created) since the first factor
	}
	return u, err
}

// respondMFA answers SOFTWARE_TOKEN_MFA (checks the code) and MFA_SETUP (after the token was
// associated and verified with the session) with tokens. adminPool is "" for the public API.
func (p *IdP) respondMFA(ctx context.Context, adminPool string, in RespondToAuthChallengeInput) (*Tokens, *Challenge, error) {
	poolID, err := p.poolOfClient(ctx, in.ClientID)
	if err != nil {
		return nil, nil, err
	}
	if adminPool != "" && adminPool != poolID {
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
	cr := in.ChallengeResponses
	if cr["USERNAME"] == "" {
		return nil, nil, errf(CodeInvalidParameter, "Missing required parameter USERNAME")
	}
	if in.ChallengeName == challengeSoftwareToken && cr["SOFTWARE_TOKEN_MFA_CODE"] == "" {
		return nil, nil, errf(CodeInvalidParameter, "Missing required parameter SOFTWARE_TOKEN_MFA_CODE")
	}
	if err := checkSecretHash(client, cr["SECRET_HASH"], cr["USERNAME"]); err != nil {
		return nil, nil, err
	}
	u, err := p.completeMFA(ctx, pool, client, in.Session, in.ChallengeName, cr["USERNAME"], cr["SOFTWARE_TOKEN_MFA_CODE"])
	if err != nil {
		return nil, nil, err
	}
	t, err := p.issue(ctx, issueReq{pool: pool, client: client, user: u, scopes: defaultUserScopes(client),
		trigger: triggerAuthentication, idToken: true, refresh: client.allowsFlow(FlowRefreshToken)})
	return t, nil, err
}

// completeMFA burns the session of challenge and returns the user once it is passed: for
// SOFTWARE_TOKEN_MFA the code is right, for MFA_SETUP a token was verified with the session.
// The hosted login page shares it with RespondToAuthChallenge.
func (p *IdP) completeMFA(ctx context.Context, pool *Pool, client *Client, session, challenge, username, code string) (*User, error) {
	var at *attempt
	if challenge == challengeSoftwareToken {
		var err error
		if at, err = p.beginCodeCheck(ctx, pool, username); err != nil {
			return nil, err
		}
		defer p.throttle.abandoned(at)
		code = trimCode(code)
	}
	var u *User
	var bad error
	verdict := codeUnjudged
	err := p.st.Update(ctx, func(tx store.Tx) error {
		u, bad, verdict = nil, nil, codeUnjudged
		s, err := p.takeMFASession(ctx, tx, pool.ID, client.ID, session, challenge)
		if err == nil && s.Username != username {
			err = errMFASession
		}
		if err == nil && challenge == challengeMFASetup && !s.Verified {
			err = errf(CodeInvalidParameter, "Verify a software token with VerifySoftwareToken and this session before answering MFA_SETUP.")
		}
		if err == nil {
			u, err = p.userForUpdate(ctx, tx, pool.ID, s.Username, s.Sub)
		}
		if err == nil && challenge == challengeSoftwareToken {
			verdict, err = p.judgeTOTP(ctx, tx, pool.ID, u, code, false)
			if err == nil && verdict == codeWrong {
				err = errf(CodeCodeMismatch, "Invalid code received for user")
			}
		}
		var ie *Error
		if errors.As(err, &ie) {
			bad = err // committed all the same: the session is burned
			return nil
		}
		return err
	})
	if at != nil && err == nil {
		p.endCodeCheck(ctx, pool, username, at, verdict)
	}
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, err
	}
	// The user may have changed since the first factor; the refusals checkPassword makes
	// after a right password apply again.
	switch {
	case !u.Enabled:
		return nil, errf(CodeNotAuthorized, "User is disabled.")
	case u.Status == userStatusReset:
		return nil, errf(CodeResetRequired, "Password reset required for the user")
	case u.Status == userStatusUnconfirmed:
		return nil, errf(CodeUserNotConfirmed, "User is not confirmed.")
	}
	return u, nil
}

type adminRespondInput struct {
	UserPoolID string `json:"UserPoolId"`
	RespondToAuthChallengeInput
	ContextData map[string]any `json:"ContextData,omitempty"`
}

func (p *IdP) opAdminRespondToAuthChallenge(ctx context.Context, in *adminRespondInput) (*authOutput, error) {
	// As for AdminInitiateAuth: the backend reports its end user's address, which code checks
	// are throttled under.
	if s, ok := in.ContextData["IpAddress"].(string); ok {
		if a, err := netip.ParseAddr(s); err == nil {
			ctx = withClientIP(ctx, a.Unmap().String())
		}
	}
	t, ch, err := p.AdminRespondToAuthChallenge(ctx, in.UserPoolID, in.RespondToAuthChallengeInput)
	if err != nil {
		return nil, err
	}
	return toAuthOutput(t, ch), nil
}

// --- AssociateSoftwareToken / VerifySoftwareToken -------------------------------------------

type associateInput struct {
	AccessToken string `json:"AccessToken,omitempty"`
	Session     string `json:"Session,omitempty"`
}

type associateOutput struct {
	SecretCode string `json:"SecretCode"`
	Session    string `json:"Session,omitempty"`
}

// mfaCaller is whom an AssociateSoftwareToken or VerifySoftwareToken call is for: the owner
// of an access token, or the user signing in with an MFA_SETUP session.
type mfaCaller struct {
	pool     *Pool
	username string
	sub      string
	clientID string
	session  string
}

func (p *IdP) mfaCallerOf(ctx context.Context, accessToken, session string) (*mfaCaller, error) {
	switch {
	case accessToken != "" && session != "":
		return nil, errf(CodeInvalidParameter, "Provide either AccessToken or Session, not both.")
	case accessToken == "" && session == "":
		return nil, errf(CodeInvalidParameter, "AccessToken or Session is required.")
	}
	c := &mfaCaller{session: session}
	if accessToken != "" {
		u, poolID, clientID, err := p.selfServiceUser(ctx, accessToken)
		if err != nil {
			return nil, err
		}
		c.username, c.sub, c.clientID = u.Username, u.Sub, clientID
		if c.pool, err = p.getPool(ctx, p.st, poolID); err != nil {
			return nil, err
		}
		return c, nil
	}
	poolID, _, ok := strings.Cut(session, ".")
	if !ok || len(session) > 512 {
		return nil, errMFASession
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, errMFASession
	}
	s, err := getJSON[mfaSession](ctx, p.st, poolID, kindMFASession, hashSecret(session))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errMFASession
	}
	if err != nil {
		return nil, err
	}
	c.pool, c.username, c.sub, c.clientID = pool, s.Username, s.Sub, s.ClientID
	return c, nil
}

func (p *IdP) opAssociateSoftwareToken(ctx context.Context, in *associateInput) (*associateOutput, error) {
	c, err := p.mfaCallerOf(ctx, in.AccessToken, in.Session)
	if err != nil {
		return nil, err
	}
	secret, session, err := p.associate(ctx, c, c.session != "", "")
	if err != nil {
		return nil, err
	}
	return &associateOutput{SecretCode: secret, Session: session}, nil
}

// associate gives c's user a new pending secret and returns it. c's MFA_SETUP session, if any,
// is burned; with next, the session of the next step (verification) is returned. via names
// the caller in the audit record when it is not the API.
func (p *IdP) associate(ctx context.Context, c *mfaCaller, next bool, via string) (secret, session string, err error) {
	defer p.audited(WithActor(ctx, "user:"+c.username), &err, func() Change {
		return Change{Operation: "AssociateSoftwareToken", PoolID: c.pool.ID, Username: c.username, Detail: "software token associated" + via}
	})
	if !c.pool.SoftwareTokenMFA {
		return "", "", errf(CodeSoftwareTokenNotFound, "Software token MFA is not enabled for the user pool.")
	}
	if secret, err = newTOTPSecret(); err != nil {
		return "", "", err
	}
	var bad error
	err = p.st.Update(ctx, func(tx store.Tx) error {
		bad, session = nil, ""
		var ie *Error
		if c.session != "" {
			s, err := p.takeMFASession(ctx, tx, c.pool.ID, c.clientID, c.session, challengeMFASetup)
			if err == nil && (s.Associated || s.Verified) {
				err = errMFASession
			}
			if errors.As(err, &ie) {
				bad = err
				return nil
			}
			if err != nil {
				return err
			}
		}
		u, err := p.userForUpdate(ctx, tx, c.pool.ID, c.username, c.sub)
		if errors.As(err, &ie) {
			bad = err
			return nil
		}
		if err != nil {
			return err
		}
		if next {
			session, err = p.newMFASession(ctx, tx, c.pool.ID, mfaSession{ClientID: c.clientID, Username: u.Username,
				Sub: u.Sub, Challenge: challengeMFASetup, Associated: true})
			if err != nil {
				return err
			}
		}
		if u.MFA == nil {
			u.MFA = &UserMFA{}
		}
		u.MFA.Pending = secret
		u.Updated = p.now().UTC()
		return putJSON(ctx, tx, false, c.pool.ID, kindUser, u.Username, u.Sub, "", u)
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return "", "", err
	}
	return secret, session, nil
}

type verifyInput struct {
	AccessToken        string `json:"AccessToken,omitempty"`
	Session            string `json:"Session,omitempty"`
	UserCode           string `json:"UserCode"`
	FriendlyDeviceName string `json:"FriendlyDeviceName,omitempty"`
}

type verifyOutput struct {
	Status  string `json:"Status"`
	Session string `json:"Session,omitempty"`
}

func (p *IdP) opVerifySoftwareToken(ctx context.Context, in *verifyInput) (*verifyOutput, error) {
	if err := required("userCode", in.UserCode); err != nil {
		return nil, err
	}
	if !validTOTPFormat(in.UserCode) {
		return nil, errf(CodeInvalidParameter, "1 validation error detected: Value at 'userCode' failed to satisfy constraint: Member must have length 6 and contain digits only")
	}
	if len(in.FriendlyDeviceName) > 256 {
		return nil, errf(CodeInvalidParameter, "1 validation error detected: Value at 'friendlyDeviceName' failed to satisfy constraint: Member must have length less than or equal to 256")
	}
	c, err := p.mfaCallerOf(ctx, in.AccessToken, in.Session)
	if err != nil {
		return nil, err
	}
	session, _, err := p.verifyPending(ctx, c, in.UserCode, in.FriendlyDeviceName, "")
	if err != nil {
		return nil, err
	}
	return &verifyOutput{Status: "SUCCESS", Session: session}, nil
}

// verifyPending checks code against the token being associated with c's user and, when it is
// right, makes it the user's token. With a session (MFA_SETUP) the session is burned, the
// token is enabled and preferred (the pool requires MFA), and the next session of the
// challenge is returned. via names the caller in the audit record when it is not the API.
func (p *IdP) verifyPending(ctx context.Context, c *mfaCaller, code, deviceName, via string) (_ string, _ *User, err error) {
	defer p.audited(WithActor(ctx, "user:"+c.username), &err, func() Change {
		return Change{Operation: "VerifySoftwareToken", PoolID: c.pool.ID, Username: c.username, Detail: "software token verified" + via}
	})
	if !c.pool.SoftwareTokenMFA {
		return "", nil, errf(CodeSoftwareTokenNotFound, "Software token MFA is not enabled for the user pool.")
	}
	at, err := p.beginCodeCheck(ctx, c.pool, c.username)
	if err != nil {
		return "", nil, err
	}
	defer p.throttle.abandoned(at)
	var session string
	var u *User
	var bad error
	verdict := codeUnjudged
	err = p.st.Update(ctx, func(tx store.Tx) error {
		session, u, bad, verdict = "", nil, nil, codeUnjudged
		var ie *Error
		setup := c.session != ""
		if setup {
			s, err := p.takeMFASession(ctx, tx, c.pool.ID, c.clientID, c.session, challengeMFASetup)
			if err == nil && (!s.Associated || s.Verified) {
				err = errMFASession
			}
			if errors.As(err, &ie) {
				bad = err
				return nil
			}
			if err != nil {
				return err
			}
		}
		var err error
		u, err = p.userForUpdate(ctx, tx, c.pool.ID, c.username, c.sub)
		if errors.As(err, &ie) {
			bad = err
			return nil
		}
		if err != nil {
			return err
		}
		if u.MFA == nil || u.MFA.Pending == "" {
			bad = errf(CodeInvalidParameter, "No software token is being associated with the user; call AssociateSoftwareToken first.")
			return nil
		}
		if deviceName != "" {
			u.MFA.DeviceName = deviceName
		}
		if setup {
			// Set up because the pool requires MFA: it is the user's factor from now on.
			u.MFA.Enabled, u.MFA.Preferred = true, true
		}
		verdict, err = p.judgeTOTP(ctx, tx, c.pool.ID, u, trimCode(code), true)
		if err != nil {
			return err
		}
		if verdict == codeWrong {
			bad = errf(CodeEnableSoftwareTokenMFA, "Code mismatch")
			return nil
		}
		if setup {
			session, err = p.newMFASession(ctx, tx, c.pool.ID, mfaSession{ClientID: c.clientID, Username: u.Username,
				Sub: u.Sub, Challenge: challengeMFASetup, Associated: true, Verified: true})
		}
		return err
	})
	if err == nil {
		p.endCodeCheck(ctx, c.pool, c.username, at, verdict)
		err = bad
	}
	if err != nil {
		return "", nil, err
	}
	return session, u, nil
}

// --- preferences ----------------------------------------------------------------------------

type mfaSettings struct {
	Enabled      bool `json:"Enabled,omitempty"`
	PreferredMfa bool `json:"PreferredMfa,omitempty"`
}

type setMFAPreferenceInput struct {
	AccessToken              string       `json:"AccessToken,omitempty"`
	UserPoolID               string       `json:"UserPoolId,omitempty"`
	Username                 string       `json:"Username,omitempty"`
	SoftwareTokenMfaSettings *mfaSettings `json:"SoftwareTokenMfaSettings,omitempty"`
	SMSMfaSettings           *mfaSettings `json:"SMSMfaSettings,omitempty"`
	EmailMfaSettings         *mfaSettings `json:"EmailMfaSettings,omitempty"`
	WebAuthnMfaSettings      *mfaSettings `json:"WebAuthnMfaSettings,omitempty"`
}

func (in *setMFAPreferenceInput) validate() error {
	for name, s := range map[string]*mfaSettings{"SMS": in.SMSMfaSettings, "Email": in.EmailMfaSettings, "WebAuthn": in.WebAuthnMfaSettings} {
		if s != nil && (s.Enabled || s.PreferredMfa) {
			return errf(CodeInvalidParameter, "%s MFA is not supported by Gatehouse; only software token (TOTP) MFA is.", name)
		}
	}
	if s := in.SoftwareTokenMfaSettings; s != nil && s.PreferredMfa && !s.Enabled {
		return errf(CodeInvalidParameter, "A preferred MFA factor must be enabled.")
	}
	return nil
}

func (p *IdP) opSetUserMFAPreference(ctx context.Context, in *setMFAPreferenceInput) (struct{}, error) {
	if err := required("accessToken", in.AccessToken); err != nil {
		return struct{}{}, err
	}
	if in.UserPoolID != "" || in.Username != "" {
		return struct{}{}, errf(CodeInvalidParameter, "SetUserMFAPreference takes no UserPoolId or Username.")
	}
	if err := in.validate(); err != nil {
		return struct{}{}, err
	}
	u, poolID, _, err := p.selfServiceUser(ctx, in.AccessToken)
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.setMFAPreference(WithActor(ctx, "user:"+u.Username), "SetUserMFAPreference", poolID, u.Username, in.SoftwareTokenMfaSettings)
}

func (p *IdP) opAdminSetUserMFAPreference(ctx context.Context, in *setMFAPreferenceInput) (struct{}, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return struct{}{}, err
	}
	if err := required("username", in.Username); err != nil {
		return struct{}{}, err
	}
	if in.AccessToken != "" {
		return struct{}{}, errf(CodeInvalidParameter, "AdminSetUserMFAPreference takes no AccessToken.")
	}
	if err := in.validate(); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.setMFAPreference(ctx, "AdminSetUserMFAPreference", in.UserPoolID, in.Username, in.SoftwareTokenMfaSettings)
}

// setMFAPreference turns the user's software token on or off and sets whether it is preferred;
// nil changes nothing.
func (p *IdP) setMFAPreference(ctx context.Context, operation, poolID, username string, s *mfaSettings) (err error) {
	defer p.audited(ctx, &err, func() Change {
		d := "software token MFA unchanged"
		if s != nil {
			d = fmt.Sprintf("software token MFA enabled=%t preferred=%t", s.Enabled, s.PreferredMfa)
		}
		return Change{Operation: operation, PoolID: poolID, Username: username, Detail: d}
	})
	if s == nil {
		_, err := p.GetUser(ctx, poolID, username)
		return err
	}
	return p.updateUser(ctx, poolID, username, func(_ store.Tx, u *User) error {
		if s.Enabled && (u.MFA == nil || u.MFA.Secret == "") {
			return errf(CodeInvalidParameter, "User has not verified software token mfa")
		}
		if u.MFA == nil {
			u.MFA = &UserMFA{}
		}
		u.MFA.Enabled, u.MFA.Preferred = s.Enabled, s.PreferredMfa
		return nil
	})
}

// mfaSettingList is GetUser's UserMFASettingList and PreferredMfaSetting.
func mfaSettingList(u *User) ([]string, string) {
	if u.MFA == nil || !u.MFA.Enabled || u.MFA.Secret == "" {
		return nil, ""
	}
	pref := ""
	if u.MFA.Preferred {
		pref = challengeSoftwareToken
	}
	return []string{challengeSoftwareToken}, pref
}

// --- pool configuration ---------------------------------------------------------------------

type enabledConfig struct {
	Enabled bool `json:"Enabled"`
}

type poolMFAConfigInput struct {
	UserPoolID                    string         `json:"UserPoolId"`
	MfaConfiguration              string         `json:"MfaConfiguration,omitempty"`
	SoftwareTokenMfaConfiguration *enabledConfig `json:"SoftwareTokenMfaConfiguration,omitempty"`
	SmsMfaConfiguration           map[string]any `json:"SmsMfaConfiguration,omitempty"`
	EmailMfaConfiguration         map[string]any `json:"EmailMfaConfiguration,omitempty"`
	WebAuthnConfiguration         map[string]any `json:"WebAuthnConfiguration,omitempty"`
}

type poolMFAConfigOutput struct {
	MfaConfiguration              string        `json:"MfaConfiguration"`
	SoftwareTokenMfaConfiguration enabledConfig `json:"SoftwareTokenMfaConfiguration"`
}

func poolMFAOut(pool *Pool) *poolMFAConfigOutput {
	return &poolMFAConfigOutput{MfaConfiguration: pool.mfaMode(), SoftwareTokenMfaConfiguration: enabledConfig{Enabled: pool.SoftwareTokenMFA}}
}

func (p *IdP) opGetUserPoolMfaConfig(ctx context.Context, in *poolIDInput) (*poolMFAConfigOutput, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return nil, err
	}
	pool, err := p.getPool(ctx, p.st, in.UserPoolID)
	if err != nil {
		return nil, err
	}
	return poolMFAOut(pool), nil
}

func (p *IdP) opSetUserPoolMfaConfig(ctx context.Context, in *poolMFAConfigInput) (*poolMFAConfigOutput, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return nil, err
	}
	switch {
	case in.SmsMfaConfiguration != nil:
		return nil, errf(CodeInvalidParameter, "SmsMfaConfiguration is not supported by Gatehouse; only software token (TOTP) MFA is.")
	case in.EmailMfaConfiguration != nil:
		return nil, errf(CodeInvalidParameter, "EmailMfaConfiguration is not supported by Gatehouse; only software token (TOTP) MFA is.")
	case in.WebAuthnConfiguration != nil:
		return nil, errf(CodeInvalidParameter, "WebAuthnConfiguration is not supported by Gatehouse; only software token (TOTP) MFA is.")
	}
	if _, err := parseMFAMode(in.MfaConfiguration, ""); err != nil {
		return nil, err
	}
	var token *bool
	if in.SoftwareTokenMfaConfiguration != nil {
		token = &in.SoftwareTokenMfaConfiguration.Enabled
	}
	pool, err := p.SetPoolMFA(ctx, in.UserPoolID, in.MfaConfiguration, token)
	if err != nil {
		return nil, err
	}
	return poolMFAOut(pool), nil
}

// SetPoolMFA sets a pool's MfaConfiguration (OFF, OPTIONAL, ON; "" keeps it) and whether
// software tokens are enabled (nil keeps it). OPTIONAL and ON need software tokens enabled.
func (p *IdP) SetPoolMFA(ctx context.Context, poolID, mode string, softwareToken *bool) (out *Pool, err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "SetUserPoolMfaConfig", PoolID: poolID,
			Detail: fmt.Sprintf("MFA %s, software token enabled=%t", out.mfaMode(), out.SoftwareTokenMFA)}
	})
	err = p.st.Update(ctx, func(tx store.Tx) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		if pool.MFA, err = parseMFAMode(mode, pool.mfaMode()); err != nil {
			return err
		}
		if softwareToken != nil {
			pool.SoftwareTokenMFA = *softwareToken
		}
		if pool.mfaMode() != mfaOff && !pool.SoftwareTokenMFA {
			return errf(CodeInvalidParameter, "MfaConfiguration %s needs an enabled MFA factor; enable SoftwareTokenMfaConfiguration (the only factor Gatehouse supports).", pool.mfaMode())
		}
		if pool.MFA == mfaOff {
			pool.MFA = ""
		}
		pool.Updated = p.now().UTC()
		out = pool
		return putJSON(ctx, tx, false, "", kindPool, poolID, "", "", pool)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// mfaRequiredForGrant reports whether the password grant must be refused for u: it cannot
// carry a second factor.
func mfaRequiredForGrant(pool *Pool, u *User) bool { return mfaChallengeFor(pool, u) != "" }

// trimCode removes the spaces people type into codes ("123 456").
func trimCode(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), " ", "") }
