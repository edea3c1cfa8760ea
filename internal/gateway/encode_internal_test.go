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

// BenchmarkIdentityHeaders compares the encoded list against a plain comma join (the previous
// encoding, as the baseline) for typical values, which need no escaping, and for values that do.
func BenchmarkIdentityHeaders(b *testing.B) {
	typical := []string{"customers", "employees", "us-east-1_Ab12|0b6c8f5e-3c11-4d5e-9b1a-7f00c2a1d3e4"}
	escaping := []string{"x,owners", "Doe, John", "ünï"}
	for _, c := range []struct {
		name string
		vals []string
		f    func([]string) string
	}{
		{"join/typical", typical, func(v []string) string { return strings.Join(v, ",") }},
		{"encoded/typical", typical, encodeIdentityList},
		{"join/escaping", escaping, func(v []string) string { return strings.Join(v, ",") }},
		{"encoded/escaping", escaping, encodeIdentityList},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = c.f(c.vals)
			}
		})
	}
}
