package idp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// jsResult is what testdata/js/signin.js prints.
type jsResult struct {
	OK           bool   `json:"ok"`
	Flow         string `json:"flow"`
	MFA          bool   `json:"mfa"`
	Setup        bool   `json:"setup"`
	AccessToken  string `json:"accessToken"`
	IDToken      string `json:"idToken"`
	RefreshToken string `json:"refreshToken"`
	Code         string `json:"code"`
	Message      string `json:"message"`
}

// nodeSignIn returns node and the script's directory. Locally it skips when node or the npm
// package is missing; in CI (CI set) that is a failure: .ci/run installs it with
// npm ci --prefix internal/idp/testdata/js.
func nodeSignIn(t *testing.T) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "js"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "amazon-cognito-identity-js")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("amazon-cognito-identity-js is not installed (npm ci --prefix internal/idp/testdata/js): %v", err)
		}
		t.Skip("amazon-cognito-identity-js not installed; run npm ci --prefix internal/idp/testdata/js")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed")
		}
		t.Skip("node not installed")
	}
	return node, dir
}

// TestAmazonCognitoIdentityJS signs in with amazon-cognito-identity-js from npm, configured
// only with the pool id, the client id and the endpoint, so it speaks its defaults:
// USER_SRP_AUTH and the PASSWORD_VERIFIER challenge against the real IdP server; then, once
// the user has TOTP, the SOFTWARE_TOKEN_MFA challenge through its totpRequired/sendMFACode.
func TestAmazonCognitoIdentityJS(t *testing.T) {
	node, dir := nodeSignIn(t)
	ctx := context.Background()
	e := newEnv(t, storetest.Open(t, "sqlite"))
	api := e.api
	poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("js")})).UserPool.Id)
	// No ExplicitAuthFlows: Cognito's defaults (SRP, refresh, custom), as Amplify's apps have.
	clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(poolID), ClientName: aws.String("web")})).UserPoolClient.ClientId)
	if _, err := e.idp.CreateUser(ctx, poolID, "alice", password, map[string]string{"email": "alice@example.com"}); err != nil {
		t.Fatal(err)
	}

	run := func(t *testing.T, username string, extra ...string) jsResult {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, "signin.js")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ENDPOINT="+e.srv.URL+"/", "POOL_ID="+poolID, "CLIENT_ID="+clientID,
			"USERNAME="+username, "PASSWORD="+password)
		cmd.Env = append(cmd.Env, extra...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var res jsResult
		if jerr := json.Unmarshal(bytes.TrimSpace(out), &res); jerr != nil {
			t.Fatalf("node signin.js: %v, %v\nstdout: %s\nstderr: %s", err, jerr, out, stderr.Bytes())
		}
		if !res.OK || err != nil {
			t.Fatalf("sign-in failed: %s: %s (%v)\nstderr: %s", res.Code, res.Message, err, stderr.Bytes())
		}
		return res
	}

	var access string
	t.Run("SRP with the defaults", func(t *testing.T) {
		res := run(t, "alice")
		if res.Flow != "USER_SRP_AUTH" || res.MFA {
			t.Fatalf("flow %s, mfa %t", res.Flow, res.MFA)
		}
		claims := e.verify(t, poolID, res.IDToken)
		if claims["cognito:username"] != "alice" || claims["email"] != "alice@example.com" || res.RefreshToken == "" {
			t.Fatalf("claims %v", claims)
		}
		if c := e.verify(t, poolID, res.AccessToken); c["client_id"] != clientID {
			t.Fatalf("access token claims %v", c)
		}
		access = res.AccessToken
	})

	t.Run("SRP then TOTP", func(t *testing.T) {
		if access == "" {
			t.Fatal("no access token from the first sign-in")
		}
		must[*cip.SetUserPoolMfaConfigOutput](t)(api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID),
			MfaConfiguration: types.UserPoolMfaTypeOptional, SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}))
		secret := aws.ToString(must[*cip.AssociateSoftwareTokenOutput](t)(api.AssociateSoftwareToken(ctx,
			&cip.AssociateSoftwareTokenInput{AccessToken: aws.String(access)})).SecretCode)
		must[*cip.VerifySoftwareTokenOutput](t)(api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: aws.String(access),
			UserCode: aws.String(totp(t, secret, e.clock.Now()))}))
		must[*cip.SetUserMFAPreferenceOutput](t)(api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: aws.String(access),
			SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}))
		// The verification used this step's code; the script's code must be the next one's,
		// so the IdP's clock moves there and the script is told by how much it runs ahead.
		e.nextStep()
		offset := e.clock.Now().Sub(time.Now()).Milliseconds()
		res := run(t, "alice", "TOTP_SECRET="+secret, "CLOCK_OFFSET_MS="+strconv.FormatInt(offset, 10))
		if !res.MFA {
			t.Fatal("signed in without the SOFTWARE_TOKEN_MFA challenge")
		}
		e.verify(t, poolID, res.AccessToken)
	})

	t.Run("MFA ON: setup within the sign-in", func(t *testing.T) {
		if _, err := e.idp.CreateUser(ctx, poolID, "erin", password, nil); err != nil {
			t.Fatal(err)
		}
		must[*cip.SetUserPoolMfaConfigOutput](t)(api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID),
			MfaConfiguration: types.UserPoolMfaTypeOn}))
		offset := e.clock.Now().Sub(time.Now()).Milliseconds()
		res := run(t, "erin", "SETUP_MFA=1", "CLOCK_OFFSET_MS="+strconv.FormatInt(offset, 10))
		if !res.Setup {
			t.Fatal("signed in without the MFA_SETUP challenge")
		}
		e.verify(t, poolID, res.IDToken)
		u := must[*cip.AdminGetUserOutput](t)(api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("erin")}))
		if len(u.UserMFASettingList) != 1 || u.UserMFASettingList[0] != "SOFTWARE_TOKEN_MFA" {
			t.Fatalf("erin's MFA after setup: %v", u.UserMFASettingList)
		}
	})
}
