package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
)

// hookEvent is Cognito's pre-token-generation V2 event.
type hookEvent struct {
	Version       string        `json:"version"`
	TriggerSource string        `json:"triggerSource"`
	Region        string        `json:"region"`
	UserPoolID    string        `json:"userPoolId"`
	UserName      string        `json:"userName"`
	CallerContext callerContext `json:"callerContext"`
	Request       hookRequest   `json:"request"`
	Response      hookResponse  `json:"response"`
}

type hookResponse struct {
	Details *overrideDetails `json:"claimsAndScopeOverrideDetails"`
}

type callerContext struct {
	AWSSDKVersion string `json:"awsSdkVersion"`
	ClientID      string `json:"clientId"`
}

type hookRequest struct {
	UserAttributes     map[string]string  `json:"userAttributes"`
	GroupConfiguration groupConfiguration `json:"groupConfiguration"`
	Scopes             []string           `json:"scopes"`
}

type groupConfiguration struct {
	GroupsToOverride   []string `json:"groupsToOverride"`
	IAMRolesToOverride []string `json:"iamRolesToOverride"`
	PreferredRole      *string  `json:"preferredRole"`
}

// overrideDetails is response.claimsAndScopeOverrideDetails.
type overrideDetails struct {
	IDTokenGeneration     *tokenGeneration `json:"idTokenGeneration"`
	AccessTokenGeneration *tokenGeneration `json:"accessTokenGeneration"`
	GroupOverrideDetails  *groupOverride   `json:"groupOverrideDetails"`
}

type tokenGeneration struct {
	ClaimsToAddOrOverride map[string]json.RawMessage `json:"claimsToAddOrOverride"`
	ClaimsToSuppress      []string                   `json:"claimsToSuppress"`
	ScopesToAdd           []string                   `json:"scopesToAdd"`
	ScopesToSuppress      []string                   `json:"scopesToSuppress"`
}

type groupOverride struct {
	GroupsToOverride   *[]string `json:"groupsToOverride"`
	IAMRolesToOverride []string  `json:"iamRolesToOverride"`
	PreferredRole      *string   `json:"preferredRole"`
}

const maxHookResponse = 256 << 10

// validateHookURL accepts absolute http(s) URLs only.
func validateHookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return errf(CodeInvalidParameter, "Pre token generation hook must be an absolute http(s) URL without credentials.")
	}
	return nil
}

// callHook sends the V2 event and returns the override details (nil when the hook returned
// none). Any failure — timeout, transport error, non-2xx, unparsable or invalid response —
// fails the sign-in, as Cognito does when the trigger fails.
func (p *IdP) callHook(ctx context.Context, pool *Pool, client *Client, u *User, groups, scopes []string, trigger string) (*overrideDetails, error) {
	attrs := map[string]string{"sub": u.Sub, "cognito:user_status": u.Status}
	maps.Copy(attrs, u.Attributes)
	if groups == nil {
		groups = []string{}
	}
	if scopes == nil {
		scopes = []string{}
	}
	ev := hookEvent{
		Version: "2", TriggerSource: trigger, Region: pool.Region, UserPoolID: pool.ID, UserName: u.Username,
		CallerContext: callerContext{AWSSDKVersion: "gatehouse", ClientID: client.ID},
		Request: hookRequest{UserAttributes: attrs, Scopes: scopes,
			GroupConfiguration: groupConfiguration{GroupsToOverride: groups, IAMRolesToOverride: []string{}}},
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return nil, fmt.Errorf("encode hook event: %w", err)
	}
	timeout := p.hookWait
	if pool.PreTokenHook.Timeout > 0 {
		timeout = pool.PreTokenHook.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	fail := func(reason string, err error) (*overrideDetails, error) {
		p.log.Warn("pre token generation hook failed", "pool", pool.ID, "reason", reason, "err", err)
		return nil, errf(CodeUnexpectedLambda, "PreTokenGeneration failed with error %s.", reason)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, pool.PreTokenHook.URL, bytes.NewReader(body))
	if err != nil {
		return fail("invalid hook URL", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.hookHTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return fail("timeout", err)
		}
		return fail("hook unreachable", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxHookResponse+1))
	if err != nil {
		return fail("reading the hook response", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fail(fmt.Sprintf("hook returned HTTP %d", resp.StatusCode), nil)
	}
	if len(raw) > maxHookResponse {
		return nil, errf(CodeInvalidLambdaResp, "Invalid lambda response: response too large.")
	}
	return parseHookResponse(raw)
}

// parseHookResponse reads response.claimsAndScopeOverrideDetails from the hook's reply (the
// event echoed back with response filled in, as a Lambda returns it).
func parseHookResponse(raw []byte) (*overrideDetails, error) {
	var out struct {
		Response *struct {
			Details *overrideDetails `json:"claimsAndScopeOverrideDetails"`
		} `json:"response"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, errf(CodeInvalidLambdaResp, "Invalid lambda response: %s", "response is not a valid event JSON.")
	}
	if out.Response == nil || out.Response.Details == nil {
		return nil, nil
	}
	d := out.Response.Details
	for _, g := range []*tokenGeneration{d.IDTokenGeneration, d.AccessTokenGeneration} {
		if g == nil {
			continue
		}
		for k, v := range g.ClaimsToAddOrOverride {
			if immutableClaims[k] || k == "" {
				return nil, errf(CodeInvalidLambdaResp, "Invalid lambda response: claim %q cannot be modified.", k)
			}
			if !json.Valid(v) {
				return nil, errf(CodeInvalidLambdaResp, "Invalid lambda response: claim %q is not valid JSON.", k)
			}
		}
		for _, k := range g.ClaimsToSuppress {
			if immutableClaims[k] {
				return nil, errf(CodeInvalidLambdaResp, "Invalid lambda response: claim %q cannot be suppressed.", k)
			}
		}
	}
	if d.IDTokenGeneration != nil && (len(d.IDTokenGeneration.ScopesToAdd) > 0 || len(d.IDTokenGeneration.ScopesToSuppress) > 0) {
		return nil, errf(CodeInvalidLambdaResp, "Invalid lambda response: scopes can only be changed on the access token.")
	}
	if a := d.AccessTokenGeneration; a != nil {
		for _, s := range slices.Concat(a.ScopesToAdd, a.ScopesToSuppress) {
			if !validScopeToken(s) {
				return nil, errf(CodeInvalidLambdaResp, "Invalid lambda response: scope %q is not valid.", s)
			}
		}
	}
	return d, nil
}

// validScopeToken follows RFC 6749 scope-token syntax.
func validScopeToken(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return false
		}
	}
	return true
}
