package idp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// PoolInput describes a new user pool.
type PoolInput struct {
	// MFA is the MfaConfiguration: OFF (or ""), OPTIONAL or ON; OPTIONAL and ON enable
	// software tokens, the only factor Gatehouse has (mfa.go).
	MFA          string
	Name         string
	PreTokenHook *Hook
	// Sign-up settings (signup.go).
	AllowAdminCreateUserOnly bool
	AutoVerifiedAttributes   []string
}

// CreatePool creates a pool with id <region>_<random> and its first signing key.
func (p *IdP) CreatePool(ctx context.Context, in PoolInput) (out *Pool, err error) {
	defer p.audited(ctx, &err, func() Change { return Change{Operation: "CreateUserPool", PoolID: out.ID, Detail: "name " + in.Name} })
	if err := validName("PoolName", in.Name); err != nil {
		return nil, err
	}
	mfa, err := parseMFAMode(in.MFA, mfaOff)
	if err != nil {
		return nil, err
	}
	if !validRegion(p.region) {
		return nil, fmt.Errorf("create pool: invalid region %q", p.region)
	}
	if p.base == "" {
		return nil, errf(CodeInvalidParameter, "No issuer URL is known for new pools: set idpIssuerBase (or idpListen) as the node has it, or start the node once on this database so that it records its own.")
	}
	if in.PreTokenHook != nil {
		if err := validateHookURL(in.PreTokenHook.URL); err != nil {
			return nil, err
		}
	}
	rec, _, err := newKeyRecord(p.now())
	if err != nil {
		return nil, err
	}
	now := p.now().UTC()
	pool := &Pool{ID: p.region + "_" + randomString(mixed, 9), Name: in.Name, Region: p.region,
		Created: now, Updated: now, CurrentKid: rec.Kid, PreTokenHook: in.PreTokenHook,
		AllowAdminCreateUserOnly: in.AllowAdminCreateUserOnly, AutoVerifiedAttributes: in.AutoVerifiedAttributes}
	pool.Issuer = p.Issuer(pool.ID)
	pool.setMFAMode(mfa)
	err = p.st.Update(ctx, func(tx store.Tx) error {
		if err := putJSON(ctx, tx, true, "", kindPool, pool.ID, "", "", pool); err != nil {
			return err
		}
		return putJSON(ctx, tx, true, pool.ID, kindKey, rec.Kid, "", "", rec)
	})
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	return pool, nil
}

// GetPool returns a pool.
func (p *IdP) GetPool(ctx context.Context, poolID string) (*Pool, error) {
	return p.getPool(ctx, p.st, poolID)
}

// ListPools returns every pool ordered by id.
func (p *IdP) ListPools(ctx context.Context) ([]*Pool, error) {
	return listAll[Pool](ctx, p.st, "", kindPool)
}

// DeletePool deletes a pool and everything it owns.
func (p *IdP) DeletePool(ctx context.Context, poolID string) (err error) {
	defer p.audited(ctx, &err, func() Change { return Change{Operation: "DeleteUserPool", PoolID: poolID} })
	defer func() {
		p.clientMu.Lock()
		for id, pool := range p.clientIx {
			if pool == poolID {
				delete(p.clientIx, id)
			}
		}
		p.clientMu.Unlock()
	}()
	return p.st.Update(ctx, func(tx store.Tx) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		// Validators may still hold the pool's keys (they serve cached keys while a fetch
		// fails): every token the pool issued is revoked with it.
		if err := p.revokeIssuerTx(ctx, tx, p.poolIssuer(pool)); err != nil {
			return err
		}
		clients, err := listAll[Client](ctx, tx, poolID, kindClient)
		if err != nil {
			return err
		}
		for _, c := range clients {
			if err := tx.Delete(ctx, indexScope, kindClientIndex, c.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		if err := tx.DeleteScope(ctx, poolID); err != nil {
			return err
		}
		return tx.Delete(ctx, "", kindPool, poolID)
	})
}

// SetPreTokenHook sets (or, with nil, removes) the pool's pre-token-generation webhook.
func (p *IdP) SetPreTokenHook(ctx context.Context, poolID string, h *Hook) (err error) {
	defer p.audited(ctx, &err, func() Change {
		// The URL may carry a secret in its query: only whether a hook is set is recorded.
		return Change{Operation: "UpdateUserPool", PoolID: poolID, Detail: map[bool]string{true: "pre token hook set", false: "pre token hook removed"}[h != nil]}
	})
	if h != nil {
		if err := validateHookURL(h.URL); err != nil {
			return err
		}
	}
	return p.st.Update(ctx, func(tx store.Tx) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		pool.PreTokenHook = h
		pool.Updated = p.now().UTC()
		return putJSON(ctx, tx, false, "", kindPool, poolID, "", "", pool)
	})
}

