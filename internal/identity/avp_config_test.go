package identity_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

func TestSourceFromAVP(t *testing.T) {
	tests := []struct {
		name      string
		json      string
		principal string
		opts      identity.SourceOptions
		check     func(t *testing.T, s *identity.Source)
	}{
		{
			name:      "cognito",
			json:      `{"cognitoUserPoolConfiguration":{"userPoolArn":"arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_EXAMPLE","clientIds":["a1b2"],"groupConfiguration":{"groupEntityType":"PetStore::UserGroup"}}}`,
			principal: "PetStore::User",
			check: func(t *testing.T, s *identity.Source) {
				if s.Issuer != "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE" || s.EntityIDPrefix != "us-east-1_EXAMPLE" ||
					s.GroupEntityType != "PetStore::UserGroup" || s.GroupClaim != "cognito:groups" || s.ClientIDs[0] != "a1b2" || s.Kind != identity.KindCognito {
					t.Fatalf("%+v", s)
				}
			},
		},
		{
			name: "cognito defaults and built-in IdP endpoint",
			json: `{"cognitoUserPoolConfiguration":{"userPoolArn":"arn:aws:cognito-idp:eu-west-2:123456789012:userpool/eu-west-2_abc"}}`,
			opts: identity.SourceOptions{CognitoEndpoint: "http://127.0.0.1:9229/"},
			check: func(t *testing.T, s *identity.Source) {
				if s.Issuer != "http://127.0.0.1:9229/eu-west-2_abc" || s.PrincipalEntityType != "AWS::Cognito" || s.GroupEntityType != "AWS::CognitoGroup" {
					t.Fatalf("%+v", s)
				}
			},
		},
		{
			name: "cognito china partition",
			json: `{"cognitoUserPoolConfiguration":{"userPoolArn":"arn:aws-cn:cognito-idp:cn-north-1:123456789012:userpool/cn-north-1_abc"}}`,
			check: func(t *testing.T, s *identity.Source) {
				if s.Issuer != "https://cognito-idp.cn-north-1.amazonaws.com.cn/cn-north-1_abc" {
					t.Fatal(s.Issuer)
				}
			},
		},
		{
			name:      "oidc access",
			json:      `{"openIdConnectConfiguration":{"issuer":"https://auth.example.com","groupConfiguration":{"groupClaim":"groups","groupEntityType":"MyCorp::UserGroup"},"tokenSelection":{"accessTokenOnly":{"audiences":["https://api.example.com"],"principalIdClaim":"sub"}}}}`,
			principal: "MyCorp::User",
			check: func(t *testing.T, s *identity.Source) {
				if s.TokenSelection != identity.AccessTokenOnly || s.Audiences[0] != "https://api.example.com" || s.GroupClaim != "groups" || s.EntityIDPrefix != "" {
					t.Fatalf("%+v", s)
				}
			},
		},
		{
			name:      "oidc identity",
			json:      `{"openIdConnectConfiguration":{"issuer":"https://auth.example.com","entityIdPrefix":"MyOIDCProvider","tokenSelection":{"identityTokenOnly":{"clientIds":["web"],"principalIdClaim":"email"}}}}`,
			principal: "MyCorp::User",
			check: func(t *testing.T, s *identity.Source) {
				if s.TokenSelection != identity.IdentityTokenOnly || s.ClientIDs[0] != "web" || s.PrincipalIDClaim != "email" || s.EntityIDPrefix != "MyOIDCProvider" {
					t.Fatalf("%+v", s)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg identity.Configuration
			if err := json.Unmarshal([]byte(tc.json), &cfg); err != nil {
				t.Fatal(err)
			}
			s, err := identity.SourceFromAVP("is-1", cfg, tc.principal, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

func TestSourceFromAVPErrors(t *testing.T) {
	const arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_EXAMPLE"
	tests := []struct {
		name, json, principal string
		opts                  identity.SourceOptions
		field                 string
	}{
		{"empty union", `{}`, "", identity.SourceOptions{}, "configuration"},
		{"both members", `{"cognitoUserPoolConfiguration":{"userPoolArn":"` + arn + `"},"openIdConnectConfiguration":{"issuer":"https://a.example"}}`, "", identity.SourceOptions{}, "configuration"},
		{"bad arn", `{"cognitoUserPoolConfiguration":{"userPoolArn":"arn:aws:s3:::bucket"}}`, "", identity.SourceOptions{}, "configuration.cognitoUserPoolConfiguration.userPoolArn"},
		{"pool in other region", `{"cognitoUserPoolConfiguration":{"userPoolArn":"arn:aws:cognito-idp:us-east-1:123456789012:userpool/eu-west-1_abc"}}`, "", identity.SourceOptions{}, "configuration.cognitoUserPoolConfiguration.userPoolArn"},
		{"empty client id", `{"cognitoUserPoolConfiguration":{"userPoolArn":"` + arn + `","clientIds":[""]}}`, "", identity.SourceOptions{}, "configuration.cognitoUserPoolConfiguration.clientIds[0]"},
		{"bad group type", `{"cognitoUserPoolConfiguration":{"userPoolArn":"` + arn + `","groupConfiguration":{"groupEntityType":"Bad Type"}}}`, "", identity.SourceOptions{}, "configuration.cognitoUserPoolConfiguration.groupConfiguration.groupEntityType"},
		{"bad principal type", `{"cognitoUserPoolConfiguration":{"userPoolArn":"` + arn + `"}}`, "9User", identity.SourceOptions{}, "principalEntityType"},
		{"hmac algorithm", `{"cognitoUserPoolConfiguration":{"userPoolArn":"` + arn + `"}}`, "", identity.SourceOptions{Algorithms: []string{"RS256", "HS256"}}, "algorithms[1]"},
		{"none algorithm", `{"cognitoUserPoolConfiguration":{"userPoolArn":"` + arn + `"}}`, "", identity.SourceOptions{Algorithms: []string{"none"}}, "algorithms[0]"},
		{"http issuer", `{"openIdConnectConfiguration":{"issuer":"http://auth.example.com","tokenSelection":{"accessTokenOnly":{}}}}`, "", identity.SourceOptions{}, "configuration.openIdConnectConfiguration.issuer"},
		{"no token selection", `{"openIdConnectConfiguration":{"issuer":"https://auth.example.com","tokenSelection":{}}}`, "", identity.SourceOptions{}, "configuration.openIdConnectConfiguration.tokenSelection"},
		{"group claim missing", `{"openIdConnectConfiguration":{"issuer":"https://auth.example.com","groupConfiguration":{"groupEntityType":"G"},"tokenSelection":{"accessTokenOnly":{}}}}`, "", identity.SourceOptions{}, "configuration.openIdConnectConfiguration.groupConfiguration.groupClaim"},
		{"long prefix", `{"openIdConnectConfiguration":{"issuer":"https://auth.example.com","entityIdPrefix":"` + strings.Repeat("a", 101) + `","tokenSelection":{"accessTokenOnly":{}}}}`, "", identity.SourceOptions{}, "configuration.openIdConnectConfiguration.entityIdPrefix"},
		{"empty audience", `{"openIdConnectConfiguration":{"issuer":"https://auth.example.com","tokenSelection":{"accessTokenOnly":{"audiences":[""]}}}}`, "", identity.SourceOptions{}, "configuration.openIdConnectConfiguration.tokenSelection.accessTokenOnly.audiences[0]"},
		{"bad jwks url", `{"openIdConnectConfiguration":{"issuer":"https://auth.example.com","tokenSelection":{"accessTokenOnly":{}}}}`, "", identity.SourceOptions{JWKSURL: "ftp://x"}, "jwksUrl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg identity.Configuration
			if err := json.Unmarshal([]byte(tc.json), &cfg); err != nil {
				t.Fatal(err)
			}
			_, err := identity.SourceFromAVP("is-1", cfg, tc.principal, tc.opts)
			var fe *identity.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want a FieldError for %s", err, tc.field)
			}
		})
	}
}

func TestSourceValidate(t *testing.T) {
	tests := []struct {
		name  string
		src   *identity.Source
		field string
	}{
		{"no kind", &identity.Source{Issuer: "https://a.example", PrincipalEntityType: "U"}, "kind"},
		{"remote http", &identity.Source{Kind: identity.KindOIDC, Issuer: "http://a.example", TokenSelection: identity.AccessTokenOnly, PrincipalEntityType: "U"}, "issuer"},
		{"oidc any", &identity.Source{Kind: identity.KindOIDC, Issuer: "https://a.example", PrincipalEntityType: "U"}, "tokenSelection"},
		{"cognito issuer without pool", &identity.Source{Kind: identity.KindCognito, Issuer: "https://a.example/x", PrincipalEntityType: "U"}, "issuer"},
		{"cognito other claim", &identity.Source{Kind: identity.KindCognito, Issuer: "https://a.example/us-east-1_abc", PrincipalIDClaim: "email", PrincipalEntityType: "U"}, "principalIdClaim"},
		{"group half configured", &identity.Source{Kind: identity.KindOIDC, Issuer: "https://a.example", TokenSelection: identity.IdentityTokenOnly, GroupClaim: "groups", PrincipalEntityType: "U"}, "groupConfiguration"},
		{"HS256", &identity.Source{Kind: identity.KindOIDC, Issuer: "https://a.example", TokenSelection: identity.IdentityTokenOnly, PrincipalEntityType: "U", Algorithms: []string{"HS256"}}, "algorithms[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.src.Validate()
			var fe *identity.FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Fatalf("error %v, want a FieldError for %s", err, tc.field)
			}
		})
	}
}
