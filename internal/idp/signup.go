package idp

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Self-service sign-up, confirmation and password reset (Cognito's SignUp, ConfirmSignUp,
// ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword), attribute verification
// (GetUserAttributeVerificationCode, VerifyUserAttribute) and AdminConfirmSignUp. Codes are
// kept as codes.go describes and delivered by the configured CodeSender.
//
// Actors in the audit trail: "client:<id>" for the unauthenticated requests (SignUp, and the
// code requests, which anyone knowing a username can make), "user:<name>" once the user
// proved something (a code, or an access token).

const userStatusUnconfirmed = "UNCONFIRMED"

// signUpAttr is the attribute a sign-up confirmation code goes to: the first of the pool's
// AutoVerifiedAttributes the user has ("" when none: an administrator confirms the user).
func signUpAttr(pool *Pool, u *User) string {
	for _, a := range pool.AutoVerifiedAttributes {
		if u.Attributes[a] != "" {
			return a
		}
	}
	return ""
}

// publicClient resolves the client of an unauthenticated request.
func (p *IdP) publicClient(ctx context.Context, clientID string) (*Pool, *Client, error) {
	if err := required("clientId", clientID); err != nil {
		return nil, nil, err
	}
	poolID, err := p.poolOfClient(ctx, clientID)
	if err != nil {
		return nil, nil, err
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, nil, err
	}
	c, err := p.getClient(ctx, p.st, poolID, clientID)
	if err != nil {
		return nil, nil, err
	}
	return pool, c, nil
}

// SignUpInput is a self-service registration.
type SignUpInput struct {
	Username   string
	Password   string
	SecretHash string
	Attributes map[string]string
}

// SignUpResult is what SignUp reports: the new user's sub and where the code went (nil when
// the pool verifies no attribute of the user, which leaves confirmation to an administrator).
type SignUpResult struct {
	UserSub  string
	Delivery *codeDelivery
}

// signUp registers an UNCONFIRMED user and sends the confirmation code. The user is created
// even when delivery then fails (as in Cognito): ResendConfirmationCode sends another.
func (p *IdP) signUp(ctx context.Context, pool *Pool, client *Client, in SignUpInput) (*SignUpResult, error) {
	if pool.AllowAdminCreateUserOnly {
		return nil, errf(CodeNotAuthorized, "SignUp is not permitted for this user pool")
	}
	if err := required("username", in.Username); err != nil {
		return nil, err
	}
	if err := required("password", in.Password); err != nil {
		return nil, err
	}
	if err := checkSecretHash(client, in.SecretHash, in.Username); err != nil {
		return nil, err
	}
	for k := range in.Attributes {
		// Policies decide on custom attributes and the *_verified flags vouch for contact
		// data: a person registering must not choose them (see opUpdateUserAttributes).
		if strings.HasPrefix(k, "custom:") || k == "email_verified" || k == "phone_number_verified" {
			return nil, errf(CodeNotAuthorized, "A client attempted to write unauthorized attribute")
		}
	}
	if err := validName("Username", in.Username); err != nil {
		return nil, err
	}
	if err := validateAttributes(in.Attributes); err != nil {
		return nil, err
	}
	if err := validatePassword(in.Password); err != nil {
		return nil, err
	}
	now := p.now().UTC()
	u := &User{Username: in.Username, Sub: uuid.NewString(), Enabled: true, Status: userStatusUnconfirmed,
		Attributes: in.Attributes, Created: now, Updated: now}
	attr := signUpAttr(pool, u)
	if attr != "" && p.sender == nil {
		// Refuse before creating a user nobody could confirm.
		return nil, errNoSender
	}
	h, err := p.hashPassword(ctx, in.Password)
	if err != nil {
		return nil, err
	}
	if err := setPassword(u, pool.ID, h, in.Password); err != nil {
		return nil, err
	}
	var code, codeHash string
	if attr != "" {
		if code, codeHash, err = p.newCode(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.signUpWrite(WithActor(ctx, "client:"+client.ID), pool, u, attr, codeHash); err != nil {
		return nil, err
	}
	res := &SignUpResult{UserSub: u.Sub}
	if attr != "" {
		if res.Delivery, err = p.sendCode(ctx, pool, u, CodeKindSignUp, attr, code); err != nil {
			return nil, err
		}
	}
	return res, nil
}

func (p *IdP) signUpWrite(ctx context.Context, pool *Pool, u *User, attr, codeHash string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		d := attrNames(u.Attributes) + "; status UNCONFIRMED"
		if attr != "" {
			d += "; confirmation code sent to " + attr
		}
		return Change{Operation: "SignUp", PoolID: pool.ID, Username: u.Username, Detail: d}
	})
	return p.st.Update(ctx, func(tx store.Tx) error {
		if _, err := p.getPool(ctx, tx, pool.ID); err != nil {
			return err
		}
		err := putJSON(ctx, tx, true, pool.ID, kindUser, u.Username, u.Sub, "", u)
		if errors.Is(err, store.ErrConflict) {
			return errf(CodeUsernameExists, "User already exists")
		}
		if err != nil {
			return err
		}
		if attr == "" {
			return nil
		}
		return p.putCodeTx(ctx, tx, pool.ID, u, purposeSignUp, codeHash, u.Attributes[attr], signUpCodeLifetime)
	})
}

// unknownUser answers for a user that does not exist: UserNotFound, or, for a client that
// prevents user existence errors, what fake says (a plausible success or a code mismatch).
func unknownUser(client *Client, err error, fake func() error) error {
	var ie *Error
	if errors.As(err, &ie) && ie.Code == CodeUserNotFound && client.PreventUserExistenceErrors {
		return fake()
	}
	return err
}

// confirmSignUp confirms an UNCONFIRMED user with the code sent at sign-up; the attribute the
// code went to becomes verified.
func (p *IdP) confirmSignUp(ctx context.Context, pool *Pool, client *Client, username, code, secretHash string) (err error) {
	if err := required("username", username); err != nil {
		return err
	}
	if err := required("confirmationCode", code); err != nil {
		return err
	}
	if err := checkSecretHash(client, secretHash, username); err != nil {
		return err
	}
	ctx = WithActor(ctx, "user:"+username)
	verified := ""
	defer p.audited(ctx, &err, func() Change {
		d := "status CONFIRMED"
		if verified != "" {
			d += "; " + verified + " verified"
		}
		return Change{Operation: "ConfirmSignUp", PoolID: pool.ID, Username: username, Detail: d}
	})
	u, err := p.getUser(ctx, p.st, pool.ID, username)
	if err != nil {
		return unknownUser(client, err, func() error { return errCodeMismatch })
	}
	if u.Status != userStatusUnconfirmed {
		return errf(CodeNotAuthorized, "User cannot be confirmed. Current status is %s", u.Status)
	}
	return p.useCode(ctx, pool.ID, username, purposeSignUp, code, "", func(_ store.Tx, u *User, rec *codeRecord) error {
		if u.Status != userStatusUnconfirmed {
			return errf(CodeNotAuthorized, "User cannot be confirmed. Current status is %s", u.Status)
		}
		u.Status = userStatusOK
		for _, a := range pool.AutoVerifiedAttributes {
			if v := u.Attributes[a]; v != "" && hashSecret(v) == rec.ValueHash {
				u.Attributes[a+"_verified"] = "true"
				verified = a
				break
			}
		}
		return nil
	})
}

// resendConfirmationCode sends an UNCONFIRMED user a new sign-up code (the old one dies).
func (p *IdP) resendConfirmationCode(ctx context.Context, pool *Pool, client *Client, username, secretHash string) (_ *codeDelivery, err error) {
	if err := required("username", username); err != nil {
		return nil, err
	}
	if err := checkSecretHash(client, secretHash, username); err != nil {
		return nil, err
	}
	u, err := p.getUser(ctx, p.st, pool.ID, username)
	if err != nil {
		return nil, unknownUser(client, err, func() error { return nil })
	}
	if u.Status != userStatusUnconfirmed {
		return nil, errf(CodeInvalidParameter, "User is already confirmed.")
	}
	attr := signUpAttr(pool, u)
	if attr == "" {
		return nil, errf(CodeInvalidParameter, "Auto verification not turned on.")
	}
	return p.issueCode(WithActor(ctx, "client:"+client.ID), "ResendConfirmationCode", pool, u, purposeSignUp,
		CodeKindSignUp, attr, signUpCodeLifetime, nil)
}

// issueCode makes, stores and sends a code for u; check, when set, runs on the stored user in
// the storing transaction (the user may have changed since it was read).
func (p *IdP) issueCode(ctx context.Context, op string, pool *Pool, u *User, purpose, kind, attr string, lifetime time.Duration, check func(*User) error) (*codeDelivery, error) {
	if p.sender == nil {
		return nil, errNoSender
	}
	code, hash, err := p.newCode(ctx)
	if err != nil {
		return nil, err
	}
	value := u.Attributes[attr]
	err = func() (err error) {
		defer p.audited(ctx, &err, func() Change {
			return Change{Operation: op, PoolID: pool.ID, Username: u.Username, Detail: kind + " code sent to " + attr}
		})
		return p.st.Update(ctx, func(tx store.Tx) error {
			if err := serialize(ctx, tx); err != nil {
				return err
			}
			cur, err := p.getUser(ctx, tx, pool.ID, u.Username)
			if err != nil {
				return err
			}
			if cur.Sub != u.Sub || cur.Attributes[attr] != value {
				return errf(CodeInvalidParameter, "The user changed; request the code again.")
			}
			if check != nil {
				if err := check(cur); err != nil {
					return err
				}
			}
			return p.putCodeTx(ctx, tx, pool.ID, cur, purpose, hash, value, lifetime)
		})
	}()
	if err != nil {
		return nil, err
	}
	return p.sendCode(ctx, pool, u, kind, attr, code)
}

// fakeDelivery is the answer for an unknown user when the client prevents user existence
// errors: shaped like a real one.
func fakeDelivery(username string) *codeDelivery {
	h := hashSecret(username)
	return &codeDelivery{AttributeName: "email", DeliveryMedium: "EMAIL",
		Destination: string("abcdefghijklmnopqrstuvwxyz"[h[0]%26]) + "***@" + string("abcdefghijklmnopqrstuvwxyz"[h[1]%26]) + "***"}
}

// forgotPassword sends a password reset code to the user's verified email (else verified
// phone number).
func (p *IdP) forgotPassword(ctx context.Context, pool *Pool, client *Client, username, secretHash string) (*codeDelivery, error) {
	if err := required("username", username); err != nil {
		return nil, err
	}
	if err := checkSecretHash(client, secretHash, username); err != nil {
		return nil, err
	}
	u, err := p.getUser(ctx, p.st, pool.ID, username)
	if err != nil {
		var ie *Error
		if errors.As(err, &ie) && ie.Code == CodeUserNotFound && client.PreventUserExistenceErrors {
			return fakeDelivery(username), nil
		}
		return nil, err
	}
	check := func(u *User) error {
		if !u.Enabled {
			return errf(CodeNotAuthorized, "User is disabled.")
		}
		if u.Status == userStatusNew {
			return errf(CodeNotAuthorized, "User password cannot be reset in the current state.")
		}
		return nil
	}
	if err := check(u); err != nil {
		return nil, err
	}
	attr := ""
	for _, a := range []string{"email", "phone_number"} {
		if u.Attributes[a] != "" && u.Attributes[a+"_verified"] == "true" {
			attr = a
			break
		}
	}
	if attr == "" {
		return nil, errf(CodeInvalidParameter, "Cannot reset password for the user as there is no registered/verified email or phone_number")
	}
	return p.issueCode(WithActor(ctx, "client:"+client.ID), "ForgotPassword", pool, u, purposeForgot,
		CodeKindForgotPassword, attr, forgotCodeLifetime, check)
}

// confirmForgotPassword sets a new password with a reset code. Every token issued to the
// user so far is revoked: whoever made the reset necessary may hold some.
func (p *IdP) confirmForgotPassword(ctx context.Context, pool *Pool, client *Client, username, code, password, secretHash string) (err error) {
	for _, f := range []struct{ name, v string }{{"username", username}, {"confirmationCode", code}, {"password", password}} {
		if err := required(f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkSecretHash(client, secretHash, username); err != nil {
		return err
	}
	if err := validatePassword(password); err != nil {
		return err
	}
	ctx = WithActor(ctx, "user:"+username)
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "ConfirmForgotPassword", PoolID: pool.ID, Username: username,
			Detail: "password reset with a code; every token issued so far revoked"}
	})
	if _, err := p.getUser(ctx, p.st, pool.ID, username); err != nil {
		return unknownUser(client, err, func() error { return errCodeMismatch })
	}
	hash, err := p.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	return p.useCode(ctx, pool.ID, username, purposeForgot, code, "", func(tx store.Tx, u *User, _ *codeRecord) error {
		if !u.Enabled {
			return errf(CodeNotAuthorized, "User is disabled.")
		}
		if err := setPassword(u, pool.ID, hash, password); err != nil {
			return err
		}
		u.Status = userStatusOK
		return p.revokeUserTx(ctx, tx, pool, u)
	})
}

