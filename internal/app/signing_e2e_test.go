package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	vp "github.com/aws/aws-sdk-go-v2/service/verifiedpermissions"
	"github.com/aws/aws-sdk-go-v2/service/verifiedpermissions/types"
	"github.com/aws/smithy-go"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// signedRequest builds a POST signed by the AWS SDK's own SigV4 signer with the node's
// credentials. Headers in unsigned are added after signing, as an attacker replaying a
// captured request would.
func signedRequest(t *testing.T, url, service, region string, body any, signed, unsigned map[string]string) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range signed {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256(b)
	creds := aws.Credentials{AccessKeyID: apptest.KeyID, SecretAccessKey: apptest.Secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		t.Fatal(err)
	}
	for k, v := range unsigned {
		req.Header.Set(k, v)
	}
	return req
}

// awsErrorType sends req and returns the status and the AWS JSON error type ("" on success).
func awsErrorType(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	var e struct {
		Type string `json:"__type"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("status %d, body %s", resp.StatusCode, b)
	}
	return resp.StatusCode, e.Type
}

func sdkConfig(t *testing.T, region string) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion(region), config.WithRetryMaxAttempts(1),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(apptest.KeyID, apptest.Secret, "")))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func wantAPIError(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("%s: want %s, got %v", what, code, err)
	}
}

// Issue 10 items 2 and 3: a signature binds the operation, the region and the service, on the
// management API and on the IdP's admin API alike.
func TestSignatureBindsOperationRegionAndService(t *testing.T) {
	for _, backend := range storetest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			cfg := apptest.WithIdP(t, apptest.Config(t, backend))
			node := apptest.Start(t, cfg)
			ctx := context.Background()
			mgmtURL := "http://" + node.Addr("admin") + "/"
			idpURL := cfg.IdPIssuerBase + "/"

			avp := vp.NewFromConfig(sdkConfig(t, "us-east-1"), func(o *vp.Options) { o.BaseEndpoint = aws.String(mgmtURL) })
			ps, err := avp.CreatePolicyStore(ctx, &vp.CreatePolicyStoreInput{ValidationSettings: &types.ValidationSettings{Mode: types.ValidationModeOff}})
			if err != nil {
				t.Fatal(err)
			}
			cognito := cip.NewFromConfig(sdkConfig(t, "us-east-1"), func(o *cip.Options) { o.BaseEndpoint = aws.String(idpURL) })
			pool, err := cognito.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("corp")})
			if err != nil {
				t.Fatal(err)
			}
			poolID := pool.UserPool.Id
			if _, err := cognito.AdminCreateUser(ctx, &cip.AdminCreateUserInput{UserPoolId: poolID, Username: aws.String("alice")}); err != nil {
				t.Fatal(err)
			}
			if _, err := cognito.CreateGroup(ctx, &cip.CreateGroupInput{UserPoolId: poolID, GroupName: aws.String("admins")}); err != nil {
				t.Fatal(err)
			}

			avpJSON := map[string]string{"Content-Type": "application/x-amz-json-1.0"}
			cipJSON := map[string]string{"Content-Type": "application/x-amz-json-1.1"}
			psBody := map[string]string{"policyStoreId": aws.ToString(ps.PolicyStoreId)}
			groupBody := map[string]string{"UserPoolId": aws.ToString(poolID), "Username": "alice", "GroupName": "admins"}
			with := func(m map[string]string, k, v string) map[string]string {
				out := map[string]string{k: v}
				for a, b := range m {
					out[a] = b
				}
				return out
			}
			for _, tc := range []struct {
				name, url, service, region string
				body                       any
				signed, unsigned           map[string]string
				want                       string
			}{
				// The captured request did not sign X-Amz-Target; the replay names another operation.
				{"mgmt: unsigned target replayed as DeletePolicyStore", mgmtURL, "verifiedpermissions", "us-east-1", psBody,
					avpJSON, map[string]string{"X-Amz-Target": "VerifiedPermissions.DeletePolicyStore"}, "IncompleteSignatureException"},
				{"mgmt: signed target changed to DeletePolicyStore", mgmtURL, "verifiedpermissions", "us-east-1", psBody,
					with(avpJSON, "X-Amz-Target", "VerifiedPermissions.GetPolicyStore"), map[string]string{"X-Amz-Target": "VerifiedPermissions.DeletePolicyStore"}, "InvalidSignatureException"},
				{"mgmt: unsigned content type", mgmtURL, "verifiedpermissions", "us-east-1", psBody,
					map[string]string{"X-Amz-Target": "VerifiedPermissions.DeletePolicyStore"}, avpJSON, "IncompleteSignatureException"},
				{"mgmt: other region", mgmtURL, "verifiedpermissions", "eu-west-1", psBody,
					with(avpJSON, "X-Amz-Target", "VerifiedPermissions.DeletePolicyStore"), nil, "InvalidSignatureException"},
				{"mgmt: signed for cognito-idp", mgmtURL, "cognito-idp", "us-east-1", psBody,
					with(avpJSON, "X-Amz-Target", "VerifiedPermissions.DeletePolicyStore"), nil, "InvalidSignatureException"},
				{"idp: unsigned target replayed as AdminAddUserToGroup", idpURL, "cognito-idp", "us-east-1", groupBody,
					cipJSON, map[string]string{"X-Amz-Target": "AWSCognitoIdentityProviderService.AdminAddUserToGroup"}, "IncompleteSignatureException"},
				{"idp: other region", idpURL, "cognito-idp", "eu-west-1", groupBody,
					with(cipJSON, "X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup"), nil, "InvalidSignatureException"},
				{"idp: signed for verifiedpermissions", idpURL, "verifiedpermissions", "us-east-1", groupBody,
					with(cipJSON, "X-Amz-Target", "AWSCognitoIdentityProviderService.AdminAddUserToGroup"), nil, "InvalidSignatureException"},
			} {
				req := signedRequest(t, tc.url, tc.service, tc.region, tc.body, tc.signed, tc.unsigned)
				if status, got := awsErrorType(t, req); got != tc.want || status != http.StatusBadRequest {
					t.Errorf("%s: got %d %q, want 400 %s", tc.name, status, got, tc.want)
				}
			}

			// Nothing happened: the store still exists and alice is in no group.
			if _, err := avp.GetPolicyStore(ctx, &vp.GetPolicyStoreInput{PolicyStoreId: ps.PolicyStoreId}); err != nil {
				t.Fatalf("policy store gone: %v", err)
			}
			groups, err := cognito.AdminListGroupsForUser(ctx, &cip.AdminListGroupsForUserInput{UserPoolId: poolID, Username: aws.String("alice")})
			if err != nil || len(groups.Groups) != 0 {
				t.Fatalf("alice's groups: %v, %+v", err, groups)
			}

			// The real SDK configured for another region is refused by both APIs.
			_, err = vp.NewFromConfig(sdkConfig(t, "eu-west-1"), func(o *vp.Options) { o.BaseEndpoint = aws.String(mgmtURL) }).
				ListPolicyStores(ctx, &vp.ListPolicyStoresInput{})
			wantAPIError(t, "avp from eu-west-1", err, "InvalidSignatureException")
			_, err = cip.NewFromConfig(sdkConfig(t, "eu-west-1"), func(o *cip.Options) { o.BaseEndpoint = aws.String(idpURL) }).
				ListUserPools(ctx, &cip.ListUserPoolsInput{MaxResults: aws.Int32(10)})
			wantAPIError(t, "cognito from eu-west-1", err, "InvalidSignatureException")
		})
	}
}
