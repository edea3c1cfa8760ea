package idp_test

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// webhookMsg is what the webhook sender posts.
type webhookMsg struct {
	Pool, User, Kind, Medium, Attribute, Destination, Code string
	Time                                                   int64
}

// mailbox is a webhook receiver (a real HTTP server) that checks each delivery's HMAC
// signature and keeps the messages.
type mailbox struct {
	t      testing.TB
	secret []byte
	mu     sync.Mutex
	msgs   []webhookMsg
	status int // answer; 0 = 204
}

func newMailbox(t testing.TB) (*mailbox, *idp.WebhookSender) {
	m := &mailbox{t: t, secret: []byte("webhook-secret-for-tests")}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		want := idp.WebhookSignature(m.secret, body)
		if got := r.Header.Get(idp.WebhookSignatureHeader); !hmac.Equal([]byte(got), []byte(want)) || !strings.HasPrefix(got, "sha256=") {
			t.Errorf("webhook signature %q, want %q", got, want)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var msg webhookMsg
		if err := json.Unmarshal(body, &msg); err != nil {
			t.Errorf("webhook body %s: %v", body, err)
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		m.msgs = append(m.msgs, msg)
		if m.status != 0 {
			w.WriteHeader(m.status)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return m, &idp.WebhookSender{URL: srv.URL + "/codes?token=x", Secret: m.secret}
}

// code returns the last code sent to user for kind.
func (m *mailbox) code(user, kind string) string {
	m.t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.msgs) - 1; i >= 0; i-- {
		if msg := m.msgs[i]; msg.User == user && msg.Kind == kind {
			if !regexp.MustCompile(`^[0-9]{6}$`).MatchString(msg.Code) {
				m.t.Fatalf("code %q is not 6 digits", msg.Code)
			}
			return msg.Code
		}
	}
	m.t.Fatalf("no %s code sent to %s", kind, user)
	return ""
}

func (m *mailbox) setStatus(s int) {
	m.mu.Lock()
	m.status = s
	m.mu.Unlock()
}

func (m *mailbox) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.msgs)
}

// wrongCode is a code differing from c.
func wrongCode(c string) string {
	if c == "000000" {
		return "000001"
	}
	return "000000"
}

