package idp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
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

// from returns an HTTP client whose connections leave from the loopback address ip, so the
// IdP sees a different TCP peer per simulated client.
func from(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true}, Timeout: 30 * time.Second}
}

// signIn runs InitiateAuth USER_PASSWORD_AUTH through the AWS SDK from ip and returns "" or
// "<error code>: <message>".
func signIn(t *testing.T, e *env, ip, clientID, user, pw string) string {
	t.Helper()
	c := cip.New(cip.Options{Region: "us-east-1", BaseEndpoint: aws.String(e.srv.URL), HTTPClient: from(ip), RetryMaxAttempts: 1})
	_, err := c.InitiateAuth(context.Background(), &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth,
		ClientId: aws.String(clientID), AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": pw}})
	return outcome(t, err)
}

func outcome(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	return ae.ErrorCode() + ": " + ae.ErrorMessage()
}

const (
	incorrect = "NotAuthorizedException: Incorrect username or password."
	exceeded  = "NotAuthorizedException: Password attempts exceeded"
)

// Issue 10 item 8: guessing alice's password from one address delays that address only; alice
// signs in from another address at once, on every password path.
func TestSignInThrottledPerAddress(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool := must[*idpPool](t)(createPool(ctx, e))
		const attacker, alice = "127.0.0.2", "127.0.0.3"

		for i := range idp.DefaultThrottle.FreeFailures {
			if got := signIn(t, e, attacker, pool.clientID, "alice", "Wrong-pass1!"); got != incorrect {
				t.Fatalf("guess %d: %s", i+1, got)
			}
		}
		// The attacker now waits, even with the right password (which is not revealed).
		if got := signIn(t, e, attacker, pool.clientID, "alice", password); got != exceeded {
			t.Fatalf("attacker after %d failures: %q", idp.DefaultThrottle.FreeFailures, got)
		}
		if status := postTokenFrom(t, attacker, e.srv.URL+"/oauth2/token", pool.clientID, "alice", password); status != http.StatusBadRequest {
			t.Fatalf("attacker's password grant: %d", status)
		}

		// Alice, elsewhere, is not affected: InitiateAuth, the password grant, the login page.
		if got := signIn(t, e, alice, pool.clientID, "alice", password); got != "" {
			t.Fatalf("alice from another address: %s", got)
		}
		if status := postTokenFrom(t, alice, e.srv.URL+"/oauth2/token", pool.clientID, "alice", password); status != http.StatusOK {
			t.Fatalf("alice's password grant: %d", status)
		}

		// The delay doubles with each further failure, from one second.
		e.clock.Advance(time.Second)
		if got := signIn(t, e, attacker, pool.clientID, "alice", "Wrong-pass1!"); got != incorrect {
			t.Fatalf("attacker after the first delay: %q", got)
		}
		e.clock.Advance(time.Second)
		if got := signIn(t, e, attacker, pool.clientID, "alice", password); got != exceeded {
			t.Fatalf("attacker 1 s into a 2 s delay: %q", got)
		}
		e.clock.Advance(time.Second)
		if got := signIn(t, e, attacker, pool.clientID, "alice", password); got != "" {
			t.Fatalf("right password after the delay: %q", got)
		}
	})
}

func postTokenFrom(t *testing.T, ip, tokenURL, clientID, user, pw string) int {
	t.Helper()
	form := url.Values{"grant_type": {"password"}, "client_id": {clientID}, "username": {user}, "password": {pw}}
	resp, err := from(ip).PostForm(tokenURL, form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Issue 10 item 8: guesses spread over many addresses, each far below the per-address budget,
// still lock the user out at the per-user ceiling.
func TestSignInDistributedGuessingHitsCeiling(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool := must[*idpPool](t)(createPool(ctx, e))
		ceiling := idp.DefaultThrottle.MaxFailures
		if ceiling < 10*idp.DefaultThrottle.FreeFailures {
			t.Fatalf("per-user ceiling %d is not far above the per-address budget %d", ceiling, idp.DefaultThrottle.FreeFailures)
		}
		for i := range ceiling {
			ip := fmt.Sprintf("127.0.%d.%d", 1+i/200, 1+i%200)
			if got := signIn(t, e, ip, pool.clientID, "alice", "Wrong-pass1!"); got != incorrect {
				t.Fatalf("guess %d from %s: %q", i+1, ip, got)
			}
		}
		if got := signIn(t, e, "127.0.9.1", pool.clientID, "alice", password); got != exceeded {
			t.Fatalf("after %d distributed failures: %q", ceiling, got)
		}
		e.clock.Advance(idp.DefaultThrottle.Lockout)
		if got := signIn(t, e, "127.0.9.1", pool.clientID, "alice", password); got != "" {
			t.Fatalf("after the lockout: %q", got)
		}
	})
}