// AdminConfirmSignUp confirms an UNCONFIRMED user without a code (attributes stay unverified,
// as in Cognito); a pending sign-up code dies.
func (p *IdP) AdminConfirmSignUp(ctx context.Context, poolID, username string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "AdminConfirmSignUp", PoolID: poolID, Username: username, Detail: "status CONFIRMED"}
	})
	return p.updateUser(ctx, poolID, username, func(tx store.Tx, u *User) error {
		if u.Status != userStatusUnconfirmed {
			return errf(CodeNotAuthorized, "User cannot be confirmed. Current status is %s", u.Status)
		}
		u.Status = userStatusOK
		return p.dropCodeTx(ctx, tx, poolID, username, purposeSignUp)
	})
}

// verifiableAttr checks an AttributeName of the attribute verification calls.
func verifiableAttr(name string) error {
	if err := required("attributeName", name); err != nil {
		return err
	}
	if name != "email" && name != "phone_number" {
		return errf(CodeInvalidParameter, "Invalid attribute name %s: only email and phone_number can be verified.", name)
	}
	return nil
}

// getUserAttributeVerificationCode sends the signed-in user a code for one of their
// attributes.
func (p *IdP) getUserAttributeVerificationCode(ctx context.Context, accessToken, attr string) (*codeDelivery, error) {
	if err := required("accessToken", accessToken); err != nil {
		return nil, err
	}
	if err := verifiableAttr(attr); err != nil {
		return nil, err
	}
	u, poolID, _, err := p.selfServiceUser(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return nil, err
	}
	if u.Attributes[attr] == "" {
		return nil, errf(CodeInvalidParameter, "The user has no %s to verify.", attr)
	}
	return p.issueCode(WithActor(ctx, "user:"+u.Username), "GetUserAttributeVerificationCode", pool, u,
		purposeVerifyPrefix+attr, CodeKindVerifyAttr, attr, verifyCodeLifetime, nil)
}

