// Package sigv4 verifies AWS Signature Version 4 signed requests.
//
// Only header-based authentication with the AWS4-HMAC-SHA256 algorithm is
// accepted; presigned (query-string) requests are rejected. The canonical
// request is rebuilt from the request as received (path segments URI-encoded
// once more, as every AWS service except S3 expects), so the verifier
// checks exactly what the client signed. Every failure is an *Error whose
// Unwrap returns one of the sentinel kinds below, so callers map kinds to
// protocol errors with errors.Is and may show Error() to the client: the
// messages never contain secrets or the expected signature. Temporary
// credentials (X-Amz-Security-Token) are not supported and are rejected.
//
// A valid signature binds the whole request as the handler sees it: host,
// X-Amz-Date and every header that selects or changes the operation
// (X-Amz-Target, Content-Type, Content-Encoding, any other X-Amz-*) must be
// among the SignedHeaders, so a captured request cannot be replayed as a
// different operation by adding or changing an unsigned header. The
// credential scope must name the verifier's region and one of its services,
// and its date must be the date of X-Amz-Date, so a signature made for one
// API or region is never accepted by another.
package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

const (
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	defaultMaxSkew  = 15 * time.Minute
)

// Failure kinds. Each maps to one AWS error code.
var (
	// ErrMissing: no Authorization header (AWS: MissingAuthenticationTokenException).
	ErrMissing = errors.New("missing authentication token")
	// ErrMalformed: the Authorization header or a required header is unusable
	// (AWS: IncompleteSignatureException).
	ErrMalformed = errors.New("incomplete signature")
	// ErrUnknownKey: the access key id is not known (AWS: UnrecognizedClientException).
	ErrUnknownKey = errors.New("unrecognized client")
	// ErrExpired: the request time is outside the allowed skew (AWS: InvalidSignatureException).
	ErrExpired = errors.New("signature expired")
	// ErrInvalid: scope or signature does not match (AWS: InvalidSignatureException).
	ErrInvalid = errors.New("invalid signature")
)

