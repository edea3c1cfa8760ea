package idp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"time"
)

type updateUserPoolInput struct {
	UserPoolID             string                 `json:"UserPoolId"`
	LambdaConfig           *lambdaConfig          `json:"LambdaConfig,omitempty"`
	UserPoolTags           map[string]string      `json:"UserPoolTags,omitempty"`
	AutoVerifiedAttributes []string               `json:"AutoVerifiedAttributes,omitempty"`
	DeletionProtection     string                 `json:"DeletionProtection,omitempty"`
	MfaConfiguration       string                 `json:"MfaConfiguration,omitempty"`
	AdminCreateUserConfig  *adminCreateUserConfig `json:"AdminCreateUserConfig,omitempty"`
}

// opUpdateUserPool follows Cognito: settings left out of the request return to their
// defaults, so a request without LambdaConfig removes the pre-token-generation hook.
func (p *IdP) opUpdateUserPool(ctx context.Context, in *updateUserPoolInput) (struct{}, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return struct{}{}, err
	}
	// Left out, it returns to OFF like every other setting; OPTIONAL and ON enable software
	// tokens, the only factor Gatehouse has (mfa.go).
	mfa, err := parseMFAMode(in.MfaConfiguration, mfaOff)
	if err != nil {
		return struct{}{}, err
	}
	h, err := hookFromLambda(in.LambdaConfig)
	if err != nil {
		return struct{}{}, err
	}
	if err := validAutoVerified(in.AutoVerifiedAttributes); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, p.updatePool(ctx, in.UserPoolID, h, PoolSignUpSettings{
		AllowAdminCreateUserOnly: in.AdminCreateUserConfig != nil && in.AdminCreateUserConfig.AllowAdminCreateUserOnly,
		AutoVerifiedAttributes:   in.AutoVerifiedAttributes}, mfa)
}

type signingCertificateOutput struct {
	Certificate string `json:"Certificate"`
}

// opGetSigningCertificate returns the pool's current token-signing key as a self-signed
// X.509 certificate (base64 DER, as Cognito returns it). Gatehouse speaks no SAML: the
// certificate is for tools that want the key in that form; the JWKS stays the source of truth.
// The certificate is derived from the key and its creation time only, so it is the same on
// every call until the keys are rotated.
func (p *IdP) opGetSigningCertificate(ctx context.Context, in *poolIDInput) (*signingCertificateOutput, error) {
	if err := required("userPoolId", in.UserPoolID); err != nil {
		return nil, err
	}
	pool, err := p.getPool(ctx, p.st, in.UserPoolID)
	if err != nil {
		return nil, err
	}
	k, err := p.currentKey(ctx, pool)
	if err != nil {
		return nil, err
	}
	rec, err := getJSON[keyRecord](ctx, p.st, pool.ID, kindKey, k.kid)
	if err != nil {
		return nil, fmt.Errorf("load signing key %s: %w", k.kid, err)
	}
	sum := sha256.Sum256([]byte(k.kid))
	name := pkix.Name{CommonName: p.poolIssuer(pool)}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(sum[:16]),
		Subject:               name,
		Issuer:                name,
		NotBefore:             rec.Created.Truncate(time.Second),
		NotAfter:              rec.Created.Truncate(time.Second).AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	// PKCS #1 v1.5 signatures are deterministic, which keeps the certificate stable.
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.priv.PublicKey, k.priv)
	if err != nil {
		return nil, fmt.Errorf("signing certificate of pool %s: %w", pool.ID, err)
	}
	return &signingCertificateOutput{Certificate: base64.StdEncoding.EncodeToString(der)}, nil
}
