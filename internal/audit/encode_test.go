package audit

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"
)

// The hand-written encoder must produce exactly encoding/json's bytes: the hash is defined
// over them and verification of old trails depends on it.
func TestEncodeMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	strs := []string{"", "plain", "with \"quotes\"", `back\slash`, "<html>&amp;", "tab\there", "naïve ünïcödé", "\u2028line", "\x00nul", "emoji 🐶", string([]byte{0xff, 0xfe})}
	pick := func() string { return strs[rng.IntN(len(strs))] }
	picks := func() []string {
		if rng.IntN(3) == 0 {
			return nil
		}
		out := make([]string, rng.IntN(3))
		for i := range out {
			out[i] = pick()
		}
		return out
	}
	for i := range 5000 {
		r := Record{Seq: uint64(rng.IntN(3)), ID: pick(), Time: time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)).UTC(), Instance: pick(), Kind: pick(),
			Source: pick(), RequestID: pick(), DecisionID: pick(), ClientIP: pick(), ForwardedFor: picks(), Method: pick(), Host: pick(),
			Path: pick(), RawPathHash: pick(), RouteID: pick(), Principal: pick(), TokenJTI: pick(), TokenHash: pick(), ClientID: pick(),
			AuthnResult: pick(), Reason: pick(), PolicyStoreID: pick(), Revision: rng.Int64N(3) - 1, Decision: pick(),
			DeterminingPolicies: picks(), Errors: picks(), LatencyUs: rng.Int64N(3), UpstreamStatus: rng.IntN(3) * 100, Actor: pick(),
			Operation: pick(), Target: pick(), Change: pick(), RevisionBefore: rng.Int64N(2), Redacted: picks(), Dropped: uint64(rng.IntN(2)),
			KeyID: pick(), Signature: pick(),
			PrevHash: pick(), Hash: pick()}
		if rng.IntN(2) == 0 {
			r.Cedar = &Cedar{Principal: pick(), Action: pick(), Resource: pick()}
		}
		got, _ := encode(&r)
		want, _ := json.Marshal(&r)
		if string(got) != string(want) {
			t.Fatalf("case %d:\n got  %s\n want %s", i, got, want)
		}
	}
}
