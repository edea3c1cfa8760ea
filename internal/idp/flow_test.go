package idp_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

const callback = "http://127.0.0.1:8000/callback"

type idpPool struct {
	id       string
	clientID string // public: password + refresh + code with PKCE
	confID   string // confidential: code + client_credentials + password
	secret   string
}

func createPool(ctx context.Context, e *env) (*idpPool, error) {
	p := e.idp
	pool, err := p.CreatePool(ctx, idp.PoolInput{Name: "petstore"})
	if err != nil {
		return nil, err
	}
	if _, err := p.CreateResourceServer(ctx, pool.ID, "petstore", "PetStore", []idp.ScopeInfo{{Name: "api"}, {Name: "admin"}}); err != nil {
		return nil, err
	}
	pub, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "web",
		ExplicitAuthFlows: []string{idp.FlowUserPassword, idp.FlowRefreshToken},
		AllowedOAuthFlows: []string{"code"}, AllowedOAuthScopes: []string{"openid", "email", "petstore/api"},
		CallbackURLs: []string{callback}})
	if err != nil {
		return nil, err
	}
	conf, err := p.CreateClient(ctx, pool.ID, idp.ClientInput{Name: "backend", GenerateSecret: true,
		ExplicitAuthFlows: []string{idp.FlowUserPassword, idp.FlowRefreshToken},
		AllowedOAuthFlows: []string{"code", "client_credentials"}, AllowedOAuthScopes: []string{"openid", "petstore/api", "petstore/admin"},
		CallbackURLs: []string{callback}})
	if err != nil {
		return nil, err
	}
	if _, err := p.CreateGroup(ctx, pool.ID, idp.GroupInput{Name: "pet-veterinarian"}); err != nil {
		return nil, err
	}
	if _, err := p.CreateUser(ctx, pool.ID, "alice", password, map[string]string{"email": "alice@example.com", "email_verified": "true"}); err != nil {
		return nil, err
	}
	if err := p.AddUserToGroup(ctx, pool.ID, "alice", "pet-veterinarian"); err != nil {
		return nil, err
	}
	return &idpPool{id: pool.ID, clientID: pub.ID, confID: conf.ID, secret: conf.Secret}, nil
}

