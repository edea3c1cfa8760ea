package idp

import "context"

// The Cognito JSON operations of signup.go. Fields the SDKs send that Gatehouse does not use
// (analytics, context data, client metadata) are accepted and ignored.

type signUpInput struct {
	ClientID          string            `json:"ClientId"`
	Username          string            `json:"Username"`
	Password          string            `json:"Password"`
	SecretHash        string            `json:"SecretHash,omitempty"`
	UserAttributes    []attribute       `json:"UserAttributes,omitempty"`
	ValidationData    []attribute       `json:"ValidationData,omitempty"`
	ClientMetadata    map[string]string `json:"ClientMetadata,omitempty"`
	AnalyticsMetadata map[string]any    `json:"AnalyticsMetadata,omitempty"`
	UserContextData   map[string]any    `json:"UserContextData,omitempty"`
}

type signUpOutput struct {
	UserConfirmed       bool          `json:"UserConfirmed"`
	UserSub             string        `json:"UserSub"`
	CodeDeliveryDetails *codeDelivery `json:"CodeDeliveryDetails,omitempty"`
}

func (p *IdP) opSignUp(ctx context.Context, in *signUpInput) (*signUpOutput, error) {
	pool, client, err := p.publicClient(ctx, in.ClientID)
	if err != nil {
		return nil, err
	}
	attrs, err := attrMap(in.UserAttributes)
	if err != nil {
		return nil, err
	}
	res, err := p.signUp(ctx, pool, client, SignUpInput{Username: in.Username, Password: in.Password,
		SecretHash: in.SecretHash, Attributes: attrs})
	if err != nil {
		return nil, err
	}
	return &signUpOutput{UserSub: res.UserSub, CodeDeliveryDetails: res.Delivery}, nil
}

type confirmSignUpInput struct {
	ClientID           string            `json:"ClientId"`
	Username           string            `json:"Username"`
	ConfirmationCode   string            `json:"ConfirmationCode"`
	SecretHash         string            `json:"SecretHash,omitempty"`
	ForceAliasCreation bool              `json:"ForceAliasCreation,omitempty"`
	Session            string            `json:"Session,omitempty"`
	ClientMetadata     map[string]string `json:"ClientMetadata,omitempty"`
	AnalyticsMetadata  map[string]any    `json:"AnalyticsMetadata,omitempty"`
	UserContextData    map[string]any    `json:"UserContextData,omitempty"`
}

func (p *IdP) opConfirmSignUp(ctx context.Context, in *confirmSignUpInput) (struct{}, error) {
	pool, client, err := p.publicClient(ctx, in.ClientID)
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.confirmSignUp(ctx, pool, client, in.Username, in.ConfirmationCode, in.SecretHash)
}

type usernameClientInput struct {
	ClientID          string            `json:"ClientId"`
	Username          string            `json:"Username"`
	SecretHash        string            `json:"SecretHash,omitempty"`
	ClientMetadata    map[string]string `json:"ClientMetadata,omitempty"`
	AnalyticsMetadata map[string]any    `json:"AnalyticsMetadata,omitempty"`
	UserContextData   map[string]any    `json:"UserContextData,omitempty"`
}

type codeDeliveryOutput struct {
	CodeDeliveryDetails *codeDelivery `json:"CodeDeliveryDetails,omitempty"`
}

func (p *IdP) opResendConfirmationCode(ctx context.Context, in *usernameClientInput) (*codeDeliveryOutput, error) {
	pool, client, err := p.publicClient(ctx, in.ClientID)
	if err != nil {
		return nil, err
	}
	d, err := p.resendConfirmationCode(ctx, pool, client, in.Username, in.SecretHash)
	if err != nil {
		return nil, err
	}
	if d == nil {
		d = fakeDelivery(in.Username)
	}
	return &codeDeliveryOutput{CodeDeliveryDetails: d}, nil
}

func (p *IdP) opForgotPassword(ctx context.Context, in *usernameClientInput) (*codeDeliveryOutput, error) {
	pool, client, err := p.publicClient(ctx, in.ClientID)
	if err != nil {
		return nil, err
	}
	d, err := p.forgotPassword(ctx, pool, client, in.Username, in.SecretHash)
	if err != nil {
		return nil, err
	}
	return &codeDeliveryOutput{CodeDeliveryDetails: d}, nil
}

type confirmForgotPasswordInput struct {
	ClientID          string            `json:"ClientId"`
	Username          string            `json:"Username"`
	ConfirmationCode  string            `json:"ConfirmationCode"`
	Password          string            `json:"Password"`
	SecretHash        string            `json:"SecretHash,omitempty"`
	ClientMetadata    map[string]string `json:"ClientMetadata,omitempty"`
	AnalyticsMetadata map[string]any    `json:"AnalyticsMetadata,omitempty"`
	UserContextData   map[string]any    `json:"UserContextData,omitempty"`
}

func (p *IdP) opConfirmForgotPassword(ctx context.Context, in *confirmForgotPasswordInput) (struct{}, error) {
	pool, client, err := p.publicClient(ctx, in.ClientID)
	if err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.confirmForgotPassword(ctx, pool, client, in.Username, in.ConfirmationCode, in.Password, in.SecretHash)
}

type attributeVerificationInput struct {
	AccessToken    string            `json:"AccessToken"`
	AttributeName  string            `json:"AttributeName"`
	Code           string            `json:"Code,omitempty"`
	ClientMetadata map[string]string `json:"ClientMetadata,omitempty"`
}

func (p *IdP) opGetUserAttributeVerificationCode(ctx context.Context, in *attributeVerificationInput) (*codeDeliveryOutput, error) {
	if in.Code != "" {
		return nil, errf(CodeInvalidParameter, "Unexpected parameter Code.")
	}
	d, err := p.getUserAttributeVerificationCode(ctx, in.AccessToken, in.AttributeName)
	if err != nil {
		return nil, err
	}
	return &codeDeliveryOutput{CodeDeliveryDetails: d}, nil
}

func (p *IdP) opVerifyUserAttribute(ctx context.Context, in *attributeVerificationInput) (struct{}, error) {
	return struct{}{}, p.verifyUserAttribute(ctx, in.AccessToken, in.AttributeName, in.Code)
}

type adminConfirmSignUpInput struct {
	UserPoolID     string            `json:"UserPoolId"`
	Username       string            `json:"Username"`
	ClientMetadata map[string]string `json:"ClientMetadata,omitempty"`
}

func (p *IdP) opAdminConfirmSignUp(ctx context.Context, in *adminConfirmSignUpInput) (struct{}, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return struct{}{}, err
	}
	if err := required("username", in.Username); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.AdminConfirmSignUp(ctx, in.UserPoolID, in.Username)
}

// adminCreateUserConfig is Cognito's AdminCreateUserConfigType; only AllowAdminCreateUserOnly
// has an effect (Gatehouse sends no invitations).
type adminCreateUserConfig struct {
	AllowAdminCreateUserOnly  bool           `json:"AllowAdminCreateUserOnly"`
	InviteMessageTemplate     map[string]any `json:"InviteMessageTemplate,omitempty"`
	UnusedAccountValidityDays int32          `json:"UnusedAccountValidityDays,omitempty"`
}
