package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// idpCommand runs fn against the built-in IdP on the configured database. The commands work
// on the database directly (a running node sees the change on its next token request), so
// they need no credentials beyond access to the database.
//
// Every change is recorded in the node's audit trail (the auditFile setting, read from the
// same --config file or environment as the node's) with the actor cli:<OS user>. The CLI
// appends to the trail file as a writer of its own (instance <host>:<pid>:cli, its own
// chain): both writers append whole records with O_APPEND, so neither breaks the other's
// chain, and verify checks each instance's chain. The CLI signs no digests (the store keeps
// one digest per trail, the node's), so verify lists its records as unsigned. With auditFile
// "stdout" the node's trail is out of reach: the records go to the CLI's standard error. The
// trail is opened before the change, so a trail that cannot be opened refuses the command.
func idpCommand(use, short string, args cobra.PositionalArgs, setup func(*cobra.Command), fn func(ctx context.Context, p *idp.IdP, cmd *cobra.Command, args []string) (any, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  args,
		RunE: func(cmd *cobra.Command, args []string) error {
			return withStore(cmd, func(cfg config.Config, st *sqldb.DB) error {
				trail, err := openCLITrail(cfg.AuditFile, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				if cfg.IdPIssuerBase, err = cliIssuerBase(cmd, cfg, st); err != nil {
					return err
				}
				var writeErr error
				p := app.NewIdP(st, cfg, slog.New(slog.DiscardHandler), nil, idp.WithAudit(func(_ context.Context, c idp.Change) {
					if trail != nil {
						if err := trail.Write(app.IdPChangeRecord(c)); err != nil && writeErr == nil {
							writeErr = err
						}
					}
				}))
				ctx := idp.WithActor(cmd.Context(), cliActor())
				out, err := fn(ctx, p, cmd, args)
				if trail != nil {
					closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
					defer cancel()
					if cerr := errors.Join(writeErr, trail.Close(closeCtx)); cerr != nil {
						return errors.Join(err, fmt.Errorf("audit trail %s: the change is committed but its record may be missing: %w", cfg.AuditFile, cerr))
					}
				}
				if err != nil {
					return err
				}
				return printJSON(cmd.OutOrStdout(), out)
			})
		},
	}
	addSettingFlags(cmd, storeSettings...)
	if setup != nil {
		setup(cmd)
	}
	return cmd
}

// cliIssuerBase is the base of the issuer URLs the CLI gives new pools: idpIssuerBase (or
// http://<idpListen>) when the settings or environment name one, else the base a node
// recorded in the store (idp.RecordIssuerBase), so a CLI run without the node's --config no
// longer mints pools whose issuer the node does not serve. With neither, the default
// (http://127.0.0.1:9229, cfg's) still applies: refusing would break scripts that prepare a
// database before its first node starts.
func cliIssuerBase(cmd *cobra.Command, cfg config.Config, st *sqldb.DB) (string, error) {
	var c config.Config // no defaults: only what the user set
	if path, _ := cmd.Flags().GetString("config"); path != "" {
		if err := c.LoadFile(path); err != nil {
			return "", err
		}
	}
	if err := c.LoadEnv(os.LookupEnv); err != nil {
		return "", err
	}
	switch {
	case c.IdPIssuerBase != "":
		return c.IdPIssuerBase, nil
	case config.Enabled(c.IdPListen):
		return "http://" + c.IdPListen, nil
	}
	stored, err := idp.StoredIssuerBase(cmd.Context(), st)
	if err != nil || stored != "" {
		return stored, err
	}
	return cfg.IdPIssuerBase, nil
}

// openCLITrail opens the audit trail the CLI's changes go to; nil when none is configured.
func openCLITrail(path string, stderr io.Writer) (*audit.Writer, error) {
	host, _ := os.Hostname()
	opts := []audit.Option{audit.WithInstance(fmt.Sprintf("%s:%d:cli", host, os.Getpid())), audit.WithLogger(slog.New(slog.DiscardHandler))}
	switch path {
	case "":
		return nil, nil
	case "stdout", "-":
		return audit.New(stderr, opts...), nil
	}
	w, err := audit.Open(path, opts...)
	if err != nil {
		return nil, fmt.Errorf("audit trail (nothing was changed): %w", err)
	}
	return w, nil
}

// cliActor names who runs the command: the local OS user.
func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return fmt.Sprintf("cli:uid-%d", os.Getuid())
}

