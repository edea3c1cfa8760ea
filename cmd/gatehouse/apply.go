package main

import (
	"fmt"
	"os"
	"slices"
	"sort"

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
	cmd.Flags().StringP("output", "o", "text", "text or json")
	addClientFlags(cmd)
}

func runApply(cmd *cobra.Command, dir string, dryRun bool) error {
	prune, _ := cmd.Flags().GetBool("prune")
	format, _ := cmd.Flags().GetString("output")
	if format != "text" && format != "json" {
		return fmt.Errorf("-o %q: want text or json", format)
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

// accessChanges compares the access matrices of every API of the current and proposed state,
// with the same groups on both sides, and returns the cells that differ. A matrix that cannot
// be computed is reported on stderr, not guessed.
func accessChanges(cmd *cobra.Command, before, after *apply.Dir) []apply.AccessChange {
	if before == nil {
		before = &apply.Dir{Path: "(server)"}
	}
	var names []string
	for _, d := range []*apply.Dir{before, after} {
		for _, a := range d.APIs {
			if !slices.Contains(names, a.Name) {
				names = append(names, a.Name)
			}
		}
	}
	sort.Strings(names)
	out := storeAccessChanges(cmd, before, after)
	for _, api := range names {
		matrix := func(d *apply.Dir, groups []string) (*wizard.Matrix, error) {
			if !slices.ContainsFunc(d.APIs, func(a apply.NamedText) bool { return a.Name == api }) {
				return nil, nil
			}
			return wizard.AccessMatrix(d, wizard.MatrixOptions{API: api, Groups: groups})
		}
		var groups []string
		ok := true
		for _, d := range []*apply.Dir{before, after} {
			m, err := matrix(d, nil)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: access matrix of API %s (%s): %v\n", api, d.Path, err)
				ok = false
				continue
			}
			if m != nil {
				for _, g := range m.Groups {
					if !slices.Contains(groups, g) {
						groups = append(groups, g)
					}
				}
			}
		}
		if !ok {
			continue
		}
		sort.Strings(groups)
		mb, errB := matrix(before, groups)
		ma, errA := matrix(after, groups)
		if errB != nil || errA != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: access matrix of API %s: %v %v\n", api, errB, errA)
			continue
		}
		cells := func(m *wizard.Matrix) (map[[2]string]string, []string) {
			c := map[[2]string]string{}
			var routes []string
			if m == nil {
				return c, nil
			}
			for _, r := range m.Rows {
				routes = append(routes, r.Route)
				for g, v := range r.Access {
					c[[2]string{r.Route, g}] = v
				}
			}
			return c, routes
		}
		cb, rb := cells(mb)
		ca, ra := cells(ma)
		routes := rb
		for _, r := range ra {
			if !slices.Contains(routes, r) {
				routes = append(routes, r)
			}
		}
		for _, r := range routes {
			for _, g := range groups {
				b, a := cb[[2]string{r, g}], ca[[2]string{r, g}]
				if b == "" {
					b = "no route"
				}
				if a == "" {
					a = "no route"
				}
				if a != b {
					out = append(out, apply.AccessChange{API: api, Route: r, Group: g, Before: b, After: a})
				}
			}
		}
	}
	return out
}

// storeAccessChanges compares the policy store's own matrix (principal groups × the actions
// its policies name), which holds for stores whose callers are not gateway routes.
func storeAccessChanges(cmd *cobra.Command, before, after *apply.Dir) []apply.AccessChange {
	out := []apply.AccessChange{}
	id := after.Manifest.PolicyStoreID
	if id == "" {
		return out
	}
	if before.Manifest.PolicyStoreID != id {
		before = &apply.Dir{Path: before.Path, Manifest: apply.Manifest{PolicyStoreID: id}}
	}
	var groups []string
	for _, d := range []*apply.Dir{before, after} {
		m, err := wizard.ActionMatrix(d, nil)
		if err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: access matrix of policy store %s (%s): %v\n", id, d.Path, err)
			return out
		}
		for _, g := range m.Groups {
			if !slices.Contains(groups, g) {
				groups = append(groups, g)
			}
		}
	}
	mb, errB := wizard.ActionMatrix(before, groups)
	ma, errA := wizard.ActionMatrix(after, groups)
	if errB != nil || errA != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "note: access matrix of policy store %s: %v %v\n", id, errB, errA)
		return out
	}
	cells := func(m *wizard.Matrix) map[[2]string]string {
		c := map[[2]string]string{}
		for _, r := range m.Rows {
			for g, v := range r.Access {
				c[[2]string{r.Route, g}] = v
			}
		}
		return c
	}
	cb, ca := cells(mb), cells(ma)
	var actions []string
	for _, m := range []*wizard.Matrix{mb, ma} {
		for _, r := range m.Rows {
			if !slices.Contains(actions, r.Route) {
				actions = append(actions, r.Route)
			}
		}
	}
	sort.Strings(actions)
	value := func(c map[[2]string]string, action, group string) string {
		if v, ok := c[[2]string{action, group}]; ok {
			return v
		}
		return wizard.Deny // an action no policy names is denied to everyone
	}
	for _, a := range actions {
		for _, g := range groups {
			if b, n := value(cb, a, g), value(ca, a, g); b != n {
				out = append(out, apply.AccessChange{API: "policy store " + id, Route: a, Group: g, Before: b, After: n})
			}
		}
	}
	return out
}