// ClientInput describes a new app client. Zero lifetimes mean Cognito's defaults (access and
// ID tokens one hour, refresh tokens 30 days). A nil ExplicitAuthFlows means Cognito's
// default (refresh, SRP and custom auth; USER_PASSWORD_AUTH disabled).
type ClientInput struct {
	Name                       string
	GenerateSecret             bool
	ExplicitAuthFlows          []string
	AllowedOAuthFlows          []string // "code", "client_credentials"
	AllowedOAuthScopes         []string
	CallbackURLs               []string
	AccessTokenValidity        time.Duration
	IDTokenValidity            time.Duration
	RefreshTokenValidity       time.Duration
	PreventUserExistenceErrors bool
}

var standardScopes = []string{"openid", "email", "phone", "profile", scopeAdmin}

// CreateClient creates an app client in a pool.
func (p *IdP) CreateClient(ctx context.Context, poolID string, in ClientInput) (out *Client, err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "CreateUserPoolClient", PoolID: poolID, Target: out.ID, Detail: "name " + in.Name}
	})
	if err := validName("ClientName", in.Name); err != nil {
		return nil, err
	}
	flows := in.ExplicitAuthFlows
	if flows == nil {
		flows = []string{FlowRefreshToken, FlowUserSRP, FlowCustomAuth}
	}
	for _, f := range flows {
		switch f {
		case FlowUserPassword, FlowRefreshToken, FlowUserSRP, FlowCustomAuth, FlowAdminUserPwd,
			"USER_PASSWORD_AUTH", "ADMIN_NO_SRP_AUTH", "CUSTOM_AUTH_FLOW_ONLY":
		default:
			return nil, errf(CodeInvalidParameter, "Invalid value %q for ExplicitAuthFlows.", f)
		}
	}
	for _, f := range in.AllowedOAuthFlows {
		switch f {
		case "code":
		case "client_credentials":
			if !in.GenerateSecret {
				return nil, errf(CodeInvalidParameter, "client_credentials flow can not be selected if client does not have a client secret.")
			}
		case "implicit":
			return nil, errf(CodeInvalidParameter, "The implicit flow is not supported by Gatehouse; use code with PKCE.")
		default:
			return nil, errf(CodeInvalidParameter, "Invalid value %q for AllowedOAuthFlows.", f)
		}
	}
	for _, u := range in.CallbackURLs {
		if err := validateCallbackURL(u); err != nil {
			return nil, err
		}
	}
	if slices.Contains(in.AllowedOAuthFlows, "code") && len(in.CallbackURLs) == 0 {
		return nil, errf(CodeInvalidParameter, "CallbackURLs are required for the code flow.")
	}
	for _, v := range []struct {
		name   string
		d      time.Duration
		lo, hi time.Duration
	}{
		{"AccessTokenValidity", in.AccessTokenValidity, 5 * time.Minute, 24 * time.Hour},
		{"IdTokenValidity", in.IDTokenValidity, 5 * time.Minute, 24 * time.Hour},
		{"RefreshTokenValidity", in.RefreshTokenValidity, time.Hour, 3650 * 24 * time.Hour},
	} {
		if v.d != 0 && (v.d < v.lo || v.d > v.hi) {
			return nil, errf(CodeInvalidParameter, "%s must be between %s and %s.", v.name, v.lo, v.hi)
		}
	}
	now := p.now().UTC()
	c := &Client{ID: randomString(alnum, 26), PoolID: poolID, Name: in.Name, ExplicitAuthFlows: flows,
		AllowedOAuthFlows: in.AllowedOAuthFlows, AllowedOAuthScopes: in.AllowedOAuthScopes,
		CallbackURLs: in.CallbackURLs, AccessTokenValidity: in.AccessTokenValidity,
		IDTokenValidity: in.IDTokenValidity, RefreshTokenValidity: in.RefreshTokenValidity,
		PreventUserExistenceErrors: in.PreventUserExistenceErrors, Created: now, Updated: now}
	if in.GenerateSecret {
		c.Secret = randomString(alnum, 52)
	}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		if _, err := p.getPool(ctx, tx, poolID); err != nil {
			return err
		}
		if err := p.checkScopesExist(ctx, tx, poolID, c.AllowedOAuthScopes); err != nil {
			return err
		}
		if err := putJSON(ctx, tx, true, indexScope, kindClientIndex, c.ID, "", "", clientIndex{PoolID: poolID}); err != nil {
			return err
		}
		return putJSON(ctx, tx, true, poolID, kindClient, c.ID, "", "", c)
	})
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return c, nil
}