func pkce() (verifier, challenge string) {
	verifier = strings.Repeat("v", 20) + "_-.~" + "0123456789abcdefghijklmnop"
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// browser is an HTTP client with cookies that stops at redirects to the app's callback.
func browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// login drives the hosted page: GET authorize, POST the form back, return the redirect.
func login(t *testing.T, c *http.Client, authorizeURL, username, pw string) *http.Response {
	t.Helper()
	resp, err := c.Get(authorizeURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize page: %d %s", resp.StatusCode, page)
	}
	form := url.Values{"username": {username}, "password": {pw}}
	for _, m := range hiddenRe.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	action := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindStringSubmatch(string(page))
	if action == nil {
		t.Fatalf("no form in %s", page)
	}
	u, _ := url.Parse(authorizeURL)
	resp, err = c.PostForm(u.Scheme+"://"+u.Host+htmlUnescape(action[1]), form)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&#43;", "+", "&#34;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">").Replace(s)
}

func postToken(t *testing.T, tokenURL string, form url.Values, basicID, basicSecret string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basicID != "" {
		req.SetBasicAuth(url.QueryEscape(basicID), url.QueryEscape(basicSecret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestAuthorizationCodePKCE(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool := must[*idpPool](t)(createPool(ctx, e))
		iss := e.srv.URL + "/" + pool.id
		var disc map[string]any
		getJSON(t, iss+"/.well-known/openid-configuration", &disc)
		if disc["issuer"] != iss || disc["token_endpoint"] != iss+"/oauth2/token" || disc["authorization_endpoint"] != iss+"/oauth2/authorize" {
			t.Fatalf("discovery %v", disc)
		}
		verifier, challenge := pkce()
		authorize := func(base string, extra url.Values) string {
			q := url.Values{"response_type": {"code"}, "client_id": {pool.clientID}, "redirect_uri": {callback},
				"state": {"xyz&state"}, "scope": {"openid email"}, "code_challenge": {challenge},
				"code_challenge_method": {"S256"}, "nonce": {"n-0S6"}}
			for k, v := range extra {
				q[k] = v
			}
			return base + "/oauth2/authorize?" + q.Encode()
		}
		codeFrom := func(t *testing.T, resp *http.Response) string {
			t.Helper()
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusFound {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("login: %d %s", resp.StatusCode, b)
			}
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil || !strings.HasPrefix(loc.String(), callback+"?") || loc.Query().Get("state") != "xyz&state" || loc.Query().Get("code") == "" {
				t.Fatalf("redirect %q", resp.Header.Get("Location"))
			}
			return loc.Query().Get("code")
		}
		exchange := func(code, redirect, ver string) (int, map[string]any) {
			return postToken(t, disc["token_endpoint"].(string), url.Values{"grant_type": {"authorization_code"}, "client_id": {pool.clientID},
				"code": {code}, "redirect_uri": {redirect}, "code_verifier": {ver}}, "", "")
		}

		t.Run("full flow", func(t *testing.T) {
			code := codeFrom(t, login(t, browser(), authorize(iss, nil), "alice", password))
			status, tok := exchange(code, callback, verifier)
			if status != http.StatusOK || tok["token_type"] != "Bearer" || tok["refresh_token"] == nil {
				t.Fatalf("exchange %d %v", status, tok)
			}
			id := e.verify(t, pool.id, tok["id_token"].(string))
			if id["nonce"] != "n-0S6" || id["aud"] != pool.clientID || fmt.Sprint(id["cognito:groups"]) != "[pet-veterinarian]" {
				t.Fatalf("id token %v", id)
			}
			at := e.verify(t, pool.id, tok["access_token"].(string))
			if at["scope"] != "openid email" {
				t.Fatalf("scope %v", at["scope"])
			}
			// Reused code.
			if status, out := exchange(code, callback, verifier); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("reused code: %d %v", status, out)
			}
			// userInfo with the access token, on both the pool path and the bare path.
			for _, u := range []string{iss + "/oauth2/userInfo", e.srv.URL + "/oauth2/userInfo"} {
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var info map[string]string
				_ = json.NewDecoder(resp.Body).Decode(&info)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || info["email"] != "alice@example.com" || info["username"] != "alice" || info["sub"] != at["sub"] {
					t.Fatalf("userInfo %s: %d %v", u, resp.StatusCode, info)
				}
			}
		})

		t.Run("wrong verifier burns the code", func(t *testing.T) {
			code := codeFrom(t, login(t, browser(), authorize(iss, nil), "alice", password))
			if status, out := exchange(code, callback, strings.Repeat("x", 43)); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("wrong verifier: %d %v", status, out)
			}
			if status, _ := exchange(code, callback, verifier); status != http.StatusBadRequest {
				t.Fatal("code usable after a failed attempt")
			}
		})

		t.Run("wrong redirect uri", func(t *testing.T) {
			code := codeFrom(t, login(t, browser(), authorize(e.srv.URL, nil), "alice", password)) // bare /oauth2 path
			if status, out := exchange(code, callback+"/other", verifier); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("wrong redirect: %d %v", status, out)
			}
		})

		t.Run("unregistered redirect is never redirected to", func(t *testing.T) {
			resp, err := browser().Get(authorize(iss, url.Values{"redirect_uri": {"https://evil.example/cb"}}))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Location"))
			}
		})

		t.Run("plain PKCE and missing PKCE rejected", func(t *testing.T) {
			for _, extra := range []url.Values{
				{"code_challenge_method": {"plain"}, "code_challenge": {verifier}},
				{"code_challenge_method": {""}, "code_challenge": {""}},
			} {
				resp, err := browser().Get(authorize(iss, extra))
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
					t.Fatalf("%v: %d %q", extra, resp.StatusCode, resp.Header.Get("Location"))
				}
			}
		})

		t.Run("wrong password shows the page again", func(t *testing.T) {
			resp := login(t, browser(), authorize(iss, nil), "alice", "Wrong-pass1!")
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "Incorrect username or password.") {
				t.Fatalf("%d %s", resp.StatusCode, b)
			}
		})

		t.Run("form without the csrf cookie is refused", func(t *testing.T) {
			form := url.Values{"response_type": {"code"}, "client_id": {pool.clientID}, "redirect_uri": {callback},
				"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "csrf_token": {"forged"},
				"username": {"alice"}, "password": {password}}
			resp, err := browser().PostForm(iss+"/oauth2/authorize", form)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("%d", resp.StatusCode)
			}
		})

		t.Run("confidential client with basic auth and revoke", func(t *testing.T) {
			q := url.Values{"response_type": {"code"}, "client_id": {pool.confID}, "redirect_uri": {callback}, "state": {"xyz&state"}}
			code := codeFrom(t, login(t, browser(), iss+"/oauth2/authorize?"+q.Encode(), "alice", password))
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {callback}}
			status, tok := postToken(t, iss+"/oauth2/token", form, pool.confID, pool.secret)
			if status != http.StatusOK {
				t.Fatalf("basic exchange %d %v", status, tok)
			}
			// client_secret_post for the refresh grant; a wrong secret is invalid_client.
			rf := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)},
				"client_id": {pool.confID}, "client_secret": {"wrong"}}
			if status, out := postToken(t, iss+"/oauth2/token", rf, "", ""); status != http.StatusUnauthorized || out["error"] != "invalid_client" {
				t.Fatalf("wrong secret %d %v", status, out)
			}
			rf.Set("client_secret", pool.secret)
			if status, out := postToken(t, iss+"/oauth2/token", rf, "", ""); status != http.StatusOK || out["refresh_token"] != nil {
				t.Fatalf("refresh %d %v", status, out)
			}
			rv := url.Values{"token": {tok["refresh_token"].(string)}, "client_id": {pool.confID}, "client_secret": {pool.secret}}
			if status, out := postToken(t, iss+"/oauth2/revoke", rv, "", ""); status != http.StatusOK {
				t.Fatalf("revoke %d %v", status, out)
			}
			if status, _ := postToken(t, iss+"/oauth2/token", rf, "", ""); status != http.StatusBadRequest {
				t.Fatalf("refresh after revoke: %d", status)
			}
			// Access tokens of a revoked authentication no longer reach userInfo.
			req, _ := http.NewRequest(http.MethodGet, iss+"/oauth2/userInfo", nil)
			req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("userInfo after revoke: %d", resp.StatusCode)
			}
		})

		t.Run("client credentials and password grants", func(t *testing.T) {
			status, tok := postToken(t, e.srv.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"petstore/api"}}, pool.confID, pool.secret)
			if status != http.StatusOK || tok["id_token"] != nil || tok["refresh_token"] != nil {
				t.Fatalf("client_credentials %d %v", status, tok)
			}
			at := e.verify(t, pool.id, tok["access_token"].(string))
			if at["sub"] != pool.confID || at["scope"] != "petstore/api" || at["token_use"] != "access" || at["username"] != nil {
				t.Fatalf("client_credentials claims %v", at)
			}
			if status, out := postToken(t, e.srv.URL+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid"}}, pool.confID, pool.secret); status != http.StatusBadRequest || out["error"] != "invalid_scope" {
				t.Fatalf("bad scope %d %v", status, out)
			}
			if status, out := postToken(t, iss+"/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {pool.clientID}}, "", ""); status != http.StatusBadRequest || out["error"] != "unauthorized_client" {
				t.Fatalf("public client_credentials %d %v", status, out)
			}
			status, tok = postToken(t, iss+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {pool.clientID},
				"username": {"alice"}, "password": {password}}, "", "")
			if status != http.StatusOK || tok["id_token"] == nil {
				t.Fatalf("password grant %d %v", status, tok)
			}
			if status, out := postToken(t, iss+"/oauth2/token", url.Values{"grant_type": {"password"}, "client_id": {pool.clientID},
				"username": {"alice"}, "password": {"nope"}}, "", ""); status != http.StatusBadRequest || out["error"] != "invalid_grant" {
				t.Fatalf("password grant wrong password %d %v", status, out)
			}
		})
	})
}

