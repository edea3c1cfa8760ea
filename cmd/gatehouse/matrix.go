package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

func newAccessMatrixCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access-matrix DIR [--api NAME] [--group G]... [-o text|csv|json]",
		Short: "Show which group may call which route of an API, as the decision engine decides",
		Long: `access-matrix reads a directory that "gatehouse apply" accepts and prints, for each route of
one of its APIs (apis/*.yaml) and each group named in its policies (or given with --group), the
access: allow or deny for routes decided by policies (computed by the decision engine for a
user whose only group is that one; ANY routes are shown per method), and public,
authenticated, scope:<scope> or iam for routes decided without policies. ${NAME} placeholders
are replaced from the environment; undefined ones are left as written.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			api, _ := cmd.Flags().GetString("api")
			groups, _ := cmd.Flags().GetStringSlice("group")
			format, _ := cmd.Flags().GetString("output")
			if format != "text" && format != "csv" && format != "json" {
				return fmt.Errorf("-o %q: want text, csv or json", format)
			}
			var unset []string
			d, err := apply.Load(args[0], func(name string) (string, bool) {
				if v, ok := os.LookupEnv(name); ok {
					return v, true
				}
				if !slices.Contains(unset, name) {
					unset = append(unset, name)
				}
				return standIn(name), true
			})
			if err != nil {
				return err
			}
			if len(unset) > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: unset variables replaced by stand-ins: %s\n", strings.Join(unset, ", "))
			}
			m, err := wizard.AccessMatrix(d, wizard.MatrixOptions{API: api, Groups: groups})
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			switch format {
			case "csv":
				return m.WriteCSV(w)
			case "json":
				return m.WriteJSON(w)
			}
			return m.WriteText(w)
		},
	}
	cmd.Flags().String("api", "", "API name (default the directory's only API)")
	cmd.Flags().StringSlice("group", nil, "groups to show (default those the policies name)")
	cmd.Flags().StringP("output", "o", "text", "text, csv or json")
	return cmd
}

// standIn is a value for an unset ${NAME} that passes the directory's checks where such a
// variable usually appears: the matrix depends on policies and routes, not on these values,
// as long as one name always gets the same value.
func standIn(name string) string {
	word := strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			return r
		}
		return -1
	}, name)
	switch up := strings.ToUpper(name); {
	case strings.HasSuffix(up, "POOL_ID"):
		return "us-east-1_" + word
	case strings.Contains(up, "UPSTREAM") || strings.HasSuffix(up, "URL") || strings.Contains(up, "ISSUER"):
		return "http://" + strings.ToLower(word) + ".invalid"
	case strings.Contains(up, "CIDR"):
		return "192.0.2.0/24"
	}
	return word
}
