// Package router canonicalizes request paths and matches them against an API's routes with API
// Gateway's precedence.
//
// The gateway calls [Canonicalize] once on the request's escaped path, authorizes the route
// that [Table.Match] finds for the result, and forwards exactly that string upstream. There is
// no second view of the path anywhere: the canonical form is the only one.
package router

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxPathLength bounds the escaped path Canonicalize accepts. API Gateway's own URL limit is
// 10 KiB including the query; a path longer than this is treated as an attack, not a request.
const MaxPathLength = 8192

// ErrBadPath is wrapped by every error Canonicalize returns. The gateway answers such requests
// without routing or authorizing them.
var ErrBadPath = errors.New("bad request path")

// PathError says why a path was rejected. Reason is short and stable so it can be used as a
// metric label or audit reason; the offending path itself is deliberately not part of the
// message, so logging the error never echoes attacker-controlled bytes.
type PathError struct {
	Offset int    // byte offset in the raw path where the problem was found
	Reason string // e.g. "encoded slash", "dot segment"
}

func (e *PathError) Error() string {
	return "bad request path: " + e.Reason + " at byte " + strconv.Itoa(e.Offset)
}

// Unwrap makes errors.Is(err, ErrBadPath) hold.
func (e *PathError) Unwrap() error { return ErrBadPath }

func bad(off int, reason string) error { return &PathError{Offset: off, Reason: reason} }

// Byte classes of the canonical form. Every byte value has exactly one spelling in a canonical
// path: it appears raw (rawOK), or as an upper-case %XX escape (keepEscaped), or the path is
// rejected. Two requests that any RFC 3986 decoder sees as the same path therefore have the
// same canonical form, which is what removes the "split view" between gateway and upstream.
const (
	classReject     = iota // never valid, raw or encoded
	classRaw               // valid raw; an escape of it is decoded to the raw byte
	classKeepEscape        // valid only as an escape; the raw byte is rejected
)

var byteClass = func() (c [256]uint8) {
	for b := range 256 {
		switch {
		case 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z', '0' <= b && b <= '9':
			c[b] = classRaw
		case strings.IndexByte("-_~!$&'()*+,=:@", byte(b)) >= 0:
			// Unreserved characters and the sub-delimiters RFC 3986 allows in a segment,
			// except ';' (path parameters, see below).
			c[b] = classRaw
		case b < 0x20 || b == 0x7f:
			c[b] = classReject
		case strings.IndexByte(`/\.%;?#`, byte(b)) >= 0:
			// Special-cased in Canonicalize: raw '/' and '.' are structural, the rest
			// are rejected in both forms.
			c[b] = classReject
		default:
			// Space, `"<>[]^{|}` and every byte >= 0x80.
			c[b] = classKeepEscape
		}
	}
	return c
}()

// encodedReason names the reason an escape is rejected.
func encodedReason(b byte) string {
	switch b {
	case '/':
		return "encoded slash"
	case '\\':
		return "encoded backslash"
	case '.':
		return "encoded dot"
	case '%':
		return "double encoding"
	case ';':
		return "encoded semicolon"
	case '?':
		return "encoded question mark"
	case '#':
		return "encoded hash"
	case 0:
		return "encoded NUL"
	}
	return "encoded control character"
}