// Error is a verification failure. Message is safe to return to the client.
type Error struct {
	Kind    error
	Message string
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Verifier checks SigV4 signatures. The zero value rejects every request
// because Lookup is nil.
type Verifier struct {
	// Lookup returns the secret access key for an access key id.
	Lookup func(accessKeyID string) (secret string, ok bool)
	// Services lists the accepted signing names, e.g. "verifiedpermissions".
	// Empty accepts none.
	Services []string
	// Region is the only region accepted in the credential scope, e.g.
	// "us-east-1". Empty accepts none.
	Region string
	// MaxSkew bounds |now - X-Amz-Date|; zero means 15 minutes.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// authHeader is the parsed Authorization header.
type authHeader struct {
	accessKeyID   string
	date          string // yyyymmdd from the credential scope
	region        string
	service       string
	signedHeaders []string
	signature     []byte
}

// Verify checks the signature of r, whose body has already been read into
// body, and returns the access key id that signed it.
func (v *Verifier) Verify(r *http.Request, body []byte) (accessKeyID string, err error) {
	q := r.URL.Query()
	if q.Has("X-Amz-Signature") || q.Has("X-Amz-Credential") || q.Has("X-Amz-Algorithm") {
		return "", fail(ErrMalformed, "Query-string (presigned) authentication is not supported.")
	}
	authz := r.Header.Values("Authorization")
	if len(authz) == 0 || (len(authz) == 1 && strings.TrimSpace(authz[0]) == "") {
		return "", fail(ErrMissing, "Missing Authentication Token")
	}
	if len(authz) > 1 {
		return "", fail(ErrMalformed, "Only one Authorization header is allowed.")
	}
	ah, err := parseAuthorization(authz[0])
	if err != nil {
		return "", err
	}
	if !slices.Contains(ah.signedHeaders, "host") {
		return "", fail(ErrMalformed, "'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if !slices.Contains(ah.signedHeaders, "x-amz-date") {
		return "", fail(ErrMalformed, "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
	}
	if err := checkSignedHeaders(r.Header, ah.signedHeaders); err != nil {
		return "", err
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, perr := time.Parse(amzDateFormat, amzDate)
	if perr != nil || len(r.Header.Values("X-Amz-Date")) != 1 {
		return "", fail(ErrMalformed, "X-Amz-Date must be a single timestamp in the form yyyyMMdd'T'HHmmss'Z'.")
	}
	if ah.date != amzDate[:8] {
		return "", fail(ErrInvalid, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.", ah.date, amzDate[:8], amzDate)
	}
	if v.Region == "" || ah.region != v.Region {
		return "", fail(ErrInvalid, "Credential should be scoped to a valid region, not '%s'.", truncate(ah.region, 40))
	}
	if !slices.Contains(v.Services, ah.service) {
		return "", fail(ErrInvalid, "Credential should be scoped to correct service: '%s'.", strings.Join(v.Services, "', '"))
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	n := now().UTC()
	if t.Before(n.Add(-skew)) {
		return "", fail(ErrExpired, "Signature expired: %s is now earlier than %s (%s - %s.)", amzDate, n.Add(-skew).Format(amzDateFormat), n.Format(amzDateFormat), skew)
	}
	if t.After(n.Add(skew)) {
		return "", fail(ErrExpired, "Signature not yet current: %s is still later than %s (%s + %s.)", amzDate, n.Add(skew).Format(amzDateFormat), n.Format(amzDateFormat), skew)
	}

	// Session tokens belong to temporary credentials, which this verifier
	// cannot validate; accepting the request would ignore part of what the
	// client presented as its identity.
	if r.Header.Get("X-Amz-Security-Token") != "" {
		return "", fail(ErrUnknownKey, "The security token included in the request is invalid.")
	}
	if v.Lookup == nil {
		return "", fail(ErrUnknownKey, "The security token included in the request is invalid.")
	}
	secret, ok := v.Lookup(ah.accessKeyID)
	if !ok {
		return "", fail(ErrUnknownKey, "The security token included in the request is invalid.")
	}

	payloadHash, err := payloadHash(r, body)
	if err != nil {
		return "", err
	}
	creq, err := canonicalRequest(r, ah.signedHeaders, payloadHash)
	if err != nil {
		return "", err
	}
	scope := ah.date + "/" + ah.region + "/" + ah.service + "/aws4_request"
	sts := stringToSign(amzDate, scope, creq)
	want := hmacSHA256(signingKey(secret, ah.date, ah.region, ah.service), []byte(sts))
	if !hmac.Equal(want, ah.signature) {
		return "", fail(ErrInvalid, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	return ah.accessKeyID, nil
}

// parseAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/svc/aws4_request, SignedHeaders=a;b, Signature=hex".
func parseAuthorization(h string) (authHeader, error) {
	var ah authHeader
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return ah, fail(ErrMalformed, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	if alg != Algorithm {
		return ah, fail(ErrMalformed, "Unsupported AWS 'algorithm': '%s'.", truncate(alg, 40))
	}
	var cred, signed, sig string
	var seenCred, seenSigned, seenSig bool
	for part := range strings.SplitSeq(rest, ",") {
		part = strings.TrimSpace(part)
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			return ah, fail(ErrMalformed, "Authorization header parameters must be key=value pairs.")
		}
		var dst *string
		var seen *bool
		switch k {
		case "Credential":
			dst, seen = &cred, &seenCred
		case "SignedHeaders":
			dst, seen = &signed, &seenSigned
		case "Signature":
			dst, seen = &sig, &seenSig
		default:
			return ah, fail(ErrMalformed, "Unknown Authorization header parameter '%s'.", truncate(k, 40))
		}
		if *seen {
			return ah, fail(ErrMalformed, "Duplicate Authorization header parameter '%s'.", k)
		}
		*dst, *seen = val, true
	}
	if !seenCred || !seenSigned || !seenSig {
		return ah, fail(ErrMalformed, "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.")
	}
	fields := strings.Split(cred, "/")
	if len(fields) != 5 || fields[4] != "aws4_request" || fields[0] == "" || fields[2] == "" || fields[3] == "" {
		return ah, fail(ErrMalformed, "Credential must have the form <access key>/<date>/<region>/<service>/aws4_request.")
	}
	if _, err := time.Parse(scopeDateFormat, fields[1]); err != nil || len(fields[1]) != 8 {
		return ah, fail(ErrMalformed, "Credential scope date must be in the form yyyyMMdd.")
	}
	ah.accessKeyID, ah.date, ah.region, ah.service = fields[0], fields[1], fields[2], fields[3]

	if signed == "" {
		return ah, fail(ErrMalformed, "SignedHeaders must not be empty.")
	}
	ah.signedHeaders = strings.Split(signed, ";")
	for i, name := range ah.signedHeaders {
		// The list must be the lowercase, sorted, duplicate-free form the
		// signer produced, or the canonical request would be ambiguous.
		if name == "" || name != strings.ToLower(name) || (i > 0 && ah.signedHeaders[i-1] >= name) {
			return ah, fail(ErrMalformed, "SignedHeaders must be lowercase, sorted and unique.")
		}
	}
	b, err := hex.DecodeString(sig)
	if err != nil || len(b) != sha256.Size {
		return ah, fail(ErrMalformed, "Signature must be 64 hexadecimal characters.")
	}
	ah.signature = b
	return ah, nil
}

// checkSignedHeaders rejects a request carrying a header that selects or
// changes the operation but is not covered by the signature. Real SDKs sign
// every header except a few transport ones (User-Agent, X-Amzn-Trace-Id,
// Expect, Transfer-Encoding), so they always pass.
func checkSignedHeaders(h http.Header, signed []string) error {
	for name := range h {
		if !operationHeader(name) || slices.ContainsFunc(signed, func(s string) bool { return strings.EqualFold(s, name) }) {
			continue
		}
		return fail(ErrMalformed, "Header '%s' is present in the request but is not a 'SignedHeader' in the AWS Authorization.", truncate(strings.ToLower(name), 100))
	}
	return nil
}

// operationHeader reports whether a header (any case) can change what a request does or how
// its body is read.
func operationHeader(name string) bool {
	const amz = "x-amz-"
	return strings.EqualFold(name, "content-type") || strings.EqualFold(name, "content-encoding") ||
		len(name) >= len(amz) && strings.EqualFold(name[:len(amz)], amz)
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// payloadHash returns the hex SHA-256 of body. A client-sent
// X-Amz-Content-Sha256 must match it: unsigned or streaming payloads are not
// accepted, because the body is what the caller acts on.
func payloadHash(r *http.Request, body []byte) (string, error) {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])
	if vals := r.Header.Values("X-Amz-Content-Sha256"); len(vals) > 0 {
		if len(vals) != 1 || !strings.EqualFold(strings.TrimSpace(vals[0]), h) {
			return "", fail(ErrInvalid, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
	}
	return h, nil
}

// canonicalRequest builds the SigV4 canonical request.
func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) (string, error) {
	var b strings.Builder
	b.Grow(512)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		switch name {
		case "host":
			host := r.Host
			if host == "" {
				host = r.URL.Host
			}
			b.WriteString(collapseSpaces(host))
		default:
			vals := r.Header.Values(name)
			if len(vals) == 0 && name == "content-length" && r.ContentLength >= 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
			if len(vals) == 0 {
				return "", fail(ErrMalformed, "Signed header '%s' is missing from the request.", truncate(name, 100))
			}
			for i, v := range vals {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(collapseSpaces(v))
			}
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String(), nil
}

// canonicalURI URI-encodes each segment of the path as received. The path
// is encoded a second time on purpose: non-S3 clients sign the already
// escaped path escaped once more.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = uriEncode(s)
	}
	return strings.Join(segs, "/")
}

// canonicalQuery sorts parameters by name then value, each RFC 3986 encoded.
func canonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	type kv struct{ k, v string }
	var pairs []kv
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		// Undecodable escapes are signed verbatim; the signature then
		// simply fails to match unless the client did the same.
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		pairs = append(pairs, kv{uriEncode(k), uriEncode(v)})
	}
	slices.SortFunc(pairs, func(a, b kv) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
	return b.String()
}

// uriEncode percent-encodes every byte except the RFC 3986 unreserved set.
func uriEncode(s string) string {
	const hexdig = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			out = append(out, c)
		} else {
			out = append(out, '%', hexdig[c>>4], hexdig[c&15])
		}
	}
	return string(out)
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// collapseSpaces trims the value and collapses runs of spaces into one.
func collapseSpaces(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prevSpace := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' {
			if prevSpace {
				continue
			}
			prevSpace = true
		} else {
			prevSpace = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

func stringToSign(amzDate, scope, canonicalRequest string) string {
	sum := sha256.Sum256([]byte(canonicalRequest))
	return Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(sum[:])
}

func signingKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), []byte(date))
	k = hmacSHA256(k, []byte(region))
	k = hmacSHA256(k, []byte(service))
	return hmacSHA256(k, []byte("aws4_request"))
}

func hmacSHA256(key, data []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(data)
	return m.Sum(nil)
}
