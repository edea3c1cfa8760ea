package main

import (
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/server"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
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
			return serve(cmd, cfg)
		},
	}
	addSettingFlags(cmd)
	return cmd
}

func serve(cmd *cobra.Command, cfg config.Config) error {
	ctx := cmd.Context()
	logger := newLogger(cmd.ErrOrStderr(), cfg)
	st, err := sqldb.Open(ctx, cfg.DB, sqldb.WithLogger(logger))
	if err != nil {
		return err
	}
	defer st.Close()
	creds, err := ensureCredentials(ctx, st, cfg)
	if err != nil {
		return err
	}
	if creds.generated {
		logger.Warn("no management credentials configured; generated a pair and stored it in the database (print them with `gatehouse credentials`)",
			"accessKeyId", creds.AccessKeyID)
	}

	admin := http.NewServeMux()
	admin.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintln(w, `{"status":"ok"}`)
	})

	listeners := []server.Listener{
		{Name: "admin", Addr: cfg.AdminListen, Handler: admin},
	}
	g, err := server.Bind(logger, listeners)
	if err != nil {
		return err
	}
	logger.Info("gatehouse started", "version", versionString(), "db", st.Backend())
	return g.Serve(ctx, time.Duration(cfg.ShutdownTimeout))
}
