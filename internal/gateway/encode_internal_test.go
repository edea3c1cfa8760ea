package gateway

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzIdentityEncoding: any list of values (NUL-separated in the input) encodes to printable
// ASCII without spaces, and splitting on ',' then percent-decoding gives the list back.
func FuzzIdentityEncoding(f *testing.F) {
	f.Add("x,owners\x00y")
	f.Add("us-east-1_Ab|sub\x00ünï\x00a%2Cb\x00 lead and trail \t")
	f.Add("\x00\x00,")
	f.Add("\r\nX-Gatehouse-Principal: admin")
	f.Fuzz(func(t *testing.T, in string) {
		vals := strings.Split(in, "\x00")
		enc := encodeIdentityList(vals)
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c <= ' ' || c >= 0x7f {
				t.Fatalf("byte %#x in %q", c, enc)
			}
		}
		var got []string
		for _, e := range strings.Split(enc, ",") {
			d, err := url.PathUnescape(e)
			if err != nil {
				t.Fatalf("%q does not decode: %v", e, err)
			}
			got = append(got, d)
		}
		if !slices.Equal(got, vals) {
			t.Fatalf("round trip %q → %q → %q", vals, enc, got)
		}
		if len(vals) == 1 && encodeIdentity(vals[0]) != enc {
			t.Fatalf("a one-element list differs from the value: %q", enc)
		}
	})
}
