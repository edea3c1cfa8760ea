package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

func newAuditCommand() *cobra.Command {
	root := &cobra.Command{Use: "audit", Short: "Work with the audit trail"}
	verify := &cobra.Command{
		Use:   "verify FILE...",
		Short: "Verify hash-chained audit files (oldest first); exit 1 at the first broken link",
		Long: `verify recomputes every record's hash and checks each link to the previous record and
the sequence numbers, across rotated files given in order. It reports the first record that
was modified, deleted, inserted or reordered, with its file, line and sequence number.

With the node's database (--db, or --config naming it), it also checks the signature of
every digest record with the public key kept there, and that the latest digest the node
kept there for this trail is in the files: records deleted from the end of the trail up to
that digest are reported as deleted. Records after the last digest are listed as unsigned.
The trail is named by this host and the absolute path of the last file (the active one);
--trail names another (HOST:PATH, as the node that wrote it saw it).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts audit.VerifyOptions
			if cmd.Flags().Changed("db") || cmd.Flags().Changed("config") {
				cfg, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				if !sqldb.IsPostgres(cfg.DB) {
					if _, err := os.Stat(cfg.DB); err != nil {
						return fmt.Errorf("database: %w", err)
					}
				}
				st, err := sqldb.Open(cmd.Context(), cfg.DB)
				if err != nil {
					return err
				}
				defer st.Close()
				trail, _ := cmd.Flags().GetString("trail")
				if trail == "" {
					trail = app.AuditTrailName(args[len(args)-1])
				}
				if opts, err = app.AuditVerifyOptions(cmd.Context(), st, trail); err != nil {
					return err
				}
			}
			if err := audit.VerifyFiles(cmd.OutOrStdout(), opts, args); err != nil {
				return exitCode(1)
			}
			return nil
		},
	}
	verify.Flags().String("config", "", "YAML or JSON settings file (for its db)")
	verify.Flags().String("db", "", "the node's database: SQLite file path or postgres:// URL")
	verify.Flags().String("trail", "", "HOST:PATH of the trail in the database (default: this host and the last file)")
	root.AddCommand(verify)
	return root
}
