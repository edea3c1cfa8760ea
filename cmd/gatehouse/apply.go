package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
)

func newApplyCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply DIR",
		Short: "Make a policy store (and its APIs) match a directory, through the management API",
		Long: `apply reads DIR (gatehouse.yaml, schema.cedarschema|schema.json, policies/*.cedar,
templates/*.cedar, links.yaml, entities.json, identity-sources.yaml) and creates, updates and
deletes what is needed so the policy store matches it. ${NAME} placeholders in the files are
replaced from the environment. Running it twice changes nothing the second time.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := apply.Load(args[0], os.LookupEnv)
			if err != nil {
				return err
			}
			c, err := managementClient(cmd)
			if err != nil {
				return err
			}
			rep, err := apply.Apply(cmd.Context(), c, d)
			if rep != nil {
				rep.Print(cmd.OutOrStdout())
			}
			return err
		},
	}
	addClientFlags(cmd)
	return cmd
}
