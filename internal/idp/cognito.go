package idp

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// TargetPrefix is the X-Amz-Target prefix of the Cognito JSON API.
const TargetPrefix = "AWSCognitoIdentityProviderService"

// epoch encodes a time as Cognito does: seconds since the epoch as a JSON number.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

// cognitoAPI builds the awsjson service for the Cognito JSON 1.1 API.
func (p *IdP) cognitoAPI() *awsjson.Service {
	var v *sigv4.Verifier
	if p.creds != nil {
		v = &sigv4.Verifier{Lookup: p.creds, Services: []string{"cognito-idp"}, Region: p.region, Now: p.now}
	}
	ops := map[string]awsjson.Op{
		"InitiateAuth":              op(p.opInitiateAuth),
		"RespondToAuthChallenge":    op(p.opRespondToAuthChallenge),
		"AdminInitiateAuth":         op(p.opAdminInitiateAuth),
		"RevokeToken":               op(p.opRevokeToken),
		"GetUser":                   op(p.opGetUser),
		"GlobalSignOut":             op(p.opGlobalSignOut),
		"ChangePassword":            op(p.opChangePassword),
		"ListUsersInGroup":          op(p.opListUsersInGroup),
		"AdminUserGlobalSignOut":    op(p.opAdminUserGlobalSignOut),
		"CreateUserPool":            op(p.opCreateUserPool),
		"DescribeUserPool":          op(p.opDescribeUserPool),
		"ListUserPools":             op(p.opListUserPools),
		"DeleteUserPool":            op(p.opDeleteUserPool),
		"CreateUserPoolClient":      op(p.opCreateUserPoolClient),
		"DescribeUserPoolClient":    op(p.opDescribeUserPoolClient),
		"ListUserPoolClients":       op(p.opListUserPoolClients),
		"CreateGroup":               op(p.opCreateGroup),
		"GetGroup":                  op(p.opGetGroup),
		"ListGroups":                op(p.opListGroups),
		"AdminCreateUser":           op(p.opAdminCreateUser),
		"AdminSetUserPassword":      op(p.opAdminSetUserPassword),
		"AdminAddUserToGroup":       op(p.opAdminAddUserToGroup),
		"AdminRemoveUserFromGroup":  op(p.opAdminRemoveUserFromGroup),
		"AdminListGroupsForUser":    op(p.opAdminListGroupsForUser),
		"AdminGetUser":              op(p.opAdminGetUser),
		"AdminDeleteUser":           op(p.opAdminDeleteUser),
		"AdminDisableUser":          op(p.opAdminDisableUser),
		"AdminEnableUser":           op(p.opAdminEnableUser),
		"AdminUpdateUserAttributes": op(p.opAdminUpdateUserAttributes),
		"AdminResetUserPassword":    op(p.opAdminResetUserPassword),
		"UpdateUserAttributes":      op(p.opUpdateUserAttributes),
		"UpdateUserPool":            op(p.opUpdateUserPool),
		"GetSigningCertificate":     op(p.opGetSigningCertificate),
		"ListUsers":                 op(p.opListUsers),
		"CreateResourceServer":      op(p.opCreateResourceServer),
		"DescribeResourceServer":    op(p.opDescribeResourceServer),
		"ListResourceServers":       op(p.opListResourceServers),
		// Software-token MFA (mfa.go).
		"AssociateSoftwareToken":      op(p.opAssociateSoftwareToken),
		"VerifySoftwareToken":         op(p.opVerifySoftwareToken),
		"SetUserMFAPreference":        op(p.opSetUserMFAPreference),
		"AdminSetUserMFAPreference":   op(p.opAdminSetUserMFAPreference),
		"SetUserPoolMfaConfig":        op(p.opSetUserPoolMfaConfig),
		"GetUserPoolMfaConfig":        op(p.opGetUserPoolMfaConfig),
		"AdminRespondToAuthChallenge": op(p.opAdminRespondToAuthChallenge),
		// Self-service sign-up and codes (signup.go).
		"SignUp":                           op(p.opSignUp),
		"ConfirmSignUp":                    op(p.opConfirmSignUp),
		"ResendConfirmationCode":           op(p.opResendConfirmationCode),
		"ForgotPassword":                   op(p.opForgotPassword),
		"ConfirmForgotPassword":            op(p.opConfirmForgotPassword),
		"GetUserAttributeVerificationCode": op(p.opGetUserAttributeVerificationCode),
		"VerifyUserAttribute":              op(p.opVerifyUserAttribute),
		"AdminConfirmSignUp":               op(p.opAdminConfirmSignUp),
	}
	return &awsjson.Service{
		TargetPrefix: TargetPrefix,
		JSONVersion:  "1.1",
		Ops:          ops,
		// Unauthenticated in Cognito too: they carry their own proof (password, refresh token,
		// session, access token).
		Public: map[string]bool{"InitiateAuth": true, "RespondToAuthChallenge": true,
			"RevokeToken": true, "GetUser": true, "GlobalSignOut": true,
			"AssociateSoftwareToken": true, "VerifySoftwareToken": true, "SetUserMFAPreference": true,
			"ChangePassword": true, "UpdateUserAttributes": true,
			"SignUp": true, "ConfirmSignUp": true, "ResendConfirmationCode": true, "ForgotPassword": true,
			"ConfirmForgotPassword": true, "GetUserAttributeVerificationCode": true, "VerifyUserAttribute": true},
		Verifier: v,
		MaxBody:  256 << 10,
		Logger:   p.log,
	}
}

