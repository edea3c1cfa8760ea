package audit

import (
	"crypto/ed25519"
	"encoding/base64"
	"strconv"
	"time"
)

// Digest is a signed statement that a chain reached Seq with the record whose hash is Hash at
// Time. The writer puts one in the trail as a record of kind "digest" (its prevHash is Hash
// and its seq is Seq+1) and hands it to DigestConfig.Anchor to be kept apart from the trail.
type Digest struct {
	Instance  string    `json:"instance"`
	Seq       uint64    `json:"seq"`
	Hash      string    `json:"hash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"keyId"`
	Signature []byte    `json:"signature"`
}

// message is what the signature covers: fixed-order text with a version prefix, so no JSON
// encoding question can make two verifiers disagree.
func (d Digest) message() []byte {
	b := make([]byte, 0, 160)
	b = append(b, "gatehouse-audit-digest/v1\n"...)
	b = append(b, d.Instance...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, d.Seq, 10)
	b = append(b, '\n')
	b = append(b, d.Hash...)
	b = append(b, '\n')
	b = d.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	return b
}

// Valid reports whether the signature is pub's over the digest.
func (d Digest) Valid(pub ed25519.PublicKey) bool {
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, d.message(), d.Signature)
}

func encodeSig(sig []byte) string { return base64.RawURLEncoding.EncodeToString(sig) }

func decodeSig(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return b, err == nil && len(b) == ed25519.SignatureSize
}