// verifyUserAttribute marks the signed-in user's attribute verified with the code sent to its
// current value.
func (p *IdP) verifyUserAttribute(ctx context.Context, accessToken, attr, code string) (err error) {
	if err := required("accessToken", accessToken); err != nil {
		return err
	}
	if err := verifiableAttr(attr); err != nil {
		return err
	}
	if err := required("code", code); err != nil {
		return err
	}
	u, poolID, _, err := p.selfServiceUser(ctx, accessToken)
	if err != nil {
		return err
	}
	ctx = WithActor(ctx, "user:"+u.Username)
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "VerifyUserAttribute", PoolID: poolID, Username: u.Username, Detail: attr + " verified"}
	})
	value := u.Attributes[attr]
	if value == "" {
		return errCodeExpired
	}
	return p.useCode(ctx, poolID, u.Username, purposeVerifyPrefix+attr, code, value, func(_ store.Tx, cur *User, _ *codeRecord) error {
		if cur.Attributes[attr] != value {
			return errCodeExpired
		}
		cur.Attributes[attr+"_verified"] = "true"
		return nil
	})
}

// validAutoVerified checks AutoVerifiedAttributes values.
func validAutoVerified(attrs []string) error {
	for i, a := range attrs {
		if a != "email" && a != "phone_number" {
			return errf(CodeInvalidParameter, "1 validation error detected: Value '%s' at 'autoVerifiedAttributes.%d' failed to satisfy constraint: Member must satisfy enum value set: [phone_number, email]", a, i+1)
		}
		if slices.Contains(attrs[:i], a) {
			return errf(CodeInvalidParameter, "Duplicate value %s in AutoVerifiedAttributes.", a)
		}
	}
	return nil
}

