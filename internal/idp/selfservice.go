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
	u, c, err := p.userFromAccessToken(ctx, "", in.AccessToken)
	if err != nil {
		return struct{}{}, errf(CodeNotAuthorized, "Invalid Access Token")
	}
	if scope, _ := c["scope"].(string); !slices.Contains(strings.Fields(scope), scopeAdmin) {
		return struct{}{}, errf(CodeNotAuthorized, "Access Token does not have required scopes")
	}
	if err := validatePassword(in.ProposedPassword); err != nil {
		return struct{}{}, err
	}
	iss, _ := c["iss"].(string)
	poolID := iss[strings.LastIndexByte(iss, '/')+1:]
	clientID, _ := c["client_id"].(string)
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
