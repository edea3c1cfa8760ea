package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"reflect"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/config"

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
			logger, level := newLeveledLogger(cmd.ErrOrStderr(), cfg)
			// A start that cannot bind leaves nothing behind: the ports are checked before the
			// database is opened (or created, with generated credentials), and a SQLite file
			// this start created is removed if binding still fails.
			if err := checkListeners(cfg); err != nil {
				return err
			}
			existed := fileExists(cfg.DB)
			node, err := app.New(ctx, cfg, logger)
			if err != nil {
				removeIfCreated(cfg.DB, existed)
				return err
			}
			defer node.Close()
			// Release builds set the version with -ldflags in this package only.
			build := readBuildInfo()
			node.Metrics.SetBuildInfo(build.Version, build.Commit)
			if err := node.Listen(); err != nil {
				node.Close()
				removeIfCreated(cfg.DB, existed)
				return err
			}
			if node.Credentials.Generated {
				logger.Warn("no management credentials configured; generated a pair and stored it in the database (print it with `gatehouse credentials`)",
					"accessKeyId", node.Credentials.AccessKeyID)
			}
			logger.Info("gatehouse started", "version", versionString(), "db", node.Store.Backend())
			go reloadOnHUP(ctx, cmd, cfg, level, logger)
			if err := node.Serve(ctx); err != nil {
				return err
			}
			// Closing flushes the audit trail: records it could neither write nor report in a
			// gap record make the exit status non-zero.
			node.Close()
			return node.AuditErr()
		},
	}
	addSettingFlags(cmd)
	return cmd
}

// reloadOnHUP re-reads the settings on SIGHUP. The log level changes in place; settings that
// need new sockets or another database are reported as needing a restart, never half-applied.
// (TLS certificates are re-read on their own when the files change.)
func reloadOnHUP(ctx context.Context, cmd *cobra.Command, running config.Config, level *slog.LevelVar, logger *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		next, err := loadConfig(cmd)
		if err != nil {
			logger.Error("settings not reloaded", "err", err)
			continue
		}
		if err := level.UnmarshalText([]byte(next.LogLevel)); err == nil {
			running.LogLevel = next.LogLevel
		}
		restart := []string{}
		if next.Listen != running.Listen || next.AdminListen != running.AdminListen || next.IdPListen != running.IdPListen || next.ForwardAuthListen != running.ForwardAuthListen ||
			next.ExtAuthzListen != running.ExtAuthzListen {
			restart = append(restart, "listeners")
		}
		if next.DB != running.DB {
			restart = append(restart, "db")
		}
		if next.AccessKeyID != running.AccessKeyID || next.SecretAccessKey != running.SecretAccessKey {
			restart = append(restart, "credentials")
		}
		if next.TracingEndpoint != running.TracingEndpoint || next.TracingProtocol != running.TracingProtocol ||
			!reflect.DeepEqual(next.TracingSampleRatio, running.TracingSampleRatio) {
			restart = append(restart, "tracing")
		}
		logger.Info("settings reloaded", "logLevel", next.LogLevel, "needRestart", restart)
	}
}
