package sigv4_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
)

const (
	keyID  = "AKIDGATEHOUSE"
	secret = "c2VjcmV0LWtleS1mb3ItdGVzdHM"
	svc    = "verifiedpermissions"
	region = "us-east-1"
)

var fixedNow = time.Date(2026, 11, 22, 18, 0, 0, 0, time.UTC)

func newVerifier(now time.Time) *sigv4.Verifier {
	return &sigv4.Verifier{
		Lookup: func(id string) (string, bool) {
			if id == keyID {
				return secret, true
			}
			return "", false
		},
		Services: []string{svc},
		Region:   region,
		Now:      func() time.Time { return now },
	}
}

// result is what the server saw.
type result struct {
	key string
	err error
}

// server runs Verify on every request it receives and sends the outcome on a channel.
func server(t *testing.T, v *sigv4.Verifier) (*httptest.Server, chan result) {
	t.Helper()
	ch := make(chan result, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			ch <- result{err: err}
			return
		}
		key, err := v.Verify(r, body)
		ch <- result{key, err}
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

type reqSpec struct {
	method, path, query string
	body                string
	headers             map[string]string
	signTime            time.Time
	secret              string
	service             string
	region              string
	sessionToken        string
}

func defaultSpec() reqSpec {
	return reqSpec{
		method:   http.MethodPost,
		path:     "/",
		body:     `{"policyStoreId":"ps-1"}`,
		headers:  map[string]string{"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "VerifiedPermissions.GetPolicyStore"},
		signTime: fixedNow,
		secret:   secret,
		service:  svc,
		region:   region,
	}
}

// signed builds a request signed by the AWS SDK's own SigV4 signer.
func signed(t *testing.T, base string, s reqSpec) *http.Request {
	t.Helper()
	u := base + s.path
	if s.query != "" {
		u += "?" + s.query
	}
	req, err := http.NewRequest(s.method, u, strings.NewReader(s.body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(s.body))
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: s.secret, SessionToken: s.sessionToken}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), s.service, s.region, s.signTime); err != nil {
		t.Fatal(err)
	}
	return req
}

func send(t *testing.T, req *http.Request, ch chan result) result {
	t.Helper()
	// A transport of its own: an httptest server's Close closes the idle connections of
	// http.DefaultTransport, which broke parallel subtests' requests in flight.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return <-ch
}

func TestVerifySDKSigned(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec func(reqSpec) reqSpec
	}{
		{"post json", func(s reqSpec) reqSpec { return s }},
		{"empty body", func(s reqSpec) reqSpec { s.body = ""; return s }},
		{"get with query", func(s reqSpec) reqSpec {
			s.method, s.body, s.query = http.MethodGet, "", "b=2&a=1&a=0&sp=x%20y&tilde=~&plus=a%2Bb"
			return s
		}},
		{"path with escapes", func(s reqSpec) reqSpec { s.path = "/a%20b/c%2Fd/é"; return s }},
		{"header with spaces", func(s reqSpec) reqSpec {
			s.headers = map[string]string{"X-Amz-Meta": "  a   b  c ", "Content-Type": "application/x-amz-json-1.0"}
			return s
		}},
		{"clock skew within limit", func(s reqSpec) reqSpec { s.signTime = fixedNow.Add(-14 * time.Minute); return s }},
		{"clock ahead within limit", func(s reqSpec) reqSpec { s.signTime = fixedNow.Add(14 * time.Minute); return s }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, ch := server(t, newVerifier(fixedNow))
			got := send(t, signed(t, srv.URL, tt.spec(defaultSpec())), ch)
			if got.err != nil {
				t.Fatalf("Verify: %v", got.err)
			}
			if got.key != keyID {
				t.Fatalf("key = %q, want %q", got.key, keyID)
			}
		})
	}
}

func TestVerifyExtraUnsignedHeaders(t *testing.T) {
	t.Parallel()
	srv, ch := server(t, newVerifier(fixedNow))
	req := signed(t, srv.URL, defaultSpec())
	req.Header.Set("User-Agent", "changed-after-signing")
	req.Header.Set("X-Added-Later", "1")
	if got := send(t, req, ch); got.err != nil {
		t.Fatalf("Verify: %v", got.err)
	}
}

