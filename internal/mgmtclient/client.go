// Package mgmtclient calls Gatehouse's management API (AWS JSON 1.0, SigV4-signed) for the
// command-line tools, with the same request and response shapes the server uses.
package mgmtclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client is a management API client.
type Client struct {
	Endpoint        string // e.g. http://127.0.0.1:8181
	AccessKeyID     string
	SecretAccessKey string
	Region          string
	HTTP            *http.Client
}

// Error is an error answered by the API.
type Error struct {
	Status  int
	Type    string `json:"__type"`
	Message string `json:"message"`
	Fields  []struct {
		Path    string `json:"path"`
		Message string `json:"message"`
	} `json:"fieldList"`
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", e.Type, e.Message)
	for _, f := range e.Fields {
		if !strings.Contains(e.Message, f.Message) {
			fmt.Fprintf(&b, "; %s: %s", f.Path, f.Message)
		}
	}
	return b.String()
}

// Is lets errors.Is match on the AWS error type, e.g. &Error{Type: "ResourceNotFoundException"}.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Type == e.Type
}

// NotFound matches ResourceNotFoundException with errors.Is.
var NotFound = &Error{Type: "ResourceNotFoundException"}

// Call invokes target ("VerifiedPermissions.CreatePolicy", "Gatehouse.PutEntities") with in and
// decodes the answer into out (which may be nil).
func (c *Client) Call(ctx context.Context, target string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encode: %w", target, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(body)
	region := c.Region
	if region == "" {
		region = "us-east-1"
	}
	service := "verifiedpermissions"
	if strings.HasPrefix(target, "Gatehouse.") {
		service = "gatehouse"
	}
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, region, time.Now()); err != nil {
		return fmt.Errorf("%s: sign: %w", target, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s: read answer: %w", target, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(rb, e) != nil || e.Type == "" {
			return fmt.Errorf("%s: HTTP %d: %.200s", target, resp.StatusCode, rb)
		}
		if i := strings.LastIndex(e.Type, "#"); i >= 0 {
			e.Type = e.Type[i+1:]
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(rb, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", target, err)
	}
	return nil
}
