package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
)

// writeBundle writes the request "gatehouse apply" would send for d (Gatehouse.ApplyBundle's
// input, ${NAME} placeholders replaced, --prune and --expected-revision included) without
// contacting the server: what a reviewer pastes into the console's review page
// (/console/review), which shows its changes and access flips and applies exactly it.
func writeBundle(w io.Writer, d *apply.Dir, opts apply.Options) error {
	in := apply.BundleInput(d)
	in.Prune, in.ExpectedRevision = opts.Prune, opts.ExpectedRevision
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(in); err != nil {
		return fmt.Errorf("write bundle: %w", err)
	}
	return nil
}
