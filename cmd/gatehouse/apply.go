package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

func newApplyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply DIR [--prune] [--dry-run] [--expected-revision N] [-o text|json]",
		Short: "Make a policy store (and its APIs) match a directory, in one transaction",
		Long: `apply reads DIR (gatehouse.yaml, schema.cedarschema|schema.json, policies/*.cedar,
templates/*.cedar, links.yaml, entities.json, identity-sources.yaml, apis/*.yaml,
iam/<api>/<group>.json), validates it locally, and sends it as one bundle that the server
validates and commits in one transaction (one revision bump), or not at all. ${NAME}
placeholders in the files are replaced from the environment. Objects the directory does not
name are kept unless --prune is given. --dry-run is "gatehouse plan". Running it twice changes
nothing the second time.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dry, _ := cmd.Flags().GetBool("dry-run")
			return runApply(cmd, args[0], dry)
		},
	}
	cmd.Flags().Bool("dry-run", false, "only show the plan (as gatehouse plan)")
	addApplyFlags(cmd)
	return cmd
}

func newPlanCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan DIR [--prune] [-o text|json]",
		Short: "Show what apply would create, update and delete, and the access it would change",
		Long: `plan computes on the server, without writing, what "gatehouse apply DIR" would create,
update, replace and delete (deletions need --prune; without it they are listed as kept), and
the access change it causes: the cells of each API's access matrix (route × group, decided by
the engine on the current and on the proposed state) that flip. Exit status 0: no changes;
2: changes present; 1: error.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runApply(cmd, args[0], true) },
	}
	addApplyFlags(cmd)
	return cmd
}

func addApplyFlags(cmd *cobra.Command) {
	cmd.Flags().Bool("prune", false, "delete what the directory does not name")
	cmd.Flags().Int64("expected-revision", -1, "refuse unless the store is still at this revision")
	cmd.Flags().StringP("output", "o", "text", "text, json, or bundle (the request apply sends, for the console's review page; nothing is sent)")
	addClientFlags(cmd)
}

func runApply(cmd *cobra.Command, dir string, dryRun bool) error {
	prune, _ := cmd.Flags().GetBool("prune")
	format, _ := cmd.Flags().GetString("output")
	if format != "text" && format != "json" && format != "bundle" {
		return fmt.Errorf("-o %q: want text, json or bundle", format)
	}
	opts := apply.Options{Prune: prune, DryRun: dryRun}
	if rev, _ := cmd.Flags().GetInt64("expected-revision"); rev >= 0 {
		opts.ExpectedRevision = &rev
	}
	// Local validation first: a bad directory never reaches the server.
	d, err := apply.Load(dir, os.LookupEnv)
	if err != nil {
		return err
	}
	if format == "bundle" {
		return writeBundle(cmd.OutOrStdout(), d, opts)
	}
	c, err := managementClient(cmd)
	if err != nil {
		return err
	}
	rep, err := apply.Run(cmd.Context(), c, d, opts)
	if err != nil {
		return err
	}
	if dryRun {
		proposed, err := rep.Proposed(d)
		if err != nil {
			return fmt.Errorf("current state: %w", err)
		}
		rep.Access = accessChanges(cmd, rep.Current, proposed)
	}
	w := cmd.OutOrStdout()
	if format == "json" {
		if err := rep.WriteJSON(w); err != nil {
			return err
		}
	} else {
		rep.Print(w)
	}
	if dryRun && rep.HasChanges() {
		return exitCode(2)
	}
	return nil
}

// accessChanges compares the access matrices of every API and of the policy store on the
// current and proposed state (wizard.DiffAccess, which the console's review shares) and returns
// the cells that differ. A matrix that cannot be computed is reported on stderr, not guessed.
func accessChanges(cmd *cobra.Command, before, after *apply.Dir) []apply.AccessChange {
	diffs, notes := wizard.DiffAccess(before, after)
	for _, n := range notes {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: %v\n", n)
	}
	return wizard.AccessChanges(diffs)
}