// op adapts a typed operation: strict decoding and Cognito error mapping.
func op[In any, Out any](f func(ctx context.Context, in *In) (Out, error)) awsjson.Op {
	return func(ctx context.Context, body []byte) (any, error) {
		in := new(In)
		if err := awsjson.Decode(body, in); err != nil {
			var ae *awsjson.Error
			if errors.As(err, &ae) {
				// Cognito reports malformed input as InvalidParameterException.
				out := *ae
				out.Type = CodeInvalidParameter
				out.Fields = nil
				return nil, &out
			}
			return nil, err
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, toAWS(err)
		}
		return out, nil
	}
}

func toAWS(err error) error {
	var ie *Error
	if !errors.As(err, &ie) {
		if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
			return &awsjson.Error{Type: CodeInternal, Message: "The request was cancelled.", Status: http.StatusInternalServerError}
		}
		return err
	}
	status := http.StatusBadRequest
	if ie.Code == CodeInternal {
		status = http.StatusInternalServerError
	}
	return &awsjson.Error{Type: ie.Code, Message: ie.Message, Status: status}
}

func required(field, v string) error {
	if v == "" {
		return errf(CodeInvalidParameter, "1 validation error detected: Value null at '%s' failed to satisfy constraint: Member must not be null", field)
	}
	return nil
}

// --- public operations ----------------------------------------------------------------------

type authResult struct {
	AccessToken  string `json:"AccessToken"`
	ExpiresIn    int32  `json:"ExpiresIn"`
	IDToken      string `json:"IdToken,omitempty"`
	RefreshToken string `json:"RefreshToken,omitempty"`
	TokenType    string `json:"TokenType"`
}

// authOutput puts AuthenticationResult first and AccessToken first inside it: scripts cut the
// token out of the raw body by position.
type authOutput struct {
	AuthenticationResult *authResult       `json:"AuthenticationResult,omitempty"`
	ChallengeName        string            `json:"ChallengeName,omitempty"`
	ChallengeParameters  map[string]string `json:"ChallengeParameters"`
	Session              string            `json:"Session,omitempty"`
}

func toAuthOutput(t *Tokens, ch *Challenge) *authOutput {
	out := &authOutput{ChallengeParameters: map[string]string{}}
	if t != nil {
		out.AuthenticationResult = &authResult{AccessToken: t.AccessToken, ExpiresIn: t.ExpiresIn,
			IDToken: t.IDToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType}
	}
	if ch != nil {
		out.ChallengeName, out.ChallengeParameters, out.Session = ch.Name, ch.Parameters, ch.Session
	}
	return out
}

func (p *IdP) opInitiateAuth(ctx context.Context, in *InitiateAuthInput) (*authOutput, error) {
	t, ch, err := p.InitiateAuth(ctx, *in)
	if err != nil {
		return nil, err
	}
	return toAuthOutput(t, ch), nil
}

type adminInitiateAuthInput struct {
	UserPoolID string `json:"UserPoolId"`
	InitiateAuthInput
	ContextData map[string]any `json:"ContextData,omitempty"`
}

func (p *IdP) opAdminInitiateAuth(ctx context.Context, in *adminInitiateAuthInput) (*authOutput, error) {
	// The caller is a backend signing with the management credentials, which signs users in on
	// their behalf: its own address is every user's, so the end user's address it reports in
	// ContextData (as Cognito's API has it) is the one sign-ins are throttled under.
	if s, ok := in.ContextData["IpAddress"].(string); ok {
		if a, err := netip.ParseAddr(s); err == nil {
			ctx = withClientIP(ctx, a.Unmap().String())
		}
	}
	t, ch, err := p.AdminInitiateAuth(ctx, in.UserPoolID, in.InitiateAuthInput)
	if err != nil {
		return nil, err
	}
	return toAuthOutput(t, ch), nil
}

func (p *IdP) opRespondToAuthChallenge(ctx context.Context, in *RespondToAuthChallengeInput) (*authOutput, error) {
	t, ch, err := p.RespondToAuthChallenge(ctx, *in)
	if err != nil {
		return nil, err
	}
	return toAuthOutput(t, ch), nil
}

type revokeTokenInput struct {
	Token          string            `json:"Token"`
	ClientID       string            `json:"ClientId"`
	ClientSecret   string            `json:"ClientSecret,omitempty"`
	ClientMetadata map[string]string `json:"ClientMetadata,omitempty"`
}

func (p *IdP) opRevokeToken(ctx context.Context, in *revokeTokenInput) (struct{}, error) {
	if err := required("token", in.Token); err != nil {
		return struct{}{}, err
	}
	poolID, err := p.poolOfClient(ctx, in.ClientID)
	if err != nil {
		return struct{}{}, err
	}
	c, err := p.getClient(ctx, p.st, poolID, in.ClientID)
	if err != nil {
		return struct{}{}, err
	}
	if !checkClientSecret(c, in.ClientSecret) {
		return struct{}{}, errf(CodeNotAuthorized, "Unable to verify secret hash for client %s", c.ID)
	}
	return struct{}{}, p.revokeRefresh(WithActor(ctx, "client:"+c.ID), poolID, c.ID, in.Token)
}

func (p *IdP) opGlobalSignOut(ctx context.Context, in *getUserInput) (struct{}, error) {
	if err := required("accessToken", in.AccessToken); err != nil {
		return struct{}{}, err
	}
	u, c, err := p.userFromAccessToken(ctx, "", in.AccessToken)
	if err != nil {
		return struct{}{}, errf(CodeNotAuthorized, "Access Token has been revoked")
	}
	iss, _ := c["iss"].(string)
	poolID := iss[strings.LastIndexByte(iss, '/')+1:]
	return struct{}{}, p.GlobalSignOut(WithActor(ctx, "user:"+u.Username), poolID, u.Username)
}

