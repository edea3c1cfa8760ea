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
// The writer never drops silently. When its bounded queue stays full for longer than the
// block timeout, the record is counted as dropped, an error is logged, and a record of kind
// "gap" with the number of dropped records enters the chain as soon as there is room, so a
// verifier shows exactly where records were lost and how many.
//
// A hash chain without a secret shows accidental or partial tampering: anyone able to rewrite
// a file from some point to its end can recompute every later hash. Anchoring the last hash
// elsewhere (signed digests) is what closes that gap.
package audit
