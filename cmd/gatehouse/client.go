package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// addClientFlags adds the flags of commands that call a running node's management API.
func addClientFlags(cmd *cobra.Command) {
	cmd.Flags().String("endpoint", "", "management API URL (default http://<admin-listen>)")
	addSettingFlags(cmd, clientSettings...)
}

// clientSettings are the settings a client command reads: where the node's management API is
// (adminListen, region) and where its generated credentials are (db).
var clientSettings = []string{"adminListen", "region", "db"}

// storeSettings are the settings of commands that work on the database directly.
var storeSettings = []string{"db"}

// managementClient builds a client from --endpoint and the credentials: the
// GATEHOUSE_ACCESS_KEY_ID/GATEHOUSE_SECRET_ACCESS_KEY (or AWS_*) variables, else the
// generated pair stored in a local SQLite database (--db).
func managementClient(cmd *cobra.Command) (*mgmtclient.Client, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	endpoint, _ := cmd.Flags().GetString("endpoint")
	if endpoint == "" {
		endpoint = "http://" + cfg.AdminListen
	}
	c := &mgmtclient.Client{Endpoint: endpoint, Region: cfg.Region, AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}
	if c.AccessKeyID == "" {
		c.AccessKeyID, c.SecretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	}
	if c.AccessKeyID == "" && !sqldb.IsPostgres(cfg.DB) {
		if _, err := os.Stat(cfg.DB); err == nil {
			st, err := sqldb.Open(cmd.Context(), cfg.DB)
			if err != nil {
				return nil, err
			}
			defer st.Close()
			creds, err := app.StoredCredentials(cmd.Context(), st)
			if err == nil {
				c.AccessKeyID, c.SecretAccessKey = creds.AccessKeyID, creds.SecretAccessKey
			}
		}
	}
	if c.AccessKeyID == "" {
		return nil, fmt.Errorf("no management credentials: set GATEHOUSE_ACCESS_KEY_ID and GATEHOUSE_SECRET_ACCESS_KEY (or run next to the node's SQLite file, --db)")
	}
	return c, nil
}
