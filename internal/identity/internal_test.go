package identity

import (
	"crypto/sha256"
	"strings"
	"testing"
)

func TestHashToken(t *testing.T) {
	for _, n := range []int{0, 1, 255, 256, 257, 1000, MaxTokenSize} {
		s := strings.Repeat("x", n)
		if hashToken(s) != sha256.Sum256([]byte(s)) {
			t.Fatalf("hashToken differs from sha256 for length %d", n)
		}
	}
}

// TestAlgorithmTables keeps the family table and the verifier table in step: an algorithm with a
// family but no verifier would panic, one with a verifier but no family could never be used.
func TestAlgorithmTables(t *testing.T) {
	for alg := range supportedAlgs {
		if verifiers[alg] == nil || verifiers[alg].Alg() != alg {
			t.Errorf("%s has no matching verifier", alg)
		}
	}
	for alg := range verifiers {
		if _, ok := supportedAlgs[alg]; !ok {
			t.Errorf("%s has a verifier but no key family", alg)
		}
		if strings.HasPrefix(alg, "HS") || strings.EqualFold(alg, "none") {
			t.Errorf("%s must never be supported", alg)
		}
	}
}

func TestDecodeObject(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{`{"a":1,"b":[1,{"c":null}],"d":{"e":true}}`, true},
		{`{"a":1,"a":2}`, false},
		{`{"a":1,"A":2}`, false},
		{`{"a":{"b":1,"B":2}}`, true}, // case variants only matter at the top level
		{`{"a":{"b":1,"b":2}}`, false},
		{`{"a":[{"b":1,"b":2}]}`, false},
		{`{"a":1}x`, false},
		{`{"a":1}{}`, false},
		{`[]`, false},
		{`"s"`, false},
		{`{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`, false},
		{`{"a":1,}`, false},
		{``, false},
	}
	for _, tc := range tests {
		_, err := decodeObject([]byte(tc.in))
		if (err == nil) != tc.ok {
			t.Errorf("decodeObject(%.60s): err=%v, want ok=%v", tc.in, err, tc.ok)
		}
	}
}