// PoolSignUpSettings are a pool's self-service settings.
type PoolSignUpSettings struct {
	AllowAdminCreateUserOnly bool
	AutoVerifiedAttributes   []string
}

// updatePool is UpdateUserPool: the pre-token-generation hook, the sign-up settings and the
// MfaConfiguration (mfa.go; validated by the caller), written together.
func (p *IdP) updatePool(ctx context.Context, poolID string, h *Hook, s PoolSignUpSettings, mfa string) (err error) {
	defer p.audited(ctx, &err, func() Change {
		d := map[bool]string{true: "pre token hook set", false: "pre token hook removed"}[h != nil] +
			"; sign-up " + map[bool]string{true: "by administrators only", false: "open"}[s.AllowAdminCreateUserOnly] +
			"; auto-verified attributes: " + strings.Join(s.AutoVerifiedAttributes, ",") + "; MFA " + mfa
		return Change{Operation: "UpdateUserPool", PoolID: poolID, Detail: d}
	})
	if h != nil {
		if err := validateHookURL(h.URL); err != nil {
			return err
		}
	}
	if err := validAutoVerified(s.AutoVerifiedAttributes); err != nil {
		return err
	}
	return p.st.Update(ctx, func(tx store.Tx) error {
		if err := serialize(ctx, tx); err != nil {
			return err
		}
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		pool.PreTokenHook = h
		pool.AllowAdminCreateUserOnly, pool.AutoVerifiedAttributes = s.AllowAdminCreateUserOnly, s.AutoVerifiedAttributes
		pool.setMFAMode(mfa)
		pool.Updated = p.now().UTC()
		return putJSON(ctx, tx, false, "", kindPool, poolID, "", "", pool)
	})
}

// SetSignUpSettings changes a pool's self-service settings, leaving its other settings.
func (p *IdP) SetSignUpSettings(ctx context.Context, poolID string, s PoolSignUpSettings) (err error) {
	defer p.audited(ctx, &err, func() Change {
		return Change{Operation: "UpdateUserPool", PoolID: poolID, Detail: "sign-up " +
			map[bool]string{true: "by administrators only", false: "open"}[s.AllowAdminCreateUserOnly] +
			"; auto-verified attributes: " + strings.Join(s.AutoVerifiedAttributes, ",")}
	})
	if err := validAutoVerified(s.AutoVerifiedAttributes); err != nil {
		return err
	}
	return p.st.Update(ctx, func(tx store.Tx) error {
		if err := serialize(ctx, tx); err != nil {
			return err
		}
		pool, err := p.getPool(ctx, tx, poolID)
		if err != nil {
			return err
		}
		pool.AllowAdminCreateUserOnly, pool.AutoVerifiedAttributes = s.AllowAdminCreateUserOnly, s.AutoVerifiedAttributes
		pool.Updated = p.now().UTC()
		return putJSON(ctx, tx, false, "", kindPool, poolID, "", "", pool)
	})
}
