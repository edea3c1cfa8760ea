package idp

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Store kinds.
const (
	kindPool         store.Kind = "user_pool"
	kindUser         store.Kind = "idp_user"
	kindGroup        store.Kind = "idp_group"
	kindClient       store.Kind = "idp_client"
	kindResource     store.Kind = "idp_resource_server"
	kindKey          store.Kind = "idp_signing_key"
	kindRefresh      store.Kind = "idp_refresh_token"
	kindAuthCode     store.Kind = "idp_auth_code"
	userStatusOK                = "CONFIRMED"
	userStatusNew               = "FORCE_CHANGE_PASSWORD"
	userStatusReset             = "RESET_REQUIRED"
	scopeAdmin                  = "aws.cognito.signin.user.admin"
	defaultAccess               = time.Hour
	defaultRefresh              = 30 * 24 * time.Hour
	authCodeLifetime            = 5 * time.Minute
)

// Auth flows (ExplicitAuthFlows values).
const (
	FlowUserPassword = "ALLOW_USER_PASSWORD_AUTH"
	FlowRefreshToken = "ALLOW_REFRESH_TOKEN_AUTH"
	FlowUserSRP      = "ALLOW_USER_SRP_AUTH"
	FlowCustomAuth   = "ALLOW_CUSTOM_AUTH"
	FlowAdminUserPwd = "ALLOW_ADMIN_USER_PASSWORD_AUTH"
)

// Pool is a user pool.
type Pool struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Region string `json:"region"`
	// Issuer is the iss of every token the pool signs, fixed at creation.
	Issuer  string    `json:"issuer,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// CurrentKid names the signing key new tokens use.
	CurrentKid string `json:"currentKid"`
	// PreTokenHook, when set, is called before every user token issue.
	PreTokenHook *Hook `json:"preTokenHook,omitempty"`
	// MFA is the MfaConfiguration ("" = OFF, OPTIONAL, ON) and SoftwareTokenMFA whether TOTP
	// is enabled; see mfa.go.
	MFA              string `json:"mfa,omitempty"`
	SoftwareTokenMFA bool   `json:"softwareTokenMfa,omitempty"`
	// AllowAdminCreateUserOnly refuses SignUp (AdminCreateUserConfig in Cognito).
	AllowAdminCreateUserOnly bool `json:"allowAdminCreateUserOnly,omitempty"`
	// AutoVerifiedAttributes (email, phone_number) get a confirmation code at SignUp and
	// are verified by ConfirmSignUp; with none, an administrator confirms new users.
	AutoVerifiedAttributes []string `json:"autoVerifiedAttributes,omitempty"`
}

// Hook is a pre-token-generation webhook receiving Cognito's V2 event.
type Hook struct {
	URL     string        `json:"url"`
	Timeout time.Duration `json:"timeout,omitempty"` // 0 = the IdP default (5 s)
}

// User is a pool user.
type User struct {
	Username     string            `json:"username"`
	Sub          string            `json:"sub"`
	Enabled      bool              `json:"enabled"`
	Status       string            `json:"status"`
	Attributes   map[string]string `json:"attributes,omitempty"` // excluding sub
	PasswordHash string            `json:"passwordHash,omitempty"`
	// SRPSalt and SRPVerifier (hex) answer USER_SRP_AUTH; see srp.go.
	SRPSalt     string    `json:"srpSalt,omitempty"`
	SRPVerifier string    `json:"srpVerifier,omitempty"`
	Groups      []string  `json:"groups,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`

	// MFA is the software-token (TOTP) state; see mfa.go.
	MFA *UserMFA `json:"mfa,omitempty"`
}

// Group is a pool group.
type Group struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Precedence  *int32    `json:"precedence,omitempty"`
	RoleArn     string    `json:"roleArn,omitempty"`
	Created     time.Time `json:"created"`
	Updated     time.Time `json:"updated"`
}

// Client is an app client.
type Client struct {
	ID                         string        `json:"id"`
	PoolID                     string        `json:"poolId"`
	Name                       string        `json:"name"`
	Secret                     string        `json:"secret,omitempty"`
	ExplicitAuthFlows          []string      `json:"explicitAuthFlows,omitempty"`
	AllowedOAuthFlows          []string      `json:"allowedOAuthFlows,omitempty"` // code, client_credentials, password
	AllowedOAuthScopes         []string      `json:"allowedOAuthScopes,omitempty"`
	CallbackURLs               []string      `json:"callbackURLs,omitempty"`
	AccessTokenValidity        time.Duration `json:"accessTokenValidity"`
	IDTokenValidity            time.Duration `json:"idTokenValidity"`
	RefreshTokenValidity       time.Duration `json:"refreshTokenValidity"`
	PreventUserExistenceErrors bool          `json:"preventUserExistenceErrors"`
	Created                    time.Time     `json:"created"`
	Updated                    time.Time     `json:"updated"`
}

func (c *Client) allowsFlow(f string) bool {
	return slices.Contains(c.ExplicitAuthFlows, f) ||
		// Legacy names Cognito still accepts.
		(f == FlowUserPassword && slices.Contains(c.ExplicitAuthFlows, "USER_PASSWORD_AUTH")) ||
		(f == FlowAdminUserPwd && slices.Contains(c.ExplicitAuthFlows, "ADMIN_NO_SRP_AUTH"))
}

// ResourceServer declares custom scopes <identifier>/<scope>.
type ResourceServer struct {
	Identifier string      `json:"identifier"`
	Name       string      `json:"name"`
	Scopes     []ScopeInfo `json:"scopes,omitempty"`
}