// TestSelfServiceSDK drives sign-up, confirmation, password reset and attribute verification
// with the AWS SDK on every backend, codes delivered through a signed webhook.
func TestSelfServiceSDK(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		box, sender := newMailbox(t)
		var mu sync.Mutex
		var changes []idp.Change
		e := newEnv(t, st, idp.WithCodeSender(sender), idp.WithAudit(func(_ context.Context, c idp.Change) {
			mu.Lock()
			changes = append(changes, c)
			mu.Unlock()
		}))
		api := e.api
		pool := must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("shop"),
			AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})).UserPool
		poolID := aws.ToString(pool.Id)
		if len(pool.AutoVerifiedAttributes) != 1 || pool.AdminCreateUserConfig == nil || pool.AdminCreateUserConfig.AllowAdminCreateUserOnly {
			t.Fatalf("CreateUserPool settings: %+v %+v", pool.AutoVerifiedAttributes, pool.AdminCreateUserConfig)
		}
		flows := []types.ExplicitAuthFlowsType{types.ExplicitAuthFlowsTypeAllowUserPasswordAuth, types.ExplicitAuthFlowsTypeAllowRefreshTokenAuth}
		clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("web"), ExplicitAuthFlows: flows})).UserPoolClient.ClientId)
		sc := must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
			UserPoolId: aws.String(poolID), ClientName: aws.String("backend"), GenerateSecret: true, ExplicitAuthFlows: flows,
			PreventUserExistenceErrors: types.PreventUserExistenceErrorTypesEnabled})).UserPoolClient
		secID, secret := aws.ToString(sc.ClientId), aws.ToString(sc.ClientSecret)
		email := func(v string) []types.AttributeType {
			return []types.AttributeType{{Name: aws.String("email"), Value: aws.String(v)}}
		}
		signIn := func(user, pw string) (*cip.InitiateAuthOutput, error) {
			return api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(clientID),
				AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": pw}})
		}
		status := func(user string) (types.UserStatusType, map[string]string) {
			u := must[*cip.AdminGetUserOutput](t)(api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String(user)}))
			attrs := map[string]string{}
			for _, a := range u.UserAttributes {
				attrs[aws.ToString(a.Name)] = aws.ToString(a.Value)
			}
			return u.UserStatus, attrs
		}

		// Refusals before anything is written.
		_, err := api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(secID), Username: aws.String("alice"), Password: aws.String(password)})
		apiErr(t, err, "NotAuthorizedException", "Client "+secID+" is configured for secret but secret was not received")
		_, err = api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), Password: aws.String("short")})
		apiErr(t, err, "InvalidPasswordException", "")
		_, err = api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), Password: aws.String(password),
			UserAttributes: []types.AttributeType{{Name: aws.String("custom:tenant"), Value: aws.String("acme")}}})
		apiErr(t, err, "NotAuthorizedException", "A client attempted to write unauthorized attribute")
		_, err = api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), Password: aws.String(password),
			UserAttributes: []types.AttributeType{{Name: aws.String("email_verified"), Value: aws.String("true")}}})
		apiErr(t, err, "NotAuthorizedException", "")
		_, err = api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String("nosuchclient"), Username: aws.String("alice"), Password: aws.String(password)})
		apiErr(t, err, "ResourceNotFoundException", "")

		// SignUp: UNCONFIRMED, the code goes to the email, masked in the answer.
		out := must[*cip.SignUpOutput](t)(api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"),
			Password: aws.String(password), UserAttributes: email("alice@example.com")}))
		d := out.CodeDeliveryDetails
		if out.UserConfirmed || aws.ToString(out.UserSub) == "" || d == nil || aws.ToString(d.Destination) != "a***@e***" ||
			d.DeliveryMedium != types.DeliveryMediumTypeEmail || aws.ToString(d.AttributeName) != "email" {
			t.Fatalf("SignUp %+v %+v", out, d)
		}
		first := box.code("alice", idp.CodeKindSignUp)
		if st, attrs := status("alice"); st != types.UserStatusTypeUnconfirmed || attrs["email_verified"] != "" || attrs["sub"] != aws.ToString(out.UserSub) {
			t.Fatalf("after SignUp: %s %v", st, attrs)
		}
		_, err = api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), Password: aws.String(password)})
		apiErr(t, err, "UsernameExistsException", "User already exists")

		// An unconfirmed user cannot sign in; a wrong password still says only that.
		_, err = signIn("alice", password)
		apiErr(t, err, "UserNotConfirmedException", "User is not confirmed.")
		_, err = signIn("alice", "Wrong-Horse-1!")
		apiErr(t, err, "NotAuthorizedException", "Incorrect username or password.")

		// A wrong code; a resent code replaces the first.
		_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), ConfirmationCode: aws.String(wrongCode(first))})
		apiErr(t, err, "CodeMismatchException", "Invalid verification code provided, please try again.")
		must[*cip.ResendConfirmationCodeOutput](t)(api.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("alice")}))
		second := box.code("alice", idp.CodeKindSignUp)
		if first != second {
			_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), ConfirmationCode: aws.String(first)})
			apiErr(t, err, "CodeMismatchException", "")
		}
		must[*cip.ConfirmSignUpOutput](t)(api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), ConfirmationCode: aws.String(second)}))
		if st, attrs := status("alice"); st != types.UserStatusTypeConfirmed || attrs["email_verified"] != "true" {
			t.Fatalf("after ConfirmSignUp: %s %v", st, attrs)
		}
		_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("alice"), ConfirmationCode: aws.String(second)})
		apiErr(t, err, "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
		_, err = api.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("alice")})
		apiErr(t, err, "InvalidParameterException", "User is already confirmed.")
		tokens := must[*cip.InitiateAuthOutput](t)(signIn("alice", password)).AuthenticationResult

		// Forgot password: the reset revokes the tokens issued before, the code works once.
		fp := must[*cip.ForgotPasswordOutput](t)(api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("alice")}))
		if aws.ToString(fp.CodeDeliveryDetails.Destination) != "a***@e***" {
			t.Fatalf("ForgotPassword %+v", fp.CodeDeliveryDetails)
		}
		reset := box.code("alice", idp.CodeKindForgotPassword)
		const newPassword = "Brand-New-Horse-7"
		_, err = api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("alice"),
			ConfirmationCode: aws.String(reset), Password: aws.String("weak")})
		apiErr(t, err, "InvalidPasswordException", "")
		_, err = api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("alice"),
			ConfirmationCode: aws.String(wrongCode(reset)), Password: aws.String(newPassword)})
		apiErr(t, err, "CodeMismatchException", "")
		must[*cip.ConfirmForgotPasswordOutput](t)(api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(clientID),
			Username: aws.String("alice"), ConfirmationCode: aws.String(reset), Password: aws.String(newPassword)}))
		_, err = api.GetUser(ctx, &cip.GetUserInput{AccessToken: tokens.AccessToken})
		apiErr(t, err, "NotAuthorizedException", "")
		_, err = api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeRefreshTokenAuth, ClientId: aws.String(clientID),
			AuthParameters: map[string]string{"REFRESH_TOKEN": aws.ToString(tokens.RefreshToken)}})
		apiErr(t, err, "NotAuthorizedException", "")
		_, err = api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("alice"),
			ConfirmationCode: aws.String(reset), Password: aws.String("Another-Horse-8")})
		apiErr(t, err, "ExpiredCodeException", "Invalid code provided, please request a code again.")
		_, err = signIn("alice", password)
		apiErr(t, err, "NotAuthorizedException", "")
		tokens = must[*cip.InitiateAuthOutput](t)(signIn("alice", newPassword)).AuthenticationResult

		// ForgotPassword needs a verified address; unknown users are reported unless the
		// client prevents user existence errors.
		must[*cip.AdminCreateUserOutput](t)(api.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: aws.String(poolID), Username: aws.String("bob"),
			TemporaryPassword: aws.String(password), UserAttributes: email("bob@example.com")}))
		must[*cip.AdminSetUserPasswordOutput](t)(api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(poolID),
			Username: aws.String("bob"), Password: aws.String(password), Permanent: true}))
		_, err = api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("bob")})
		apiErr(t, err, "InvalidParameterException", "Cannot reset password for the user as there is no registered/verified email or phone_number")
		_, err = api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("nobody")})
		apiErr(t, err, "UserNotFoundException", "")
		fake := must[*cip.ForgotPasswordOutput](t)(api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(secID), Username: aws.String("nobody"),
			SecretHash: aws.String(secretHash(secret, "nobody", secID))}))
		if fake.CodeDeliveryDetails == nil || !strings.Contains(aws.ToString(fake.CodeDeliveryDetails.Destination), "***@") {
			t.Fatalf("prevented ForgotPassword %+v", fake.CodeDeliveryDetails)
		}
		_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(secID), Username: aws.String("nobody"),
			SecretHash: aws.String(secretHash(secret, "nobody", secID)), ConfirmationCode: aws.String("123456")})
		apiErr(t, err, "CodeMismatchException", "")

		// Attribute verification: a changed email is unverified until its code comes back.
		must[*cip.UpdateUserAttributesOutput](t)(api.UpdateUserAttributes(ctx, &cip.UpdateUserAttributesInput{AccessToken: tokens.AccessToken,
			UserAttributes: email("alice@corp.example")}))
		_, err = api.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: tokens.AccessToken, AttributeName: aws.String("email"), Code: aws.String("123456")})
		apiErr(t, err, "ExpiredCodeException", "")
		_, err = api.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: tokens.AccessToken, AttributeName: aws.String("custom:x")})
		apiErr(t, err, "InvalidParameterException", "")
		_, err = api.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{AccessToken: aws.String("not-a-token"), AttributeName: aws.String("email")})
		apiErr(t, err, "NotAuthorizedException", "")
		gv := must[*cip.GetUserAttributeVerificationCodeOutput](t)(api.GetUserAttributeVerificationCode(ctx, &cip.GetUserAttributeVerificationCodeInput{
			AccessToken: tokens.AccessToken, AttributeName: aws.String("email")}))
		if aws.ToString(gv.CodeDeliveryDetails.Destination) != "a***@c***" {
			t.Fatalf("GetUserAttributeVerificationCode %+v", gv.CodeDeliveryDetails)
		}
		vc := box.code("alice", idp.CodeKindVerifyAttr)
		_, err = api.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: tokens.AccessToken, AttributeName: aws.String("email"), Code: aws.String(wrongCode(vc))})
		apiErr(t, err, "CodeMismatchException", "")
		must[*cip.VerifyUserAttributeOutput](t)(api.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: tokens.AccessToken,
			AttributeName: aws.String("email"), Code: aws.String(vc)}))
		if _, attrs := status("alice"); attrs["email_verified"] != "true" || attrs["email"] != "alice@corp.example" {
			t.Fatalf("after VerifyUserAttribute: %v", attrs)
		}
		_, err = api.VerifyUserAttribute(ctx, &cip.VerifyUserAttributeInput{AccessToken: tokens.AccessToken, AttributeName: aws.String("email"), Code: aws.String(vc)})
		apiErr(t, err, "ExpiredCodeException", "")

		// AdminConfirmSignUp confirms without a code, once.
		must[*cip.SignUpOutput](t)(api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(secID), Username: aws.String("carol"), Password: aws.String(password),
			SecretHash: aws.String(secretHash(secret, "carol", secID)), UserAttributes: email("carol@example.com")}))
		carolCode := box.code("carol", idp.CodeKindSignUp)
		must[*cip.AdminConfirmSignUpOutput](t)(api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(poolID), Username: aws.String("carol")}))
		if st, attrs := status("carol"); st != types.UserStatusTypeConfirmed || attrs["email_verified"] != "" {
			t.Fatalf("after AdminConfirmSignUp: %s %v", st, attrs)
		}
		_, err = api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(poolID), Username: aws.String("carol")})
		apiErr(t, err, "NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")
		_, err = api.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(poolID), Username: aws.String("nobody")})
		apiErr(t, err, "UserNotFoundException", "")
		must[*cip.InitiateAuthOutput](t)(signIn("carol", password))
		_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(secID), Username: aws.String("carol"),
			SecretHash: aws.String(secretHash(secret, "carol", secID)), ConfirmationCode: aws.String(carolCode)})
		apiErr(t, err, "NotAuthorizedException", "")
		// AdminConfirmSignUp is an admin call: unsigned it is refused.
		anon := sdkClient(t, e.srv.URL, "AKIDNOBODY", "nope")
		_, err = anon.AdminConfirmSignUp(ctx, &cip.AdminConfirmSignUpInput{UserPoolId: aws.String(poolID), Username: aws.String("carol")})
		if err == nil {
			t.Fatal("AdminConfirmSignUp with unknown credentials succeeded")
		}

		// A pool may refuse self sign-up; UpdateUserPool and DescribeUserPool round-trip it.
		must[*cip.UpdateUserPoolOutput](t)(api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID),
			AdminCreateUserConfig: &types.AdminCreateUserConfigType{AllowAdminCreateUserOnly: true}}))
		desc := must[*cip.DescribeUserPoolOutput](t)(api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: aws.String(poolID)})).UserPool
		if !desc.AdminCreateUserConfig.AllowAdminCreateUserOnly || len(desc.AutoVerifiedAttributes) != 0 {
			t.Fatalf("DescribeUserPool %+v %v", desc.AdminCreateUserConfig, desc.AutoVerifiedAttributes)
		}
		_, err = api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("erin"), Password: aws.String(password)})
		apiErr(t, err, "NotAuthorizedException", "SignUp is not permitted for this user pool")
		_, err = api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID), AutoVerifiedAttributes: []types.VerifiedAttributeType{"address"}})
		apiErr(t, err, "InvalidParameterException", "")
		// Without auto-verified attributes a sign-up sends nothing: an administrator confirms.
		must[*cip.UpdateUserPoolOutput](t)(api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID)}))
		sent := box.count()
		erin := must[*cip.SignUpOutput](t)(api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("erin"), Password: aws.String(password), UserAttributes: email("erin@example.com")}))
		if erin.CodeDeliveryDetails != nil || erin.UserConfirmed || box.count() != sent {
			t.Fatalf("SignUp without auto verification: %+v", erin)
		}
		_, err = api.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("erin")})
		apiErr(t, err, "InvalidParameterException", "Auto verification not turned on.")

		must[*cip.UpdateUserPoolOutput](t)(api.UpdateUserPool(ctx, &cip.UpdateUserPoolInput{UserPoolId: aws.String(poolID),
			AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}}))

		// Wrong codes are budgeted: after 5, even the right code is refused until a new one.
		must[*cip.SignUpOutput](t)(api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("dave"), Password: aws.String(password), UserAttributes: email("dave@example.com")}))
		daveCode := box.code("dave", idp.CodeKindSignUp)
		for range 5 {
			_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("dave"), ConfirmationCode: aws.String(wrongCode(daveCode))})
			apiErr(t, err, "CodeMismatchException", "")
		}
		_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("dave"), ConfirmationCode: aws.String(daveCode)})
		apiErr(t, err, "LimitExceededException", "Attempt limit exceeded, please try after some time.")
		// Code requests are budgeted too: 5 per hour (the sign-up's included).
		for range 4 {
			must[*cip.ResendConfirmationCodeOutput](t)(api.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("dave")}))
		}
		sent = box.count()
		_, err = api.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("dave")})
		apiErr(t, err, "LimitExceededException", "")
		if box.count() != sent {
			t.Fatal("a refused code request sent a code")
		}
		daveCode = box.code("dave", idp.CodeKindSignUp)
		// Codes expire (sign-up: 24 h). From here on only unsigned calls: SigV4 would see the
		// advanced clock as skew.
		e.clock.Advance(24*time.Hour + time.Minute)
		_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("dave"), ConfirmationCode: aws.String(daveCode)})
		apiErr(t, err, "ExpiredCodeException", "")
		// A day later the request budget is back.
		must[*cip.ResendConfirmationCodeOutput](t)(api.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("dave")}))
		must[*cip.ConfirmSignUpOutput](t)(api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("dave"),
			ConfirmationCode: aws.String(box.code("dave", idp.CodeKindSignUp))}))
		// Forgot-password codes live one hour.
		must[*cip.ForgotPasswordOutput](t)(api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("dave")}))
		e.clock.Advance(time.Hour + time.Second)
		_, err = api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(clientID), Username: aws.String("dave"),
			ConfirmationCode: aws.String(box.code("dave", idp.CodeKindForgotPassword)), Password: aws.String(newPassword)})
		apiErr(t, err, "ExpiredCodeException", "")

		// Neither codes nor passwords are in the store or the audit trail.
		box.mu.Lock()
		secrets := []string{password, newPassword}
		for _, m := range box.msgs {
			secrets = append(secrets, m.Code)
		}
		box.mu.Unlock()
		objs, _, err := st.List(ctx, store.Query{Scope: poolID, Kind: "idp_code", Limit: 100})
		if err != nil || len(objs) == 0 {
			t.Fatalf("code records: %d %v", len(objs), err)
		}
		for _, o := range objs {
			for _, s := range secrets {
				if strings.Contains(string(o.Data), `"`+s+`"`) {
					t.Fatalf("code record %s holds a secret: %s", o.ID, o.Data)
				}
			}
		}
		mu.Lock()
		defer mu.Unlock()
		ops := map[string]bool{}
		for _, c := range changes {
			b, _ := json.Marshal(c)
			for _, s := range secrets {
				if strings.Contains(string(b), s) {
					t.Fatalf("audit record holds a secret: %s", b)
				}
			}
			ops[c.Operation] = true
			if c.Operation == "SignUp" && c.Actor != "client:"+clientID && c.Actor != "client:"+secID {
				t.Fatalf("SignUp actor %q", c.Actor)
			}
			if c.Operation == "ConfirmForgotPassword" && (c.Actor != "user:alice" || c.Username != "alice") {
				t.Fatalf("ConfirmForgotPassword audit %+v", c)
			}
		}
		for _, op := range []string{"SignUp", "ConfirmSignUp", "ResendConfirmationCode", "ForgotPassword", "ConfirmForgotPassword",
			"GetUserAttributeVerificationCode", "VerifyUserAttribute", "AdminConfirmSignUp", "UpdateUserPool"} {
			if !ops[op] {
				t.Errorf("no audit record of %s", op)
			}
		}
	})
}

