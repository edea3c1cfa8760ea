package identity

import (
	"fmt"
	"regexp"
	"strings"
)

// The structs below mirror the JSON shapes of AVP's CreateIdentitySource `configuration`
// (and UpdateIdentitySource `updateConfiguration`) so the management API can decode them directly.

// Configuration is AVP's union: exactly one member is set.
type Configuration struct {
	CognitoUserPoolConfiguration *CognitoUserPoolConfiguration `json:"cognitoUserPoolConfiguration,omitempty"`
	OpenIDConnectConfiguration   *OpenIDConnectConfiguration   `json:"openIdConnectConfiguration,omitempty"`
}

type CognitoUserPoolConfiguration struct {
	UserPoolARN        string                     `json:"userPoolArn"`
	ClientIDs          []string                   `json:"clientIds,omitempty"`
	GroupConfiguration *CognitoGroupConfiguration `json:"groupConfiguration,omitempty"`
}

type CognitoGroupConfiguration struct {
	GroupEntityType string `json:"groupEntityType"`
}

type OpenIDConnectConfiguration struct {
	Issuer             string                           `json:"issuer"`
	EntityIDPrefix     string                           `json:"entityIdPrefix,omitempty"`
	GroupConfiguration *OpenIDConnectGroupConfiguration `json:"groupConfiguration,omitempty"`
	TokenSelection     OpenIDConnectTokenSelection      `json:"tokenSelection"`
}

type OpenIDConnectGroupConfiguration struct {
	GroupClaim      string `json:"groupClaim"`
	GroupEntityType string `json:"groupEntityType"`
}

// OpenIDConnectTokenSelection is a union: exactly one member is set.
type OpenIDConnectTokenSelection struct {
	AccessTokenOnly   *OpenIDConnectAccessTokenConfiguration   `json:"accessTokenOnly,omitempty"`
	IdentityTokenOnly *OpenIDConnectIdentityTokenConfiguration `json:"identityTokenOnly,omitempty"`
}

type OpenIDConnectAccessTokenConfiguration struct {
	PrincipalIDClaim string   `json:"principalIdClaim,omitempty"`
	Audiences        []string `json:"audiences,omitempty"`
}

type OpenIDConnectIdentityTokenConfiguration struct {
	PrincipalIDClaim string   `json:"principalIdClaim,omitempty"`
	ClientIDs        []string `json:"clientIds,omitempty"`
}

// SourceOptions carries settings AVP does not have.
type SourceOptions struct {
	// CognitoEndpoint replaces https://cognito-idp.<region>.amazonaws.com as the issuer base, e.g.
	// http://127.0.0.1:9229 for the built-in IdP or an emulator. The issuer becomes
	// <CognitoEndpoint>/<poolId>.
	CognitoEndpoint string
	// JWKSURL overrides the derived or discovered JWKS location.
	JWKSURL string
	// Algorithms overrides DefaultAlgorithms.
	Algorithms []string
}

var (
	poolIDRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d_[0-9a-zA-Z]+$`)
	userPoolARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b):cognito-idp:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):userpool/([^/]+)$`)
)

// CognitoIssuer derives the issuer and pool id from a user pool ARN
// (arn:aws:cognito-idp:<region>:<account>:userpool/<poolId>). endpoint, if set, replaces
// https://cognito-idp.<region>.amazonaws.com.
func CognitoIssuer(userPoolARN, endpoint string) (issuer, poolID string, err error) {
	m := userPoolARNRE.FindStringSubmatch(userPoolARN)
	if m == nil {
		return "", "", fmt.Errorf("must look like arn:aws:cognito-idp:<region>:<account>:userpool/<poolId>")
	}
	partition, region, poolID := m[1], m[2], m[4]
	if !poolIDRE.MatchString(poolID) || !strings.HasPrefix(poolID, region+"_") {
		return "", "", fmt.Errorf("pool id %q must be <region>_<id> for region %s", poolID, region)
	}
	if endpoint != "" {
		return strings.TrimSuffix(endpoint, "/") + "/" + poolID, poolID, nil
	}
	domain := "amazonaws.com"
	if partition == "aws-cn" {
		domain = "amazonaws.com.cn"
	}
	return "https://cognito-idp." + region + "." + domain + "/" + poolID, poolID, nil
}