func (p *IdP) opAdminUserGlobalSignOut(ctx context.Context, in *userInput) (struct{}, error) {
	return struct{}{}, p.GlobalSignOut(ctx, in.UserPoolID, in.Username)
}

type getUserInput struct {
	AccessToken string `json:"AccessToken"`
}

type attribute struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

type getUserOutput struct {
	Username            string      `json:"Username"`
	UserAttributes      []attribute `json:"UserAttributes"`
	UserMFASettingList  []string    `json:"UserMFASettingList,omitempty"`
	PreferredMfaSetting string      `json:"PreferredMfaSetting,omitempty"`
}

func (p *IdP) opGetUser(ctx context.Context, in *getUserInput) (*getUserOutput, error) {
	u, _, err := p.userFromAccessToken(ctx, "", in.AccessToken)
	if err != nil {
		return nil, errf(CodeNotAuthorized, "Invalid Access Token")
	}
	out := &getUserOutput{Username: u.Username, UserAttributes: attrList(u)}
	out.UserMFASettingList, out.PreferredMfaSetting = mfaSettingList(u)
	return out, nil
}

func attrList(u *User) []attribute {
	out := []attribute{{Name: "sub", Value: u.Sub}}
	names := make([]string, 0, len(u.Attributes))
	for k := range u.Attributes {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		out = append(out, attribute{Name: k, Value: u.Attributes[k]})
	}
	return out
}

// --- pools ----------------------------------------------------------------------------------

type lambdaConfig struct {
	PreTokenGeneration       string `json:"PreTokenGeneration,omitempty"`
	PreTokenGenerationConfig *struct {
		LambdaArn     string `json:"LambdaArn"`
		LambdaVersion string `json:"LambdaVersion"`
	} `json:"PreTokenGenerationConfig,omitempty"`
}

// hookFromLambda reads the pre-token-generation webhook from LambdaConfig: Gatehouse calls an
// HTTP(S) URL where Cognito would invoke a Lambda ARN.
func hookFromLambda(lc *lambdaConfig) (*Hook, error) {
	if lc == nil {
		return nil, nil
	}
	if lc.PreTokenGeneration != "" {
		// The legacy field selects V1 events, which Gatehouse does not send.
		return nil, errf(CodeInvalidParameter, "Use PreTokenGenerationConfig with LambdaVersion V2_0; V1 pre token generation events are not supported.")
	}
	u := ""
	if c := lc.PreTokenGenerationConfig; c != nil {
		if c.LambdaVersion != "" && c.LambdaVersion != "V2_0" {
			return nil, errf(CodeInvalidParameter, "Only LambdaVersion V2_0 is supported.")
		}
		u = c.LambdaArn
	}
	if u == "" {
		return nil, nil
	}
	if err := validateHookURL(u); err != nil {
		return nil, err
	}
	return &Hook{URL: u}, nil
}

type createUserPoolInput struct {
	PoolName               string                 `json:"PoolName"`
	LambdaConfig           *lambdaConfig          `json:"LambdaConfig,omitempty"`
	UserPoolTags           map[string]string      `json:"UserPoolTags,omitempty"`
	AutoVerifiedAttributes []string               `json:"AutoVerifiedAttributes,omitempty"`
	DeletionProtection     string                 `json:"DeletionProtection,omitempty"`
	MfaConfiguration       string                 `json:"MfaConfiguration,omitempty"`
	AdminCreateUserConfig  *adminCreateUserConfig `json:"AdminCreateUserConfig,omitempty"`
}

type userPoolType struct {
	ID                     string                `json:"Id"`
	Name                   string                `json:"Name"`
	Arn                    string                `json:"Arn"`
	Status                 string                `json:"Status"`
	CreationDate           epoch                 `json:"CreationDate"`
	LastModifiedDate       epoch                 `json:"LastModifiedDate"`
	LambdaConfig           *lambdaOutput         `json:"LambdaConfig"`
	MfaConfiguration       string                `json:"MfaConfiguration"`
	AdminCreateUserConfig  adminCreateUserConfig `json:"AdminCreateUserConfig"`
	AutoVerifiedAttributes []string              `json:"AutoVerifiedAttributes,omitempty"`
}

type lambdaOutput struct {
	PreTokenGenerationConfig *lambdaVersioned `json:"PreTokenGenerationConfig,omitempty"`
}

type lambdaVersioned struct {
	LambdaArn     string `json:"LambdaArn"`
	LambdaVersion string `json:"LambdaVersion"`
}

func (p *IdP) poolOut(pool *Pool) *userPoolType {
	lc := &lambdaOutput{}
	if pool.PreTokenHook != nil {
		lc.PreTokenGenerationConfig = &lambdaVersioned{LambdaArn: pool.PreTokenHook.URL, LambdaVersion: "V2_0"}
	}
	return &userPoolType{ID: pool.ID, Name: pool.Name, Status: "Enabled", MfaConfiguration: pool.mfaMode(),
		Arn:          "arn:aws:cognito-idp:" + pool.Region + ":000000000000:userpool/" + pool.ID,
		CreationDate: epoch(pool.Created), LastModifiedDate: epoch(pool.Updated), LambdaConfig: lc,
		AdminCreateUserConfig:  adminCreateUserConfig{AllowAdminCreateUserOnly: pool.AllowAdminCreateUserOnly},
		AutoVerifiedAttributes: pool.AutoVerifiedAttributes}
}

