package identity

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/golang-jwt/jwt/v5"
)

// Kind is the type of identity provider behind a Source.
type Kind int

const (
	KindCognito Kind = iota + 1 // an Amazon Cognito user pool (or a Cognito-compatible IdP)
	KindOIDC                    // any OpenID Connect provider
)

func (k Kind) String() string {
	switch k {
	case KindCognito:
		return "cognito"
	case KindOIDC:
		return "oidc"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// TokenUse says which kind of token the caller received: AVP's identityToken or accessToken.
type TokenUse int

const (
	UseAccess TokenUse = iota + 1
	UseID
)

func (u TokenUse) String() string {
	switch u {
	case UseAccess:
		return "access"
	case UseID:
		return "id"
	}
	return fmt.Sprintf("TokenUse(%d)", int(u))
}

// TokenSelection restricts which token uses a Source accepts. The zero value means "both", which
// only Cognito sources may use; AVP makes OIDC sources pick one.
type TokenSelection int

const (
	SelectAny TokenSelection = iota
	AccessTokenOnly
	IdentityTokenOnly
)

// Default values applied by [Source.Validate].
const (
	DefaultPrincipalIDClaim = "sub"
	CognitoGroupClaim       = "cognito:groups"
	DefaultCognitoGroupType = "AWS::CognitoGroup"
	DefaultCognitoPrincipal = "AWS::Cognito"
	maxEntityIDPrefixLen    = 100
)

// DefaultAlgorithms is the allow-list used when Source.Algorithms is empty.
var DefaultAlgorithms = []string{"RS256", "ES256"}

// verifiers holds golang-jwt's implementation for each supported algorithm, resolved once instead
// of through jwt.GetSigningMethod's locked registry on every token.
var verifiers = map[string]jwt.SigningMethod{
	"RS256": jwt.SigningMethodRS256, "RS384": jwt.SigningMethodRS384, "RS512": jwt.SigningMethodRS512,
	"PS256": jwt.SigningMethodPS256, "PS384": jwt.SigningMethodPS384, "PS512": jwt.SigningMethodPS512,
	"ES256": jwt.SigningMethodES256, "ES384": jwt.SigningMethodES384, "ES512": jwt.SigningMethodES512,
	"EdDSA": jwt.SigningMethodEdDSA,
}

// supportedAlgs maps every algorithm a Source may allow to the key family that must verify it.
// HMAC and none are absent on purpose: a shared secret in a JWKS is a published secret.
var supportedAlgs = map[string]keyFamily{
	"RS256": famRSA, "RS384": famRSA, "RS512": famRSA,
	"PS256": famRSA, "PS384": famRSA, "PS512": famRSA,
	"ES256": famP256, "ES384": famP384, "ES512": famP521,
	"EdDSA": famEd25519,
}

// Source is one configured identity source. Exported fields are configuration; a Source must not
// be changed after its first use (it compiles itself once) and must not be copied.
type Source struct {
	ID      string
	Kind    Kind
	Issuer  string // exact `iss` value, e.g. https://cognito-idp.us-east-1.amazonaws.com/us-east-1_abc
	JWKSURL string // optional; else Cognito <issuer>/.well-known/jwks.json, OIDC discovery

	ClientIDs []string // Cognito: aud (ID) / client_id (access); OIDC: aud of ID tokens
	Audiences []string // OIDC access tokens: aud, else client_id/cid

	TokenSelection TokenSelection

	PrincipalIDClaim    string // default "sub"; Cognito always "sub"
	EntityIDPrefix      string // Cognito: pool id; OIDC default: issuer without https://
	PrincipalEntityType string
	GroupEntityType     string // empty: no group parents (Cognito default AWS::CognitoGroup)
	GroupClaim          string // Cognito: cognito:groups

	Algorithms []string // default RS256, ES256; HMAC and none are refused

	once sync.Once
	c    *compiledSource
	err  error
}

type compiledSource struct {
	issuer     string
	jwksURL    string // empty: discover from discoveryURL
	discovery  string
	prefix     string
	idClaim    string
	groupClaim string
	principal  string
	group      string
	algs       map[string]bool
	clientIDs  map[string]bool
	audiences  map[string]bool
	selection  TokenSelection
	kind       Kind
	keySetKey  string
}

// FieldError reports an invalid configuration field by its JSON path.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var entityTypeRE = regexp.MustCompile(`^([_a-zA-Z][_a-zA-Z0-9]*::)*[_a-zA-Z][_a-zA-Z0-9]*$`)

// Validate checks the configuration and reports the first invalid field as a *FieldError.
func (s *Source) Validate() error {
	_, err := s.compiled()
	return err
}

func (s *Source) compiled() (*compiledSource, error) {
	s.once.Do(func() { s.c, s.err = s.compile() })
	return s.c, s.err
}

func (s *Source) compile() (*compiledSource, error) {
	c := &compiledSource{kind: s.Kind, selection: s.TokenSelection}
	if s.Kind != KindCognito && s.Kind != KindOIDC {
		return nil, fieldErr("kind", "must be cognito or oidc")
	}
	if err := checkFetchURL(s.Issuer); err != nil {
		return nil, fieldErr("issuer", "%v", err)
	}
	c.issuer = s.Issuer
	if s.JWKSURL != "" {
		if err := checkFetchURL(s.JWKSURL); err != nil {
			return nil, fieldErr("jwksUrl", "%v", err)
		}
		c.jwksURL = s.JWKSURL
	}

	if !entityTypeRE.MatchString(s.PrincipalEntityType) {
		return nil, fieldErr("principalEntityType", "must match ([_a-zA-Z][_a-zA-Z0-9]*::)*[_a-zA-Z][_a-zA-Z0-9]*")
	}
	c.principal = s.PrincipalEntityType

	switch s.Kind {
	case KindCognito:
		poolID := s.Issuer[strings.LastIndexByte(s.Issuer, '/')+1:]
		if !poolIDRE.MatchString(poolID) {
			return nil, fieldErr("issuer", "must end with a user pool id like us-east-1_Abc123")
		}
		if s.EntityIDPrefix != "" && s.EntityIDPrefix != poolID {
			return nil, fieldErr("entityIdPrefix", "a Cognito source always uses the pool id %q", poolID)
		}
		if s.PrincipalIDClaim != "" && s.PrincipalIDClaim != "sub" {
			return nil, fieldErr("principalIdClaim", "a Cognito source always uses sub")
		}
		if s.GroupClaim != "" && s.GroupClaim != CognitoGroupClaim {
			return nil, fieldErr("groupClaim", "a Cognito source always uses %s", CognitoGroupClaim)
		}
		c.prefix, c.idClaim, c.groupClaim = poolID, "sub", CognitoGroupClaim
		c.group = s.GroupEntityType
		if c.group == "" {
			c.group = DefaultCognitoGroupType
		}
		if c.jwksURL == "" {
			c.jwksURL = strings.TrimSuffix(s.Issuer, "/") + "/.well-known/jwks.json"
		}
	case KindOIDC:
		if s.TokenSelection != AccessTokenOnly && s.TokenSelection != IdentityTokenOnly {
			return nil, fieldErr("tokenSelection", "an OIDC source must accept access tokens only or identity tokens only")
		}
		c.prefix = s.EntityIDPrefix
		if c.prefix == "" {
			c.prefix = strings.TrimPrefix(strings.TrimPrefix(s.Issuer, "https://"), "http://")
		}
		c.idClaim = s.PrincipalIDClaim
		if c.idClaim == "" {
			c.idClaim = DefaultPrincipalIDClaim
		}
		if (s.GroupClaim == "") != (s.GroupEntityType == "") {
			return nil, fieldErr("groupConfiguration", "groupClaim and groupEntityType are both required")
		}
		c.groupClaim, c.group = s.GroupClaim, s.GroupEntityType
		if c.jwksURL == "" {
			c.discovery = strings.TrimSuffix(s.Issuer, "/") + "/.well-known/openid-configuration"
		}
	}
	if n := len(c.prefix); n == 0 || n > maxEntityIDPrefixLen {
		return nil, fieldErr("entityIdPrefix", "must be 1 to %d characters", maxEntityIDPrefixLen)
	}
	if c.group != "" && !entityTypeRE.MatchString(c.group) {
		return nil, fieldErr("groupEntityType", "must match ([_a-zA-Z][_a-zA-Z0-9]*::)*[_a-zA-Z][_a-zA-Z0-9]*")
	}

	algs := s.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	c.algs = make(map[string]bool, len(algs))
	for i, a := range algs {
		if _, ok := supportedAlgs[a]; !ok {
			return nil, fieldErr(fmt.Sprintf("algorithms[%d]", i), "%q is not an allowed algorithm (asymmetric JWS algorithms only)", a)
		}
		c.algs[a] = true
	}
	var err error
	if c.clientIDs, err = stringSet("clientIds", s.ClientIDs); err != nil {
		return nil, err
	}
	if c.audiences, err = stringSet("audiences", s.Audiences); err != nil {
		return nil, err
	}
	// Sources sharing an issuer and key location share one key set.
	c.keySetKey = c.issuer + "\x00" + c.jwksURL + "\x00" + c.discovery
	return c, nil
}

func stringSet(field string, vals []string) (map[string]bool, error) {
	if len(vals) == 0 {
		return nil, nil
	}
	m := make(map[string]bool, len(vals))
	for i, v := range vals {
		if v == "" || len(v) > 255 {
			return nil, fieldErr(fmt.Sprintf("%s[%d]", field, i), "must be 1 to 255 characters")
		}
		m[v] = true
	}
	return m, nil
}

// checkFetchURL accepts https URLs, and plain http only for loopback hosts (the built-in IdP and
// emulators): keys fetched over plain http from a remote host could be swapped by anyone on path.
func checkFetchURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("must be an absolute URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("must not have a query, fragment or user info")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("http is only allowed for loopback hosts; use https")
	}
	return fmt.Errorf("scheme must be https")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
