package identity

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxTokenSize caps the raw token before any parsing (sec.md §0.3; Envoy uses 8096).
const MaxTokenSize = 8 << 10

const (
	maxKIDLen    = 256
	maxJSONDepth = 16
)

var b64 = base64.RawURLEncoding.Strict()

// header is the JOSE header after the allow-list check.
type header struct {
	alg string
	kid string
	typ string
}

// allowedHeaders is an allow-list, not a deny-list: crit, b64, jku, x5u, jwk, x5c, enc, zip, cty and
// anything new are all refused, because golang-jwt (like most libraries) ignores them silently.
// x5t/x5t#S256 are informational thumbprints that some IdPs (Entra ID) always send.
var allowedHeaders = map[string]bool{"alg": true, "kid": true, "typ": true, "x5t": true, "x5t#S256": true}

// parsed is a token that passed the structural checks but is not yet verified.
type parsed struct {
	hdr          header
	signingInput string
	sig          []byte
	claims       map[string]any
}

// parseCompact does the pre-verification checks of sec.md §1 in order: size, charset, exactly three
// non-empty segments, strict base64url, header JSON without duplicate or case-variant keys, header
// allow-list, claims JSON likewise.
func parseCompact(raw string) (*parsed, error) {
	if len(raw) == 0 {
		return nil, fail(ErrMalformed, "empty token")
	}
	if len(raw) > MaxTokenSize {
		return nil, fail(ErrMalformed, "token is %d bytes, limit %d", len(raw), MaxTokenSize)
	}
	dot1, dot2 := -1, -1
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			switch {
			case dot1 < 0:
				dot1 = i
			case dot2 < 0:
				dot2 = i
			default:
				return nil, fail(ErrMalformed, "more than three segments (JWE and nested forms are not accepted)")
			}
		default:
			return nil, fail(ErrMalformed, "byte 0x%02x at offset %d is not base64url", c, i)
		}
	}
	if dot2 < 0 {
		return nil, fail(ErrMalformed, "not three segments")
	}
	h, p, s := raw[:dot1], raw[dot1+1:dot2], raw[dot2+1:]
	if h == "" || p == "" || s == "" {
		return nil, fail(ErrMalformed, "empty segment")
	}
	hb, err := b64.DecodeString(h)
	if err != nil {
		return nil, fail(ErrMalformed, "header: %v", err)
	}
	pb, err := b64.DecodeString(p)
	if err != nil {
		return nil, fail(ErrMalformed, "payload: %v", err)
	}
	sig, err := b64.DecodeString(s)
	if err != nil {
		return nil, fail(ErrMalformed, "signature: %v", err)
	}
	// RFC 8259 §8.1: JSON exchanged between systems is UTF-8. encoding/json would replace
	// invalid bytes, and escapes of lone surrogates, by U+FFFD, so two distinct byte strings
	// (two sub values) would become one.
	if err := checkJSONText(hb); err != nil {
		return nil, fail(ErrMalformed, "header: %v", err)
	}
	if err := checkJSONText(pb); err != nil {
		return nil, fail(ErrMalformed, "payload: %v", err)
	}
	hm, err := decodeObject(hb)
	if err != nil {
		return nil, fail(ErrMalformed, "header: %v", err)
	}
	var hdr header
	for k, v := range hm {
		if !allowedHeaders[k] {
			return nil, fail(ErrMalformed, "header parameter %.40q is not accepted", k)
		}
		s, ok := v.(string)
		if !ok {
			return nil, fail(ErrMalformed, "header parameter %q must be a string", k)
		}
		switch k {
		case "alg":
			hdr.alg = s
		case "kid":
			if s == "" || len(s) > maxKIDLen {
				return nil, fail(ErrMalformed, "kid must be 1 to %d characters", maxKIDLen)
			}
			hdr.kid = s
		case "typ":
			hdr.typ = s
		}
	}
	if hdr.alg == "" {
		return nil, fail(ErrMalformed, "header has no alg")
	}
	claims, err := decodeObject(pb)
	if err != nil {
		return nil, fail(ErrMalformed, "payload: %v", err)
	}
	return &parsed{hdr: hdr, signingInput: raw[:dot2], sig: sig, claims: claims}, nil
}