type userPoolOutput struct {
	UserPool *userPoolType `json:"UserPool"`
}

func (p *IdP) opCreateUserPool(ctx context.Context, in *createUserPoolInput) (*userPoolOutput, error) {
	if err := required("poolName", in.PoolName); err != nil {
		return nil, err
	}
	h, err := hookFromLambda(in.LambdaConfig)
	if err != nil {
		return nil, err
	}
	if err := validAutoVerified(in.AutoVerifiedAttributes); err != nil {
		return nil, err
	}
	pool, err := p.CreatePool(ctx, PoolInput{Name: in.PoolName, MFA: in.MfaConfiguration, PreTokenHook: h,
		AllowAdminCreateUserOnly: in.AdminCreateUserConfig != nil && in.AdminCreateUserConfig.AllowAdminCreateUserOnly,
		AutoVerifiedAttributes:   in.AutoVerifiedAttributes})
	if err != nil {
		return nil, err
	}
	return &userPoolOutput{UserPool: p.poolOut(pool)}, nil
}

type poolIDInput struct {
	UserPoolID string `json:"UserPoolId"`
}

func (p *IdP) opDescribeUserPool(ctx context.Context, in *poolIDInput) (*userPoolOutput, error) {
	pool, err := p.getPool(ctx, p.st, in.UserPoolID)
	if err != nil {
		return nil, err
	}
	return &userPoolOutput{UserPool: p.poolOut(pool)}, nil
}

func (p *IdP) opDeleteUserPool(ctx context.Context, in *poolIDInput) (struct{}, error) {
	return struct{}{}, p.DeletePool(ctx, in.UserPoolID)
}

type listInput struct {
	UserPoolID string `json:"UserPoolId,omitempty"`
	MaxResults int32  `json:"MaxResults,omitempty"`
	Limit      int32  `json:"Limit,omitempty"`
	NextToken  string `json:"NextToken,omitempty"`
}

type poolDescription struct {
	ID               string        `json:"Id"`
	Name             string        `json:"Name"`
	Status           string        `json:"Status"`
	CreationDate     epoch         `json:"CreationDate"`
	LastModifiedDate epoch         `json:"LastModifiedDate"`
	LambdaConfig     *lambdaOutput `json:"LambdaConfig"`
}

type listPoolsOutput struct {
	UserPools []poolDescription `json:"UserPools"`
	NextToken string            `json:"NextToken,omitempty"`
}

// page lists one page of a kind; limit defaults to def and is capped at 60 like Cognito.
func (p *IdP) page(ctx context.Context, scope string, kind store.Kind, limit int32, token string) ([]store.Object, string, error) {
	if limit <= 0 {
		limit = 60
	}
	if limit > 60 {
		return nil, "", errf(CodeInvalidParameter, "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60")
	}
	objs, next, err := p.st.List(ctx, store.Query{Scope: scope, Kind: kind, Limit: int(limit), PageToken: token})
	if errors.Is(err, store.ErrBadPageToken) {
		return nil, "", errf(CodeInvalidParameter, "Invalid pagination token.")
	}
	return objs, next, err
}