// ListClients returns the pool's app clients ordered by id.
func (p *IdP) ListClients(ctx context.Context, poolID string) ([]*Client, error) {
	if _, err := p.getPool(ctx, p.st, poolID); err != nil {
		return nil, err
	}
	return listAll[Client](ctx, p.st, poolID, kindClient)
}

// GetClient returns an app client.
func (p *IdP) GetClient(ctx context.Context, poolID, clientID string) (*Client, error) {
	return p.getClient(ctx, p.st, poolID, clientID)
}

func (p *IdP) checkScopesExist(ctx context.Context, r store.Reader, poolID string, scopes []string) error {
	for _, s := range scopes {
		if slices.Contains(standardScopes, s) {
			continue
		}
		i := strings.LastIndexByte(s, '/')
		if i <= 0 {
			return errf("ScopeDoesNotExistException", "Invalid scope requested: %s", s)
		}
		rs, err := getJSON[ResourceServer](ctx, r, poolID, kindResource, s[:i])
		if errors.Is(err, store.ErrNotFound) {
			return errf("ScopeDoesNotExistException", "Invalid scope requested: %s", s)
		}
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(rs.Scopes, func(x ScopeInfo) bool { return x.Name == s[i+1:] }) {
			return errf("ScopeDoesNotExistException", "Invalid scope requested: %s", s)
		}
	}
	return nil
}

func validateCallbackURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Fragment != "" || u.User != nil || len(s) > 1024 {
		return errf(CodeInvalidParameter, "Invalid callback URL %q: must be absolute, without fragment or credentials.", s)
	}
	host := u.Hostname()
	loopback := host == "localhost" || host == "127.0.0.1" || host == "::1"
	if u.Scheme != "https" && !(u.Scheme == "http" && loopback) {
		return errf(CodeInvalidParameter, "Invalid callback URL %q: http is allowed only for localhost.", s)
	}
	return nil
}

// GroupInput describes a new group.
type GroupInput struct {
	Name        string
	Description string
	Precedence  *int32
	RoleArn     string
}

