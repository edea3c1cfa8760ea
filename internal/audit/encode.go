package audit

import (
	"encoding/json"
	"strconv"
	"time"
)

// encode returns exactly the bytes json.Marshal(r) would (the canonical form the hash is
// defined over) without reflection for the common records: decisions and writes are on the
// decision path, and reflection-based encoding was half of a record's cost. Records with
// parts this encoder does not model (a Cedar context, a gap's time) go through encoding/json;
// TestEncodeMatchesEncodingJSON holds the two together.
func encode(r *Record) ([]byte, error) {
	if r.DroppedSince != nil || r.DroppedUntil != nil || (r.Cedar != nil && len(r.Cedar.Context) > 0) {
		return json.Marshal(r)
	}
	b := make([]byte, 0, 512)
	b = append(b, '{')
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, '"', ':')
	}
	str := func(k, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		key(k)
		b = appendString(b, v)
	}
	num := func(k string, v int64) {
		if v == 0 {
			return
		}
		key(k)
		b = strconv.AppendInt(b, v, 10)
	}
	list := func(k string, vs []string) {
		if len(vs) == 0 {
			return
		}
		key(k)
		b = append(b, '[')
		for i, v := range vs {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, v)
		}
		b = append(b, ']')
	}
	if r.Seq != 0 {
		key("seq")
		b = strconv.AppendUint(b, r.Seq, 10)
	}
	str("id", r.ID, false)
	key("time")
	b = appendTime(b, r.Time)
	str("instance", r.Instance, false)
	str("kind", r.Kind, false)
	str("source", r.Source, true)
	str("requestId", r.RequestID, true)
	str("decisionId", r.DecisionID, true)
	str("clientIp", r.ClientIP, true)
	list("forwardedFor", r.ForwardedFor)
	str("method", r.Method, true)
	str("host", r.Host, true)
	str("path", r.Path, true)
	str("rawPathHash", r.RawPathHash, true)
	str("routeId", r.RouteID, true)
	str("principal", r.Principal, true)
	str("tokenJti", r.TokenJTI, true)
	str("tokenHash", r.TokenHash, true)
	str("clientId", r.ClientID, true)
	str("authnResult", r.AuthnResult, true)
	str("reason", r.Reason, true)
	str("policyStoreId", r.PolicyStoreID, true)
	num("revision", r.Revision)
	if r.Cedar != nil {
		key("cedar")
		b = append(b, '{')
		inner := true
		field := func(k, v string) {
			if v == "" {
				return
			}
			if !inner {
				b = append(b, ',')
			}
			inner = false
			b = append(b, '"')
			b = append(b, k...)
			b = append(b, '"', ':')
			b = appendString(b, v)
		}
		field("principal", r.Cedar.Principal)
		field("action", r.Cedar.Action)
		field("resource", r.Cedar.Resource)
		b = append(b, '}')
	}
	str("decision", r.Decision, true)
	list("determiningPolicies", r.DeterminingPolicies)
	list("errors", r.Errors)
	num("latencyUs", r.LatencyUs)
	num("upstreamStatus", int64(r.UpstreamStatus))
	str("actor", r.Actor, true)
	str("operation", r.Operation, true)
	str("target", r.Target, true)
	str("change", r.Change, true)
	num("revisionBefore", r.RevisionBefore)
	list("redacted", r.Redacted)
	if r.Dropped != 0 {
		key("dropped")
		b = strconv.AppendUint(b, r.Dropped, 10)
	}
	str("keyId", r.KeyID, true)
	str("signature", r.Signature, true)
	str("prevHash", r.PrevHash, true)
	str("hash", r.Hash, true)
	b = append(b, '}')
	return b, nil
}

// appendString appends s as encoding/json writes it: plain printable ASCII as is, anything
// else (quotes, backslashes, HTML-sensitive <>&, control and non-ASCII characters) through
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime writes t as time.Time.MarshalJSON does for years 0–9999.
func appendTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		q, _ := json.Marshal(t)
		return append(b, q...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