func (p *IdP) opListUserPools(ctx context.Context, in *listInput) (*listPoolsOutput, error) {
	objs, next, err := p.page(ctx, "", kindPool, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &listPoolsOutput{UserPools: []poolDescription{}, NextToken: next}
	for _, o := range objs {
		pool, err := decode[Pool](o)
		if err != nil {
			return nil, err
		}
		po := p.poolOut(pool)
		out.UserPools = append(out.UserPools, poolDescription{ID: po.ID, Name: po.Name, Status: po.Status,
			CreationDate: po.CreationDate, LastModifiedDate: po.LastModifiedDate, LambdaConfig: po.LambdaConfig})
	}
	return out, nil
}

// --- clients --------------------------------------------------------------------------------

type tokenValidityUnits struct {
	AccessToken  string `json:"AccessToken,omitempty"`
	IDToken      string `json:"IdToken,omitempty"`
	RefreshToken string `json:"RefreshToken,omitempty"`
}

func unitDuration(u, def string) (time.Duration, error) {
	if u == "" {
		u = def
	}
	switch u {
	case "seconds":
		return time.Second, nil
	case "minutes":
		return time.Minute, nil
	case "hours":
		return time.Hour, nil
	case "days":
		return 24 * time.Hour, nil
	}
	return 0, errf(CodeInvalidParameter, "Invalid TokenValidityUnits value %q.", u)
}

type createClientInput struct {
	UserPoolID                      string              `json:"UserPoolId"`
	ClientName                      string              `json:"ClientName"`
	GenerateSecret                  bool                `json:"GenerateSecret,omitempty"`
	RefreshTokenValidity            int32               `json:"RefreshTokenValidity,omitempty"`
	AccessTokenValidity             *int32              `json:"AccessTokenValidity,omitempty"`
	IDTokenValidity                 *int32              `json:"IdTokenValidity,omitempty"`
	TokenValidityUnits              *tokenValidityUnits `json:"TokenValidityUnits,omitempty"`
	ReadAttributes                  []string            `json:"ReadAttributes,omitempty"`
	WriteAttributes                 []string            `json:"WriteAttributes,omitempty"`
	ExplicitAuthFlows               []string            `json:"ExplicitAuthFlows,omitempty"`
	SupportedIdentityProviders      []string            `json:"SupportedIdentityProviders,omitempty"`
	CallbackURLs                    []string            `json:"CallbackURLs,omitempty"`
	LogoutURLs                      []string            `json:"LogoutURLs,omitempty"`
	DefaultRedirectURI              string              `json:"DefaultRedirectURI,omitempty"`
	AllowedOAuthFlows               []string            `json:"AllowedOAuthFlows,omitempty"`
	AllowedOAuthScopes              []string            `json:"AllowedOAuthScopes,omitempty"`
	AllowedOAuthFlowsUserPoolClient bool                `json:"AllowedOAuthFlowsUserPoolClient,omitempty"`
	PreventUserExistenceErrors      string              `json:"PreventUserExistenceErrors,omitempty"`
	EnableTokenRevocation           *bool               `json:"EnableTokenRevocation,omitempty"`
	AuthSessionValidity             int32               `json:"AuthSessionValidity,omitempty"`
}

type clientType struct {
	UserPoolID                      string             `json:"UserPoolId"`
	ClientName                      string             `json:"ClientName"`
	ClientID                        string             `json:"ClientId"`
	ClientSecret                    string             `json:"ClientSecret,omitempty"`
	LastModifiedDate                epoch              `json:"LastModifiedDate"`
	CreationDate                    epoch              `json:"CreationDate"`
	RefreshTokenValidity            int32              `json:"RefreshTokenValidity"`
	AccessTokenValidity             int32              `json:"AccessTokenValidity"`
	IDTokenValidity                 int32              `json:"IdTokenValidity"`
	TokenValidityUnits              tokenValidityUnits `json:"TokenValidityUnits"`
	ExplicitAuthFlows               []string           `json:"ExplicitAuthFlows"`
	CallbackURLs                    []string           `json:"CallbackURLs,omitempty"`
	AllowedOAuthFlows               []string           `json:"AllowedOAuthFlows,omitempty"`
	AllowedOAuthScopes              []string           `json:"AllowedOAuthScopes,omitempty"`
	AllowedOAuthFlowsUserPoolClient bool               `json:"AllowedOAuthFlowsUserPoolClient"`
	PreventUserExistenceErrors      string             `json:"PreventUserExistenceErrors"`
	EnableTokenRevocation           bool               `json:"EnableTokenRevocation"`
}

func clientOut(c *Client) *clientType {
	prevent := "LEGACY"
	if c.PreventUserExistenceErrors {
		prevent = "ENABLED"
	}
	return &clientType{UserPoolID: c.PoolID, ClientName: c.Name, ClientID: c.ID, ClientSecret: c.Secret,
		LastModifiedDate: epoch(c.Updated), CreationDate: epoch(c.Created),
		RefreshTokenValidity: int32(c.refreshLifetime() / time.Second),
		AccessTokenValidity:  int32(c.accessLifetime() / time.Second),
		IDTokenValidity:      int32(c.idLifetime() / time.Second),
		TokenValidityUnits:   tokenValidityUnits{AccessToken: "seconds", IDToken: "seconds", RefreshToken: "seconds"},
		ExplicitAuthFlows:    c.ExplicitAuthFlows, CallbackURLs: c.CallbackURLs,
		AllowedOAuthFlows: c.AllowedOAuthFlows, AllowedOAuthScopes: c.AllowedOAuthScopes,
		AllowedOAuthFlowsUserPoolClient: len(c.AllowedOAuthFlows) > 0,
		PreventUserExistenceErrors:      prevent, EnableTokenRevocation: true}
}

type clientOutput struct {
	UserPoolClient *clientType `json:"UserPoolClient"`
}

func (p *IdP) opCreateUserPoolClient(ctx context.Context, in *createClientInput) (*clientOutput, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return nil, err
	}
	units := in.TokenValidityUnits
	if units == nil {
		units = &tokenValidityUnits{}
	}
	au, err := unitDuration(units.AccessToken, "hours")
	if err != nil {
		return nil, err
	}
	iu, err := unitDuration(units.IDToken, "hours")
	if err != nil {
		return nil, err
	}
	ru, err := unitDuration(units.RefreshToken, "days")
	if err != nil {
		return nil, err
	}
	ci := ClientInput{Name: in.ClientName, GenerateSecret: in.GenerateSecret, ExplicitAuthFlows: in.ExplicitAuthFlows,
		AllowedOAuthFlows: in.AllowedOAuthFlows, AllowedOAuthScopes: in.AllowedOAuthScopes,
		CallbackURLs: in.CallbackURLs, RefreshTokenValidity: time.Duration(in.RefreshTokenValidity) * ru}
	if in.AccessTokenValidity != nil {
		ci.AccessTokenValidity = time.Duration(*in.AccessTokenValidity) * au
	}
	if in.IDTokenValidity != nil {
		ci.IDTokenValidity = time.Duration(*in.IDTokenValidity) * iu
	}
	switch in.PreventUserExistenceErrors {
	case "", "LEGACY":
	case "ENABLED":
		ci.PreventUserExistenceErrors = true
	default:
		return nil, errf(CodeInvalidParameter, "Invalid PreventUserExistenceErrors value %q.", in.PreventUserExistenceErrors)
	}
	if len(in.AllowedOAuthFlows) > 0 && !in.AllowedOAuthFlowsUserPoolClient {
		return nil, errf(CodeInvalidParameter, "AllowedOAuthFlowsUserPoolClient must be true when AllowedOAuthFlows are set.")
	}
	c, err := p.CreateClient(ctx, in.UserPoolID, ci)
	if err != nil {
		return nil, err
	}
	return &clientOutput{UserPoolClient: clientOut(c)}, nil
}