// CreateGroup creates a group.
func (p *IdP) CreateGroup(ctx context.Context, poolID string, in GroupInput) (_ *Group, err error) {
	defer p.audited(ctx, &err, func() Change { return Change{Operation: "CreateGroup", PoolID: poolID, Target: in.Name} })
	if err := validName("GroupName", in.Name); err != nil {
		return nil, err
	}
	if len(in.Description) > 2048 {
		return nil, errf(CodeInvalidParameter, "Description must be at most 2048 characters.")
	}
	if in.Precedence != nil && *in.Precedence < 0 {
		return nil, errf(CodeInvalidParameter, "Precedence must be non-negative.")
	}
	now := p.now().UTC()
	g := &Group{Name: in.Name, Description: in.Description, Precedence: in.Precedence, RoleArn: in.RoleArn,
		Created: now, Updated: now}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		if _, err := p.getPool(ctx, tx, poolID); err != nil {
			return err
		}
		err := putJSON(ctx, tx, true, poolID, kindGroup, g.Name, "", "", g)
		if errors.Is(err, store.ErrConflict) {
			return errf(CodeGroupExists, "A group with the name %s already exists.", g.Name)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// ListGroups returns the pool's groups ordered by name.
func (p *IdP) ListGroups(ctx context.Context, poolID string) ([]*Group, error) {
	if _, err := p.getPool(ctx, p.st, poolID); err != nil {
		return nil, err
	}
	return listAll[Group](ctx, p.st, poolID, kindGroup)
}

// CreateUser creates a confirmed user with a permanent password. attrs may hold email,
// email_verified, custom:* and the other standard attributes; sub is generated.
func (p *IdP) CreateUser(ctx context.Context, poolID, username, password string, attrs map[string]string) (*User, error) {
	if password == "" {
		return nil, errf(CodeInvalidParameter, "Password is required.")
	}
	return p.createUser(ctx, poolID, username, password, false, attrs)
}

func (p *IdP) createUser(ctx context.Context, poolID, username, password string, temporary bool, attrs map[string]string) (_ *User, err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "AdminCreateUser", PoolID: poolID, Username: username, Detail: attrNames(attrs)}
	})
	if err := validName("Username", username); err != nil {
		return nil, err
	}
	if err := validateAttributes(attrs); err != nil {
		return nil, err
	}
	now := p.now().UTC()
	u := &User{Username: username, Sub: uuid.NewString(), Enabled: true, Status: userStatusOK,
		Attributes: attrs, Created: now, Updated: now}
	if password != "" {
		if err := validatePassword(password); err != nil {
			return nil, err
		}
		h, err := p.hashPassword(ctx, password)
		if err != nil {
			return nil, err
		}
		if err := setPassword(u, poolID, h, password); err != nil {
			return nil, err
		}
	}
	if temporary || password == "" {
		u.Status = userStatusNew
	}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		if _, err := p.getPool(ctx, tx, poolID); err != nil {
			return err
		}
		err := putJSON(ctx, tx, true, poolID, kindUser, u.Username, u.Sub, "", u)
		if errors.Is(err, store.ErrConflict) {
			return errf(CodeUsernameExists, "User account already exists")
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// GetUser returns a user.
func (p *IdP) GetUser(ctx context.Context, poolID, username string) (*User, error) {
	if _, err := p.getPool(ctx, p.st, poolID); err != nil {
		return nil, err
	}
	return p.getUser(ctx, p.st, poolID, username)
}

// updateUser applies fn to a stored user in one transaction, serialized with every other
// writer (see serialize): on PostgreSQL two concurrent changes to one user (two groups added,
// say) would otherwise each write the user as it was before the other.
func (p *IdP) updateUser(ctx context.Context, poolID, username string, fn func(tx store.Tx, u *User) error) error {
	return p.st.Update(ctx, func(tx store.Tx) error {
		if err := serialize(ctx, tx); err != nil {
			return err
		}
		if _, err := p.getPool(ctx, tx, poolID); err != nil {
			return err
		}
		u, err := p.getUser(ctx, tx, poolID, username)
		if err != nil {
			return err
		}
		if err := fn(tx, u); err != nil {
			return err
		}
		u.Updated = p.now().UTC()
		return putJSON(ctx, tx, false, poolID, kindUser, u.Username, u.Sub, "", u)
	})
}

// SetUserPassword sets a user's password; permanent confirms the user, otherwise the user must
// change it at the next sign-in.
func (p *IdP) SetUserPassword(ctx context.Context, poolID, username, password string, permanent bool) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "AdminSetUserPassword", PoolID: poolID, Username: username,
			Detail: map[bool]string{true: "permanent password set", false: "temporary password set"}[permanent]}
	})
	if err := validatePassword(password); err != nil {
		return err
	}
	h, err := p.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	return p.updateUser(ctx, poolID, username, func(_ store.Tx, u *User) error {
		if err := setPassword(u, poolID, h, password); err != nil {
			return err
		}
		u.Status = userStatusOK
		if !permanent {
			u.Status = userStatusNew
		}
		return nil
	})
}