// TestCodeDeliveryFailures: without a sender, operations needing a code fail before writing
// anything; a webhook that refuses is a CodeDeliveryFailureException.
func TestCodeDeliveryFailures(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, "sqlite")
	e := newEnv(t, st)
	api := e.api
	poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p"),
		AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})).UserPool.Id)
	clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
		UserPoolId: aws.String(poolID), ClientName: aws.String("web")})).UserPoolClient.ClientId)
	attrs := []types.AttributeType{{Name: aws.String("email"), Value: aws.String("zoe@example.com")}}
	_, err := api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("zoe"), Password: aws.String(password), UserAttributes: attrs})
	apiErr(t, err, "CodeDeliveryFailureException", "")
	if !strings.Contains(err.Error(), "codeSender") {
		t.Fatalf("error does not name the setting: %v", err)
	}
	_, err = api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("zoe")})
	apiErr(t, err, "UserNotFoundException", "")

	box, sender := newMailbox(t)
	box.setStatus(http.StatusBadGateway)
	e2 := newEnv(t, st, idp.WithCodeSender(sender))
	_, err = e2.api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("zoe"), Password: aws.String(password), UserAttributes: attrs})
	apiErr(t, err, "CodeDeliveryFailureException", "Unable to deliver the verification code.")
	box.setStatus(0)
	// The user exists (as in Cognito) and can ask for another code.
	must[*cip.ResendConfirmationCodeOutput](t)(e2.api.ResendConfirmationCode(ctx, &cip.ResendConfirmationCodeInput{ClientId: aws.String(clientID), Username: aws.String("zoe")}))
	must[*cip.ConfirmSignUpOutput](t)(e2.api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID), Username: aws.String("zoe"),
		ConfirmationCode: aws.String(box.code("zoe", idp.CodeKindSignUp))}))
}