// rawSignIn posts InitiateAuth from ip with an X-Forwarded-For header.
func rawSignIn(t *testing.T, e *env, ip, xff, clientID, user, pw string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": clientID,
		"AuthParameters": map[string]string{"USERNAME": user, "PASSWORD": pw}})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AWSCognitoIdentityProviderService.InitiateAuth")
	req.Header.Set("X-Forwarded-For", xff)
	resp, err := from(ip).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return ""
	}
	var out struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out.Type + ": " + out.Message
}

// X-Forwarded-For names the client only when a trusted proxy sent it.
func TestSignInThrottleClientAddress(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st, idp.WithTrustedProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}))
		pool := must[*idpPool](t)(createPool(ctx, e))
		const proxy, direct = "127.0.0.1", "127.0.0.4"
		free := idp.DefaultThrottle.FreeFailures

		// Behind the proxy: the attacker's forwarded address is delayed, alice's is not.
		for range free {
			if got := rawSignIn(t, e, proxy, "10.9.9.9, 198.51.100.1", pool.clientID, "alice", "Wrong-pass1!"); got != incorrect {
				t.Fatal(got)
			}
		}
		if got := rawSignIn(t, e, proxy, "198.51.100.1", pool.clientID, "alice", password); got != exceeded {
			t.Fatalf("attacker behind the proxy: %q", got)
		}
		if got := rawSignIn(t, e, proxy, "198.51.100.1, 198.51.100.2", pool.clientID, "alice", password); got != "" {
			t.Fatalf("alice behind the proxy: %q", got)
		}

		// From an untrusted peer a forged X-Forwarded-For changes nothing.
		for i := range free {
			if got := rawSignIn(t, e, direct, fmt.Sprintf("203.0.113.%d", i+1), pool.clientID, "alice", "Wrong-pass1!"); got != incorrect {
				t.Fatal(got)
			}
		}
		if got := rawSignIn(t, e, direct, "203.0.113.99", pool.clientID, "alice", password); got != exceeded {
			t.Fatalf("forged X-Forwarded-For from an untrusted peer: %q", got)
		}
	})
}

// AdminInitiateAuth comes from a backend that signs every user in from its own address; the
// end user's address it reports in ContextData is the one throttled.
func TestAdminSignInThrottledByContextData(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool := must[*idpPool](t)(createPool(ctx, e))
		backend := must[*idp.Client](t)(e.idp.CreateClient(ctx, pool.id, idp.ClientInput{Name: "backend-admin",
			ExplicitAuthFlows: []string{idp.FlowAdminUserPwd}}))
		adminSignIn := func(endUser, pw string) string {
			_, err := e.api.AdminInitiateAuth(ctx, &cip.AdminInitiateAuthInput{AuthFlow: types.AuthFlowTypeAdminUserPasswordAuth,
				UserPoolId: aws.String(pool.id), ClientId: aws.String(backend.ID),
				AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": pw},
				ContextData: &types.ContextDataType{IpAddress: aws.String(endUser), ServerName: aws.String("app.example"),
					ServerPath: aws.String("/login"), HttpHeaders: []types.HttpHeader{}}})
			return outcome(t, err)
		}
		for range idp.DefaultThrottle.FreeFailures {
			if got := adminSignIn("198.51.100.1", "Wrong-pass1!"); got != incorrect {
				t.Fatal(got)
			}
		}
		if got := adminSignIn("198.51.100.1", password); got != exceeded {
			t.Fatalf("attacker through the backend: %q", got)
		}
		if got := adminSignIn("198.51.100.2", password); got != "" {
			t.Fatalf("alice through the backend: %q", got)
		}
	})
}
