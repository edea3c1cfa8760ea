package audit

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// VerifyFiles verifies the trail files in order (rotated files oldest first, the active file
// last) with opts and prints a one-line summary to w, plus notes on gaps and on records no
// digest signs. It returns nil only when the chain is intact.
func VerifyFiles(w io.Writer, opts VerifyOptions, paths []string) error {
	if len(paths) == 0 {
		return errors.New("audit: verify: no files given")
	}
	rep, err := VerifyPathsWith(opts, paths...)
	var p *Problem
	if errors.As(err, &p) {
		fmt.Fprintf(w, "FAIL at %s:%d (seq %d): record %s: %s\n", p.File, p.Line, p.Seq, p.Kind, p.Detail)
		fmt.Fprintf(w, "%d records before it verified\n", rep.Records)
		return err
	}
	if err != nil {
		fmt.Fprintf(w, "FAIL: %v\n", err)
		return err
	}
	fmt.Fprintf(w, "ok: %d records in %d %s, chain intact\n", rep.Records, rep.Files, plural(rep.Files, "file", "files"))
	if len(rep.Gaps) > 0 {
		at := make([]string, 0, len(rep.Gaps))
		for _, g := range rep.Gaps {
			at = append(at, fmt.Sprintf("%s:%d", g.File, g.Line))
		}
		fmt.Fprintf(w, "warning: the writer dropped %d records (gap records at %s)\n", rep.Dropped, strings.Join(at, ", "))
	}
	switch {
	case rep.Signed:
		fmt.Fprintf(w, "digests: %d signatures verified, %d of %d digests kept in the store found\n", rep.Digests, rep.Anchors, len(opts.Anchors))
	case rep.Digests > 0:
		fmt.Fprintf(w, "note: %d digest signatures not checked (no public key; give --config or --db)\n", rep.Digests)
	}
	if rep.Signed || rep.Digests > 0 {
		for _, u := range rep.Unsigned {
			fmt.Fprintf(w, "note: %d records of instance %q from %s:%d (seq %d) on are after its last digest: deleting them would not be detected\n",
				u.Records, u.Instance, u.File, u.Line, u.FromSeq)
		}
	}
	if rep.UnlinkedStarts > 0 {
		fmt.Fprintf(w, "note: %d restarts did not link to the previous run\n", rep.UnlinkedStarts)
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