type clientIDInput struct {
	UserPoolID string `json:"UserPoolId"`
	ClientID   string `json:"ClientId"`
}

func (p *IdP) opDescribeUserPoolClient(ctx context.Context, in *clientIDInput) (*clientOutput, error) {
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	c, err := p.getClient(ctx, p.st, in.UserPoolID, in.ClientID)
	if err != nil {
		return nil, err
	}
	return &clientOutput{UserPoolClient: clientOut(c)}, nil
}

type clientDescription struct {
	ClientID   string `json:"ClientId"`
	UserPoolID string `json:"UserPoolId"`
	ClientName string `json:"ClientName"`
}

type listClientsOutput struct {
	UserPoolClients []clientDescription `json:"UserPoolClients"`
	NextToken       string              `json:"NextToken,omitempty"`
}

func (p *IdP) opListUserPoolClients(ctx context.Context, in *listInput) (*listClientsOutput, error) {
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	objs, next, err := p.page(ctx, in.UserPoolID, kindClient, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &listClientsOutput{UserPoolClients: []clientDescription{}, NextToken: next}
	for _, o := range objs {
		c, err := decode[Client](o)
		if err != nil {
			return nil, err
		}
		out.UserPoolClients = append(out.UserPoolClients, clientDescription{ClientID: c.ID, UserPoolID: c.PoolID, ClientName: c.Name})
	}
	return out, nil
}

// --- groups ---------------------------------------------------------------------------------

type createGroupInput struct {
	GroupName   string `json:"GroupName"`
	UserPoolID  string `json:"UserPoolId"`
	Description string `json:"Description,omitempty"`
	RoleArn     string `json:"RoleArn,omitempty"`
	Precedence  *int32 `json:"Precedence,omitempty"`
}

type groupType struct {
	GroupName        string `json:"GroupName"`
	UserPoolID       string `json:"UserPoolId"`
	Description      string `json:"Description,omitempty"`
	RoleArn          string `json:"RoleArn,omitempty"`
	Precedence       *int32 `json:"Precedence,omitempty"`
	LastModifiedDate epoch  `json:"LastModifiedDate"`
	CreationDate     epoch  `json:"CreationDate"`
}

func groupOut(poolID string, g *Group) groupType {
	return groupType{GroupName: g.Name, UserPoolID: poolID, Description: g.Description, RoleArn: g.RoleArn,
		Precedence: g.Precedence, LastModifiedDate: epoch(g.Updated), CreationDate: epoch(g.Created)}
}

type groupOutput struct {
	Group groupType `json:"Group"`
}

func (p *IdP) opCreateGroup(ctx context.Context, in *createGroupInput) (*groupOutput, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return nil, err
	}
	g, err := p.CreateGroup(ctx, in.UserPoolID, GroupInput{Name: in.GroupName, Description: in.Description,
		Precedence: in.Precedence, RoleArn: in.RoleArn})
	if err != nil {
		return nil, err
	}
	return &groupOutput{Group: groupOut(in.UserPoolID, g)}, nil
}

type groupNameInput struct {
	GroupName  string `json:"GroupName"`
	UserPoolID string `json:"UserPoolId"`
}

func (p *IdP) opGetGroup(ctx context.Context, in *groupNameInput) (*groupOutput, error) {
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	g, err := getJSON[Group](ctx, p.st, in.UserPoolID, kindGroup, in.GroupName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeResourceNotFound, "Group not found.")
	}
	if err != nil {
		return nil, err
	}
	return &groupOutput{Group: groupOut(in.UserPoolID, g)}, nil
}

type listGroupsOutput struct {
	Groups    []groupType `json:"Groups"`
	NextToken string      `json:"NextToken,omitempty"`
}

func (p *IdP) opListGroups(ctx context.Context, in *listInput) (*listGroupsOutput, error) {
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	objs, next, err := p.page(ctx, in.UserPoolID, kindGroup, in.Limit, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &listGroupsOutput{Groups: []groupType{}, NextToken: next}
	for _, o := range objs {
		g, err := decode[Group](o)
		if err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, groupOut(in.UserPoolID, g))
	}
	return out, nil
}

// --- users ----------------------------------------------------------------------------------

type adminCreateUserInput struct {
	UserPoolID             string            `json:"UserPoolId"`
	Username               string            `json:"Username"`
	UserAttributes         []attribute       `json:"UserAttributes,omitempty"`
	ValidationData         []attribute       `json:"ValidationData,omitempty"`
	TemporaryPassword      string            `json:"TemporaryPassword,omitempty"`
	ForceAliasCreation     bool              `json:"ForceAliasCreation,omitempty"`
	MessageAction          string            `json:"MessageAction,omitempty"`
	DesiredDeliveryMediums []string          `json:"DesiredDeliveryMediums,omitempty"`
	ClientMetadata         map[string]string `json:"ClientMetadata,omitempty"`
}

type userType struct {
	Username             string      `json:"Username"`
	Attributes           []attribute `json:"Attributes"`
	UserCreateDate       epoch       `json:"UserCreateDate"`
	UserLastModifiedDate epoch       `json:"UserLastModifiedDate"`
	Enabled              bool        `json:"Enabled"`
	UserStatus           string      `json:"UserStatus"`
}

func userOut(u *User) *userType {
	return &userType{Username: u.Username, Attributes: attrList(u), UserCreateDate: epoch(u.Created),
		UserLastModifiedDate: epoch(u.Updated), Enabled: u.Enabled, UserStatus: u.Status}
}

type userOutput struct {
	User *userType `json:"User"`
}

