package main

import (
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// settingFlags binds the process settings to flags named after their environment variables
// (GATEHOUSE_ADMIN_LISTEN ↔ --admin-listen).
var settingFlags = []struct{ flag, key string }{
	{"listen", "listen"},
	{"admin-listen", "adminListen"},
	{"idp-listen", "idpListen"},
	{"idp-issuer-base", "idpIssuerBase"},
	{"forward-auth-listen", "forwardAuthListen"},
	{"ext-authz-listen", "extAuthzListen"},
	{"db", "db"},
	{"region", "region"},
	{"log-format", "logFormat"},
	{"log-level", "logLevel"},
	{"audit-file", "auditFile"},
	{"cache-memory", "cacheMemory"},
}

// addSettingFlags adds --config and the flags of the named settings (file keys), or of all
// of them when none is named: a command lists only the settings it reads.
func addSettingFlags(cmd *cobra.Command, keys ...string) {
	d := config.Defaults()
	defaults := map[string]string{
		"listen": d.Listen, "adminListen": d.AdminListen, "idpListen": d.IdPListen,
		"forwardAuthListen": d.ForwardAuthListen, "db": d.DB, "region": d.Region,
		"logFormat": d.LogFormat, "logLevel": d.LogLevel, "cacheMemory": d.CacheMemory.String(),
	}
	help := map[string]string{}
	for _, e := range config.Env {
		help[e.Key] = fmt.Sprintf("%s (env %s)", e.Help, e.Name)
	}
	cmd.Flags().String("config", "", "settings file: JSON if named *.json, else YAML")
	for _, f := range settingFlags {
		if len(keys) == 0 || slices.Contains(keys, f.key) {
			cmd.Flags().String(f.flag, defaults[f.key], help[f.key])
		}
	}
}

// checkListeners binds and releases every enabled listener address, so that a start on a
// port in use fails before it opens (and creates) the database or generates credentials.
func checkListeners(cfg config.Config) error {
	addrs := map[string]string{"listen": cfg.Listen, "adminListen": cfg.AdminListen, "idpListen": cfg.IdPListen,
		"forwardAuthListen": cfg.ForwardAuthListen, "healthListen": cfg.HealthListen, "extAuthzListen": cfg.ExtAuthzListen}
	for _, key := range slices.Sorted(maps.Keys(addrs)) {
		addr := addrs[key]
		if !config.Enabled(addr) {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		ln.Close()
	}
	return nil
}

// removeIfCreated deletes a SQLite database (and its -wal and -shm files) that did not exist
// before this start, for a start that failed after opening it.
func removeIfCreated(db string, existed bool) {
	if existed || sqldb.IsPostgres(db) || strings.HasPrefix(db, "file:") {
		return
	}
	for _, p := range []string{db, db + "-wal", db + "-shm"} {
		os.Remove(p)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// loadConfig applies defaults, then the --config file, then GATEHOUSE_* variables, then flags
// the user set, and validates the result.
func loadConfig(cmd *cobra.Command) (config.Config, error) {
	c := config.Defaults()
	if path, _ := cmd.Flags().GetString("config"); path != "" {
		if err := c.LoadFile(path); err != nil {
			return c, err
		}
	}
	if err := c.LoadEnv(os.LookupEnv); err != nil {
		return c, err
	}
	for _, f := range settingFlags {
		fl := cmd.Flags().Lookup(f.flag)
		if fl == nil || !fl.Changed {
			continue
		}
		if err := c.Set(f.key, fl.Value.String()); err != nil {
			return c, fmt.Errorf("--%s: %w", f.flag, err)
		}
	}
	if c.IdPIssuerBase == "" && config.Enabled(c.IdPListen) {
		c.IdPIssuerBase = "http://" + c.IdPListen
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("invalid settings: %w", err)
	}
	return c, nil
}

func newLogger(w io.Writer, c config.Config) *slog.Logger {
	l, _ := newLeveledLogger(w, c)
	return l
}

// newLeveledLogger returns a logger whose level can be changed later (SIGHUP reload).
func newLeveledLogger(w io.Writer, c config.Config) (*slog.Logger, *slog.LevelVar) {
	lvl := new(slog.LevelVar)
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), lvl
	}
	return slog.New(slog.NewTextHandler(w, opts)), lvl
}

// withStore loads the settings and runs fn on the configured database (the offline commands
// that read or write it directly).
func withStore(cmd *cobra.Command, fn func(cfg config.Config, st *sqldb.DB) error) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	st, err := sqldb.Open(cmd.Context(), cfg.DB)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}
