package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// credentialsKind stores the generated management key pair when none is configured, so a new
// user gets a working, non-default secret without reading docs first.
const credentialsKind store.Kind = "management_credentials"

type managementCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	generated       bool
}

func randomString(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	var sb strings.Builder
	for _, c := range b {
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

// ensureCredentials returns the configured credentials, else the stored generated ones,
// else generates, stores and returns a new pair.
func ensureCredentials(ctx context.Context, st store.Store, cfg config.Config) (managementCredentials, error) {
	if cfg.AccessKeyID != "" {
		return managementCredentials{AccessKeyID: cfg.AccessKeyID, SecretAccessKey: cfg.SecretAccessKey}, nil
	}
	var out managementCredentials
	err := st.Update(ctx, func(tx store.Tx) error {
		o, err := tx.Get(ctx, "", credentialsKind, "default")
		if err == nil {
			return json.Unmarshal(o.Data, &out)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		out = managementCredentials{
			AccessKeyID:     "GH" + randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 18),
			SecretAccessKey: randomString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 40),
			generated:       true,
		}
		data, _ := json.Marshal(out)
		return tx.Create(ctx, store.Object{Kind: credentialsKind, ID: "default", Data: data})
	})
	if err != nil {
		return out, fmt.Errorf("management credentials: %w", err)
	}
	return out, nil
}

// storedCredentials reads the generated credentials from a local database.
func storedCredentials(ctx context.Context, dsn string) (managementCredentials, error) {
	st, err := sqldb.Open(ctx, dsn)
	if err != nil {
		return managementCredentials{}, err
	}
	defer st.Close()
	o, err := st.Get(ctx, "", credentialsKind, "default")
	if err != nil {
		return managementCredentials{}, fmt.Errorf("no generated credentials in %s (set GATEHOUSE_ACCESS_KEY_ID and GATEHOUSE_SECRET_ACCESS_KEY): %w", dsn, err)
	}
	var c managementCredentials
	if err := json.Unmarshal(o.Data, &c); err != nil {
		return c, fmt.Errorf("stored credentials: %w", err)
	}
	return c, nil
}

func newCredentialsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credentials",
		Short: "Print the generated management credentials as environment variables",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			c, err := storedCredentials(cmd.Context(), cfg.DB)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "export AWS_ACCESS_KEY_ID=%s\nexport AWS_SECRET_ACCESS_KEY=%s\nexport GATEHOUSE_ACCESS_KEY_ID=%s\nexport GATEHOUSE_SECRET_ACCESS_KEY=%s\n",
				c.AccessKeyID, c.SecretAccessKey, c.AccessKeyID, c.SecretAccessKey)
			return nil
		},
	}
	addSettingFlags(cmd)
	return cmd
}