var (
	errInvalidUTF8   = errors.New("JSON is not valid UTF-8")
	errLoneSurrogate = errors.New("JSON escapes a lone UTF-16 surrogate")
	errNotObject     = errors.New("not a JSON object")
	errTooDeep       = errors.New("JSON nested too deeply")
)

// decodeObject decodes a JSON object with numbers as json.Number, rejecting duplicate keys at any
// depth and case-variant keys at the top level. encoding/json alone would let the last duplicate
// win, so {"alg":"RS256","alg":"none"} or {"sub":"a","Sub":"b"} could mean different things to
// different readers.
func decodeObject(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errNotObject
	}
	m, err := decodeObjectBody(dec, 1, true)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after JSON object")
	}
	return m, nil
}

func decodeObjectBody(dec *json.Decoder, depth int, top bool) (map[string]any, error) {
	if depth > maxJSONDepth {
		return nil, errTooDeep
	}
	m := make(map[string]any)
	var folded map[string]struct{}
	if top {
		folded = make(map[string]struct{})
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("object key is not a string")
		}
		if _, dup := m[key]; dup {
			return nil, errors.New("duplicate key " + truncQuote(key))
		}
		if top {
			lk := strings.ToLower(key)
			if _, dup := folded[lk]; dup {
				return nil, errors.New("case-variant duplicate key " + truncQuote(key))
			}
			folded[lk] = struct{}{}
		}
		v, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		m[key] = v
	}
	if _, err := dec.Token(); err != nil { // closing '}'
		return nil, err
	}
	return m, nil
}

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := tok.(type) {
	case json.Delim:
		switch v {
		case '{':
			return decodeObjectBody(dec, depth+1, false)
		case '[':
			if depth+1 > maxJSONDepth {
				return nil, errTooDeep
			}
			arr := []any{}
			for dec.More() {
				e, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, e)
			}
			if _, err := dec.Token(); err != nil { // closing ']'
				return nil, err
			}
			return arr, nil
		}
		return nil, errors.New("unexpected delimiter")
	default:
		return v, nil // string, json.Number, bool or nil
	}
}

func truncQuote(s string) string {
	if len(s) > 40 {
		s = s[:40]
	}
	b, _ := json.Marshal(s)
	return string(b)
}

// checkJSONText refuses JSON that does not denote exactly one Unicode text: bytes that are not
// UTF-8 (RFC 8259 §8.1) and \u escapes of a surrogate that is not half of a high-low pair
// (§8.2, "unpredictable" to receivers). encoding/json turns both into U+FFFD, so "a\ud800",
// "a\udfff", "a\xff" and "a\ufffd" would all decode to one string. A backslash outside a
// string is a syntax error the decoder reports anyway, so escapes are read wherever they are.
func checkJSONText(b []byte) error {
	if !utf8.Valid(b) {
		return errInvalidUTF8
	}
	for i := 0; i < len(b); i++ {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 {
			return nil
		}
		i += j + 1 // the escaped byte; \\ and \" are skipped whole
		if i >= len(b) || b[i] != 'u' {
			continue
		}
		r, ok := hex4(b, i+1)
		i += 4
		switch {
		case !ok || r < 0xD800 || r > 0xDFFF:
			// Not a surrogate; a malformed escape is the decoder's to refuse.
		case r >= 0xDC00:
			return errLoneSurrogate // a low surrogate with no high one before it
		default:
			if i+2 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
				return errLoneSurrogate
			}
			if lo, ok := hex4(b, i+3); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return errLoneSurrogate
			}
			i += 6
		}
	}
	return nil
}

// hex4 reads the four hexadecimal digits of a \u escape starting at b[i].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