func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		spec   func(reqSpec) reqSpec
		tamper func(*http.Request)
		v      func(*sigv4.Verifier)
		want   error
	}{
		{name: "unsigned", tamper: func(r *http.Request) { r.Header.Del("Authorization") }, want: sigv4.ErrMissing},
		{name: "tampered body", tamper: func(r *http.Request) {
			b := []byte(`{"policyStoreId":"ps-2"}`)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
		}, want: sigv4.ErrInvalid},
		{name: "tampered signed header", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Target", "VerifiedPermissions.DeletePolicyStore") }, want: sigv4.ErrInvalid},
		{name: "tampered path", tamper: func(r *http.Request) { r.URL.Path = "/other" }, want: sigv4.ErrInvalid},
		{name: "tampered query", spec: func(s reqSpec) reqSpec { s.query = "a=1"; return s },
			tamper: func(r *http.Request) { r.URL.RawQuery = "a=2" }, want: sigv4.ErrInvalid},
		{name: "added query", tamper: func(r *http.Request) { r.URL.RawQuery = "x=1" }, want: sigv4.ErrInvalid},
		{name: "tampered date", tamper: func(r *http.Request) {
			r.Header.Set("X-Amz-Date", fixedNow.Add(time.Second).Format("20060102T150405Z"))
		}, want: sigv4.ErrInvalid},
		{name: "wrong secret", spec: func(s reqSpec) reqSpec { s.secret = "nope"; return s }, want: sigv4.ErrInvalid},
		{name: "unknown key", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), keyID, "AKIDOTHER", 1))
		}, want: sigv4.ErrUnknownKey},
		{name: "replay outside skew", spec: func(s reqSpec) reqSpec { s.signTime = fixedNow.Add(-16 * time.Minute); return s }, want: sigv4.ErrExpired},
		{name: "future outside skew", spec: func(s reqSpec) reqSpec { s.signTime = fixedNow.Add(16 * time.Minute); return s }, want: sigv4.ErrExpired},
		{name: "custom skew", spec: func(s reqSpec) reqSpec { s.signTime = fixedNow.Add(-2 * time.Minute); return s },
			v: func(v *sigv4.Verifier) { v.MaxSkew = time.Minute }, want: sigv4.ErrExpired},
		{name: "wrong service", spec: func(s reqSpec) reqSpec { s.service = "s3"; return s }, want: sigv4.ErrInvalid},
		{name: "scope date differs from x-amz-date", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/20261122/", "/20261121/", 1))
		}, want: sigv4.ErrInvalid},
		{name: "other algorithm", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1))
		}, want: sigv4.ErrMalformed},
		{name: "host not signed", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-length;content-type;host;", "SignedHeaders=content-length;content-type;", 1))
		}, want: sigv4.ErrMalformed},
		{name: "x-amz-date not signed", tamper: func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-amz-date", "", 1))
		}, want: sigv4.ErrMalformed},
		{name: "garbage header", tamper: func(r *http.Request) { r.Header.Set("Authorization", "Bearer abc") }, want: sigv4.ErrMalformed},
		{name: "missing signature param", tamper: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:strings.Index(a, ", Signature=")])
		}, want: sigv4.ErrMalformed},
		{name: "short signature", tamper: func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-2])
		}, want: sigv4.ErrMalformed},
		{name: "missing x-amz-date", tamper: func(r *http.Request) { r.Header.Del("X-Amz-Date") }, want: sigv4.ErrMalformed},
		{name: "content sha mismatch", spec: func(s reqSpec) reqSpec { s.headers["X-Amz-Content-Sha256"] = "UNSIGNED-PAYLOAD"; return s }, want: sigv4.ErrInvalid},
		{name: "content sha added unsigned", tamper: func(r *http.Request) {
			sum := sha256.Sum256([]byte(defaultSpec().body))
			r.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
		}, want: sigv4.ErrMalformed},
		{name: "presigned query", tamper: func(r *http.Request) { r.URL.RawQuery = "X-Amz-Signature=abc" }, want: sigv4.ErrMalformed},
		{name: "session token added unsigned", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Security-Token", "tok") }, want: sigv4.ErrMalformed},
		{name: "signed session token", spec: func(s reqSpec) reqSpec { s.sessionToken = "tok"; return s }, want: sigv4.ErrUnknownKey},
		{name: "nil lookup", v: func(v *sigv4.Verifier) { v.Lookup = nil }, want: sigv4.ErrUnknownKey},
		// A captured request whose signature does not cover X-Amz-Target
		// must not be replayable as another operation.
		{name: "target added unsigned", spec: func(s reqSpec) reqSpec { delete(s.headers, "X-Amz-Target"); return s },
			tamper: func(r *http.Request) { r.Header.Set("X-Amz-Target", "VerifiedPermissions.DeletePolicyStore") }, want: sigv4.ErrMalformed},
		{name: "target in lower case added unsigned", spec: func(s reqSpec) reqSpec { delete(s.headers, "X-Amz-Target"); return s },
			tamper: func(r *http.Request) { r.Header["x-amz-target"] = []string{"VerifiedPermissions.DeletePolicyStore"} }, want: sigv4.ErrMalformed},
		{name: "content type added unsigned", spec: func(s reqSpec) reqSpec { delete(s.headers, "Content-Type"); return s },
			tamper: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-amz-json-1.1") }, want: sigv4.ErrMalformed},
		{name: "content encoding added unsigned", tamper: func(r *http.Request) { r.Header.Set("Content-Encoding", "gzip") }, want: sigv4.ErrMalformed},
		{name: "other x-amz header added unsigned", tamper: func(r *http.Request) { r.Header.Set("X-Amz-Expected-Bucket-Owner", "1") }, want: sigv4.ErrMalformed},
		{name: "second x-amz-date", tamper: func(r *http.Request) { r.Header.Add("X-Amz-Date", r.Header.Get("X-Amz-Date")) }, want: sigv4.ErrMalformed},
		{name: "second authorization", tamper: func(r *http.Request) { r.Header.Add("Authorization", r.Header.Get("Authorization")) }, want: sigv4.ErrMalformed},
		{name: "other region", spec: func(s reqSpec) reqSpec { s.region = "eu-west-1"; return s }, want: sigv4.ErrInvalid},
		{name: "verifier without region", v: func(v *sigv4.Verifier) { v.Region = "" }, want: sigv4.ErrInvalid},
		{name: "verifier without services", v: func(v *sigv4.Verifier) { v.Services = nil }, want: sigv4.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifier(fixedNow)
			if tt.v != nil {
				tt.v(v)
			}
			srv, ch := server(t, v)
			s := defaultSpec()
			if tt.spec != nil {
				s = tt.spec(s)
			}
			req := signed(t, srv.URL, s)
			if tt.tamper != nil {
				tt.tamper(req)
			}
			got := send(t, req, ch)
			if !errors.Is(got.err, tt.want) {
				t.Fatalf("err = %v, want kind %v", got.err, tt.want)
			}
			var e *sigv4.Error
			if !errors.As(got.err, &e) || e.Message == "" {
				t.Fatalf("err %T is not a *sigv4.Error with a message", got.err)
			}
			if strings.Contains(e.Message, secret) {
				t.Fatalf("message leaks the secret: %q", e.Message)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"policyStoreId":"ps-1","principal":{"entityType":"PetStore::User","entityId":"alice"}}`)
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "VerifiedPermissions.IsAuthorized")
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), svc, region, fixedNow); err != nil {
		b.Fatal(err)
	}
	v := newVerifier(fixedNow)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(req, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSHA256Body is the baseline: hashing the body alone, which any
// verifier must do.
func BenchmarkSHA256Body(b *testing.B) {
	body := []byte(`{"policyStoreId":"ps-1","principal":{"entityType":"PetStore::User","entityId":"alice"}}`)
	b.ReportAllocs()
	for b.Loop() {
		sha256.Sum256(body)
	}
}

// FuzzVerify feeds arbitrary Authorization headers, dates, paths and
// queries: Verify must never panic and never accept them.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDGATEHOUSE/20261122/us-east-1/verifiedpermissions/aws4_request, SignedHeaders=host;x-amz-date, Signature="+strings.Repeat("ab", 32), "20261122T180000Z", "/", "a=1&b=%zz")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;, Signature=", "", "/%2F/../x", "X-Amz-Signature=1")
	f.Add("AWS4-HMAC-SHA256 Credential=AKIDGATEHOUSE/20261122/us-east-1/verifiedpermissions/aws4_request,SignedHeaders=host;x-amz-date,Signature=00,Signature=11", "20261122T180000Z", "/a b", "=&&=")
	v := newVerifier(fixedNow)
	f.Fuzz(func(t *testing.T, authz, date, path, query string) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
		req.URL.Path, req.URL.RawPath, req.URL.RawQuery = path, "", query
		req.Header.Set("Authorization", authz)
		req.Header.Set("X-Amz-Date", date)
		key, err := v.Verify(req, []byte("{}"))
		if err == nil {
			t.Fatalf("accepted forged request, key %q", key)
		}
		var e *sigv4.Error
		if !errors.As(err, &e) {
			t.Fatalf("error %T is not *sigv4.Error", err)
		}
	})
}
