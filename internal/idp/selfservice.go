package idp

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

type listUsersInGroupInput struct {
	UserPoolID string `json:"UserPoolId"`
	GroupName  string `json:"GroupName"`
	Limit      int32  `json:"Limit,omitempty"`
	NextToken  string `json:"NextToken,omitempty"`
}

type listUsersInGroupOutput struct {
	Users     []*userType `json:"Users"`
	NextToken string      `json:"NextToken,omitempty"`
}

// opListUsersInGroup pages through the pool's users and keeps the group's members; a page may
// hold fewer than Limit users (then NextToken continues), as Cognito allows.
func (p *IdP) opListUsersInGroup(ctx context.Context, in *listUsersInGroupInput) (*listUsersInGroupOutput, error) {
	if err := required("groupName", in.GroupName); err != nil {
		return nil, err
	}
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	if _, err := p.st.Get(ctx, in.UserPoolID, kindGroup, in.GroupName); errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeResourceNotFound, "Group not found.")
	} else if err != nil {
		return nil, err
	}
	out := &listUsersInGroupOutput{Users: []*userType{}}
	token := in.NextToken
	for {
		objs, next, err := p.page(ctx, in.UserPoolID, kindUser, in.Limit, token)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			u, err := decode[User](o)
			if err != nil {
				return nil, err
			}
			if slices.Contains(u.Groups, in.GroupName) {
				out.Users = append(out.Users, userOut(u))
			}
		}
		token = next
		if next == "" || len(out.Users) > 0 {
			break
		}
	}
	out.NextToken = token
	return out, nil
}

type changePasswordInput struct {
	AccessToken      string `json:"AccessToken"`
	PreviousPassword string `json:"PreviousPassword"`
	ProposedPassword string `json:"ProposedPassword"`
}

// opChangePassword lets a signed-in user change their password: the access token must carry
// aws.cognito.signin.user.admin, and the previous password is checked (and throttled) like a
// sign-in.
func (p *IdP) opChangePassword(ctx context.Context, in *changePasswordInput) (struct{}, error) {
	for _, f := range []struct{ name, v string }{{"accessToken", in.AccessToken}, {"previousPassword", in.PreviousPassword}, {"proposedPassword", in.ProposedPassword}} {
		if err := required(f.name, f.v); err != nil {
			return struct{}{}, err
		}
	}
	u, poolID, clientID, err := p.selfServiceUser(ctx, in.AccessToken)
	if err != nil {
		return struct{}{}, err
	}
	if err := validatePassword(in.ProposedPassword); err != nil {
		return struct{}{}, err
	}
	pool, err := p.getPool(ctx, p.st, poolID)
	if err != nil {
		return struct{}{}, err
	}
	client, err := p.getClient(ctx, p.st, poolID, clientID)
	if err != nil {
		return struct{}{}, errf(CodeNotAuthorized, "Invalid Access Token")
	}
	if _, err := p.checkPassword(ctx, pool, client, u.Username, in.PreviousPassword); err != nil && !errors.Is(err, errNewPassword) {
		return struct{}{}, err
	}
	return struct{}{}, p.SetUserPassword(WithActor(ctx, "user:"+u.Username), poolID, u.Username, in.ProposedPassword, true)
}

// selfServiceUser returns the user an access token was issued to, its pool and client, when
// the token is valid and carries aws.cognito.signin.user.admin (which self-service calls
// require, as in Cognito).
func (p *IdP) selfServiceUser(ctx context.Context, accessToken string) (u *User, poolID, clientID string, err error) {
	u, c, err := p.userFromAccessToken(ctx, "", accessToken)
	if err != nil {
		return nil, "", "", errf(CodeNotAuthorized, "Invalid Access Token")
	}
	if scope, _ := c["scope"].(string); !slices.Contains(strings.Fields(scope), scopeAdmin) {
		return nil, "", "", errf(CodeNotAuthorized, "Access Token does not have required scopes")
	}
	iss, _ := c["iss"].(string)
	clientID, _ = c["client_id"].(string)
	return u, iss[strings.LastIndexByte(iss, '/')+1:], clientID, nil
}

type updateUserAttributesInput struct {
	AccessToken    string            `json:"AccessToken"`
	UserAttributes []attribute       `json:"UserAttributes"`
	ClientMetadata map[string]string `json:"ClientMetadata,omitempty"`
}

type updateUserAttributesOutput struct {
	CodeDeliveryDetailsList []struct{} `json:"CodeDeliveryDetailsList"`
}

// opUpdateUserAttributes lets a signed-in user change their own profile attributes. Gatehouse
// pools have no per-client write-attribute list, so what a user may write is fixed and
// narrower than Cognito's default: standard profile attributes only. Custom attributes often
// carry what policies decide on (team, tenant, role) and the *_verified flags vouch for
// contact data, so only an administrator sets them. A changed email or phone number is no
// longer verified (Cognito would send a code; Gatehouse sends none, so none is listed).
func (p *IdP) opUpdateUserAttributes(ctx context.Context, in *updateUserAttributesInput) (*updateUserAttributesOutput, error) {
	if err := required("accessToken", in.AccessToken); err != nil {
		return nil, err
	}
	if in.UserAttributes == nil {
		return nil, required("userAttributes", "")
	}
	attrs, err := attrMap(in.UserAttributes)
	if err != nil {
		return nil, err
	}
	for k := range attrs {
		if strings.HasPrefix(k, "custom:") || k == "email_verified" || k == "phone_number_verified" {
			return nil, errf(CodeNotAuthorized, "A client attempted to write unauthorized attribute")
		}
	}
	u, poolID, _, err := p.selfServiceUser(ctx, in.AccessToken)
	if err != nil {
		return nil, err
	}
	if err := p.updateAttributes(WithActor(ctx, "user:"+u.Username), "UpdateUserAttributes", poolID, u.Username, attrs, true); err != nil {
		return nil, err
	}
	return &updateUserAttributesOutput{CodeDeliveryDetailsList: []struct{}{}}, nil
}
