package idp

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// TOTP as Cognito's software tokens and every authenticator app speak it: RFC 6238 over
// RFC 4226 with HMAC-SHA-1, 30-second steps from the Unix epoch, 6 digits, the secret handed
// out as unpadded base32. The algorithm is a dozen lines; a library would add a dependency (and
// QR-code packages) for no gain.
const (
	totpStep   = 30 // seconds
	totpDigits = 6
	// totpSkew is how many steps either side of the current one a code is accepted for, so a
	// phone clock a little off or a code typed at a step boundary still works.
	totpSkew = 1
	// totpSecretBytes is 160 bits, RFC 4226's recommended key length (Cognito hands out the same).
	totpSecretBytes = 20
)

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newTOTPSecret returns a fresh random secret, base32 without padding (32 characters).
func newTOTPSecret() (string, error) {
	b := make([]byte, totpSecretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("totp secret: %w", err)
	}
	return totpEncoding.EncodeToString(b), nil
}

// decodeTOTPSecret accepts the base32 forms authenticator apps and people produce: any case,
// with or without padding, spaces ignored.
func decodeTOTPSecret(s string) ([]byte, error) {
	s = strings.ToUpper(strings.ReplaceAll(s, " ", ""))
	s = strings.TrimRight(s, "=")
	return totpEncoding.DecodeString(s)
}

// hotp is RFC 4226's HOTP value of key at counter, truncated to digits decimal digits.
func hotp(key []byte, counter uint64, digits int) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// totpStepAt is the RFC 6238 time step counter of t.
func totpStepAt(t time.Time) int64 { return t.Unix() / totpStep }

// totpCode is the code of key for step.
func totpCode(key []byte, step int64) string { return hotp(key, uint64(step), totpDigits) }

// validTOTPFormat reports whether code looks like a code (6 ASCII digits), before any
// comparison is spent on it.
func validTOTPFormat(code string) bool {
	if len(code) != totpDigits {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// matchTOTP returns the step (within ±totpSkew of now) whose code is code and is later than
// after, or ok=false. Steps at or before after were already used: a code is accepted at most
// once, and an older code is not accepted after a newer one was. Every candidate step is
// compared, in constant time, so timing does not tell which one matched.
func matchTOTP(key []byte, code string, now time.Time, after int64) (step int64, ok bool) {
	if !validTOTPFormat(code) {
		return 0, false
	}
	cur := totpStepAt(now)
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		eq := subtle.ConstantTimeCompare([]byte(totpCode(key, s)), []byte(code)) == 1
		if eq && s > after && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}