// SourceFromAVP builds a Source from an AVP identity source. principalEntityType may be blank:
// AVP then uses AWS::Cognito for Cognito; for OIDC AVP's default is undocumented and Gatehouse
// uses AWS::OIDC. Errors are *FieldError with paths as AVP's fieldList names them.
func SourceFromAVP(id string, cfg Configuration, principalEntityType string, opts SourceOptions) (*Source, error) {
	var s *Source
	switch {
	case cfg.CognitoUserPoolConfiguration != nil && cfg.OpenIDConnectConfiguration != nil:
		return nil, fieldErr("configuration", "exactly one of cognitoUserPoolConfiguration and openIdConnectConfiguration is required")
	case cfg.CognitoUserPoolConfiguration != nil:
		c := cfg.CognitoUserPoolConfiguration
		const base = "configuration.cognitoUserPoolConfiguration"
		issuer, poolID, err := CognitoIssuer(c.UserPoolARN, opts.CognitoEndpoint)
		if err != nil {
			return nil, fieldErr(base+".userPoolArn", "%v", err)
		}
		if len(c.ClientIDs) > 1000 {
			return nil, fieldErr(base+".clientIds", "at most 1000 client ids")
		}
		for i, cid := range c.ClientIDs {
			if cid == "" || len(cid) > 255 {
				return nil, fieldErr(fmt.Sprintf("%s.clientIds[%d]", base, i), "must be 1 to 255 characters")
			}
		}
		s = &Source{ID: id, Kind: KindCognito, Issuer: issuer, EntityIDPrefix: poolID,
			ClientIDs: c.ClientIDs, GroupClaim: CognitoGroupClaim, GroupEntityType: DefaultCognitoGroupType}
		if g := c.GroupConfiguration; g != nil {
			if !entityTypeRE.MatchString(g.GroupEntityType) {
				return nil, fieldErr(base+".groupConfiguration.groupEntityType", "must be an entity type name")
			}
			s.GroupEntityType = g.GroupEntityType
		}
		if principalEntityType == "" {
			principalEntityType = DefaultCognitoPrincipal
		}
	case cfg.OpenIDConnectConfiguration != nil:
		c := cfg.OpenIDConnectConfiguration
		const base = "configuration.openIdConnectConfiguration"
		if err := checkFetchURL(c.Issuer); err != nil {
			return nil, fieldErr(base+".issuer", "%v", err)
		}
		if n := len(c.EntityIDPrefix); n > maxEntityIDPrefixLen {
			return nil, fieldErr(base+".entityIdPrefix", "must be 1 to %d characters", maxEntityIDPrefixLen)
		}
		s = &Source{ID: id, Kind: KindOIDC, Issuer: c.Issuer, EntityIDPrefix: c.EntityIDPrefix}
		if g := c.GroupConfiguration; g != nil {
			if g.GroupClaim == "" {
				return nil, fieldErr(base+".groupConfiguration.groupClaim", "is required")
			}
			if !entityTypeRE.MatchString(g.GroupEntityType) {
				return nil, fieldErr(base+".groupConfiguration.groupEntityType", "must be an entity type name")
			}
			s.GroupClaim, s.GroupEntityType = g.GroupClaim, g.GroupEntityType
		}
		ts := c.TokenSelection
		switch {
		case (ts.AccessTokenOnly == nil) == (ts.IdentityTokenOnly == nil):
			return nil, fieldErr(base+".tokenSelection", "exactly one of accessTokenOnly and identityTokenOnly is required")
		case ts.AccessTokenOnly != nil:
			a := ts.AccessTokenOnly
			if len(a.Audiences) > 255 {
				return nil, fieldErr(base+".tokenSelection.accessTokenOnly.audiences", "at most 255 audiences")
			}
			for i, v := range a.Audiences {
				if v == "" || len(v) > 255 {
					return nil, fieldErr(fmt.Sprintf("%s.tokenSelection.accessTokenOnly.audiences[%d]", base, i), "must be 1 to 255 characters")
				}
			}
			s.TokenSelection, s.Audiences, s.PrincipalIDClaim = AccessTokenOnly, a.Audiences, a.PrincipalIDClaim
		default:
			a := ts.IdentityTokenOnly
			for i, v := range a.ClientIDs {
				if v == "" || len(v) > 255 {
					return nil, fieldErr(fmt.Sprintf("%s.tokenSelection.identityTokenOnly.clientIds[%d]", base, i), "must be 1 to 255 characters")
				}
			}
			s.TokenSelection, s.ClientIDs, s.PrincipalIDClaim = IdentityTokenOnly, a.ClientIDs, a.PrincipalIDClaim
		}
		if principalEntityType == "" {
			principalEntityType = "AWS::OIDC"
		}
	default:
		return nil, fieldErr("configuration", "exactly one of cognitoUserPoolConfiguration and openIdConnectConfiguration is required")
	}
	if !entityTypeRE.MatchString(principalEntityType) {
		return nil, fieldErr("principalEntityType", "must be an entity type name")
	}
	s.PrincipalEntityType = principalEntityType
	s.JWKSURL = opts.JWKSURL
	s.Algorithms = opts.Algorithms
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}