func printJSON(w io.Writer, v any) error {
	if v == nil {
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newIdPCommand() *cobra.Command {
	root := &cobra.Command{Use: "idp", Short: "Manage the built-in identity provider's user pools"}
	str := func(c *cobra.Command, name string) string { v, _ := c.Flags().GetString(name); return v }
	strs := func(c *cobra.Command, name string) []string { v, _ := c.Flags().GetStringSlice(name); return v }

	root.AddCommand(
		idpCommand("create-pool --name NAME", "Create a user pool (prints its id)", cobra.NoArgs,
			func(c *cobra.Command) { c.Flags().String("name", "", "pool name"); _ = c.MarkFlagRequired("name") },
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				pool, err := p.CreatePool(ctx, idp.PoolInput{Name: str(c, "name")})
				if err != nil {
					return nil, err
				}
				return map[string]string{"poolId": pool.ID, "issuer": pool.Issuer}, nil
			}),
		idpCommand("create-client --pool P --name NAME", "Create an app client", cobra.NoArgs,
			func(c *cobra.Command) {
				c.Flags().String("pool", "", "pool id")
				c.Flags().String("name", "", "client name")
				c.Flags().Bool("secret", false, "generate a client secret")
				c.Flags().StringSlice("flows", []string{"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}, "explicit auth flows")
				c.Flags().StringSlice("oauth-flows", nil, "OAuth flows: code, client_credentials")
				c.Flags().StringSlice("scopes", nil, "allowed OAuth scopes, e.g. petstore/api")
				c.Flags().StringSlice("callback", nil, "callback URLs for the code flow")
				_ = c.MarkFlagRequired("pool")
				_ = c.MarkFlagRequired("name")
			},
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				secret, _ := c.Flags().GetBool("secret")
				cl, err := p.CreateClient(ctx, str(c, "pool"), idp.ClientInput{Name: str(c, "name"), GenerateSecret: secret,
					ExplicitAuthFlows: strs(c, "flows"), AllowedOAuthFlows: strs(c, "oauth-flows"), AllowedOAuthScopes: strs(c, "scopes"), CallbackURLs: strs(c, "callback")})
				if err != nil {
					return nil, err
				}
				return map[string]string{"clientId": cl.ID, "clientSecret": cl.Secret}, nil
			}),
		idpCommand("create-group --pool P --name GROUP", "Create a group", cobra.NoArgs,
			func(c *cobra.Command) {
				c.Flags().String("pool", "", "pool id")
				c.Flags().String("name", "", "group name")
				c.Flags().Int32("precedence", -1, "precedence (lower wins)")
				_ = c.MarkFlagRequired("pool")
				_ = c.MarkFlagRequired("name")
			},
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				in := idp.GroupInput{Name: str(c, "name")}
				if prec, _ := c.Flags().GetInt32("precedence"); prec >= 0 {
					in.Precedence = &prec
				}
				g, err := p.CreateGroup(ctx, str(c, "pool"), in)
				if err != nil {
					return nil, err
				}
				return g, nil
			}),
		idpCommand("create-user --pool P --username U --password W [--attr k=v]...", "Create a confirmed user with a permanent password", cobra.NoArgs,
			func(c *cobra.Command) {
				c.Flags().String("pool", "", "pool id")
				c.Flags().String("username", "", "user name")
				c.Flags().String("password", "", "permanent password")
				c.Flags().StringArray("attr", nil, "attribute name=value (email, custom:costCenter, ...)")
				for _, f := range []string{"pool", "username", "password"} {
					_ = c.MarkFlagRequired(f)
				}
			},
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				attrs := map[string]string{}
				list, _ := c.Flags().GetStringArray("attr")
				for _, kv := range list {
					k, v, ok := strings.Cut(kv, "=")
					if !ok || k == "" {
						return nil, fmt.Errorf("--attr %q: want name=value", kv)
					}
					attrs[k] = v
				}
				u, err := p.CreateUser(ctx, str(c, "pool"), str(c, "username"), str(c, "password"), attrs)
				if err != nil {
					return nil, err
				}
				return map[string]string{"username": u.Username, "sub": u.Sub}, nil
			}),
		idpCommand("add-user-to-group --pool P --username U --group G", "Add a user to a group", cobra.NoArgs,
			func(c *cobra.Command) {
				c.Flags().String("pool", "", "pool id")
				c.Flags().String("username", "", "user name")
				c.Flags().String("group", "", "group name")
				for _, f := range []string{"pool", "username", "group"} {
					_ = c.MarkFlagRequired(f)
				}
			},
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				return nil, p.AddUserToGroup(ctx, str(c, "pool"), str(c, "username"), str(c, "group"))
			}),
		idpCommand("create-resource-server --pool P --identifier ID --scope NAME...", "Create a resource server with custom scopes (ID/NAME)", cobra.NoArgs,
			func(c *cobra.Command) {
				c.Flags().String("pool", "", "pool id")
				c.Flags().String("identifier", "", "resource server identifier, e.g. petstore")
				c.Flags().StringSlice("scope", nil, "scope names, e.g. api")
				_ = c.MarkFlagRequired("pool")
				_ = c.MarkFlagRequired("identifier")
			},
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				var scopes []idp.ScopeInfo
				for _, s := range strs(c, "scope") {
					scopes = append(scopes, idp.ScopeInfo{Name: s, Description: s})
				}
				return p.CreateResourceServer(ctx, str(c, "pool"), str(c, "identifier"), str(c, "identifier"), scopes)
			}),
		idpCommand("token --pool P --client C --user U", "Issue tokens for a user (for scripts and tests)", cobra.NoArgs,
			func(c *cobra.Command) {
				c.Flags().String("pool", "", "pool id")
				c.Flags().String("client", "", "client id")
				c.Flags().String("user", "", "user name")
				for _, f := range []string{"pool", "client", "user"} {
					_ = c.MarkFlagRequired(f)
				}
			},
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				t, err := p.IssueTokens(ctx, str(c, "pool"), str(c, "client"), str(c, "user"))
				if err != nil {
					return nil, err
				}
				return map[string]any{"AccessToken": t.AccessToken, "IdToken": t.IDToken, "RefreshToken": t.RefreshToken, "ExpiresIn": t.ExpiresIn, "TokenType": t.TokenType}, nil
			}),
		idpCommand("rotate-keys --pool P", "Start signing with a new key; the previous key stays published until its tokens expire", cobra.NoArgs,
			func(c *cobra.Command) { c.Flags().String("pool", "", "pool id"); _ = c.MarkFlagRequired("pool") },
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				kid, err := p.RotateKeys(ctx, str(c, "pool"))
				if err != nil {
					return nil, err
				}
				return map[string]string{"kid": kid}, nil
			}),
		idpCommand("remove-key --pool P --kid K", "Withdraw a retired signing key now (a compromised key): every node refuses its tokens once it hears of the change", cobra.NoArgs,
			func(c *cobra.Command) {
				c.Flags().String("pool", "", "pool id")
				c.Flags().String("kid", "", "key id (rotate-keys first to retire the current key)")
				_ = c.MarkFlagRequired("pool")
				_ = c.MarkFlagRequired("kid")
			},
			func(ctx context.Context, p *idp.IdP, c *cobra.Command, _ []string) (any, error) {
				if err := p.RemoveKey(ctx, str(c, "pool"), str(c, "kid")); err != nil {
					return nil, err
				}
				return map[string]string{"removed": str(c, "kid")}, nil
			}),
	)
	return root
}
