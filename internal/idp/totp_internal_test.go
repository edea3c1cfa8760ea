package idp

import (
	"strings"
	"testing"
	"time"
)

// TestTOTPRFC6238Vectors checks the SHA-1 test vectors of RFC 6238 Appendix B (8 digits, the
// ASCII key "12345678901234567890").
func TestTOTPRFC6238Vectors(t *testing.T) {
	t.Parallel()
	key := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		want string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	} {
		if got := hotp(key, uint64(totpStepAt(time.Unix(tc.unix, 0))), 8); got != tc.want {
			t.Errorf("T=%d: got %s, want %s", tc.unix, got, tc.want)
		}
	}
	// Six digits are the last six of the eight (RFC 4226 truncation modulo 10^6).
	if got := totpCode(key, totpStepAt(time.Unix(59, 0))); got != "287082" {
		t.Errorf("6-digit code at T=59: %s", got)
	}
}

func TestMatchTOTP(t *testing.T) {
	t.Parallel()
	key := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0) // step 37037037
	cur := totpStepAt(now)
	for _, tc := range []struct {
		name  string
		code  string
		after int64
		step  int64
		ok    bool
	}{
		{"current", totpCode(key, cur), 0, cur, true},
		{"previous step (drift)", totpCode(key, cur-1), 0, cur - 1, true},
		{"next step (drift)", totpCode(key, cur+1), 0, cur + 1, true},
		{"two steps old", totpCode(key, cur-2), 0, 0, false},
		{"two steps ahead", totpCode(key, cur+2), 0, 0, false},
		{"replayed", totpCode(key, cur), cur, 0, false},
		{"older than the last used", totpCode(key, cur-1), cur, 0, false},
		{"newer than the last used", totpCode(key, cur+1), cur, cur + 1, true},
		{"not digits", "12345a", 0, 0, false},
		{"too short", "12345", 0, 0, false},
		{"too long", totpCode(key, cur) + "0", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			step, ok := matchTOTP(key, tc.code, now, tc.after)
			if ok != tc.ok || step != tc.step {
				t.Fatalf("matchTOTP(%q, after %d) = %d, %t; want %d, %t", tc.code, tc.after, step, ok, tc.step, tc.ok)
			}
		})
	}
}

func TestTOTPSecret(t *testing.T) {
	t.Parallel()
	s, err := newTOTPSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(s) != 32 || strings.ContainsAny(s, "=") {
		t.Fatalf("secret %q", s)
	}
	key, err := decodeTOTPSecret(s)
	if err != nil || len(key) != 20 {
		t.Fatalf("decode %q: %d bytes, %v", s, len(key), err)
	}
	// What people type: lower case, grouped, padded.
	typed := strings.ToLower(s[:4] + " " + s[4:16] + " " + s[16:])
	if k2, err := decodeTOTPSecret(typed + "===="); err != nil || string(k2) != string(key) {
		t.Fatalf("decode typed %q: %v", typed, err)
	}
	if s2, _ := newTOTPSecret(); s2 == s {
		t.Fatal("two secrets are equal")
	}
}

// FuzzTOTP feeds arbitrary secrets and codes through the decoder and the matcher: they must
// never panic, and a match must be a code of an accepted step.
func FuzzTOTP(f *testing.F) {
	f.Add("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "287082", int64(59), int64(0))
	f.Add("gezd gnbv gy3t qojq", "000000", int64(1111111111), int64(37037037))
	f.Add("", "", int64(0), int64(-1))
	f.Add("!!!!", "99999999", int64(-5), int64(1<<62))
	f.Fuzz(func(t *testing.T, secret, code string, unix, after int64) {
		key, err := decodeTOTPSecret(secret)
		if err != nil {
			return
		}
		now := time.Unix(unix, 0)
		step, ok := matchTOTP(key, code, now, after)
		if !ok {
			return
		}
		if d := step - totpStepAt(now); d < -totpSkew || d > totpSkew || step <= after || totpCode(key, step) != code {
			t.Fatalf("accepted %q at step %d (now %d, after %d)", code, step, totpStepAt(now), after)
		}
	})
}
