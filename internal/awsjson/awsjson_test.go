package awsjson_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
)

const (
	keyID  = "AKIDGATEHOUSE"
	secret = "test-secret-access-key"
)

type getPolicyStoreInput struct {
	PolicyStoreID string `json:"policyStoreId"`
	Tags          *bool  `json:"tags,omitempty"`
}

type getPolicyStoreOutput struct {
	PolicyStoreID      string            `json:"policyStoreId"`
	Arn                string            `json:"arn"`
	CreatedDate        string            `json:"createdDate"`
	LastUpdatedDate    string            `json:"lastUpdatedDate"`
	ValidationSettings map[string]string `json:"validationSettings"`
	Caller             string            `json:"description"` // echoes Caller(ctx) for the test
}

type createPolicyStoreInput struct {
	ClientToken        string `json:"clientToken,omitempty"`
	Description        string `json:"description,omitempty"`
	ValidationSettings struct {
		Mode string `json:"mode"`
	} `json:"validationSettings"`
}

// errorFor picks the error an op returns, from the description the test sends.
func errorFor(what string) error {
	switch what {
	case "validation":
		return awsjson.Validation("1 validation error detected", awsjson.FieldError{Path: "description", Message: "bad"})
	case "conflict":
		return awsjson.Conflict("already exists", awsjson.Resource{ID: "ps-1", Type: "POLICY_STORE"})
	case "throttling":
		return awsjson.Throttling("slow down")
	case "denied":
		return awsjson.AccessDenied("no")
	case "quota":
		return awsjson.QuotaExceeded("too many", "POLICY_STORE")
	case "secret-internal":
		return fmt.Errorf("dial tcp 10.0.0.5:5432: password=hunter2")
	case "panic":
		panic("boom with secret detail")
	}
	return nil
}

func newService(now func() time.Time) *awsjson.Service {
	return &awsjson.Service{
		TargetPrefix: "VerifiedPermissions",
		JSONVersion:  "1.0",
		Verifier: &sigv4.Verifier{
			Lookup: func(id string) (string, bool) {
				return secret, id == keyID
			},
			Services: []string{"verifiedpermissions"},
			Region:   "us-east-1",
			Now:      now,
		},
		Ops: map[string]awsjson.Op{
			"GetPolicyStore": func(ctx context.Context, body []byte) (any, error) {
				var in getPolicyStoreInput
				if err := awsjson.Decode(body, &in); err != nil {
					return nil, err
				}
				if in.PolicyStoreID == "missing" {
					return nil, awsjson.NotFound("Policy store missing not found.", "missing", "POLICY_STORE")
				}
				return getPolicyStoreOutput{
					PolicyStoreID:      in.PolicyStoreID,
					Arn:                "arn:aws:verifiedpermissions::123456789012:policy-store/" + in.PolicyStoreID,
					CreatedDate:        "2026-11-22T18:00:00.123Z",
					LastUpdatedDate:    "2026-11-22T18:00:01Z",
					ValidationSettings: map[string]string{"mode": "STRICT"},
					Caller:             awsjson.Caller(ctx),
				}, nil
			},
			"CreatePolicyStore": func(ctx context.Context, body []byte) (any, error) {
				var in createPolicyStoreInput
				if err := awsjson.Decode(body, &in); err != nil {
					return nil, err
				}
				if err := errorFor(in.Description); err != nil {
					return nil, err
				}
				return map[string]string{"policyStoreId": "ps-new", "arn": "arn:x", "createdDate": "2026-11-22T18:00:00Z", "lastUpdatedDate": "2026-11-22T18:00:00Z"}, nil
			},
		},
	}
}

func newClient(t *testing.T, url string, creds aws.CredentialsProvider) *verifiedpermissions.Client {
	t.Helper()
	cfg := aws.Config{Region: "us-east-1", Credentials: creds, RetryMaxAttempts: 1}
	return verifiedpermissions.NewFromConfig(cfg, func(o *verifiedpermissions.Options) {
		o.BaseEndpoint = aws.String(url)
	})
}

