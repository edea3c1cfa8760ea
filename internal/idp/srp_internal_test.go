package idp

import (
	"math/big"
	"testing"
)

// The group is RFC 3526's 3072-bit safe prime: a mistyped digit would fail this.
func TestSRPGroup(t *testing.T) {
	t.Parallel()
	if srpN.BitLen() != 3072 || !srpN.ProbablyPrime(20) {
		t.Fatal("N is not a 3072-bit prime")
	}
	q := new(big.Int).Rsh(srpN, 1)
	if !q.ProbablyPrime(20) {
		t.Fatal("N is not a safe prime")
	}
}