// TestPreTokenHook: a webhook receives Cognito's V2 event, adds custom:costCenter and suppresses
// a claim; a failing or slow hook fails the sign-in; immutable claims are refused.
func TestPreTokenHook(t *testing.T) {
	ctx := context.Background()
	var mode atomic.Value
	mode.Store("ok")
	var lastEvent atomic.Value
	var firstResponse atomic.Value
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		lastEvent.Store(ev)
		firstResponse.CompareAndSwap(nil, fmt.Sprint(ev["response"]))
		switch mode.Load() {
		case "500":
			http.Error(w, "boom", 500)
			return
		case "slow":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		case "immutable":
			ev["response"] = map[string]any{"claimsAndScopeOverrideDetails": map[string]any{
				"accessTokenGeneration": map[string]any{"claimsToAddOrOverride": map[string]any{"sub": "admin"}}}}
		default:
			ev["response"] = map[string]any{"claimsAndScopeOverrideDetails": map[string]any{
				"idTokenGeneration": map[string]any{"claimsToAddOrOverride": map[string]any{"custom:costCenter": "CC-42"},
					"claimsToSuppress": []string{"email"}},
				"accessTokenGeneration": map[string]any{"claimsToAddOrOverride": map[string]any{"custom:costCenter": "CC-42", "tier": 3},
					"scopesToAdd": []string{"petstore/extra"}, "scopesToSuppress": []string{"aws.cognito.signin.user.admin"}},
				"groupOverrideDetails": map[string]any{"groupsToOverride": []string{"auditors"}},
			}}
		}
		_ = json.NewEncoder(w).Encode(ev)
	}))
	defer hook.Close()

	e := newEnv(t, storetest.Open(t, "sqlite"), idp.WithHookClient(nil, 200*time.Millisecond))
	pool := must[*idpPool](t)(createPool(ctx, e))
	if err := e.idp.SetPreTokenHook(ctx, pool.id, &idp.Hook{URL: hook.URL}); err != nil {
		t.Fatal(err)
	}
	signIn := func() (*idp.Tokens, error) {
		t, _, err := e.idp.InitiateAuth(ctx, idp.InitiateAuthInput{AuthFlow: "USER_PASSWORD_AUTH", ClientID: pool.clientID,
			AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": password}})
		return t, err
	}
	tok, err := signIn()
	if err != nil {
		t.Fatal(err)
	}
	ev := lastEvent.Load().(map[string]any)
	req := ev["request"].(map[string]any)
	if r := firstResponse.Load(); r != "map[claimsAndScopeOverrideDetails:<nil>]" {
		t.Fatalf("event response %v", r)
	}
	if ev["version"] != "2" || ev["triggerSource"] != "TokenGeneration_Authentication" || ev["userPoolId"] != pool.id ||
		ev["userName"] != "alice" || ev["callerContext"].(map[string]any)["clientId"] != pool.clientID ||
		req["userAttributes"].(map[string]any)["email"] != "alice@example.com" ||
		fmt.Sprint(req["groupConfiguration"].(map[string]any)["groupsToOverride"]) != "[pet-veterinarian]" ||
		fmt.Sprint(req["scopes"]) != "[aws.cognito.signin.user.admin petstore/api]" {
		t.Fatalf("event %v", ev)
	}
	id := e.verify(t, pool.id, tok.IDToken)
	if id["custom:costCenter"] != "CC-42" || id["email"] != nil || fmt.Sprint(id["cognito:groups"]) != "[auditors]" {
		t.Fatalf("id claims %v", id)
	}
	at := e.verify(t, pool.id, tok.AccessToken)
	if at["custom:costCenter"] != "CC-42" || at["tier"] != float64(3) || at["scope"] != "petstore/api petstore/extra" {
		t.Fatalf("access claims %v", at)
	}
	// Refresh runs the hook with its own trigger source.
	if _, _, err := e.idp.InitiateAuth(ctx, idp.InitiateAuthInput{AuthFlow: "REFRESH_TOKEN_AUTH", ClientID: pool.clientID,
		AuthParameters: map[string]string{"REFRESH_TOKEN": tok.RefreshToken}}); err != nil {
		t.Fatal(err)
	}
	if src := lastEvent.Load().(map[string]any)["triggerSource"]; src != "TokenGeneration_RefreshTokens" {
		t.Fatalf("refresh trigger %v", src)
	}
	// The Cognito API takes the webhook URL where Cognito takes a Lambda ARN.
	lc := &types.LambdaConfigType{PreTokenGenerationConfig: &types.PreTokenGenerationVersionConfigType{
		LambdaArn: aws.String(hook.URL), LambdaVersion: types.PreTokenGenerationLambdaVersionTypeV20}}
	created, err := e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("hooked"), LambdaConfig: lc})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := e.api.DescribeUserPool(ctx, &cip.DescribeUserPoolInput{UserPoolId: created.UserPool.Id})
	if err != nil || aws.ToString(desc.UserPool.LambdaConfig.PreTokenGenerationConfig.LambdaArn) != hook.URL {
		t.Fatalf("describe: %v", err)
	}
	lc.PreTokenGenerationConfig.LambdaArn = aws.String("arn:aws:lambda:us-east-1:123456789012:function:pretoken")
	_, err = e.api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("arn"), LambdaConfig: lc})
	apiErr(t, err, "InvalidParameterException", "")

	for m, code := range map[string]string{"500": idp.CodeUnexpectedLambda, "slow": idp.CodeUnexpectedLambda, "immutable": idp.CodeInvalidLambdaResp} {
		mode.Store(m)
		_, err := signIn()
		var ie *idp.Error
		if !errors.As(err, &ie) || ie.Code != code {
			t.Fatalf("hook %s: %v", m, err)
		}
	}
}