func staticCreds(id, key string) aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider(id, key, "")
}

func TestSDKHappyCall(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newService(nil))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, staticCreds(keyID, secret))
	out, err := c.GetPolicyStore(context.Background(), &verifiedpermissions.GetPolicyStoreInput{PolicyStoreId: aws.String("ps-1")})
	if err != nil {
		t.Fatalf("GetPolicyStore: %v", err)
	}
	if got := aws.ToString(out.PolicyStoreId); got != "ps-1" {
		t.Errorf("policyStoreId = %q", got)
	}
	if got := aws.ToString(out.Description); got != keyID {
		t.Errorf("Caller(ctx) = %q, want %q", got, keyID)
	}
	if want := time.Date(2026, 11, 22, 18, 0, 0, 123e6, time.UTC); !out.CreatedDate.Equal(want) {
		t.Errorf("createdDate = %v, want %v", out.CreatedDate, want)
	}
	if out.ValidationSettings == nil || out.ValidationSettings.Mode != types.ValidationModeStrict {
		t.Errorf("validationSettings = %+v", out.ValidationSettings)
	}
}

func TestSDKTypedErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newService(nil))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, staticCreds(keyID, secret))
	ctx := context.Background()
	create := func(desc string) error {
		_, err := c.CreatePolicyStore(ctx, &verifiedpermissions.CreatePolicyStoreInput{
			Description:        aws.String(desc),
			ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff},
		})
		return err
	}
	tests := []struct {
		name  string
		call  func() error
		check func(t *testing.T, err error)
	}{
		{"validation", func() error { return create("validation") }, func(t *testing.T, err error) {
			var e *types.ValidationException
			if !errors.As(err, &e) || len(e.FieldList) != 1 || aws.ToString(e.FieldList[0].Path) != "description" {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"not found", func() error {
			_, err := c.GetPolicyStore(ctx, &verifiedpermissions.GetPolicyStoreInput{PolicyStoreId: aws.String("missing")})
			return err
		}, func(t *testing.T, err error) {
			var e *types.ResourceNotFoundException
			if !errors.As(err, &e) || aws.ToString(e.ResourceId) != "missing" || e.ResourceType != types.ResourceTypePolicyStore {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"conflict", func() error { return create("conflict") }, func(t *testing.T, err error) {
			var e *types.ConflictException
			if !errors.As(err, &e) || len(e.Resources) != 1 || aws.ToString(e.Resources[0].ResourceId) != "ps-1" {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"throttling", func() error { return create("throttling") }, func(t *testing.T, err error) {
			var e *types.ThrottlingException
			if !errors.As(err, &e) {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"access denied", func() error { return create("denied") }, func(t *testing.T, err error) {
			var e *types.AccessDeniedException
			if !errors.As(err, &e) {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"quota", func() error { return create("quota") }, func(t *testing.T, err error) {
			var e *types.ServiceQuotaExceededException
			if !errors.As(err, &e) || e.ResourceType != types.ResourceTypePolicyStore {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"generic error hidden", func() error { return create("secret-internal") }, func(t *testing.T, err error) {
			var e *types.InternalServerException
			if !errors.As(err, &e) || strings.Contains(aws.ToString(e.Message), "hunter2") {
				t.Fatalf("err = %#v", err)
			}
		}},
		{"panic recovered", func() error { return create("panic") }, func(t *testing.T, err error) {
			var e *types.InternalServerException
			if !errors.As(err, &e) || strings.Contains(aws.ToString(e.Message), "boom") {
				t.Fatalf("err = %#v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.check(t, tt.call())
		})
	}
}

func TestSDKAuthRejected(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		creds    aws.CredentialsProvider
		now      func() time.Time
		wantCode string
	}{
		{"unsigned", aws.AnonymousCredentials{}, nil, "AccessDeniedException"},
		{"wrong secret", staticCreds(keyID, "wrong"), nil, "InvalidSignatureException"},
		{"unknown key", staticCreds("AKIDUNKNOWN", secret), nil, "UnrecognizedClientException"},
		{"stale", staticCreds(keyID, secret), func() time.Time { return time.Now().Add(time.Hour) }, "InvalidSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(newService(tt.now))
			t.Cleanup(srv.Close)
			c := newClient(t, srv.URL, tt.creds)
			_, err := c.GetPolicyStore(context.Background(), &verifiedpermissions.GetPolicyStoreInput{PolicyStoreId: aws.String("ps-1")})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Fatalf("err = %v, want code %s", err, tt.wantCode)
			}
		})
	}
}

func TestSDKOversizeBody(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newService(nil))
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, staticCreds(keyID, secret))
	_, err := c.CreatePolicyStore(context.Background(), &verifiedpermissions.CreatePolicyStoreInput{
		Description:        aws.String(strings.Repeat("x", 2<<20)),
		ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff},
	})
	var e *types.ValidationException
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want ValidationException", err)
	}
	var re interface{ HTTPStatusCode() int }
	if !errors.As(err, &re) || re.HTTPStatusCode() != http.StatusRequestEntityTooLarge {
		t.Fatalf("status: err = %v", err)
	}
}

// TestProtocolErrors drives the handler with raw HTTP for what the SDK cannot send.
func TestProtocolErrors(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(newService(nil))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, method, path, target, ctype string
		wantStatus                        int
		wantType                          string
	}{
		{"unknown target", "POST", "/", "VerifiedPermissions.DropTables", "application/x-amz-json-1.0", 400, "UnknownOperationException"},
		{"wrong prefix", "POST", "/", "Other.GetPolicyStore", "application/x-amz-json-1.0", 400, "UnknownOperationException"},
		{"no target", "POST", "/", "", "application/x-amz-json-1.0", 400, "UnknownOperationException"},
		{"wrong path", "POST", "/x", "VerifiedPermissions.GetPolicyStore", "application/x-amz-json-1.0", 404, "UnknownOperationException"},
		{"wrong method", "GET", "/", "VerifiedPermissions.GetPolicyStore", "application/x-amz-json-1.0", 405, "UnknownOperationException"},
		{"wrong content type", "POST", "/", "VerifiedPermissions.GetPolicyStore", "application/json", 400, "SerializationException"},
		{"json 1.1 on a 1.0 service", "POST", "/", "VerifiedPermissions.GetPolicyStore", "application/x-amz-json-1.1", 400, "SerializationException"},
		{"charset tolerated, then unsigned", "POST", "/", "VerifiedPermissions.GetPolicyStore", "application/x-amz-json-1.0; charset=utf-8", 403, "AccessDeniedException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("Content-Type", tt.ctype)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.wantType {
				t.Errorf("X-Amzn-ErrorType = %q, want %q", got, tt.wantType)
			}
			if !strings.Contains(string(body), `"__type":"`+tt.wantType+`"`) {
				t.Errorf("body = %s", body)
			}
			if resp.Header.Get("x-amzn-RequestId") == "" {
				t.Error("missing x-amzn-RequestId")
			}
		})
	}
}

func TestPublicOpSkipsAuth(t *testing.T) {
	t.Parallel()
	s := newService(nil)
	s.Public = map[string]bool{"GetPolicyStore": true}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, aws.AnonymousCredentials{})
	out, err := c.GetPolicyStore(context.Background(), &verifiedpermissions.GetPolicyStoreInput{PolicyStoreId: aws.String("ps-1")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(out.Description) != "" {
		t.Errorf("Caller = %q for a public op", aws.ToString(out.Description))
	}
	// Other ops still need a signature.
	_, err = c.CreatePolicyStore(context.Background(), &verifiedpermissions.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
	var e *types.AccessDeniedException
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
}

func TestNoVerifierFailsClosed(t *testing.T) {
	t.Parallel()
	s := newService(nil)
	s.Verifier = nil
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := newClient(t, srv.URL, staticCreds(keyID, secret))
	_, err := c.GetPolicyStore(context.Background(), &verifiedpermissions.GetPolicyStoreInput{PolicyStoreId: aws.String("ps-1")})
	var e *types.AccessDeniedException
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
}
