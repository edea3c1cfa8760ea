package idp_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// TestConcurrentCodeGuesses: wrong codes sent at once, over two IdP instances (two nodes)
// sharing the store, draw on one budget — at most 5 are compared, the rest are refused with
// LimitExceededException, and the right code is refused afterwards too.
func TestConcurrentCodeGuesses(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		box, sender := newMailbox(t)
		e1 := newEnv(t, st, idp.WithCodeSender(sender))
		e2 := newEnv(t, st, idp.WithCodeSender(sender))
		pool, err := e1.idp.CreatePool(ctx, idp.PoolInput{Name: "p", AutoVerifiedAttributes: []string{"email"}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := e1.idp.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web"})
		if err != nil {
			t.Fatal(err)
		}
		must[*cip.SignUpOutput](t)(e1.api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(c.ID), Username: aws.String("gus"), Password: aws.String(password),
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("gus@example.com")}}}))
		code := box.code("gus", idp.CodeKindSignUp)
		const guesses = 16
		var wg sync.WaitGroup
		var mu sync.Mutex
		counts := map[string]int{}
		for i := range guesses {
			wg.Add(1)
			go func() {
				defer wg.Done()
				api := []*cip.Client{e1.api, e2.api}[i%2]
				_, err := api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(c.ID), Username: aws.String("gus"), ConfirmationCode: aws.String(wrongCode(code))})
				var ae smithy.APIError
				name := "success"
				if errors.As(err, &ae) {
					name = ae.ErrorCode()
				} else if err != nil {
					name = err.Error()
				}
				mu.Lock()
				counts[name]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		if counts["CodeMismatchException"] > 5 || counts["CodeMismatchException"]+counts["LimitExceededException"] != guesses {
			t.Fatalf("concurrent guesses: %v", counts)
		}
		_, err = e2.api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(c.ID), Username: aws.String("gus"), ConfirmationCode: aws.String(code)})
		apiErr(t, err, "LimitExceededException", "")
	})
}

// TestCodeRefusals: states in which codes are not sent or not accepted.
func TestCodeRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t, "sqlite")
	box, sender := newMailbox(t)
	e := newEnv(t, st, idp.WithCodeSender(sender))
	api := e.api
	pool, err := e.idp.CreatePool(ctx, idp.PoolInput{Name: "p", AutoVerifiedAttributes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.idp.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web"}) // Cognito's default flows: SRP
	if err != nil {
		t.Fatal(err)
	}
	verified := map[string]string{"email": "x@example.com", "email_verified": "true"}
	forgot := func(user string) error {
		_, err := api.ForgotPassword(ctx, &cip.ForgotPasswordInput{ClientId: aws.String(c.ID), Username: aws.String(user)})
		return err
	}

	// A user who must change a temporary password cannot reset it by code (Cognito).
	if _, err := e.idp.CreateUser(ctx, pool.ID, "temp", password, verified); err != nil {
		t.Fatal(err)
	}
	must[*cip.AdminSetUserPasswordOutput](t)(api.AdminSetUserPassword(ctx, &cip.AdminSetUserPasswordInput{UserPoolId: aws.String(pool.ID),
		Username: aws.String("temp"), Password: aws.String(password), Permanent: false}))
	apiErr(t, forgot("temp"), "NotAuthorizedException", "User password cannot be reset in the current state.")
	// A disabled user gets no code, and a code sent before cannot be used once disabled.
	if _, err := e.idp.CreateUser(ctx, pool.ID, "dis", password, verified); err != nil {
		t.Fatal(err)
	}
	if err := forgot("dis"); err != nil {
		t.Fatal(err)
	}
	sent := box.code("dis", idp.CodeKindForgotPassword)
	if err := e.idp.SetUserEnabled(ctx, pool.ID, "dis", false); err != nil {
		t.Fatal(err)
	}
	apiErr(t, forgot("dis"), "NotAuthorizedException", "User is disabled.")
	_, err = api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(c.ID), Username: aws.String("dis"),
		ConfirmationCode: aws.String(sent), Password: aws.String("Another-Horse-8")})
	apiErr(t, err, "NotAuthorizedException", "User is disabled.")
	// A code belongs to the user it was sent to: a user deleted and created again under the
	// same name cannot use it.
	if _, err := e.idp.CreateUser(ctx, pool.ID, "re", password, verified); err != nil {
		t.Fatal(err)
	}
	if err := forgot("re"); err != nil {
		t.Fatal(err)
	}
	old := box.code("re", idp.CodeKindForgotPassword)
	if err := e.idp.DeleteUser(ctx, pool.ID, "re"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.idp.CreateUser(ctx, pool.ID, "re", password, verified); err != nil {
		t.Fatal(err)
	}
	_, err = api.ConfirmForgotPassword(ctx, &cip.ConfirmForgotPasswordInput{ClientId: aws.String(c.ID), Username: aws.String("re"),
		ConfirmationCode: aws.String(old), Password: aws.String("Another-Horse-8")})
	apiErr(t, err, "ExpiredCodeException", "")

	// USER_SRP_AUTH refuses an unconfirmed user after the proof, as USER_PASSWORD_AUTH does.
	must[*cip.SignUpOutput](t)(api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(c.ID), Username: aws.String("una"), Password: aws.String(password),
		UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("una@example.com")}}}))
	srp := newSRPClient(t)
	ch := must[*cip.InitiateAuthOutput](t)(api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserSrpAuth, ClientId: aws.String(c.ID),
		AuthParameters: map[string]string{"USERNAME": "una", "SRP_A": srp.A.Text(16)}}))
	_, err = api.RespondToAuthChallenge(ctx, &cip.RespondToAuthChallengeInput{ClientId: aws.String(c.ID), ChallengeName: types.ChallengeNameTypePasswordVerifier,
		Session: ch.Session, ChallengeResponses: srp.respond(t, pool.ID, password, ch.ChallengeParameters, e.clock.Now())})
	apiErr(t, err, "UserNotConfirmedException", "User is not confirmed.")
	// A code is 6 digits of text: malformed input is a parameter error, not a guess.
	_, err = api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(c.ID), Username: aws.String("una"), ConfirmationCode: aws.String("12 34")})
	apiErr(t, err, "InvalidParameterException", "")
}

// TestCodesPerDestination: sign-ups under many usernames with one victim's address stop
// after 10 codes an hour to that address; the refused sign-up creates no user.
func TestCodesPerDestination(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	box, sender := newMailbox(t)
	e := newEnv(t, storetest.Open(t, "sqlite"), idp.WithCodeSender(sender))
	pool, err := e.idp.CreatePool(ctx, idp.PoolInput{Name: "p", AutoVerifiedAttributes: []string{"email"}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.idp.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	signUp := func(i int, email string) error {
		_, err := e.api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(c.ID), Username: aws.String(fmt.Sprintf("u%d", i)), Password: aws.String(password),
			UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String(email)}}})
		return err
	}
	for i := range 10 {
		if err := signUp(i, "victim@example.com"); err != nil {
			t.Fatalf("sign-up %d: %v", i, err)
		}
	}
	apiErr(t, signUp(10, "Victim@Example.com"), "LimitExceededException", "")
	if _, err := e.idp.GetUser(ctx, pool.ID, "u10"); err == nil {
		t.Fatal("the refused sign-up created its user")
	}
	if box.count() != 10 {
		t.Fatalf("%d codes sent", box.count())
	}
	// Another address is not affected; an hour later the victim's budget is back.
	if err := signUp(11, "other@example.com"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(61 * time.Minute)
	if err := signUp(12, "victim@example.com"); err != nil {
		t.Fatal(err)
	}
}
