// Package audit writes Gatehouse's tamper-evident audit trail: one hash-chained JSON record per
// decision and per management write, and verifies trails.
//
// # Format
//
// A trail is a sequence of lines, each one JSON object (a [Record]). Every writer (one process
// run, identified by its instance) starts its chain with a record of kind "start" and numbers
// its records seq 1, 2, 3, ... without gaps. Each record carries prevHash, the hash of the
// previous record of the same instance, and hash, its own hash.
//
// # Canonical form and hash
//
// The canonical form of a record is the output of encoding/json's Marshal for the Record
// struct with Hash empty (so omitted): struct field order is fixed, so the bytes are
// deterministic, and prevHash is included. hash is the lowercase hex SHA-256 of those bytes.
// The writer emits exactly the canonical form with `,"hash":"<64 hex>"` inserted before the
// final '}', followed by '\n'. A verifier therefore recomputes the hash over the line's own
// bytes (the line with that suffix cut back to '}'), never over a re-encoding, so every byte
// of a record is covered, whitespace included.
//
// # Chain
//
// A start record's prevHash is the hash of the last record of the same instance in the file
// being appended to (so a restart continues the chain), or empty for a fresh trail. Rotation
// continues the same chain in the new file: its first record links to the last record of the
// previous file, so files verified together and in order are checked across the boundary.
//
// # Loss
//
// The writer never loses a record silently. One goroutine chains, writes and counts, and the
// chain describes only what reached the destination:
//   - records are written whole, many per write(2); after a short write (a full disk) the file
//     is truncated back to the end of the last complete record, so no partial record remains
//     (a stream such as stdout cannot be truncated: there the cut record stays as one
//     malformed line);
//   - a record counts as written (Stats.Written) only once it is in the file;
//   - records that could not be written (Stats.Lost) are taken out of the chain, which goes
//     on from the last record written, and a gap record with reason "write_failed", their
//     count and the times of the first and last of them enters the chain first thing when a
//     write succeeds again (the writer retries every flush interval);
//   - when the bounded queue stays full for longer than the block timeout, the record is
//     refused (Stats.Dropped, ErrDropped) and a gap record with reason "queue_full" takes the
//     place of the dropped records;
//   - Close fails while records remain that are neither in the trail nor reported by a gap
//     record (Stats.Unrecorded).
//
// So every record handed to Write is either in the trail or counted by a gap record, and
// verify passes across the loss. Writer.Err reports a failing destination, for callers that
// must not decide without a trail; that includes a write blocked for longer than the stall
// bound (ErrStalled: a hung disk, a frozen file system), which returns no error to notice.
//
// # Digests
//
// A hash chain without a secret shows accidental or partial tampering, but anyone able to
// rewrite a file from some point to its end can recompute every later hash, and deleting the
// newest records leaves a valid chain. With WithDigests the writer signs (Ed25519) a digest of
// the chain every interval and at Close: a record of kind "digest" whose prevHash is the hash
// of the last record it covers, carrying keyId and signature over
// "gatehouse-audit-digest/v1\n<instance>\n<seq>\n<hash>\n<time>" (see [Digest]). Each
// written digest is also handed to DigestConfig.Anchor, which keeps the latest one apart from
// the trail (Gatehouse keeps it, and the key, in its store). VerifyWith then detects:
//   - a rewritten chain: the digests after the rewrite do not verify (bad-signature);
//   - deleted newest records, up to the last anchored digest: the anchored digest record is
//     missing from the trail (deleted);
//   - a replaced record covered by the anchor (modified).
//
// It does not detect deleting records written after the last anchored digest (at most one
// interval plus the anchoring delay; Report.Unsigned lists the records no digest in the file
// covers), nor tampering by someone who can write both the trail and the store (the key is
// in the store).
package audit
