package main

import (
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
)

func newAuditCommand() *cobra.Command {
	root := &cobra.Command{Use: "audit", Short: "Work with the audit trail"}
	root.AddCommand(&cobra.Command{
		Use:   "verify FILE...",
		Short: "Verify hash-chained audit files (oldest first); exit 1 at the first broken link",
		Long: `verify recomputes every record's hash and checks each link to the previous record and
the sequence numbers, across rotated files given in order. It reports the first record that
was modified, deleted, inserted or reordered, with its file, line and sequence number.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := audit.VerifyFiles(cmd.OutOrStdout(), audit.VerifyOptions{}, args); err != nil {
				return exitCode(1)
			}
			return nil
		},
	})
	return root
}
