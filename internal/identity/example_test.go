package identity_test

import (
	"encoding/json"
	"fmt"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// An AVP CreateIdentitySource configuration becomes a Source; against the built-in IdP the
// issuer base is replaced.
func ExampleSourceFromAVP() {
	var cfg identity.Configuration
	_ = json.Unmarshal([]byte(`{"cognitoUserPoolConfiguration":{
		"userPoolArn":"arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_EXAMPLE",
		"clientIds":["a1b2c3"],
		"groupConfiguration":{"groupEntityType":"PetStore::UserGroup"}}}`), &cfg)

	src, err := identity.SourceFromAVP("is-1", cfg, "PetStore::User", identity.SourceOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(src.Issuer, src.EntityIDPrefix)

	local, _ := identity.SourceFromAVP("is-1", cfg, "PetStore::User", identity.SourceOptions{CognitoEndpoint: "http://127.0.0.1:9229"})
	fmt.Println(local.Issuer)

	_, err = identity.SourceFromAVP("is-2", identity.Configuration{}, "", identity.SourceOptions{})
	fmt.Println(err)
	// Output:
	// https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE us-east-1_EXAMPLE
	// http://127.0.0.1:9229/us-east-1_EXAMPLE
	// configuration: exactly one of cognitoUserPoolConfiguration and openIdConnectConfiguration is required
}
