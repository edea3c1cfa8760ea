package identity_test

import (
	"context"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

func hs256(t testing.TB, headerJSON, payloadJSON string, key []byte) string {
	t.Helper()
	si := b64([]byte(headerJSON)) + "." + b64([]byte(payloadJSON))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(si))
	return si + "." + b64(m.Sum(nil))
}

func mustB64(t testing.TB, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func unsigned(headerJSON, payloadJSON, sig string) string {
	return b64([]byte(headerJSON)) + "." + b64([]byte(payloadJSON)) + "." + sig
}

// flipPaddingBits changes only the unused low bits of the last base64url character of seg, so a
// lenient decoder yields the same bytes.
func flipPaddingBits(t testing.TB, seg string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	if len(seg)%4 == 0 {
		t.Fatalf("segment of length %d has no padding bits", len(seg))
	}
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last^1])
}

// TestAttackCatalogue forges each known JWT attack — alg none in any case, HMAC keyed with the
// issuer's public key, keys or key URLs named by the token (jwk, jku, x5u, x5c), kid injection,
// time claims, another issuer's keys and tenants, weak or wrong-use keys (multiple tokens in one
// request are the gateway's extraction rule, not tested here) — as a real token and checks that
// it is rejected with the expected error class, that no header URL is ever fetched, and that the
// issuer's JWKS is fetched at most once (the clock never advances, so the per-issuer limiter
// allows only the first fetch).
func TestAttackCatalogue(t *testing.T) {
	keys(t)
	clk := newClock()
	now := clk.Now()
	octSecret := []byte("a-published-shared-secret-0123456789")
	a := newIdP(t, jwksJSON(
		rsaJWK("kA-rsa", "RS256", &rsaA.PublicKey),
		ecJWK("kA-ec", &ecA.PublicKey),
		map[string]any{"kty": "oct", "kid": "kA-oct", "k": b64(octSecret), "alg": "HS256"},
		with(rsaJWK("kA-enc", "", &rsaB.PublicKey), "use", "enc"),
		rsaJWK("kA-rs384", "RS384", &rsaB.PublicKey),
		rsaJWK("kA-weak", "RS256", &rsaWeak.PublicKey),
		with(rsaJWK("kA-e1", "RS256", &rsaB.PublicKey), "e", "AQ"),
	))
	b := newIdP(t, jwksJSON(rsaJWK("kB", "RS256", &rsaB.PublicKey)))
	var attackerHits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attackerHits.Add(1)
		w.Write(jwksJSON(rsaJWK("att", "RS256", &rsaB.PublicKey)))
	}))
	defer attacker.Close()

	src := a.cognitoSource(t, "client-1")
	sources := []*identity.Source{src}
	r := newRegistry(t, clk)
	iss := a.cognitoIssuer()
	acc := cognitoAccess(iss, now)
	idc := cognitoID(iss, now)
	accJSON := mustJSON(acc)
	hA := `{"alg":"RS256","kid":"kA-rsa"}`
	valid := mintRaw(t, hA, accJSON, "RS256", rsaA)
	validParts := strings.Split(valid, ".")

	// The control must pass, or every rejection below proves nothing.
	if _, _, err := r.Validate(context.Background(), valid, identity.UseAccess, sources); err != nil {
		t.Fatalf("control token rejected: %v", err)
	}

	spki, _ := x509.MarshalPKIXPublicKey(&rsaA.PublicKey)
	spkiPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: spki})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaA.PublicKey)})
	jwksBytes := jwksJSON(rsaJWK("kA-rsa", "RS256", &rsaA.PublicKey))
	attJWK := rsaJWK("att", "RS256", &rsaB.PublicKey)
	n256 := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	tampered := validParts[0] + "." + b64([]byte(mustJSON(with(acc, "sub", "admin")))) + "." + validParts[2]
	bigClaim := mintRaw(t, hA, mustJSON(with(acc, "pad", strings.Repeat("x", 9000))), "RS256", rsaA)

	type row struct {
		name string
		tok  string
		use  identity.TokenUse
		want error
	}
	rows := []row{
		// 1 alg none
		{"none/empty-sig", unsigned(`{"alg":"none"}`, accJSON, ""), 0, identity.ErrMalformed},
		{"none/junk-sig", unsigned(`{"alg":"none","kid":"kA-rsa"}`, accJSON, "AAAA"), 0, identity.ErrSignature},
		{"None/junk-sig", unsigned(`{"alg":"None","kid":"kA-rsa"}`, accJSON, "AAAA"), 0, identity.ErrSignature},
		{"NONE/empty-sig", unsigned(`{"alg":"NONE","kid":"kA-rsa"}`, accJSON, ""), 0, identity.ErrMalformed},
		{"nOnE/junk-sig", unsigned(`{"alg":"nOnE"}`, accJSON, "AAAA"), 0, identity.ErrSignature},
		{"none/real-rsa-sig", validParts[0][:0] + b64([]byte(`{"alg":"none","kid":"kA-rsa"}`)) + "." + validParts[1] + "." + validParts[2], 0, identity.ErrSignature},
		// 2 HS256 keyed with the RSA public key
		{"hs256/spki-pem", hs256(t, `{"alg":"HS256","kid":"kA-rsa"}`, accJSON, spkiPEM), 0, identity.ErrSignature},
		{"hs256/spki-pem-no-newline", hs256(t, `{"alg":"HS256","kid":"kA-rsa"}`, accJSON, []byte(strings.TrimSuffix(string(spkiPEM), "\n"))), 0, identity.ErrSignature},
		{"hs256/pkcs1-pem", hs256(t, `{"alg":"HS256","kid":"kA-rsa"}`, accJSON, pkcs1PEM), 0, identity.ErrSignature},
		{"hs256/pkcs1-pem-no-newline", hs256(t, `{"alg":"HS256","kid":"kA-rsa"}`, accJSON, []byte(strings.TrimSuffix(string(pkcs1PEM), "\n"))), 0, identity.ErrSignature},
		{"hs256/jwks-bytes", hs256(t, `{"alg":"HS256","kid":"kA-rsa"}`, accJSON, jwksBytes), 0, identity.ErrSignature},
		{"hs256/modulus", hs256(t, `{"alg":"HS256","kid":"kA-rsa"}`, accJSON, rsaA.N.Bytes()), 0, identity.ErrSignature},
		{"hs384/spki-pem", hs256(t, `{"alg":"HS384","kid":"kA-rsa"}`, accJSON, spkiPEM), 0, identity.ErrSignature},
		// 3 embedded jwk
		{"jwk/attacker-key", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "kid": "att", "jwk": attJWK}), accJSON, "RS256", rsaB), 0, identity.ErrMalformed},
		{"jwk/known-kid", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "kid": "kA-rsa", "jwk": attJWK}), accJSON, "RS256", rsaB), 0, identity.ErrMalformed},
		{"jwk/no-kid", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "jwk": attJWK}), accJSON, "RS256", rsaB), 0, identity.ErrMalformed},
		// 4 jku / x5u / x5c
		{"jku", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "kid": "att", "jku": attacker.URL + "/jwks"}), accJSON, "RS256", rsaB), 0, identity.ErrMalformed},
		{"jku/known-kid", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "kid": "kA-rsa", "jku": attacker.URL + "/jwks"}), accJSON, "RS256", rsaB), 0, identity.ErrMalformed},
		{"x5u", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "kid": "att", "x5u": attacker.URL + "/cert.pem"}), accJSON, "RS256", rsaB), 0, identity.ErrMalformed},
		{"x5c", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "x5c": []string{b64(spki)}}), accJSON, "RS256", rsaB), 0, identity.ErrMalformed},
		// 5 kid injection
		{"kid/dev-null-hmac", hs256(t, `{"alg":"HS256","kid":"../../../../../../dev/null"}`, accJSON, nil), 0, identity.ErrSignature},
		{"kid/dev-null-rs256", mintRaw(t, `{"alg":"RS256","kid":"/dev/null"}`, accJSON, "RS256", rsaB), 0, identity.ErrUnknownKey},
		{"kid/command", mintRaw(t, `{"alg":"RS256","kid":"|sleep 10"}`, accJSON, "RS256", rsaB), 0, identity.ErrUnknownKey},
		{"kid/sql-hmac", hs256(t, `{"alg":"HS256","kid":"x' UNION SELECT '1';--"}`, accJSON, []byte("1")), 0, identity.ErrSignature},
		{"kid/sql-rs256", mintRaw(t, `{"alg":"RS256","kid":"x' UNION SELECT 'kA-rsa';--"}`, accJSON, "RS256", rsaB), 0, identity.ErrUnknownKey},
		{"kid/absent-other-key", mintRaw(t, `{"alg":"RS256"}`, accJSON, "RS256", rsaB), 0, identity.ErrSignature},
		{"kid/empty", mintRaw(t, `{"alg":"RS256","kid":""}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"kid/too-long", mintRaw(t, mustJSON(map[string]any{"alg": "RS256", "kid": strings.Repeat("k", 300)}), accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		// 6-8 time claims
		{"exp/missing", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "exp", nil)), 0, identity.ErrClaims},
		{"exp/passed", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "exp", now.Add(-time.Hour).Unix())), 0, identity.ErrExpired},
		{"exp/beyond-leeway", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "exp", now.Add(-61*time.Second).Unix())), 0, identity.ErrExpired},
		{"nbf/future", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "nbf", now.Add(time.Hour).Unix())), 0, identity.ErrNotYetValid},
		{"iat/future", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "iat", now.Add(time.Hour).Unix())), 0, identity.ErrNotYetValid},
		// 9 issuer
		{"iss/other-idp", mint(t, "kB", "RS256", rsaB, with(acc, "iss", b.cognitoIssuer())), 0, identity.ErrUnknownIssuer},
		{"iss/other-tenant-same-host", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "iss", a.srv.URL+"/us-east-1_Other")), 0, identity.ErrUnknownIssuer},
		{"iss/trailing-slash", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "iss", iss+"/")), 0, identity.ErrUnknownIssuer},
		{"iss/B-signs-as-A", mint(t, "kB", "RS256", rsaB, acc), 0, identity.ErrUnknownKey},
		{"iss/B-signs-as-A-colliding-kid", mint(t, "kA-rsa", "RS256", rsaB, acc), 0, identity.ErrSignature},
		// 10 audience / client
		{"aud/other-client", mint(t, "kA-rsa", "RS256", rsaA, with(idc, "aud", "client-2")), identity.UseID, identity.ErrAudience},
		{"aud/empty-string", mint(t, "kA-rsa", "RS256", rsaA, with(idc, "aud", "")), identity.UseID, identity.ErrAudience},
		{"aud/empty-array", mint(t, "kA-rsa", "RS256", rsaA, with(idc, "aud", []string{})), identity.UseID, identity.ErrAudience},
		{"aud/other-array", mint(t, "kA-rsa", "RS256", rsaA, with(idc, "aud", []string{"x"})), identity.UseID, identity.ErrAudience},
		{"aud/missing", mint(t, "kA-rsa", "RS256", rsaA, with(idc, "aud", nil)), identity.UseID, identity.ErrAudience},
		{"client_id/other", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "client_id", "client-2")), 0, identity.ErrAudience},
		{"client_id/missing", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "client_id", nil)), 0, identity.ErrAudience},
		// 11 token type
		{"token_use/id-as-access", mint(t, "kA-rsa", "RS256", rsaA, idc), identity.UseAccess, identity.ErrTokenUse},
		{"token_use/access-as-id", valid, identity.UseID, identity.ErrTokenUse},
		{"token_use/missing", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "token_use", nil)), 0, identity.ErrTokenUse},
		{"token_use/case", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "token_use", "Access")), 0, identity.ErrTokenUse},
		// 12 signature stripped
		{"sig/stripped-dot", validParts[0] + "." + validParts[1] + ".", 0, identity.ErrMalformed},
		{"sig/stripped", validParts[0] + "." + validParts[1], 0, identity.ErrMalformed},
		{"sig/extra-segment", valid + ".x", 0, identity.ErrMalformed},
		{"sig/one-byte", validParts[0] + "." + validParts[1] + ".AA", 0, identity.ErrSignature},
		{"sig/truncated", validParts[0] + "." + validParts[1] + "." + b64(mustB64(t, validParts[2])[:255]), 0, identity.ErrSignature},
		{"sig/other-token", validParts[0] + "." + validParts[1] + "." + strings.Split(mint(t, "kA-rsa", "RS256", rsaA, idc), ".")[2], 0, identity.ErrSignature},
		// 13 tampered payload
		{"tampered/sub", tampered, 0, identity.ErrSignature},
		// 14 psychic signatures
		{"psychic/zero", unsigned(`{"alg":"ES256","kid":"kA-ec"}`, accJSON, strings.Repeat("A", 86)), 0, identity.ErrSignature},
		{"psychic/r=s=n", unsigned(`{"alg":"ES256","kid":"kA-ec"}`, accJSON, b64(append(append([]byte{}, n256...), n256...))), 0, identity.ErrSignature},
		{"psychic/der-zero", unsigned(`{"alg":"ES256","kid":"kA-ec"}`, accJSON, b64([]byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00})), 0, identity.ErrSignature},
		// 15 crit / b64
		{"crit/exp", mintRaw(t, `{"alg":"RS256","kid":"kA-rsa","crit":["exp"],"exp":1}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"b64/false", mintRaw(t, `{"alg":"RS256","kid":"kA-rsa","b64":false,"crit":["b64"]}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		// 16 duplicate and case-variant keys
		{"dup/header-alg", mintRaw(t, `{"alg":"RS256","kid":"kA-rsa","alg":"none"}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"dup/header-case", mintRaw(t, `{"alg":"RS256","kid":"kA-rsa","KID":"kA-ec"}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"dup/claim-sub", mintRaw(t, hA, `{"sub":"alice","sub":"admin",`+accJSON[1:], "RS256", rsaA), 0, identity.ErrMalformed},
		{"dup/claim-Sub", mintRaw(t, hA, `{"Sub":"admin",`+accJSON[1:], "RS256", rsaA), 0, identity.ErrMalformed},
		{"dup/claim-EXP", mintRaw(t, hA, `{"EXP":9000000000,`+accJSON[1:], "RS256", rsaA), 0, identity.ErrMalformed},
		{"dup/nested", mintRaw(t, hA, `{"address":{"c":"a","c":"b"},`+accJSON[1:], "RS256", rsaA), 0, identity.ErrMalformed},
		// 17 non-canonical base64
		{"b64/sig-padding-bits", validParts[0] + "." + validParts[1] + "." + flipPaddingBits(t, validParts[2]), 0, identity.ErrMalformed},
		{"b64/padding", validParts[0] + "=." + validParts[1] + "." + validParts[2], 0, identity.ErrMalformed},
		{"b64/crlf", validParts[0] + "\r\n." + validParts[1] + "." + validParts[2], 0, identity.ErrMalformed},
		{"b64/std-alphabet", strings.NewReplacer("-", "+", "_", "/").Replace(valid), 0, identity.ErrMalformed},
		{"b64/space", "Bearer " + valid, 0, identity.ErrMalformed},
		// 18-19 JWE, nested, JSON serialization
		{"jwe/5-parts", b64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".AAAA.AAAA.AAAA.AAAA", 0, identity.ErrMalformed},
		{"jwe/enc-header", mintRaw(t, `{"alg":"RS256","kid":"kA-rsa","enc":"A256GCM"}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"jwe/zip", mintRaw(t, `{"alg":"RS256","kid":"kA-rsa","zip":"DEF"}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"cty/JWT", mintRaw(t, `{"alg":"RS256","kid":"kA-rsa","cty":"JWT"}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"json-serialization", `{"payload":"` + validParts[1] + `","signatures":[{"protected":"` + validParts[0] + `","signature":"` + validParts[2] + `"}]}`, 0, identity.ErrMalformed},
		// 20 oversized
		{"size/9KiB-claim", bigClaim, 0, identity.ErrMalformed},
		{"size/1MB-dots", strings.Repeat(".", 1<<20), 0, identity.ErrMalformed},
		{"size/1MB-bearer-dots", "Bearer " + strings.Repeat(".", 1<<20), 0, identity.ErrMalformed},
		{"size/empty", "", 0, identity.ErrMalformed},
		// 23 odd JWKS keys
		{"jwks/oct-hs256", hs256(t, `{"alg":"HS256","kid":"kA-oct"}`, accJSON, octSecret), 0, identity.ErrSignature},
		{"jwks/oct-kid-rs256", mint(t, "kA-oct", "RS256", rsaA, acc), 0, identity.ErrUnknownKey},
		{"jwks/use-enc", mint(t, "kA-enc", "RS256", rsaB, acc), 0, identity.ErrUnknownKey},
		{"jwks/jwk-alg-mismatch", mint(t, "kA-rs384", "RS256", rsaB, acc), 0, identity.ErrSignature},
		{"jwks/es256-with-rsa-key", mint(t, "kA-rsa", "ES256", ecB, acc), 0, identity.ErrSignature},
		{"jwks/rs256-with-ec-key", mint(t, "kA-ec", "RS256", rsaA, acc), 0, identity.ErrSignature},
		{"alg/ps256-not-allowed", mint(t, "kA-rsa", "PS256", rsaA, acc), 0, identity.ErrSignature},
		{"alg/rs512-not-allowed", mint(t, "kA-rsa", "RS512", rsaA, acc), 0, identity.ErrSignature},
		// 24 weak RSA
		{"jwks/rsa-1024", mint(t, "kA-weak", "RS256", rsaWeak, acc), 0, identity.ErrUnknownKey},
		{"jwks/rsa-e1", mint(t, "kA-e1", "RS256", rsaB, acc), 0, identity.ErrUnknownKey},
		// 25 expired and bad signature
		{"expired-and-bad-sig", mint(t, "kA-rsa", "RS256", rsaB, with(acc, "exp", now.Add(-time.Hour).Unix())), 0, identity.ErrSignature},
		// 26 claim type confusion
		{"type/iss-bool", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "iss", true)), 0, identity.ErrClaims},
		{"type/exp-string", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "exp", "9999999999")), 0, identity.ErrClaims},
		{"type/exp-huge", mintRaw(t, hA, `{"exp":1e300,`+mustJSON(with(acc, "exp", nil))[1:], "RS256", rsaA), 0, identity.ErrClaims},
		{"type/exp-negative", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "exp", -1)), 0, identity.ErrClaims},
		{"type/nbf-string", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "nbf", "0")), 0, identity.ErrClaims},
		{"type/aud-number", mint(t, "kA-rsa", "RS256", rsaA, with(idc, "aud", []int{1})), identity.UseID, identity.ErrClaims},
		{"type/sub-number", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "sub", 5)), 0, identity.ErrClaims},
		{"type/client_id-array", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "client_id", []string{"client-1"})), 0, identity.ErrClaims},
		{"type/token_use-array", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "token_use", []string{"access"})), 0, identity.ErrClaims},
		{"type/groups-string", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "cognito:groups", "admins")), 0, identity.ErrClaims},
		{"type/kid-number", mintRaw(t, `{"alg":"RS256","kid":1}`, accJSON, "RS256", rsaA), 0, identity.ErrMalformed},
		{"type/alg-number", unsigned(`{"alg":256,"kid":"kA-rsa"}`, accJSON, validParts[2]), 0, identity.ErrMalformed},
		{"type/header-array", unsigned(`["RS256"]`, accJSON, validParts[2]), 0, identity.ErrMalformed},
		{"type/payload-null", mintRaw(t, hA, `null`, "RS256", rsaA), 0, identity.ErrMalformed},
		{"type/payload-trailing", mintRaw(t, hA, accJSON+`{}`, "RS256", rsaA), 0, identity.ErrMalformed},
		// 27 weak HMAC secrets
		{"hs256/blank-secret", hs256(t, `{"alg":"HS256","kid":"kA-rsa"}`, accJSON, []byte{}), 0, identity.ErrSignature},
		{"hs256/secret", hs256(t, `{"alg":"HS256"}`, accJSON, []byte("secret")), 0, identity.ErrSignature},
		// AVP reserved claim names
		{"reserved/custom-literal", mint(t, "kA-rsa", "RS256", rsaA, with(acc, "custom", "x", "custom:tier", "gold")), 0, identity.ErrClaims},
		{"reserved/dev-literal", mint(t, "kA-rsa", "RS256", rsaA, with(idc, "dev", true)), identity.UseID, identity.ErrClaims},
	}
	t.Run("rows", func(t *testing.T) {
		for _, tc := range rows {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				use := tc.use
				if use == 0 {
					use = identity.UseAccess
				}
				tok, _, err := r.Validate(context.Background(), tc.tok, use, sources)
				if err == nil {
					t.Fatalf("accepted: %+v", tok)
				}
				if !errors.Is(err, tc.want) {
					t.Fatalf("error %v (reason %s), want class %v", err, identity.Reason(err), tc.want)
				}
			})
		}
	})
	if n := a.jwksHits.Load(); n != 1 {
		t.Errorf("issuer A JWKS fetched %d times, want exactly 1 (the limiter allows one fetch per interval)", n)
	}
	if n := b.jwksHits.Load(); n != 0 {
		t.Errorf("issuer B JWKS fetched %d times; an unconfigured issuer must never be fetched", n)
	}
	if n := attackerHits.Load(); n != 0 {
		t.Errorf("attacker server hit %d times", n)
	}
}
