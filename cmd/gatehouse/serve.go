package main

import (
	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/app"
)

func newServeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the gateway, the management API and the built-in IdP",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			logger := newLogger(cmd.ErrOrStderr(), cfg)
			node, err := app.New(ctx, cfg, logger)
			if err != nil {
				return err
			}
			defer node.Close()
			if node.Credentials.Generated {
				logger.Warn("no management credentials configured; generated a pair and stored it in the database (print it with `gatehouse credentials`)",
					"accessKeyId", node.Credentials.AccessKeyID)
			}
			if err := node.Listen(); err != nil {
				return err
			}
			logger.Info("gatehouse started", "version", versionString(), "db", node.Store.Backend())
			return node.Serve(ctx)
		},
	}
	addSettingFlags(cmd)
	return cmd
}