// ScopeInfo is one resource-server scope.
type ScopeInfo struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

type refreshRecord struct {
	Username  string    `json:"username"`
	Sub       string    `json:"sub"`
	ClientID  string    `json:"clientId"`
	Scopes    []string  `json:"scopes"`
	AuthTime  int64     `json:"authTime"`
	OriginJTI string    `json:"originJti"`
	Expires   time.Time `json:"expires"`
	Revoked   bool      `json:"revoked,omitempty"`
}

type authCode struct {
	ClientID    string    `json:"clientId"`
	RedirectURI string    `json:"redirectUri"`
	Username    string    `json:"username"`
	Scopes      []string  `json:"scopes"`
	Challenge   string    `json:"challenge,omitempty"`
	Nonce       string    `json:"nonce,omitempty"`
	AuthTime    int64     `json:"authTime"`
	Expires     time.Time `json:"expires"`
}

type keyRecord struct {
	Kid       string    `json:"kid"`
	PKCS8     []byte    `json:"pkcs8"`
	Created   time.Time `json:"created"`
	RetiredAt time.Time `json:"retiredAt,omitzero"`
	KeepUntil time.Time `json:"keepUntil,omitzero"` // published in the JWKS until then
}

// --- store helpers -------------------------------------------------------------------------

func getJSON[T any](ctx context.Context, r store.Reader, scope string, kind store.Kind, id string) (*T, error) {
	o, err := r.Get(ctx, scope, kind, id)
	if err != nil {
		return nil, err
	}
	v := new(T)
	if err := json.Unmarshal(o.Data, v); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", kind, id, err)
	}
	return v, nil
}

func putJSON(ctx context.Context, tx store.Tx, create bool, scope string, kind store.Kind, id, name, ref string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", kind, err)
	}
	o := store.Object{Scope: scope, Kind: kind, ID: id, Name: name, Ref: ref, Data: b}
	if create {
		return tx.Create(ctx, o)
	}
	return tx.Put(ctx, o)
}

func listAll[T any](ctx context.Context, r store.Reader, scope string, kind store.Kind) ([]*T, error) {
	var out []*T
	token := ""
	for {
		objs, next, err := r.List(ctx, store.Query{Scope: scope, Kind: kind, Limit: 500, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", kind, err)
		}
		for _, o := range objs {
			v := new(T)
			if err := json.Unmarshal(o.Data, v); err != nil {
				return nil, fmt.Errorf("decode %s %q: %w", kind, o.ID, err)
			}
			out = append(out, v)
		}
		if next == "" {
			return out, nil
		}
		token = next
	}
}

func (p *IdP) getPool(ctx context.Context, r store.Reader, poolID string) (*Pool, error) {
	pool, err := getJSON[Pool](ctx, r, "", kindPool, poolID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeResourceNotFound, "User pool %s does not exist.", poolID)
	}
	return pool, err
}

func (p *IdP) getClient(ctx context.Context, r store.Reader, poolID, clientID string) (*Client, error) {
	c, err := getJSON[Client](ctx, r, poolID, kindClient, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeResourceNotFound, "User pool client %s does not exist.", clientID)
	}
	return c, err
}

func (p *IdP) getUser(ctx context.Context, r store.Reader, poolID, username string) (*User, error) {
	if username == "" {
		return nil, errf(CodeUserNotFound, "User does not exist.")
	}
	u, err := getJSON[User](ctx, r, poolID, kindUser, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeUserNotFound, "User does not exist.")
	}
	return u, err
}

// Client ids are global in Cognito (InitiateAuth names only the client), so an index in its
// own scope maps each client id to its pool: one read per lookup, whatever the number of pools.
const (
	indexScope                 = "_idp"
	kindClientIndex store.Kind = "idp_client_index"
)

type clientIndex struct {
	PoolID string `json:"poolId"`
}

// poolOfClient finds the pool that owns clientID.
func (p *IdP) poolOfClient(ctx context.Context, clientID string) (string, error) {
	if clientID == "" || len(clientID) > 128 {
		return "", errf(CodeResourceNotFound, "User pool client %s does not exist.", clientID)
	}
	p.clientMu.Lock()
	poolID, ok := p.clientIx[clientID]
	p.clientMu.Unlock()
	if ok {
		return poolID, nil
	}
	ix, err := getJSON[clientIndex](ctx, p.st, indexScope, kindClientIndex, clientID)
	if errors.Is(err, store.ErrNotFound) {
		return "", errf(CodeResourceNotFound, "User pool client %s does not exist.", clientID)
	}
	if err != nil {
		return "", fmt.Errorf("find client: %w", err)
	}
	p.clientMu.Lock()
	if len(p.clientIx) > 100_000 {
		clear(p.clientIx)
	}
	p.clientIx[clientID] = ix.PoolID
	p.clientMu.Unlock()
	return ix.PoolID, nil
}

const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
const mixed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomString returns n characters drawn uniformly from alphabet.
func randomString(alphabet string, n int) string {
	out := make([]byte, n)
	buf := make([]byte, 1)
	limit := 256 - 256%len(alphabet)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic(fmt.Sprintf("crypto/rand: %v", err)) // crypto/rand.Read never fails on supported platforms
		}
		if int(buf[0]) >= limit {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out)
}

func decode[T any](o store.Object) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(o.Data, v); err != nil {
		return nil, fmt.Errorf("decode %s %q: %w", o.Kind, o.ID, err)
	}
	return v, nil
}