func attrMap(list []attribute) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(list))
	for _, a := range list {
		if _, dup := m[a.Name]; dup {
			return nil, errf(CodeInvalidParameter, "Duplicate attribute %s.", a.Name)
		}
		m[a.Name] = a.Value
	}
	return m, nil
}

func (p *IdP) opAdminCreateUser(ctx context.Context, in *adminCreateUserInput) (*userOutput, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return nil, err
	}
	attrs, err := attrMap(in.UserAttributes)
	if err != nil {
		return nil, err
	}
	if in.MessageAction != "" && in.MessageAction != "SUPPRESS" && in.MessageAction != "RESEND" {
		return nil, errf(CodeInvalidParameter, "Invalid MessageAction %q.", in.MessageAction)
	}
	u, err := p.createUser(ctx, in.UserPoolID, in.Username, in.TemporaryPassword, true, attrs)
	if err != nil {
		return nil, err
	}
	return &userOutput{User: userOut(u)}, nil
}

type setPasswordInput struct {
	UserPoolID string `json:"UserPoolId"`
	Username   string `json:"Username"`
	Password   string `json:"Password"`
	Permanent  bool   `json:"Permanent,omitempty"`
}

func (p *IdP) opAdminSetUserPassword(ctx context.Context, in *setPasswordInput) (struct{}, error) {
	return struct{}{}, p.SetUserPassword(ctx, in.UserPoolID, in.Username, in.Password, in.Permanent)
}

type userGroupInput struct {
	UserPoolID string `json:"UserPoolId"`
	Username   string `json:"Username"`
	GroupName  string `json:"GroupName"`
}

func (p *IdP) opAdminAddUserToGroup(ctx context.Context, in *userGroupInput) (struct{}, error) {
	return struct{}{}, p.AddUserToGroup(ctx, in.UserPoolID, in.Username, in.GroupName)
}

func (p *IdP) opAdminRemoveUserFromGroup(ctx context.Context, in *userGroupInput) (struct{}, error) {
	return struct{}{}, p.RemoveUserFromGroup(ctx, in.UserPoolID, in.Username, in.GroupName)
}

type userInput struct {
	UserPoolID string `json:"UserPoolId"`
	Username   string `json:"Username"`
	Limit      int32  `json:"Limit,omitempty"`
	NextToken  string `json:"NextToken,omitempty"`
}

func (p *IdP) opAdminListGroupsForUser(ctx context.Context, in *userInput) (*listGroupsOutput, error) {
	u, err := p.GetUser(ctx, in.UserPoolID, in.Username)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit <= 0 {
		limit = 60
	}
	if limit > 60 {
		return nil, errf(CodeInvalidParameter, "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must have value less than or equal to 60")
	}
	// The token is the last group name returned: the user's group names are kept sorted.
	names := slices.Sorted(slices.Values(u.Groups))
	if in.NextToken != "" {
		after, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, errf(CodeInvalidParameter, "Invalid pagination token.")
		}
		i, _ := slices.BinarySearch(names, string(after))
		for i < len(names) && names[i] <= string(after) {
			i++
		}
		names = names[i:]
	}
	out := &listGroupsOutput{Groups: []groupType{}}
	if len(names) > int(limit) {
		names = names[:limit]
		out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[len(names)-1]))
	}
	for _, name := range names {
		g, err := getJSON[Group](ctx, p.st, in.UserPoolID, kindGroup, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out.Groups = append(out.Groups, groupOut(in.UserPoolID, g))
	}
	return out, nil
}

type adminGetUserOutput struct {
	Username             string      `json:"Username"`
	UserAttributes       []attribute `json:"UserAttributes"`
	UserCreateDate       epoch       `json:"UserCreateDate"`
	UserLastModifiedDate epoch       `json:"UserLastModifiedDate"`
	Enabled              bool        `json:"Enabled"`
	UserStatus           string      `json:"UserStatus"`
	UserMFASettingList   []string    `json:"UserMFASettingList,omitempty"`
	PreferredMfaSetting  string      `json:"PreferredMfaSetting,omitempty"`
}

func (p *IdP) opAdminGetUser(ctx context.Context, in *userInput) (*adminGetUserOutput, error) {
	u, err := p.GetUser(ctx, in.UserPoolID, in.Username)
	if err != nil {
		return nil, err
	}
	out := &adminGetUserOutput{Username: u.Username, UserAttributes: attrList(u), UserCreateDate: epoch(u.Created),
		UserLastModifiedDate: epoch(u.Updated), Enabled: u.Enabled, UserStatus: u.Status}
	out.UserMFASettingList, out.PreferredMfaSetting = mfaSettingList(u)
	return out, nil
}

func (p *IdP) opAdminDeleteUser(ctx context.Context, in *userInput) (struct{}, error) {
	return struct{}{}, p.DeleteUser(ctx, in.UserPoolID, in.Username)
}

func (p *IdP) opAdminDisableUser(ctx context.Context, in *userInput) (struct{}, error) {
	return struct{}{}, p.SetUserEnabled(ctx, in.UserPoolID, in.Username, false)
}

func (p *IdP) opAdminEnableUser(ctx context.Context, in *userInput) (struct{}, error) {
	return struct{}{}, p.SetUserEnabled(ctx, in.UserPoolID, in.Username, true)
}

type resetPasswordInput struct {
	UserPoolID     string            `json:"UserPoolId"`
	Username       string            `json:"Username"`
	ClientMetadata map[string]string `json:"ClientMetadata,omitempty"`
}

