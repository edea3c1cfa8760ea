package idp_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// totp is an authenticator app written from RFC 6238 (HMAC-SHA-1, 30-second steps, 6 digits)
// for the tests, independent of the IdP's implementation.
func totp(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		t.Fatalf("secret %q: %v", secret, err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[19] & 0xf
	n := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", n%1_000_000)
}

// nextStep moves the clock to the start of the next 30-second step, so a new code is due and
// the previous one counts as used.
func (e *env) nextStep() {
	now := e.clock.Now()
	e.clock.Advance(time.Duration(30-now.Unix()%30)*time.Second - time.Duration(now.Nanosecond()) + time.Millisecond)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSoftwareTokenMFA drives TOTP MFA end to end with the AWS SDK on every backend:
// pool configuration, association, verification, preferences, the SOFTWARE_TOKEN_MFA challenge
// after password, SRP and admin sign-ins, wrong, replayed and expired codes and sessions,
// throttling, and MFA ON forcing MFA_SETUP.
func TestSoftwareTokenMFA(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		var mu sync.Mutex
		var changes []idp.Change
		logs := &syncBuffer{}
		e := newEnv(t, st,
			idp.WithAudit(func(_ context.Context, c idp.Change) { mu.Lock(); changes = append(changes, c); mu.Unlock() }),
			idp.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
			// Two free wrong codes per user and address, then a minute's wait.
			idp.WithThrottle(idp.Throttle{FreeFailures: 2, BaseDelay: time.Minute, MaxDelay: time.Hour,
				MaxFailures: 100, Window: time.Hour, Lockout: time.Hour}))
		api := e.api
		poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("mfa")})).UserPool.Id)
		clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web"),
			ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowUserSrpAuth,
				types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth, types.ExplicitAuthFlowsTypeAllowAdminUserPasswordAuth},
		})).UserPoolClient.ClientId)
		for _, u := range []string{"alice", "bob", "carol"} {
			if _, err := e.idp.CreateUser(ctx, poolID, u, password, nil); err != nil {
				t.Fatal(err)
			}
		}
		signIn := func(user string) (*cip.InitiateAuthOutput, error) {
			return api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(clientID),
				AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": password}})
		}
		answer := func(user string, session *string, code string) (*cip.RespondToAuthChallengeOutput, error) {
			return api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
				ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa, Session: session,
				ChallengeResponses: map[string]string{"USERNAME": user, "SOFTWARE_TOKEN_MFA_CODE": code}})
		}
		challenged := func(t *testing.T, user string) *cip.InitiateAuthOutput {
			t.Helper()
			out := must[*cip.InitiateAuthOutput](t)(signIn(user))
			if out.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa || aws.ToString(out.Session) == "" || out.AuthenticationResult != nil {
				t.Fatalf("want SOFTWARE_TOKEN_MFA, got %s %v", out.ChallengeName, out.AuthenticationResult)
			}
			return out
		}
		aliceTokens := must[*cip.InitiateAuthOutput](t)(signIn("alice")).AuthenticationResult
		access := aliceTokens.AccessToken
		var secret string

		t.Run("pool configuration", func(t *testing.T) {
			_, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: access})
			apiErr(t, err, "SoftwareTokenMFANotFoundException", "")
			_, err = api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID), MfaConfiguration: types.UserPoolMfaTypeOn})
			apiErr(t, err, "InvalidParameterException", "")
			_, err = api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID),
				SmsMfaConfiguration: &types.SmsMfaConfigType{SmsAuthenticationMessage: aws.String("{####}")}})
			apiErr(t, err, "InvalidParameterException", "")
			_, err = api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID), MfaConfiguration: "SOMETIMES"})
			apiErr(t, err, "InvalidParameterException", "")
			_, err = api.GetUserPoolMfaConfig(ctx, &cip.GetUserPoolMfaConfigInput{UserPoolId: aws.String("us-east-1_nothere00")})
			apiErr(t, err, "ResourceNotFoundException", "")
			out := must[*cip.SetUserPoolMfaConfigOutput](t)(api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID),
				MfaConfiguration: types.UserPoolMfaTypeOptional, SoftwareTokenMfaConfiguration: &types.SoftwareTokenMfaConfigType{Enabled: true}}))
			if out.MfaConfiguration != types.UserPoolMfaTypeOptional || out.SoftwareTokenMfaConfiguration == nil || !out.SoftwareTokenMfaConfiguration.Enabled {
				t.Fatalf("SetUserPoolMfaConfig %+v", out)
			}
			got := must[*cip.GetUserPoolMfaConfigOutput](t)(api.GetUserPoolMfaConfig(ctx, &cip.GetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID)}))
			if got.MfaConfiguration != types.UserPoolMfaTypeOptional || !got.SoftwareTokenMfaConfiguration.Enabled {
				t.Fatalf("GetUserPoolMfaConfig %+v", got)
			}
			desc := must[*cip.DescribeUserPoolOutput](t)(api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(poolID)}))
			if desc.UserPool.MfaConfiguration != types.UserPoolMfaTypeOptional {
				t.Fatalf("DescribeUserPool MfaConfiguration %s", desc.UserPool.MfaConfiguration)
			}
		})

		t.Run("associate and verify", func(t *testing.T) {
			_, err := api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{})
			apiErr(t, err, "InvalidParameterException", "")
			_, err = api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: aws.String("not.a.token")})
			apiErr(t, err, "NotAuthorizedException", "")
			_, err = api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: access, UserCode: aws.String("123456")})
			apiErr(t, err, "InvalidParameterException", "")

			out := must[*cip.AssociateSoftwareTokenOutput](t)(api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{AccessToken: access}))
			secret = aws.ToString(out.SecretCode)
			key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
			if err != nil || len(key) != 20 {
				t.Fatalf("SecretCode %q: %d bytes, %v", secret, len(key), err)
			}
			_, err = api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: access,
				SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true}})
			apiErr(t, err, "InvalidParameterException", "User has not verified software token mfa")

			wrong := fmt.Sprintf("%06d", (atoi(totp(t, secret, e.clock.Now()))+1)%1_000_000)
			_, err = api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: access, UserCode: aws.String(wrong)})
			apiErr(t, err, "EnableSoftwareTokenMFAException", "Code mismatch")
			_, err = api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: access, UserCode: aws.String("12a456")})
			apiErr(t, err, "InvalidParameterException", "")
			v := must[*cip.VerifySoftwareTokenOutput](t)(api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{AccessToken: access,
				UserCode: aws.String(totp(t, secret, e.clock.Now())), FriendlyDeviceName: aws.String("phone")}))
			if v.Status != types.VerifySoftwareTokenResponseTypeSuccess {
				t.Fatalf("VerifySoftwareToken %s", v.Status)
			}
			// Verified but not enabled: no challenge yet, and GetUser lists no MFA.
			if out := must[*cip.InitiateAuthOutput](t)(signIn("alice")); out.AuthenticationResult == nil {
				t.Fatalf("challenged before MFA was enabled: %s", out.ChallengeName)
			}
			if u := must[*cip.GetUserOutput](t)(api.GetUser(ctx, &cip.GetUserInput{AccessToken: access})); len(u.UserMFASettingList) != 0 {
				t.Fatalf("UserMFASettingList %v", u.UserMFASettingList)
			}
		})

		t.Run("preferences", func(t *testing.T) {
			_, err := api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: access,
				SMSMfaSettings: &types.SMSMfaSettingsType{Enabled: true}})
			apiErr(t, err, "InvalidParameterException", "")
			must[*cip.SetUserMFAPreferenceOutput](t)(api.SetUserMFAPreference(ctx, &cip.SetUserMFAPreferenceInput{AccessToken: access,
				SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true, PreferredMfa: true}}))
			u := must[*cip.GetUserOutput](t)(api.GetUser(ctx, &cip.GetUserInput{AccessToken: access}))
			if len(u.UserMFASettingList) != 1 || u.UserMFASettingList[0] != "SOFTWARE_TOKEN_MFA" || aws.ToString(u.PreferredMfaSetting) != "SOFTWARE_TOKEN_MFA" {
				t.Fatalf("GetUser MFA %v %v", u.UserMFASettingList, u.PreferredMfaSetting)
			}
			au := must[*cip.AdminGetUserOutput](t)(api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("alice")}))
			if len(au.UserMFASettingList) != 1 || aws.ToString(au.PreferredMfaSetting) != "SOFTWARE_TOKEN_MFA" {
				t.Fatalf("AdminGetUser MFA %v %v", au.UserMFASettingList, au.PreferredMfaSetting)
			}
			_, err = api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"),
				SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: true}})
			apiErr(t, err, "InvalidParameterException", "User has not verified software token mfa")
			_, err = api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(poolID), Username: aws.String("nobody"),
				SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: false}})
			apiErr(t, err, "UserNotFoundException", "")
		})

		t.Run("challenge after password", func(t *testing.T) {
			e.nextStep() // the verification used the current step's code
			ch := challenged(t, "alice")
			if ch.ChallengeParameters["FRIENDLY_DEVICE_NAME"] != "phone" {
				t.Fatalf("ChallengeParameters %v", ch.ChallengeParameters)
			}
			code := totp(t, secret, e.clock.Now())
			out := must[*cip.RespondToAuthChallengeOutput](t)(answer("alice", ch.Session, code))
			claims := e.verify(t, poolID, aws.ToString(out.AuthenticationResult.AccessToken))
			if claims["username"] != "alice" || aws.ToString(out.AuthenticationResult.RefreshToken) == "" {
				t.Fatalf("claims %v", claims)
			}
			// The same code again, within its window, on a new sign-in: a replay.
			ch = challenged(t, "alice")
			_, err := answer("alice", ch.Session, code)
			apiErr(t, err, "CodeMismatchException", "Invalid code received for user")
			// The session is burned by the wrong answer.
			e.nextStep()
			_, err = answer("alice", ch.Session, totp(t, secret, e.clock.Now()))
			apiErr(t, err, "NotAuthorizedException", "Invalid session for the user, session is expired.")
			// A code of the previous step is still accepted (clock drift) if it was never used.
			ch = challenged(t, "alice")
			e.nextStep()
			must[*cip.RespondToAuthChallengeOutput](t)(answer("alice", ch.Session, totp(t, secret, e.clock.Now().Add(-30*time.Second))))
		})

		t.Run("expired session", func(t *testing.T) {
			e.nextStep()
			ch := challenged(t, "alice")
			e.clock.Advance(3*time.Minute + time.Second)
			// Sweep removes expired sessions (among other expired records); the answer is
			// refused either way.
			if n, err := e.idp.Sweep(ctx); err != nil || n == 0 {
				t.Fatalf("Sweep: %d, %v", n, err)
			}
			_, err := answer("alice", ch.Session, totp(t, secret, e.clock.Now()))
			apiErr(t, err, "NotAuthorizedException", "Invalid session for the user, session is expired.")
		})

		t.Run("bad answers", func(t *testing.T) {
			e.nextStep()
			ch := challenged(t, "alice")
			_, err := answer("alice", ch.Session, "")
			apiErr(t, err, "InvalidParameterException", "Missing required parameter SOFTWARE_TOKEN_MFA_CODE")
			_, err = answer("bob", ch.Session, totp(t, secret, e.clock.Now()))
			apiErr(t, err, "NotAuthorizedException", "Invalid session for the user, session is expired.")
			_, err = api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
				ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa, Session: aws.String("x"),
				ChallengeResponses: map[string]string{"SOFTWARE_TOKEN_MFA_CODE": "123456"}})
			apiErr(t, err, "InvalidParameterException", "Missing required parameter USERNAME")
		})

		t.Run("client with a secret", func(t *testing.T) {
			c := must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
				UserPoolId: aws.String(poolID), ClientName: aws.String("backend"), GenerateSecret: true,
				ExplicitAuthFlows: []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth}})).UserPoolClient
			id, sh := aws.ToString(c.ClientId), secretHash(aws.ToString(c.ClientSecret), "alice", aws.ToString(c.ClientId))
			e.nextStep()
			start := func() *cip.InitiateAuthOutput {
				return must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
					ClientId: aws.String(id), AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": password, "SECRET_HASH": sh}}))
			}
			respond := func(ch *cip.InitiateAuthOutput, responses map[string]string) (*cip.RespondToAuthChallengeOutput, error) {
				return api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(id),
					ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa, Session: ch.Session, ChallengeResponses: responses})
			}
			code := totp(t, secret, e.clock.Now())
			_, err := respond(start(), map[string]string{"USERNAME": "alice", "SOFTWARE_TOKEN_MFA_CODE": code})
			apiErr(t, err, "NotAuthorizedException", "")
			// A session of another client is refused.
			_, err = answer("alice", start().Session, code)
			apiErr(t, err, "NotAuthorizedException", "Invalid session for the user, session is expired.")
			must[*cip.RespondToAuthChallengeOutput](t)(respond(start(), map[string]string{"USERNAME": "alice", "SOFTWARE_TOKEN_MFA_CODE": code, "SECRET_HASH": sh}))
		})

		t.Run("refresh asks for no second factor", func(t *testing.T) {
			out := must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth,
				ClientId: aws.String(clientID), AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(aliceTokens.RefreshToken)}}))
			if out.AuthenticationResult == nil {
				t.Fatalf("refresh challenged: %s", out.ChallengeName)
			}
		})

		t.Run("password grant refused", func(t *testing.T) {
			resp, err := http.PostForm(e.srv.URL+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {clientID},
				"username": {"alice"}, "password": {password}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("password grant for an MFA user: %d", resp.StatusCode)
			}
		})

		t.Run("SRP then MFA", func(t *testing.T) {
			e.nextStep()
			c := newSRPClient(t)
			ch := must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserSrpAuth,
				ClientId: aws.String(clientID), AuthParameters: map[string]string{"USERNAME": "alice", "SRP_A": c.A.Text(16)}}))
			pv := must[*cip.RespondToAuthChallengeOutput](t)(api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
				ChallengeName: types.ChallengeNameTypePasswordVerifier, Session: ch.Session,
				ChallengeResponses: c.respond(t, poolID, password, ch.ChallengeParameters, e.clock.Now())}))
			if pv.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa || pv.AuthenticationResult != nil {
				t.Fatalf("after PASSWORD_VERIFIER: %s", pv.ChallengeName)
			}
			out := must[*cip.RespondToAuthChallengeOutput](t)(answer("alice", pv.Session, totp(t, secret, e.clock.Now())))
			e.verify(t, poolID, aws.ToString(out.AuthenticationResult.IdToken))
		})

		t.Run("admin sign-in then MFA", func(t *testing.T) {
			e.nextStep()
			ch := must[*cip.AdminInitiateAuthOutput](t)(api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{UserPoolId: aws.String(poolID),
				ClientId: aws.String(clientID), AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
				AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": password}}))
			if ch.ChallengeName != types.ChallengeNameTypeSoftwareTokenMfa {
				t.Fatalf("AdminInitiateAuth: %s", ch.ChallengeName)
			}
			out := must[*cip.AdminRespondToAuthChallengeOutput](t)(api.AdminRespondToAuthChallenge(ctx, &cip.AdminRespondToAuthChallengeInput{
				UserPoolId: aws.String(poolID), ClientId: aws.String(clientID), ChallengeName: types.ChallengeNameTypeSoftwareTokenMfa,
				Session: ch.Session, ChallengeResponses: map[string]string{"USERNAME": "alice", "SOFTWARE_TOKEN_MFA_CODE": totp(t, secret, e.clock.Now())}}))
			e.verify(t, poolID, aws.ToString(out.AuthenticationResult.AccessToken))
		})

		t.Run("wrong codes are throttled", func(t *testing.T) {
			e.nextStep()
			for range 2 {
				ch := challenged(t, "alice")
				_, err := answer("alice", ch.Session, "000000")
				apiErr(t, err, "CodeMismatchException", "")
			}
			// The right password does not clear the count: the right code must now wait.
			ch := challenged(t, "alice")
			_, err := answer("alice", ch.Session, totp(t, secret, e.clock.Now()))
			apiErr(t, err, "NotAuthorizedException", "Password attempts exceeded")
			e.clock.Advance(2 * time.Minute)
			ch = challenged(t, "alice")
			must[*cip.RespondToAuthChallengeOutput](t)(answer("alice", ch.Session, totp(t, secret, e.clock.Now())))
		})

		t.Run("one code, two concurrent sign-ins", func(t *testing.T) {
			e.nextStep()
			a, b := challenged(t, "alice"), challenged(t, "alice")
			code := totp(t, secret, e.clock.Now())
			errs := make(chan error, 2)
			for _, s := range []*string{a.Session, b.Session} {
				go func() { _, err := answer("alice", s, code); errs <- err }()
			}
			var failed []error
			for range 2 {
				if err := <-errs; err != nil {
					failed = append(failed, err)
				}
			}
			if len(failed) != 1 {
				t.Fatalf("want exactly one of two uses of a code to pass, got errors %v", failed)
			}
			apiErr(t, failed[0], "CodeMismatchException", "")
		})

		t.Run("MFA ON forces setup", func(t *testing.T) {
			must[*cip.SetUserPoolMfaConfigOutput](t)(api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID),
				MfaConfiguration: types.UserPoolMfaTypeOn}))
			ch := must[*cip.InitiateAuthOutput](t)(signIn("bob"))
			if ch.ChallengeName != types.ChallengeNameTypeMfaSetup || ch.AuthenticationResult != nil || !strings.Contains(ch.ChallengeParameters["MFAS_CAN_SETUP"], "SOFTWARE_TOKEN_MFA") {
				t.Fatalf("want MFA_SETUP, got %s %v", ch.ChallengeName, ch.ChallengeParameters)
			}
			setupAnswer := func(session *string) (*cip.RespondToAuthChallengeOutput, error) {
				return api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
					ChallengeName: types.ChallengeNameTypeMfaSetup, Session: session, ChallengeResponses: map[string]string{"USERNAME": "bob"}})
			}
			// Answering before a token is verified gets nothing, and burns the session.
			_, err := setupAnswer(ch.Session)
			apiErr(t, err, "InvalidParameterException", "")
			_, err = api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: ch.Session})
			apiErr(t, err, "NotAuthorizedException", "")

			ch = must[*cip.InitiateAuthOutput](t)(signIn("bob"))
			as := must[*cip.AssociateSoftwareTokenOutput](t)(api.AssociateSoftwareToken(ctx, &cip.AssociateSoftwareTokenInput{Session: ch.Session}))
			bobSecret := aws.ToString(as.SecretCode)
			if aws.ToString(as.Session) == "" || aws.ToString(as.Session) == aws.ToString(ch.Session) {
				t.Fatalf("AssociateSoftwareToken session %q", aws.ToString(as.Session))
			}
			v := must[*cip.VerifySoftwareTokenOutput](t)(api.VerifySoftwareToken(ctx, &cip.VerifySoftwareTokenInput{Session: as.Session,
				UserCode: aws.String(totp(t, bobSecret, e.clock.Now()))}))
			if v.Status != types.VerifySoftwareTokenResponseTypeSuccess || aws.ToString(v.Session) == "" {
				t.Fatalf("VerifySoftwareToken %s %q", v.Status, aws.ToString(v.Session))
			}
			out := must[*cip.RespondToAuthChallengeOutput](t)(setupAnswer(v.Session))
			e.verify(t, poolID, aws.ToString(out.AuthenticationResult.AccessToken))
			// From now on bob answers SOFTWARE_TOKEN_MFA.
			e.nextStep()
			ch = challenged(t, "bob")
			must[*cip.RespondToAuthChallengeOutput](t)(answer("bob", ch.Session, totp(t, bobSecret, e.clock.Now())))

			// A temporary password: NEW_PASSWORD_REQUIRED, then MFA_SETUP, then tokens.
			must[*cip.AdminCreateUserOutput](t)(api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID),
				Username: aws.String("dave"), TemporaryPassword: aws.String(password), MessageAction: types.MessageActionTypeSuppress}))
			np := must[*cip.InitiateAuthOutput](t)(signIn("dave"))
			if np.ChallengeName != types.ChallengeNameTypeNewPasswordRequired {
				t.Fatalf("want NEW_PASSWORD_REQUIRED, got %s", np.ChallengeName)
			}
			setup := must[*cip.RespondToAuthChallengeOutput](t)(api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(clientID),
				ChallengeName: types.ChallengeNameTypeNewPasswordRequired, Session: np.Session,
				ChallengeResponses: map[string]string{"USERNAME": "dave", "NEW_PASSWORD": "N3w-Horse-Staple!"}}))
			if setup.ChallengeName != types.ChallengeNameTypeMfaSetup || setup.AuthenticationResult != nil {
				t.Fatalf("after NEW_PASSWORD_REQUIRED with MFA ON: %s", setup.ChallengeName)
			}

			// bob lost his phone: an administrator turns his token off, and with MFA ON his next
			// sign-in sets up a new one instead of signing him in with the password alone.
			must[*cip.AdminSetUserMFAPreferenceOutput](t)(api.AdminSetUserMFAPreference(ctx, &cip.AdminSetUserMFAPreferenceInput{UserPoolId: aws.String(poolID),
				Username: aws.String("bob"), SoftwareTokenMfaSettings: &types.SoftwareTokenMfaSettingsType{Enabled: false}}))
			if ch := must[*cip.InitiateAuthOutput](t)(signIn("bob")); ch.ChallengeName != types.ChallengeNameTypeMfaSetup {
				t.Fatalf("token turned off under MFA ON: want MFA_SETUP, got %s", ch.ChallengeName)
			}
			// Back to OFF: nobody is asked.
			must[*cip.SetUserPoolMfaConfigOutput](t)(api.SetUserPoolMfaConfig(ctx, &cip.SetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID),
				MfaConfiguration: types.UserPoolMfaTypeOff}))
			if out := must[*cip.InitiateAuthOutput](t)(signIn("alice")); out.AuthenticationResult == nil {
				t.Fatalf("MFA OFF still challenged: %s", out.ChallengeName)
			}
		})

		t.Run("secrets stay out of audit and logs", func(t *testing.T) {
			mu.Lock()
			defer mu.Unlock()
			ops := map[string]bool{}
			for _, c := range changes {
				ops[c.Operation] = true
				if strings.Contains(fmt.Sprintf("%+v", c), secret) {
					t.Fatalf("audit record holds the secret: %+v", c)
				}
			}
			for _, op := range []string{"AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference", "AdminSetUserMFAPreference", "SetUserPoolMfaConfig"} {
				if !ops[op] {
					t.Errorf("no audit record of %s", op)
				}
			}
			if strings.Contains(logs.String(), secret) {
				t.Fatal("the log holds the secret")
			}
		})
	})
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// TestPoolMfaConfiguration: CreateUserPool and UpdateUserPool set MfaConfiguration (OPTIONAL
// and ON turn software tokens on, the only factor there is), UpdateUserPool without it returns
// to OFF as Cognito's does, and DescribeUserPool and GetUserPoolMfaConfig report it.
func TestPoolMfaConfiguration(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		api := newEnv(t, st).api
		check := func(t *testing.T, poolID string, want types.UserPoolMfaType, token bool) {
			t.Helper()
			d := must[*cip.DescribeUserPoolOutput](t)(api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(poolID)}))
			g := must[*cip.GetUserPoolMfaConfigOutput](t)(api.GetUserPoolMfaConfig(ctx, &cip.GetUserPoolMfaConfigInput{UserPoolId: aws.String(poolID)}))
			if d.UserPool.MfaConfiguration != want || g.MfaConfiguration != want || g.SoftwareTokenMfaConfiguration.Enabled != token {
				t.Fatalf("MFA: described %s, config %s token %t; want %s token %t", d.UserPool.MfaConfiguration, g.MfaConfiguration,
					g.SoftwareTokenMfaConfiguration.Enabled, want, token)
			}
		}
		_, err := api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("bad"), MfaConfiguration: "MAYBE"})
		apiErr(t, err, "InvalidParameterException", "")
		poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p"),
			MfaConfiguration: types.UserPoolMfaTypeOptional})).UserPool.Id)
		check(t, poolID, types.UserPoolMfaTypeOptional, true)
		must[*cip.UpdateUserPoolOutput](t)(api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID), MfaConfiguration: types.UserPoolMfaTypeOn}))
		check(t, poolID, types.UserPoolMfaTypeOn, true)
		must[*cip.UpdateUserPoolOutput](t)(api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID)}))
		check(t, poolID, types.UserPoolMfaTypeOff, true) // the factor stays configured, unused
		_, err = api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID), MfaConfiguration: "ALWAYS"})
		apiErr(t, err, "InvalidParameterException", "")
		plain := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("q")})).UserPool.Id)
		check(t, plain, types.UserPoolMfaTypeOff, false)
	})
}
