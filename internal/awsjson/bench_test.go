package awsjson_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

const benchBody = `{"policyStoreId":"ps-1","principal":{"entityType":"PetStore::User","entityId":"alice"},"action":{"actionType":"PetStore::Action","actionId":"get /pets"},"resource":{"entityType":"PetStore::Application","entityId":"PetStore"},"context":{"contextMap":{"path":{"string":"/pets"}}}}`

func benchRequest(b *testing.B, now time.Time, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "VerifiedPermissions.GetPolicyStore")
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "verifiedpermissions", "us-east-1", now); err != nil {
		b.Fatal(err)
	}
	return req
}

// BenchmarkServeHTTP measures a signed call through the whole protocol layer
// (target dispatch, body limit, SigV4, strict decode, response encoding).
func BenchmarkServeHTTP(b *testing.B) {
	now := time.Now()
	s := newService(func() time.Time { return now })
	body := []byte(`{"policyStoreId":"ps-1"}`)
	req := benchRequest(b, now, body)
	b.ReportAllocs()
	for b.Loop() {
		r := req.Clone(context.Background())
		r.Body = readCloser{bytes.NewReader(body)}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkServeHTTPBaseline is the same request answered by a bare
// handler that only reads the body and writes a fixed response.
func BenchmarkServeHTTPBaseline(b *testing.B) {
	now := time.Now()
	body := []byte(`{"policyStoreId":"ps-1"}`)
	req := benchRequest(b, now, body)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.Write([]byte(`{"policyStoreId":"ps-1"}`))
	})
	b.ReportAllocs()
	for b.Loop() {
		r := req.Clone(context.Background())
		r.Body = readCloser{bytes.NewReader(body)}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
}

// BenchmarkDecode measures strict decoding of an IsAuthorized-sized body.
func BenchmarkDecode(b *testing.B) {
	type ident struct {
		EntityType string `json:"entityType"`
		EntityID   string `json:"entityId"`
	}
	var v struct {
		PolicyStoreID string `json:"policyStoreId"`
		Principal     ident  `json:"principal"`
		Action        struct {
			ActionType string `json:"actionType"`
			ActionID   string `json:"actionId"`
		} `json:"action"`
		Resource ident `json:"resource"`
		Context  struct {
			ContextMap map[string]struct {
				String *string `json:"string"`
			} `json:"contextMap"`
		} `json:"context"`
	}
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		if err := awsjson.Decode(body, &v); err != nil {
			b.Fatal(err)
		}
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