func (p *IdP) opAdminResetUserPassword(ctx context.Context, in *resetPasswordInput) (struct{}, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return struct{}{}, err
	}
	if err := required("username", in.Username); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.ResetUserPassword(ctx, in.UserPoolID, in.Username)
}

type updateAttrsInput struct {
	UserPoolID     string            `json:"UserPoolId"`
	Username       string            `json:"Username"`
	UserAttributes []attribute       `json:"UserAttributes"`
	ClientMetadata map[string]string `json:"ClientMetadata,omitempty"`
}

func (p *IdP) opAdminUpdateUserAttributes(ctx context.Context, in *updateAttrsInput) (struct{}, error) {
	attrs, err := attrMap(in.UserAttributes)
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.UpdateUserAttributes(ctx, in.UserPoolID, in.Username, attrs)
}

type listUsersInput struct {
	UserPoolID      string   `json:"UserPoolId"`
	AttributesToGet []string `json:"AttributesToGet,omitempty"`
	Limit           int32    `json:"Limit,omitempty"`
	PaginationToken string   `json:"PaginationToken,omitempty"`
	Filter          string   `json:"Filter,omitempty"`
}

type listUsersOutput struct {
	Users           []*userType `json:"Users"`
	PaginationToken string      `json:"PaginationToken,omitempty"`
}

func (p *IdP) opListUsers(ctx context.Context, in *listUsersInput) (*listUsersOutput, error) {
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	f, err := parseFilter(in.Filter)
	if err != nil {
		return nil, err
	}
	out := &listUsersOutput{Users: []*userType{}}
	limit := in.Limit
	if limit <= 0 {
		limit = 60
	}
	token := in.PaginationToken
	// A filter may skip objects: keep paging until the page is full or the pool is exhausted.
	for {
		objs, next, err := p.page(ctx, in.UserPoolID, kindUser, limit, token)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			u, err := decode[User](o)
			if err != nil {
				return nil, err
			}
			if !f.match(u) {
				continue
			}
			uo := userOut(u)
			if len(in.AttributesToGet) > 0 {
				uo.Attributes = slices.DeleteFunc(uo.Attributes, func(a attribute) bool { return !slices.Contains(in.AttributesToGet, a.Name) })
			}
			out.Users = append(out.Users, uo)
		}
		token = next
		if next == "" || f == nil || len(out.Users) > 0 {
			break
		}
	}
	out.PaginationToken = token
	return out, nil
}

// --- resource servers -----------------------------------------------------------------------

type scopeType struct {
	ScopeName        string `json:"ScopeName"`
	ScopeDescription string `json:"ScopeDescription"`
}

type createResourceServerInput struct {
	UserPoolID string      `json:"UserPoolId"`
	Identifier string      `json:"Identifier"`
	Name       string      `json:"Name"`
	Scopes     []scopeType `json:"Scopes,omitempty"`
}

type resourceServerType struct {
	UserPoolID string      `json:"UserPoolId"`
	Identifier string      `json:"Identifier"`
	Name       string      `json:"Name"`
	Scopes     []scopeType `json:"Scopes"`
}

type resourceServerOutput struct {
	ResourceServer resourceServerType `json:"ResourceServer"`
}

func rsOut(poolID string, rs *ResourceServer) resourceServerType {
	out := resourceServerType{UserPoolID: poolID, Identifier: rs.Identifier, Name: rs.Name, Scopes: []scopeType{}}
	for _, s := range rs.Scopes {
		out.Scopes = append(out.Scopes, scopeType{ScopeName: s.Name, ScopeDescription: s.Description})
	}
	return out
}

func (p *IdP) opCreateResourceServer(ctx context.Context, in *createResourceServerInput) (*resourceServerOutput, error) {
	scopes := make([]ScopeInfo, 0, len(in.Scopes))
	for _, s := range in.Scopes {
		scopes = append(scopes, ScopeInfo{Name: s.ScopeName, Description: s.ScopeDescription})
	}
	rs, err := p.CreateResourceServer(ctx, in.UserPoolID, in.Identifier, in.Name, scopes)
	if err != nil {
		return nil, err
	}
	return &resourceServerOutput{ResourceServer: rsOut(in.UserPoolID, rs)}, nil
}

type resourceServerIDInput struct {
	UserPoolID string `json:"UserPoolId"`
	Identifier string `json:"Identifier"`
}

func (p *IdP) opDescribeResourceServer(ctx context.Context, in *resourceServerIDInput) (*resourceServerOutput, error) {
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	rs, err := getJSON[ResourceServer](ctx, p.st, in.UserPoolID, kindResource, in.Identifier)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(CodeResourceNotFound, "Resource server %s does not exist.", in.Identifier)
	}
	if err != nil {
		return nil, err
	}
	return &resourceServerOutput{ResourceServer: rsOut(in.UserPoolID, rs)}, nil
}

type listResourceServersOutput struct {
	ResourceServers []resourceServerType `json:"ResourceServers"`
	NextToken       string               `json:"NextToken,omitempty"`
}

func (p *IdP) opListResourceServers(ctx context.Context, in *listInput) (*listResourceServersOutput, error) {
	if _, err := p.getPool(ctx, p.st, in.UserPoolID); err != nil {
		return nil, err
	}
	objs, next, err := p.page(ctx, in.UserPoolID, kindResource, in.MaxResults, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := &listResourceServersOutput{ResourceServers: []resourceServerType{}, NextToken: next}
	for _, o := range objs {
		rs, err := decode[ResourceServer](o)
		if err != nil {
			return nil, err
		}
		out.ResourceServers = append(out.ResourceServers, rsOut(in.UserPoolID, rs))
	}
	return out, nil
}
