package identity

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// Token is a validated token. Tokens returned by [Registry.Validate] may be shared with the
// verified-token cache: treat Claims as read-only.
type Token struct {
	Issuer  string
	Use     TokenUse // the use it was validated for
	Subject string
	JTI     string
	// Claims holds every claim as decoded JSON: string, bool, nil, json.Number (integers stay
	// exact), []any and map[string]any.
	Claims    map[string]any
	Expiry    time.Time
	NotBefore time.Time // zero when absent
	IssuedAt  time.Time // zero when absent
	// RawHash is the SHA-256 of the raw token; the raw token itself is never kept.
	RawHash [32]byte

	alg      string
	typ      string
	aud      []string
	clientID string
	cid      string
	tokenUse string
	keys     KeyStamp
}

// Keys returns the stamp of the key material that verified the token. Anything derived from the
// token and kept beyond the request (a decision cache entry) must keep the stamp and be used only
// while [KeyStamp.Current] holds.
func (t *Token) Keys() KeyStamp { return t.keys }

// KeyStamp identifies one issuer's key set at one version of its key material. The zero value is
// never current.
type KeyStamp struct {
	ks      *keySet
	version uint64
	tok     *Token // for the revocation check
}

// RetainedBytes is the estimated heap a holder of the stamp keeps alive beyond the stamp itself
// (the token, for the revocation check), so a byte-bounded cache of stamps can weigh it.
func (s KeyStamp) RetainedBytes() int {
	if s.tok == nil {
		return 0
	}
	return int(weigh(s.tok)) - nodeOverhead
}

// Current reports whether the key set that verified the token is still its registry's key set
// for that issuer, still holds the same key material (a key added, removed or changed bumps the
// version, as a policy change bumps a store revision) and is fresh enough to use (within the
// maximum staleness) and the token was not revoked since (see [RevocationChecker]). A due
// background refresh is started, so a cache that answers from stamps
// alone still sees rotations.
func (s KeyStamp) Current() bool {
	ks := s.ks
	if ks == nil {
		return false
	}
	if ks.dropped.Load() {
		return false
	}
	r := ks.reg
	now := r.now()
	snap := ks.current(now)
	if snap == nil || snap.version != s.version || (s.tok != nil && r.revoked(s.tok)) {
		return false
	}
	ks.touch(now)
	if !now.Before(snap.refreshAt) {
		r.refreshAsync(ks)
	}
	return true
}

// Audience returns the aud claim as a list (a single string becomes one element).
func (t *Token) Audience() []string { return t.aud }

// stringClaims must be JSON strings when present; anything else is type confusion (sec.md row 26).
var stringClaims = []string{"sub", "jti", "token_use", "client_id", "cid", "azp", "scope", "username", "cognito:username", "origin_jti", "event_id"}

// newToken applies the source-independent claim rules: types of registered claims and exp present.
func newToken(p *parsed, hash [32]byte) (*Token, error) {
	c := p.claims
	t := &Token{Claims: c, RawHash: hash, alg: p.hdr.alg, typ: p.hdr.typ}
	iss, ok := c["iss"].(string)
	if !ok || iss == "" {
		return nil, fail(ErrClaims, "iss must be a non-empty string")
	}
	t.Issuer = iss
	for _, name := range stringClaims {
		if v, present := c[name]; present {
			if _, ok := v.(string); !ok {
				return nil, fail(ErrClaims, "%s must be a string", name)
			}
		}
	}
	t.Subject, _ = c["sub"].(string)
	t.JTI, _ = c["jti"].(string)
	t.tokenUse, _ = c["token_use"].(string)
	t.clientID, _ = c["client_id"].(string)
	t.cid, _ = c["cid"].(string)

	exp, present := c["exp"]
	if !present {
		return nil, fail(ErrClaims, "exp is required")
	}
	var err error
	if t.Expiry, err = numericDate("exp", exp); err != nil {
		return nil, err
	}
	if v, present := c["nbf"]; present {
		if t.NotBefore, err = numericDate("nbf", v); err != nil {
			return nil, err
		}
	}
	if v, present := c["iat"]; present {
		if t.IssuedAt, err = numericDate("iat", v); err != nil {
			return nil, err
		}
	}
	if v, present := c["auth_time"]; present {
		if _, err = numericDate("auth_time", v); err != nil {
			return nil, err
		}
	}
	switch a := c["aud"].(type) {
	case nil:
		if _, present := c["aud"]; present {
			return nil, fail(ErrClaims, "aud must be a string or an array of strings")
		}
	case string:
		t.aud = []string{a}
	case []any:
		t.aud = make([]string, 0, len(a))
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, fail(ErrClaims, "aud must be a string or an array of strings")
			}
			t.aud = append(t.aud, s)
		}
	default:
		return nil, fail(ErrClaims, "aud must be a string or an array of strings")
	}
	if v, present := c[CognitoGroupClaim]; present {
		if !isStringArray(v) {
			return nil, fail(ErrClaims, "%s must be an array of strings", CognitoGroupClaim)
		}
	}
	return t, nil
}

func isStringArray(v any) bool {
	arr, ok := v.([]any)
	if !ok {
		return false
	}
	for _, e := range arr {
		if _, ok := e.(string); !ok {
			return false
		}
	}
	return true
}

// maxNumericDate is year 5138; larger values are garbage, and they would overflow time math.
const maxNumericDate = 1e11

func numericDate(name string, v any) (time.Time, error) {
	n, ok := v.(json.Number)
	if !ok {
		return time.Time{}, fail(ErrClaims, "%s must be a number", name)
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return time.Time{}, fail(ErrClaims, "%s is not a valid NumericDate", name)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}