// TestKeyRotation: tokens signed before a rotation verify until they expire; new tokens use the
// new key.
func TestKeyRotation(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool := must[*idpPool](t)(createPool(ctx, e))
		old := must[*idp.Tokens](t)(e.idp.IssueTokens(ctx, pool.id, pool.clientID, "alice"))
		kid := must[string](t)(e.idp.RotateKeys(ctx, pool.id))
		fresh := must[*idp.Tokens](t)(e.idp.IssueTokens(ctx, pool.id, pool.clientID, "alice"))
		e.verify(t, pool.id, old.AccessToken)
		e.verify(t, pool.id, fresh.AccessToken)
		hdr := func(tok string) string {
			b, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
			return string(b)
		}
		if !strings.Contains(hdr(fresh.AccessToken), kid) || strings.Contains(hdr(old.AccessToken), kid) {
			t.Fatalf("kids: old %s new %s (want %s)", hdr(old.AccessToken), hdr(fresh.AccessToken), kid)
		}
		var set struct{ Keys []map[string]string }
		getJSON(t, e.srv.URL+"/"+pool.id+"/.well-known/jwks.json", &set)
		if len(set.Keys) != 2 || set.Keys[0]["kid"] != kid || set.Keys[0]["alg"] != "RS256" || set.Keys[0]["use"] != "sig" {
			t.Fatalf("jwks %v", set)
		}
		// Past the old tokens' lifetime the old key leaves the JWKS; new-key tokens still verify.
		e.clock.Advance(61*time.Minute + time.Second)
		getJSON(t, e.srv.URL+"/"+pool.id+"/.well-known/jwks.json", &set)
		if len(set.Keys) != 1 || set.Keys[0]["kid"] != kid {
			t.Fatalf("jwks after expiry %v", set)
		}
		latest := must[*idp.Tokens](t)(e.idp.IssueTokens(ctx, pool.id, pool.clientID, "alice"))
		e.verify(t, pool.id, latest.AccessToken)
		if _, err := e.verifyErr(pool.id, old.AccessToken); err == nil {
			t.Fatal("old token still verifies after its key was dropped")
		}
	})
}

