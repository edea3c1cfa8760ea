package idp

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// claim is one JWT claim; claims keep Cognito's claim order in the encoded payload.
type claim struct {
	k string
	v any
}

type claims []claim

func (c *claims) set(k string, v any) {
	for i := range *c {
		if (*c)[i].k == k {
			(*c)[i].v = v
			return
		}
	}
	*c = append(*c, claim{k, v})
}

func (c *claims) del(k string) {
	*c = slices.DeleteFunc(*c, func(x claim) bool { return x.k == k })
}

func (c claims) get(k string) (any, bool) {
	for _, x := range c {
		if x.k == k {
			return x.v, true
		}
	}
	return nil, false
}

func (c claims) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range c {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(x.k)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(x.v)
		if err != nil {
			return nil, fmt.Errorf("claim %q: %w", x.k, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// Tokens is the result of a sign-in.
type Tokens struct {
	AccessToken  string
	IDToken      string // empty for client_credentials
	RefreshToken string // empty when none was issued
	ExpiresIn    int32  // access token lifetime in seconds
	TokenType    string // "Bearer"
}

// Pre-token-generation trigger sources.
const (
	triggerAuthentication = "TokenGeneration_Authentication"
	triggerRefresh        = "TokenGeneration_RefreshTokens"
	triggerHostedAuth     = "TokenGeneration_HostedAuth"
)

type issueReq struct {
	pool     *Pool
	client   *Client
	user     *User // nil for client_credentials
	scopes   []string
	trigger  string
	authTime int64
	nonce    string
	idToken  bool
	refresh  bool   // issue a refresh token
	origin   string // origin_jti of the authentication being refreshed; "" for a new one
}

func (c *Client) accessLifetime() time.Duration {
	if c.AccessTokenValidity > 0 {
		return c.AccessTokenValidity
	}
	return defaultAccess
}

func (c *Client) idLifetime() time.Duration {
	if c.IDTokenValidity > 0 {
		return c.IDTokenValidity
	}
	return defaultAccess
}

func (c *Client) refreshLifetime() time.Duration {
	if c.RefreshTokenValidity > 0 {
		return c.RefreshTokenValidity
	}
	return defaultRefresh
}

// issue mints tokens. It runs the pre-token-generation hook for user tokens and persists the
// refresh token's hash.
func (p *IdP) issue(ctx context.Context, r issueReq) (*Tokens, error) {
	now := p.now()
	iat := now.Unix()
	iss := p.poolIssuer(r.pool)
	if r.user != nil {
		// Never before the user's revocation epoch, or a sign-in in the second of a
		// sign-out would be revoked with it.
		nb, err := p.userNotBefore(ctx, p.st, iss, r.user.Sub)
		if err != nil {
			return nil, err
		}
		iat = max(iat, nb)
	}
	if r.authTime == 0 {
		r.authTime = iat
	}
	origin := r.origin
	if origin == "" {
		origin = uuid.NewString()
	}
	eventID := uuid.NewString() // one authentication event: shared by the ID and access token
	scopes := slices.Clone(r.scopes)

	var groups []string
	if r.user != nil {
		groups = slices.Clone(r.user.Groups)
		sort.Strings(groups)
	}
	var ov *overrideDetails
	if r.user != nil && r.pool.PreTokenHook != nil && r.pool.PreTokenHook.URL != "" {
		var err error
		ov, err = p.callHook(ctx, r.pool, r.client, r.user, groups, scopes, r.trigger)
		if err != nil {
			return nil, err
		}
		if ov != nil {
			if g := ov.GroupOverrideDetails; g != nil && g.GroupsToOverride != nil {
				groups = slices.Clone(*g.GroupsToOverride)
			}
			if a := ov.AccessTokenGeneration; a != nil {
				scopes = slices.DeleteFunc(scopes, func(s string) bool { return slices.Contains(a.ScopesToSuppress, s) })
				for _, s := range a.ScopesToAdd {
					if !slices.Contains(scopes, s) {
						scopes = append(scopes, s)
					}
				}
			}
		}
	}

	key, err := p.currentKey(ctx, r.pool)
	if err != nil {
		return nil, err
	}
	accessLife := r.client.accessLifetime()
	out := &Tokens{TokenType: "Bearer", ExpiresIn: int32(accessLife / time.Second)}

	// Access token, in Cognito's claim order.
	var at claims
	if r.user != nil {
		at.set("sub", r.user.Sub)
		if len(groups) > 0 {
			at.set("cognito:groups", groups)
		}
	} else {
		at.set("sub", r.client.ID)
	}
	at.set("iss", iss)
	if r.user == nil {
		at.set("version", 2)
	}
	at.set("client_id", r.client.ID)
	if r.user != nil {
		at.set("origin_jti", origin)
		at.set("event_id", eventID)
	}
	at.set("token_use", "access")
	at.set("scope", strings.Join(scopes, " "))
	at.set("auth_time", r.authTime)
	at.set("exp", now.Add(accessLife).Unix())
	at.set("iat", iat)
	at.set("jti", uuid.NewString())
	if r.user != nil {
		at.set("username", r.user.Username)
	}
	if ov != nil && ov.AccessTokenGeneration != nil {
		if err := applyOverrides(&at, ov.AccessTokenGeneration.ClaimsToAddOrOverride, ov.AccessTokenGeneration.ClaimsToSuppress); err != nil {
			return nil, err
		}
	}
	if out.AccessToken, err = sign(key, at); err != nil {
		return nil, err
	}

	if r.user != nil && r.idToken {
		idc := idClaims(r.user, groups, r.client.ID, iss, r.authTime, now, iat, r.client.idLifetime(), origin, eventID, r.nonce)
		if ov != nil && ov.IDTokenGeneration != nil {
			if err := applyOverrides(&idc, ov.IDTokenGeneration.ClaimsToAddOrOverride, ov.IDTokenGeneration.ClaimsToSuppress); err != nil {
				return nil, err
			}
		}
		if out.IDToken, err = sign(key, idc); err != nil {
			return nil, err
		}
	}

	if r.user != nil && r.refresh {
		tok, rec := newRefreshToken()
		data := refreshRecord{Username: r.user.Username, Sub: r.user.Sub, ClientID: r.client.ID, Scopes: r.scopes,
			AuthTime: r.authTime, OriginJTI: origin, Expires: now.Add(r.client.refreshLifetime()).UTC()}
		err := p.st.Update(ctx, func(tx store.Tx) error {
			return putJSON(ctx, tx, true, r.pool.ID, kindRefresh, rec, "", origin, data)
		})
		if err != nil {
			return nil, fmt.Errorf("store refresh token: %w", err)
		}
		out.RefreshToken = tok
	}
	return out, nil
}

func idClaims(u *User, groups []string, clientID, iss string, authTime int64, now time.Time, iat int64, life time.Duration, origin, eventID, nonce string) claims {
	var c claims
	c.set("sub", u.Sub)
	c.set("aud", clientID)
	if len(groups) > 0 {
		c.set("cognito:groups", groups)
	}
	if v, ok := u.Attributes["email_verified"]; ok {
		c.set("email_verified", v == "true")
	}
	if v, ok := u.Attributes["phone_number_verified"]; ok {
		c.set("phone_number_verified", v == "true")
	}
	c.set("token_use", "id")
	c.set("auth_time", authTime)
	c.set("iss", iss)
	c.set("cognito:username", u.Username)
	if nonce != "" {
		c.set("nonce", nonce)
	}
	c.set("exp", now.Add(life).Unix())
	c.set("iat", iat)
	if v, ok := u.Attributes["email"]; ok {
		c.set("email", v)
	}
	names := make([]string, 0, len(u.Attributes))
	for k := range u.Attributes {
		switch k {
		case "email", "email_verified", "phone_number_verified", "sub":
		default:
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		c.set(k, u.Attributes[k])
	}
	c.set("jti", uuid.NewString())
	c.set("origin_jti", origin)
	c.set("event_id", eventID)
	return c
}

// immutableClaims cannot be added, overridden or suppressed by the hook (Cognito's list, plus
// the claims Cognito manages through dedicated override fields).
var immutableClaims = map[string]bool{
	"acr": true, "amr": true, "aud": true, "at_hash": true, "auth_time": true, "azp": true,
	"cognito:username": true, "exp": true, "iat": true, "identities": true, "iss": true,
	"jti": true, "nbf": true, "nonce": true, "origin_jti": true, "sub": true, "token_use": true,
	"client_id": true, "scope": true, "cognito:groups": true, "event_id": true, "username": true,
	"version": true,
}

func applyOverrides(c *claims, add map[string]json.RawMessage, suppress []string) error {
	names := make([]string, 0, len(add))
	for k := range add {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if immutableClaims[k] || k == "" {
			return errf(CodeInvalidLambdaResp, "Invalid lambda response: claim %q cannot be modified.", k)
		}
		c.set(k, add[k])
	}
	for _, k := range suppress {
		if immutableClaims[k] {
			return errf(CodeInvalidLambdaResp, "Invalid lambda response: claim %q cannot be suppressed.", k)
		}
		c.del(k)
	}
	return nil
}

func (p *IdP) currentKey(ctx context.Context, pool *Pool) (*signingKey, error) {
	if pool.CurrentKid == "" {
		return nil, fmt.Errorf("pool %s has no signing key", pool.ID)
	}
	return p.key(ctx, p.st, pool.ID, pool.CurrentKid)
}

// newRefreshToken returns an opaque 256-bit token and the hex SHA-256 it is stored under.
func newRefreshToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, hashSecret(token)
}

func hashSecret(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// redeemRefresh loads a live refresh token of clientID. Errors are NotAuthorized.
func (p *IdP) redeemRefresh(ctx context.Context, poolID, clientID, token string) (*refreshRecord, error) {
	bad := errf(CodeNotAuthorized, "Invalid Refresh Token")
	if token == "" || len(token) > 512 {
		return nil, bad
	}
	rec, err := getJSON[refreshRecord](ctx, p.st, poolID, kindRefresh, hashSecret(token))
	if errors.Is(err, store.ErrNotFound) {
		return nil, bad
	}
	if err != nil {
		return nil, err
	}
	if rec.Revoked {
		return nil, errf(CodeNotAuthorized, "Refresh Token has been revoked")
	}
	if rec.ClientID != clientID || !p.now().Before(rec.Expires) {
		return nil, bad
	}
	return rec, nil
}

// revokeRefresh revokes a refresh token issued to clientID. Unknown tokens are ignored
// (RFC 7009); a token of another client is an error.
func (p *IdP) revokeRefresh(ctx context.Context, poolID, clientID, token string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "RevokeToken", PoolID: poolID, Target: clientID, Detail: "refresh token and its session revoked"}
	})
	if token == "" || len(token) > 512 {
		return nil
	}
	id := hashSecret(token)
	return p.st.Update(ctx, func(tx store.Tx) error {
		rec, err := getJSON[refreshRecord](ctx, tx, poolID, kindRefresh, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if rec.ClientID != clientID {
			return errf(CodeUnsupportedToken, "The token was not issued to this client.")
		}
		if rec.Revoked {
			return nil
		}
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		rec.Revoked = true
		if err := putJSON(ctx, tx, false, poolID, kindRefresh, id, "", rec.OriginJTI, rec); err != nil {
			return err
		}
		// The access and ID tokens of this session are revoked with it (beyond Cognito,
		// which leaves them valid until they expire outside its own APIs).
		return p.revokeOriginTx(ctx, tx, p.poolIssuer(pool), rec.OriginJTI)
	})
}

// originRevoked reports whether the authentication an access token came from was revoked.
func (p *IdP) originRevoked(ctx context.Context, poolID, origin string) (bool, error) {
	if origin == "" {
		return false, nil
	}
	objs, _, err := p.st.List(ctx, store.Query{Scope: poolID, Kind: kindRefresh, Ref: origin, Limit: 10})
	if err != nil {
		return false, err
	}
	for _, o := range objs {
		var rec refreshRecord
		if json.Unmarshal(o.Data, &rec) == nil && rec.Revoked {
			return true, nil
		}
	}
	return false, nil
}