func rawReason(b byte) string {
	switch {
	case b == 0:
		return "NUL"
	case b < 0x20 || b == 0x7f:
		return "control character"
	case b >= 0x80:
		return "non-ASCII byte"
	case b == '\\':
		return "backslash"
	case b == ';':
		return "semicolon"
	case b == '%':
		return "malformed percent escape"
	case b == '?' || b == '#':
		return "query or fragment delimiter in path"
	}
	return "character not allowed in path"
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

const upperHex = "0123456789ABCDEF"

// Canonicalize returns the canonical escaped form of a request path, or an error wrapping
// [ErrBadPath] saying why the path is refused.
//
// rawPath is the path as it came on the wire, still escaped and without the query
// (r.URL.EscapedPath()). The policy is to reject anything ambiguous rather than guess how
// the upstream will interpret it, and to normalize only what every decoder agrees on:
//
// Rejected:
//   - a path that is empty, does not start with '/', or is longer than [MaxPathLength];
//   - empty segments ("//" anywhere); a single trailing slash is kept, and "/cars/" stays
//     distinct from "/cars";
//   - "." and ".." segments: they are never resolved, since a legitimate client does not send
//     them and resolving them is where proxies and upstreams have disagreed;
//   - raw '\', ';', '?', '#', NUL, control characters (including TAB, CR, LF, DEL), non-ASCII
//     bytes, and the ASCII characters that RFC 3986 requires to be escaped (space, `"<>[]^{|}`
//     and backquote);
//   - percent-escapes of '/', '\', '.', '%' (double encoding), ';', '?', '#', NUL and every
//     control character; malformed escapes ("%", "%2", "%zz");
//   - escaped non-ASCII bytes unless, per segment, they decode to valid UTF-8 made only of
//     graphic, non-space characters and the decoded segment is NFKC-normal. This keeps ids like
//     "caf%C3%A9" working while refusing fullwidth and other compatibility forms ("%EF%BC%8F",
//     FULLWIDTH SOLIDUS) that an upstream applying NFKC would turn into ASCII delimiters.
//
// Normalized:
//   - escapes of characters that may appear raw (letters, digits, "-_~!$&'()*+,=:@") are
//     decoded, e.g. "%7e" and "%7E" become "~";
//   - remaining escapes (non-ASCII bytes, space, `"<>[]^{|}` and backquote) are kept, with
//     upper-case hex.
//
// The result is a fixed point (Canonicalize of it returns it unchanged) and each byte sequence
// it decodes to has exactly one canonical spelling. When nothing needs normalizing the input
// string is returned without allocating.
//
// To forward the request, set URL.RawPath to the result and URL.Path to its decoding
// (url.PathUnescape); every canonical path is a valid encoding for net/url, so EscapedPath
// then returns it byte for byte.
//
// Not covered: letter case is preserved and routes are case-sensitive, so an upstream that
// folds case sees "/ADMIN" and "/admin" as one path while the gateway does not; a raw '.' inside
// a segment ("admin.", "...") is an ordinary character, although some Windows servers strip
// trailing dots.
func Canonicalize(rawPath string) (string, error) {
	if rawPath == "" || rawPath[0] != '/' {
		return "", bad(0, "path does not start with '/'")
	}
	if len(rawPath) > MaxPathLength {
		return "", bad(MaxPathLength, "path too long")
	}
	var (
		sb       strings.Builder // used only once the output differs from the input
		rewrote  bool
		segStart = 1     // offset in rawPath of the current segment's first byte
		dots     = 0     // raw '.' count in the current segment, -1 once anything else is seen
		nonASCII = false // current segment contains escaped bytes >= 0x80
	)
	for i := 1; i < len(rawPath); i++ {
		c := rawPath[i]
		switch {
		case byteClass[c] == classRaw:
			// The common case first.
			dots = -1
			if rewrote {
				sb.WriteByte(c)
			}
			continue
		case c == '/':
			if err := checkSegment(rawPath, segStart, i, dots, nonASCII, false); err != nil {
				return "", err
			}
			segStart, dots, nonASCII = i+1, 0, false
			if rewrote {
				sb.WriteByte('/')
			}
			continue
		case c == '.':
			if dots >= 0 {
				dots++
			}
			if rewrote {
				sb.WriteByte('.')
			}
			continue
		}
		dots = -1
		switch {
		case c == '%':
			if i+2 >= len(rawPath) {
				return "", bad(i, "malformed percent escape")
			}
			hi, ok1 := unhex(rawPath[i+1])
			lo, ok2 := unhex(rawPath[i+2])
			if !ok1 || !ok2 {
				return "", bad(i, "malformed percent escape")
			}
			b := hi<<4 | lo
			switch byteClass[b] {
			case classReject:
				return "", bad(i, encodedReason(b))
			case classRaw:
				if !rewrote {
					sb.Grow(len(rawPath))
					sb.WriteString(rawPath[:i])
					rewrote = true
				}
				sb.WriteByte(b)
			case classKeepEscape:
				if b >= 0x80 {
					nonASCII = true
				}
				canon := rawPath[i+1] == upperHex[hi] && rawPath[i+2] == upperHex[lo]
				if !canon && !rewrote {
					sb.Grow(len(rawPath))
					sb.WriteString(rawPath[:i])
					rewrote = true
				}
				if rewrote {
					sb.WriteByte('%')
					sb.WriteByte(upperHex[hi])
					sb.WriteByte(upperHex[lo])
				}
			}
			i += 2
		default:
			return "", bad(i, rawReason(c))
		}
	}
	if err := checkSegment(rawPath, segStart, len(rawPath), dots, nonASCII, true); err != nil {
		return "", err
	}
	if rewrote {
		return sb.String(), nil
	}
	return rawPath, nil
}

// checkSegment checks the segment rawPath[start:end] that has just ended. dots is its count
// of raw '.' bytes, or -1 if it has anything else.
func checkSegment(rawPath string, start, end, dots int, nonASCII, last bool) error {
	switch {
	case end == start && !last:
		return bad(end, "empty segment")
	case end == start && last && end == 1:
		// The root path "/".
	case dots == 1 || dots == 2:
		return bad(start, "dot segment")
	case nonASCII:
		if err := checkUnicodeSegment(rawPath[start:end]); err != nil {
			return bad(start, err.Error())
		}
	}
	return nil
}

// checkUnicodeSegment validates a segment of the input (raw, escapes not yet normalized) that
// contains escaped non-ASCII bytes.
func checkUnicodeSegment(seg string) error {
	dec := appendUnescaped(make([]byte, 0, len(seg)), seg)
	if !utf8.Valid(dec) {
		return errors.New("escaped bytes are not valid UTF-8")
	}
	for i := 0; i < len(dec); {
		r, n := utf8.DecodeRune(dec[i:])
		i += n
		if r < utf8.RuneSelf {
			continue
		}
		if !unicode.IsGraphic(r) || unicode.Is(unicode.Zs, r) {
			return errors.New("escaped non-printable or space character")
		}
	}
	if !norm.NFKC.IsNormal(dec) {
		return errors.New("escaped characters not in NFKC form")
	}
	return nil
}

// unescape decodes every well-formed %XX escape of s. It is only used on strings that
// Canonicalize produced or has already validated, so malformed escapes are copied through
// unchanged rather than reported. It returns s itself when s has no escapes.
func unescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	return string(appendUnescaped(make([]byte, 0, len(s)), s))
}

func appendUnescaped(buf []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				buf = append(buf, hi<<4|lo)
				i += 2
				continue
			}
		}
		buf = append(buf, s[i])
	}
	return buf
}

// Segments returns the percent-decoded segments of a canonical path, as used for parameter
// values. The root "/" has no segments; a trailing slash yields a final empty segment
// ("/cars/" → ["cars", ""]). Because Canonicalize rejects encoded '/', '\', NUL and control
// characters, no returned segment contains them.
func Segments(canonical string) []string {
	if canonical == "" || canonical == "/" {
		return nil
	}
	parts := strings.Split(strings.TrimPrefix(canonical, "/"), "/")
	for i, p := range parts {
		parts[i] = unescape(p)
	}
	return parts
}
