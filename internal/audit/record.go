package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Record kinds. Callers write KindDecision and KindWrite; the writer alone writes KindStart,
// KindGap and KindDigest.
const (
	KindDecision = "decision"
	KindWrite    = "write"
	KindStart    = "start"
	KindGap      = "gap"
	KindDigest   = "digest"
)

// Record sources.
const (
	SourceGateway     = "gateway"
	SourceForwardAuth = "forward-auth"
	SourceAVP         = "avp"
	SourceAdmin       = "admin"
)

// Record is one audit event. Callers fill the fields they know; the writer sets ID (if empty),
// Time (if zero), Instance, Seq, PrevHash and Hash. The field order is part of the canonical
// form (see the package doc): Seq comes first, PrevHash and Hash last, and new fields must be
// added with omitempty between them.
//
// Records never carry credentials: TokenHash holds [TokenHash] of a token, and Cedar.Context
// must be redacted by the caller (list what was removed in Redacted).
type Record struct {
	Seq      uint64    `json:"seq,omitempty"`
	ID       string    `json:"id"`
	Time     time.Time `json:"time"`
	Instance string    `json:"instance"`
	Kind     string    `json:"kind"`
	Source   string    `json:"source,omitempty"`

	RequestID  string `json:"requestId,omitempty"`
	DecisionID string `json:"decisionId,omitempty"`

	// Request.
	ClientIP     string   `json:"clientIp,omitempty"`
	ForwardedFor []string `json:"forwardedFor,omitempty"`
	Method       string   `json:"method,omitempty"`
	Host         string   `json:"host,omitempty"`
	Path         string   `json:"path,omitempty"` // canonical path
	RawPathHash  string   `json:"rawPathHash,omitempty"`
	RouteID      string   `json:"routeId,omitempty"`

	// Identity.
	Principal   string `json:"principal,omitempty"`
	TokenJTI    string `json:"tokenJti,omitempty"`
	TokenHash   string `json:"tokenHash,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
	AuthnResult string `json:"authnResult,omitempty"`
	Reason      string `json:"reason,omitempty"`

	// Policy.
	PolicyStoreID string `json:"policyStoreId,omitempty"`
	Revision      int64  `json:"revision,omitempty"`
	Cedar         *Cedar `json:"cedar,omitempty"`

	// Outcome.
	Decision            string   `json:"decision,omitempty"`
	DeterminingPolicies []string `json:"determiningPolicies,omitempty"`
	Errors              []string `json:"errors,omitempty"`
	LatencyUs           int64    `json:"latencyUs,omitempty"`
	UpstreamStatus      int      `json:"upstreamStatus,omitempty"`

	// Management writes.
	Actor          string `json:"actor,omitempty"`
	Operation      string `json:"operation,omitempty"`
	Target         string `json:"target,omitempty"`
	Change         string `json:"change,omitempty"` // short summary or diff hash
	RevisionBefore int64  `json:"revisionBefore,omitempty"`

	// Redacted names the fields the caller erased or masked before writing.
	Redacted []string `json:"redacted,omitempty"`

	// Gap records: how many records are missing (Reason says why: queue_full or
	// write_failed), and the times of the first and last of them.
	Dropped      uint64     `json:"dropped,omitempty"`
	DroppedSince *time.Time `json:"droppedSince,omitempty"`
	DroppedUntil *time.Time `json:"droppedUntil,omitempty"`

	// Digest records: the key that signed, and the signature (see [Digest]).
	KeyID     string `json:"keyId,omitempty"`
	Signature string `json:"signature,omitempty"`

	PrevHash string `json:"prevHash,omitempty"`
	Hash     string `json:"hash,omitempty"`
}

// Cedar is the Cedar request a decision was made on.
type Cedar struct {
	Principal string `json:"principal,omitempty"`
	Action    string `json:"action,omitempty"`
	Resource  string `json:"resource,omitempty"`
	// Context is the request context as JSON, already redacted by the caller.
	Context json.RawMessage `json:"context,omitempty"`
}

// TokenHash returns the identifier audit records use for a token: the first 16 hex digits of
// its SHA-256. It links records about the same token without keeping anything that can be
// replayed.
func TokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:8])
}
