package identity_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

var updateFuzzCorpus = flag.Bool("update-fuzz-corpus", false, "rewrite testdata/fuzz/FuzzValidate seeds")

const (
	fuzzCognitoIss = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Fuzz"
	fuzzOIDCIss    = "https://oidc.fuzz.example"
)

var fuzzNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func loadFuzzKeys(t testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey) {
	t.Helper()
	load := func(name string) any {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		blk, _ := pem.Decode(b)
		if blk == nil {
			t.Fatalf("%s: no PEM block", name)
		}
		k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	return load("fuzz_rsa.pem").(*rsa.PrivateKey), load("fuzz_ec.pem").(*ecdsa.PrivateKey)
}

// fuzzSeeds are valid tokens (signed by the testdata keys, valid at fuzzNow) and malformed ones.
func fuzzSeeds(t testing.TB, rk *rsa.PrivateKey, ek *ecdsa.PrivateKey) []string {
	acc := with(cognitoAccess(fuzzCognitoIss, fuzzNow), "client_id", "fuzz-client")
	idc := with(cognitoID(fuzzCognitoIss, fuzzNow), "aud", "fuzz-client")
	oidc := map[string]any{"iss": fuzzOIDCIss, "sub": "carlos", "aud": "api", "exp": fuzzNow.Add(time.Hour).Unix(), "groups": "a b"}
	valid := []string{
		mint(t, "fz-rsa", "RS256", rk, acc),
		mint(t, "fz-ec", "ES256", ek, acc),
		mint(t, "fz-rsa", "RS256", rk, idc),
		mint(t, "fz-ec", "ES256", ek, oidc),
	}
	v := strings.Split(valid[0], ".")
	return append(valid,
		"", ".", "..", "a.b.c", v[0]+"."+v[1]+".", v[0]+"."+v[1],
		unsigned(`{"alg":"none"}`, mustJSON(acc), ""),
		unsigned(`{"alg":"HS256","kid":"fz-rsa"}`, mustJSON(acc), "AAAA"),
		unsigned(`{"alg":"RS256","kid":"fz-rsa","alg":"none"}`, mustJSON(acc), v[2]),
		unsigned(`{"alg":"RS256","kid":"fz-rsa","jku":"http://127.0.0.1:1/x"}`, mustJSON(acc), v[2]),
		unsigned(`{"alg":"ES256","kid":"fz-ec"}`, mustJSON(acc), strings.Repeat("A", 86)),
		v[0]+"."+b64([]byte(`{"sub":"a","Sub":"b"}`))+"."+v[2],
		v[0]+".AAAA.AAAA.AAAA.AAAA",
	)
}

// FuzzValidate: no input panics, and nothing is accepted unless it verifies (independently of
// this package, with the standard library) under one of the test keys.
func FuzzValidate(f *testing.F) {
	rk, ek := loadFuzzKeys(f)
	p := newIdP(f, jwksJSON(rsaJWK("fz-rsa", "RS256", &rk.PublicKey), ecJWK("fz-ec", &ek.PublicKey)))
	jwks := p.srv.URL + "/" + poolID + "/.well-known/jwks.json"
	sources := []*identity.Source{
		{Kind: identity.KindCognito, Issuer: fuzzCognitoIss, JWKSURL: jwks, ClientIDs: []string{"fuzz-client"}, PrincipalEntityType: "App::User"},
		{Kind: identity.KindOIDC, Issuer: fuzzOIDCIss, JWKSURL: jwks, TokenSelection: identity.AccessTokenOnly, Audiences: []string{"api"},
			GroupClaim: "groups", GroupEntityType: "App::Group", PrincipalEntityType: "App::User"},
	}
	r := identity.New(identity.WithClock(func() time.Time { return fuzzNow }))
	f.Cleanup(r.Close)
	for _, s := range fuzzSeeds(f, rk, ek) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, use := range []identity.TokenUse{identity.UseAccess, identity.UseID} {
			tok, src, err := r.Validate(context.Background(), raw, use, sources)
			if err != nil {
				if identity.Reason(err) == "jwt_invalid" {
					t.Fatalf("error outside the classes: %v", err)
				}
				continue
			}
			if !verifiesUnder(raw, &rk.PublicKey, &ek.PublicKey) {
				t.Fatalf("accepted a token no test key signed: %q", raw)
			}
			if tok.Issuer != src.Issuer || tok.RawHash != sha256.Sum256([]byte(raw)) {
				t.Fatalf("token %+v from source %s", tok, src.Issuer)
			}
			// Mapping must not panic on anything Validate accepts.
			_, _ = src.Entity(tok, nil)
			_ = src.ContextToken(tok)
		}
	})
}

// verifiesUnder is the fuzz oracle, written against the standard library only.
func verifiesUnder(raw string, rpub *rsa.PublicKey, epub *ecdsa.PublicKey) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	sig, err2 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return false
	}
	var h struct{ Alg string }
	if json.Unmarshal(hb, &h) != nil {
		return false
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	switch h.Alg {
	case "RS256":
		return rsa.VerifyPKCS1v15(rpub, crypto.SHA256, digest[:], sig) == nil
	case "ES256":
		if len(sig) != 64 {
			return false
		}
		return ecdsa.Verify(epub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
	}
	return false
}

// TestWriteFuzzCorpus regenerates testdata/fuzz/FuzzValidate with -update-fuzz-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	if !*updateFuzzCorpus {
		t.Skip("run with -update-fuzz-corpus to rewrite the seed files")
	}
	rk, ek := loadFuzzKeys(t)
	dir := filepath.Join("testdata", "fuzz", "FuzzValidate")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t, rk, ek) {
		body := fmt.Sprintf("go test fuzz v1\nstring(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFuzzSeedsAccepted guards the oracle: the valid seeds must be accepted, or the fuzzer would
// only ever explore rejections.
func TestFuzzSeedsAccepted(t *testing.T) {
	rk, ek := loadFuzzKeys(t)
	p := newIdP(t, jwksJSON(rsaJWK("fz-rsa", "RS256", &rk.PublicKey), ecJWK("fz-ec", &ek.PublicKey)))
	jwks := p.srv.URL + "/" + poolID + "/.well-known/jwks.json"
	cog := &identity.Source{Kind: identity.KindCognito, Issuer: fuzzCognitoIss, JWKSURL: jwks, ClientIDs: []string{"fuzz-client"}, PrincipalEntityType: "App::User"}
	oidc := &identity.Source{Kind: identity.KindOIDC, Issuer: fuzzOIDCIss, JWKSURL: jwks, TokenSelection: identity.AccessTokenOnly, Audiences: []string{"api"}, PrincipalEntityType: "App::User"}
	r := identity.New(identity.WithClock(func() time.Time { return fuzzNow }))
	defer r.Close()
	seeds := fuzzSeeds(t, rk, ek)
	uses := []identity.TokenUse{identity.UseAccess, identity.UseAccess, identity.UseID, identity.UseAccess}
	for i, use := range uses {
		if _, _, err := r.Validate(context.Background(), seeds[i], use, []*identity.Source{cog, oidc}); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
		if !verifiesUnder(seeds[i], &rk.PublicKey, &ek.PublicKey) {
			t.Errorf("seed %d fails the oracle", i)
		}
	}
}