func TestThrottling(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, storetest.Open(t, "sqlite"), idp.WithThrottle(idp.Throttle{MaxFailures: 3, MaxFailuresPerIP: 10, Window: time.Minute, Lockout: 15 * time.Minute, CountLoopback: true}))
	pool := must[*idpPool](t)(createPool(ctx, e))
	try := func(user, pw string) error {
		_, _, err := e.idp.InitiateAuth(ctx, idp.InitiateAuthInput{AuthFlow: "USER_PASSWORD_AUTH", ClientID: pool.clientID,
			AuthParameters: map[string]string{"USERNAME": user, "PASSWORD": pw}})
		return err
	}
	code := func(err error) string {
		var ie *idp.Error
		if errors.As(err, &ie) {
			return ie.Code + ": " + ie.Message
		}
		return fmt.Sprint(err)
	}
	for range 3 {
		if got := code(try("alice", "Wrong-pass1!")); got != "NotAuthorizedException: Incorrect username or password." {
			t.Fatal(got)
		}
	}
	// Locked: even the right password is refused, without revealing it was right.
	if got := code(try("alice", password)); got != "NotAuthorizedException: Password attempts exceeded" {
		t.Fatal(got)
	}
	e.clock.Advance(16 * time.Minute)
	if err := try("alice", password); err != nil {
		t.Fatalf("after lockout: %v", err)
	}

	// Per IP (the HTTP API records the peer address): spraying many users trips the IP limit.
	for i := range 10 {
		_, err := e.api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(pool.clientID),
			AuthParameters: map[string]string{"USERNAME": fmt.Sprintf("user%d", i), "PASSWORD": password}})
		apiErr(t, err, "UserNotFoundException", "")
	}
	_, err := e.api.InitiateAuth(ctx, &cip.InitiateAuthInput{AuthFlow: types.AuthFlowTypeUserPasswordAuth, ClientId: aws.String(pool.clientID),
		AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": password}})
	apiErr(t, err, "TooManyRequestsException", "")
}

// TestCodeRedeemedOnce races several exchanges of one code; exactly one may succeed.
func TestCodeRedeemedOnce(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, st *sqldb.DB) {
		ctx := context.Background()
		e := newEnv(t, st)
		pool := must[*idpPool](t)(createPool(ctx, e))
		verifier, challenge := pkce()
		q := url.Values{"response_type": {"code"}, "client_id": {pool.clientID}, "redirect_uri": {callback},
			"scope": {"openid"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		resp := login(t, browser(), e.srv.URL+"/"+pool.id+"/oauth2/authorize?"+q.Encode(), "alice", password)
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		code := loc.Query().Get("code")
		const n = 8
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				form := url.Values{"grant_type": {"authorization_code"}, "client_id": {pool.clientID}, "code": {code},
					"redirect_uri": {callback}, "code_verifier": {verifier}}
				r, err := http.PostForm(e.srv.URL+"/oauth2/token", form)
				if err != nil {
					statuses <- 0
					return
				}
				r.Body.Close()
				statuses <- r.StatusCode
			})
		}
		wg.Wait()
		close(statuses)
		ok, rejected := 0, 0
		for s := range statuses {
			switch s {
			case http.StatusOK:
				ok++
			case http.StatusBadRequest:
				rejected++
			}
		}
		if ok != 1 || rejected != n-1 {
			t.Fatalf("%d succeeded, %d rejected of %d", ok, rejected, n)
		}
	})
}

func TestCORS(t *testing.T) {
	e := newEnv(t, storetest.Open(t, "sqlite"))
	req, _ := http.NewRequest(http.MethodOptions, e.srv.URL+"/", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-Amz-Target") {
		t.Fatalf("preflight %d %v", resp.StatusCode, resp.Header)
	}
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/oauth2/authorize", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("authorize page allows cross-origin reads")
	}
}
