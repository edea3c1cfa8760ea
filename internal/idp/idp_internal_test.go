package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

var testArgon = Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}

type fixture struct {
	p        *IdP
	poolID   string
	clientID string
}

func newFixture(t testing.TB, argon Argon2Params) *fixture {
	t.Helper()
	ctx := context.Background()
	p := New(storetest.Open(t, "sqlite"), WithArgon2(argon), WithBaseURL("http://idp.test"))
	pool, err := p.CreatePool(ctx, PoolInput{Name: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.CreateClient(ctx, pool.ID, ClientInput{Name: "c", ExplicitAuthFlows: []string{FlowUserPassword, FlowRefreshToken}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateGroup(ctx, pool.ID, GroupInput{Name: "staff"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateUser(ctx, pool.ID, "alice", "Corr3ct-Horse!", map[string]string{"email": "a@example.com", "email_verified": "true", "custom:team": "blue"}); err != nil {
		t.Fatal(err)
	}
	if err := p.AddUserToGroup(ctx, pool.ID, "alice", "staff"); err != nil {
		t.Fatal(err)
	}
	return &fixture{p: p, poolID: pool.ID, clientID: c.ID}
}

func payloadKeys(t testing.TB, tok string) []string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var keys []string
	dec.Token() // {
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		_ = dec.Decode(&skip)
	}
	return keys
}

// TestClaimOrder pins Cognito's claim order in both token payloads.
func TestClaimOrder(t *testing.T) {
	f := newFixture(t, testArgon)
	tok, _, err := f.p.InitiateAuth(context.Background(), InitiateAuthInput{AuthFlow: "USER_PASSWORD_AUTH", ClientID: f.clientID,
		AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Corr3ct-Horse!"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tok, want string
	}{
		{"access", tok.AccessToken, "sub cognito:groups iss client_id origin_jti event_id token_use scope auth_time exp iat jti username"},
		{"id", tok.IDToken, "sub aud cognito:groups email_verified token_use auth_time iss cognito:username exp iat email custom:team jti origin_jti event_id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := strings.Join(payloadKeys(t, tc.tok), " "); got != tc.want {
				t.Fatalf("claims\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestPasswordHash(t *testing.T) {
	p := New(nil, WithArgon2(testArgon))
	ctx := context.Background()
	h, err := p.hashPassword(ctx, "Secret-1!")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %s", h)
	}
	for _, tc := range []struct {
		hash, pw string
		ok       bool
		err      bool
	}{
		{h, "Secret-1!", true, false},
		{h, "Secret-1", false, false},
		{strings.Replace(h, "m=64", "m=4194304", 1), "Secret-1!", false, true}, // cost bomb refused
		{strings.Replace(h, "argon2id", "argon2i", 1), "Secret-1!", false, true},
		{"", "x", false, true},
	} {
		ok, err := p.verifyPassword(ctx, tc.hash, tc.pw)
		if ok != tc.ok || (err != nil) != tc.err {
			t.Fatalf("verify(%q, %q) = %v, %v", tc.hash, tc.pw, ok, err)
		}
	}
}

func TestSecretHash(t *testing.T) {
	c := &Client{ID: "client", Secret: "secret"}
	good := secretHash("secret", "alice", "client")
	if err := checkSecretHash(c, good, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := checkSecretHash(c, good, "bob"); err == nil {
		t.Fatal("hash accepted for another user")
	}
	// Reference computed with Python's hmac: base64(HMAC-SHA256("secret", "alice"+"client")).
	if good != "RTsve+FQ659UKyESgvLg9GYmZEL+QjzQsW/OjL77/b0=" {
		t.Fatalf("unexpected hash %s", good)
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add("$argon2id$v=19$m=65536,t=1,p=2$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$argon2id$v=19$m=1,m=2$x$y")
	f.Add("$$$$$")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseHash(s)
		if err != nil {
			return
		}
		a := h.params
		if a.Time == 0 || a.Time > maxTime || a.MemoryKiB > maxMemoryKiB || a.Threads == 0 || len(h.salt) < 8 || len(h.key) < 16 {
			t.Fatalf("accepted out-of-range hash %q: %+v", s, a)
		}
	})
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`email = "a@b.c"`, `username ^= "al"`, `status = "Enabled"`, `email = "a\"b"`, `name="x"`, `email = "`, `= "x"`, `sub ^=""`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := parseFilter(s)
		if err != nil || flt == nil {
			return
		}
		if !filterAttrs[flt.attr] {
			t.Fatalf("accepted attribute %q", flt.attr)
		}
		flt.match(&User{Username: "alice", Attributes: map[string]string{"email": "a@b.c"}})
	})
}

func FuzzParseHookResponse(f *testing.F) {
	f.Add(`{"response":{"claimsAndScopeOverrideDetails":{"idTokenGeneration":{"claimsToAddOrOverride":{"custom:x":"1"},"claimsToSuppress":["email"]},"accessTokenGeneration":{"scopesToAdd":["a/b"],"scopesToSuppress":["c"]},"groupOverrideDetails":{"groupsToOverride":["g"]}}}}`)
	f.Add(`{"response":{"claimsAndScopeOverrideDetails":{"accessTokenGeneration":{"claimsToAddOrOverride":{"sub":"x"}}}}}`)
	f.Add(`{"response":{}}`)
	f.Add(`{"response":{"claimsAndScopeOverrideDetails":null}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := parseHookResponse([]byte(s))
		if err != nil || d == nil {
			return
		}
		// Whatever is accepted must apply cleanly and never touch an immutable claim.
		for _, g := range []*tokenGeneration{d.IDTokenGeneration, d.AccessTokenGeneration} {
			if g == nil {
				continue
			}
			c := claims{{"sub", "s"}, {"iss", "i"}, {"email", "e"}}
			if err := applyOverrides(&c, g.ClaimsToAddOrOverride, g.ClaimsToSuppress); err != nil {
				t.Fatalf("accepted response fails to apply: %v", err)
			}
			if v, _ := c.get("sub"); v != "s" {
				t.Fatalf("sub changed to %v", v)
			}
			if _, err := c.MarshalJSON(); err != nil {
				t.Fatalf("marshal: %v", err)
			}
		}
	})
}

// FuzzVerifyJWT feeds arbitrary strings to the access-token verifier used by userInfo; only
// the untouched token may verify.
func FuzzVerifyJWT(f *testing.F) {
	fx := newFixture(f, testArgon)
	ctx := context.Background()
	tok, err := fx.p.IssueTokens(ctx, fx.poolID, fx.clientID, "alice")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok.AccessToken)
	f.Add(tok.IDToken)
	parts := strings.Split(tok.AccessToken, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add("eyJhbGciOiJub25lIn0." + parts[1] + ".")
	f.Add("a.b.c.d")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := fx.p.verifyJWT(ctx, fx.poolID, s)
		if err == nil && s != tok.AccessToken && s != tok.IDToken {
			// RSA PKCS#1 v1.5 signatures are deterministic, so any other accepted string is a bug.
			t.Fatalf("verified a modified token %q: %v", s, c)
		}
	})
}

func BenchmarkArgon2idVerify(b *testing.B) {
	p := New(nil, WithArgon2(DefaultArgon2))
	ctx := context.Background()
	h, err := p.hashPassword(ctx, "Corr3ct-Horse!")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := p.verifyPassword(ctx, h, "Corr3ct-Horse!"); !ok {
			b.Fatal("mismatch")
		}
	}
}

func BenchmarkPasswordGrant(b *testing.B) {
	f := newFixture(b, DefaultArgon2)
	ctx := context.Background()
	in := InitiateAuthInput{AuthFlow: "USER_PASSWORD_AUTH", ClientID: f.clientID,
		AuthParameters: map[string]string{"USERNAME": "alice", "PASSWORD": "Corr3ct-Horse!"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.p.InitiateAuth(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
}

func BenchmarkSignRS256(b *testing.B) {
	f := newFixture(b, testArgon)
	ctx := context.Background()
	pool, _ := f.p.GetPool(ctx, f.poolID)
	k, err := f.p.currentKey(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	c := claims{{"sub", "x"}, {"exp", time.Now().Unix()}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sign(k, c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRefreshGrant(b *testing.B) {
	f := newFixture(b, testArgon)
	ctx := context.Background()
	tok, err := f.p.IssueTokens(ctx, f.poolID, f.clientID, "alice")
	if err != nil {
		b.Fatal(err)
	}
	in := InitiateAuthInput{AuthFlow: "REFRESH_TOKEN_AUTH", ClientID: f.clientID,
		AuthParameters: map[string]string{"REFRESH_TOKEN": tok.RefreshToken}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := f.p.InitiateAuth(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "signins/s")
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	p := New(storetest.Open(t, "sqlite"), WithArgon2(testArgon), WithClock(func() time.Time { return now }))
	pool, err := p.CreatePool(ctx, PoolInput{Name: "sweep"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := p.CreateClient(ctx, pool.ID, ClientInput{Name: "c", ExplicitAuthFlows: []string{FlowRefreshToken},
		RefreshTokenValidity: 2 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateUser(ctx, pool.ID, "alice", "Corr3ct-Horse!", nil); err != nil {
		t.Fatal(err)
	}
	old, err := p.IssueTokens(ctx, pool.ID, c.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(90 * time.Minute)
	fresh, err := p.IssueTokens(ctx, pool.ID, c.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(45 * time.Minute) // old expired, fresh not
	if n, err := p.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep removed %d, %v", n, err)
	}
	refresh := func(tok string) error {
		_, _, err := p.InitiateAuth(ctx, InitiateAuthInput{AuthFlow: "REFRESH_TOKEN_AUTH", ClientID: c.ID,
			AuthParameters: map[string]string{"REFRESH_TOKEN": tok}})
		return err
	}
	if err := refresh(old.RefreshToken); err == nil {
		t.Fatal("expired refresh token accepted")
	}
	if err := refresh(fresh.RefreshToken); err != nil {
		t.Fatalf("live refresh token swept: %v", err)
	}
}