// ResetUserPassword makes the user's password unusable: sign-ins fail with
// PasswordResetRequiredException until an administrator sets a new password. Unlike Cognito,
// which lets the user's existing tokens run out, every token issued to the user before is
// revoked: an administrator resets a password because it may be known to someone else, who
// may hold tokens too.
func (p *IdP) ResetUserPassword(ctx context.Context, poolID, username string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "AdminResetUserPassword", PoolID: poolID, Username: username, Detail: "password reset required"}
	})
	return p.updateUser(ctx, poolID, username, func(tx store.Tx, u *User) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		if err := p.revokeUserTx(ctx, tx, pool, u); err != nil {
			return err
		}
		u.Status = userStatusReset
		return nil
	})
}

// SetUserEnabled enables or disables a user. Disabled users cannot sign in or refresh, and
// every token issued to them before is revoked.
func (p *IdP) SetUserEnabled(ctx context.Context, poolID, username string, enabled bool) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: map[bool]string{true: "AdminEnableUser", false: "AdminDisableUser"}[enabled], PoolID: poolID, Username: username}
	})
	return p.updateUser(ctx, poolID, username, func(tx store.Tx, u *User) error {
		if !enabled && u.Enabled {
			pool, err := p.getPool(ctx, tx, poolID)
			if err != nil {
				return err
			}
			if err := p.revokeUserTx(ctx, tx, pool, u); err != nil {
				return err
			}
		}
		u.Enabled = enabled
		return nil
	})
}

// UpdateUserAttributes sets (non-empty value) or deletes (empty value) user attributes.
func (p *IdP) UpdateUserAttributes(ctx context.Context, poolID, username string, attrs map[string]string) error {
	return p.updateAttributes(ctx, "AdminUpdateUserAttributes", poolID, username, attrs, false)
}

// updateAttributes applies attrs; for a user's own update (self), an email or phone number
// that changes is no longer verified.
func (p *IdP) updateAttributes(ctx context.Context, operation, poolID, username string, attrs map[string]string, self bool) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: operation, PoolID: poolID, Username: username, Detail: attrNames(attrs)}
	})
	if err := validateAttributes(attrs); err != nil {
		return err
	}
	return p.updateUser(ctx, poolID, username, func(_ store.Tx, u *User) error {
		if u.Attributes == nil {
			u.Attributes = map[string]string{}
		}
		for k, v := range attrs {
			if self && u.Attributes[k] != v {
				switch k {
				case "email":
					delete(u.Attributes, "email_verified")
				case "phone_number":
					delete(u.Attributes, "phone_number_verified")
				}
			}
			if v == "" {
				delete(u.Attributes, k)
			} else {
				u.Attributes[k] = v
			}
		}
		return nil
	})
}

// AddUserToGroup adds a user to an existing group (idempotent).
func (p *IdP) AddUserToGroup(ctx context.Context, poolID, username, group string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "AdminAddUserToGroup", PoolID: poolID, Username: username, Target: group, Detail: "added to group " + group}
	})
	return p.updateUser(ctx, poolID, username, func(tx store.Tx, u *User) error {
		if _, err := tx.Get(ctx, poolID, kindGroup, group); errors.Is(err, store.ErrNotFound) {
			return errf(CodeResourceNotFound, "Group not found.")
		} else if err != nil {
			return err
		}
		if !slices.Contains(u.Groups, group) {
			u.Groups = append(u.Groups, group)
			slices.Sort(u.Groups)
		}
		return nil
	})
}

// RemoveUserFromGroup removes a user from a group (idempotent).
func (p *IdP) RemoveUserFromGroup(ctx context.Context, poolID, username, group string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "AdminRemoveUserFromGroup", PoolID: poolID, Username: username, Target: group, Detail: "removed from group " + group}
	})
	return p.updateUser(ctx, poolID, username, func(tx store.Tx, u *User) error {
		if _, err := tx.Get(ctx, poolID, kindGroup, group); errors.Is(err, store.ErrNotFound) {
			return errf(CodeResourceNotFound, "Group not found.")
		} else if err != nil {
			return err
		}
		u.Groups = slices.DeleteFunc(u.Groups, func(g string) bool { return g == group })
		return nil
	})
}

