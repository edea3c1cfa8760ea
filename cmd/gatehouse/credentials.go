package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

func newCredentialsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Print the generated management credentials as environment variables",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withStore(cmd, func(_ config.Config, st *sqldb.DB) error {
				c, err := app.StoredCredentials(cmd.Context(), st)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport GATEHOUSE_ACCESS_KEY_ID=%s\nexport GATEHOUSE_SECRET_ACCESS_KEY=%s\n",
					c.AccessKeyID, c.SecretAccessKey, c.AccessKeyID, c.SecretAccessKey)
				return nil
			})
		},
	}
	addSettingFlags(cmd, storeSettings...)
	return cmd
}