// DeleteUser deletes a user and revokes every token issued to them.
func (p *IdP) DeleteUser(ctx context.Context, poolID, username string) (err error) {
	defer p.audited(ctx, &err, func() Change { return Change{Operation: "AdminDeleteUser", PoolID: poolID, Username: username} })
	return p.st.Update(ctx, func(tx store.Tx) error {
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		u, err := p.getUser(ctx, tx, poolID, username)
		if err != nil {
			return err
		}
		if err := p.revokeUserTx(ctx, tx, pool, u); err != nil {
			return err
		}
		return tx.Delete(ctx, poolID, kindUser, username)
	})
}

// CreateResourceServer declares custom scopes <identifier>/<name>.
func (p *IdP) CreateResourceServer(ctx context.Context, poolID, identifier, name string, scopes []ScopeInfo) (_ *ResourceServer, err error) {
	defer p.audited(ctx, &err, func() Change { return Change{Operation: "CreateResourceServer", PoolID: poolID, Target: identifier} })
	if identifier == "" || len(identifier) > 256 || strings.ContainsAny(identifier, " \t\r\n\"\\") {
		return nil, errf(CodeInvalidParameter, "Identifier must be 1-256 characters without whitespace, quotes or backslashes.")
	}
	if err := validName("Name", name); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, s := range scopes {
		if s.Name == "" || len(s.Name) > 256 || !validScopeToken(s.Name) || strings.Contains(s.Name, "/") || seen[s.Name] {
			return nil, errf(CodeInvalidParameter, "Invalid or duplicate scope name %q.", s.Name)
		}
		seen[s.Name] = true
	}
	rs := &ResourceServer{Identifier: identifier, Name: name, Scopes: scopes}
	err = p.st.Update(ctx, func(tx store.Tx) error {
		if _, err := p.getPool(ctx, tx, poolID); err != nil {
			return err
		}
		err := putJSON(ctx, tx, true, poolID, kindResource, identifier, "", "", rs)
		if errors.Is(err, store.ErrConflict) {
			return errf(CodeInvalidParameter, "%s already exists in user pool %s.", identifier, poolID)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// validName checks Cognito's name rule: 1–128 printable characters without whitespace.
func validName(field, s string) error {
	if s == "" || utf8.RuneCountInString(s) > 128 || !utf8.ValidString(s) {
		return errf(CodeInvalidParameter, "%s must be 1-128 characters.", field)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || (unicode.IsSpace(r) && field == "Username") {
			return errf(CodeInvalidParameter, "%s contains an invalid character.", field)
		}
	}
	return nil
}

var standardAttributes = map[string]bool{
	"address": true, "birthdate": true, "email": true, "email_verified": true, "family_name": true,
	"gender": true, "given_name": true, "locale": true, "middle_name": true, "name": true,
	"nickname": true, "phone_number": true, "phone_number_verified": true, "picture": true,
	"preferred_username": true, "profile": true, "updated_at": true, "website": true, "zoneinfo": true,
}

func validateAttributes(attrs map[string]string) error {
	for k, v := range attrs {
		custom, ok := strings.CutPrefix(k, "custom:")
		switch {
		case k == "sub":
			return errf(CodeInvalidParameter, "Cannot modify the non-mutable attribute sub.")
		case ok:
			if custom == "" || len(custom) > 20 {
				return errf(CodeInvalidParameter, "Invalid custom attribute name %q.", k)
			}
		case !standardAttributes[k]:
			return errf(CodeInvalidParameter, "Attribute does not exist in the schema: %s", k)
		}
		if len(v) > 2048 || !utf8.ValidString(v) {
			return errf(CodeInvalidParameter, "Attribute %s value is too long or not UTF-8.", k)
		}
		if (k == "email_verified" || k == "phone_number_verified") && v != "true" && v != "false" && v != "" {
			return errf(CodeInvalidParameter, "%s must be true or false.", k)
		}
	}
	return nil
}

// regionRE is the AWS region shape; identity sources recognise pool ids as <region>_<id>.
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)

func validRegion(r string) bool { return regionRE.MatchString(r) }
