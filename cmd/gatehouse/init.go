package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gatehouse-dev/gatehouse/internal/app"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

func newInitCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "init --openapi FILE (--dir DIR | --apply) [flags]",
		Short: "Generate a Cedar schema, group policies and a gateway API from an OpenAPI document",
		Long: `init is the AWS console's API Gateway + Cognito setup wizard as a command. From an OpenAPI 3
or Swagger 2 document, an identity source (--pool, --user-pool-arn or --issuer) and which group
may call which operations (--allow), it writes a directory that "gatehouse apply" accepts:
gatehouse.yaml, schema.cedarschema (one action per method and path), policies/<group>.cedar,
identity-sources.yaml and apis/<name>.yaml. With --apply it also applies it.

Routes listed with --public take no token, routes listed with --authenticated take any valid
token (with one of --scope), and every other route is decided by the policies, so an operation
no group was given is denied.

Running init again on the same directory after the document changed updates what init wrote,
keeps hand-written policies and any generated file you edited, and reports policies that name
actions the schema no longer has. Answers not given again are taken from the last run.

On a terminal, missing answers are asked for.`,
		Example: `  gatehouse init --openapi petstore.yaml --dir petstore --pool us-east-1_Example --stage demo \
    --upstream http://127.0.0.1:8000 --public "GET /" \
    --authenticated "GET /pets,GET /pets/{petId}" --scope petstore/api \
    --allow employees="POST /pets" --allow owners="POST /pets,ANY /admin/{proxy+}"`,
		Args: cobra.NoArgs,
		RunE: runInit,
	}
	f := cmd.Flags()
	f.String("openapi", "", "OpenAPI 3 or Swagger 2 document (JSON or YAML)")
	f.String("dir", "", "output directory (re-running on it updates it)")
	f.Bool("apply", false, "apply the result to the policy store through the management API")
	f.String("name", "", "API name (default the document title); the Cedar namespace is derived from it")
	f.String("namespace", "", "Cedar namespace (default the sanitized API name)")
	f.String("stage", "", "stage, served under /<stage> (default "+wizard.DefaultStage+")")
	f.String("upstream", "", "upstream URL the gateway proxies to")
	f.String("policy-store-id", "", "policy store id (default the namespace)")
	f.String("pool", "", "user pool id (built-in IdP or Cognito), e.g. us-east-1_Example")
	f.String("user-pool-arn", "", "Cognito user pool ARN")
	f.String("issuer", "", "OIDC issuer URL")
	f.String("entity-id-prefix", "", "OIDC principal/group id prefix (default the issuer without https://)")
	f.String("group-claim", "", "OIDC claim holding the groups (default groups)")
	f.StringSlice("client-id", nil, "app client ids (OIDC audiences) tokens must be issued to (default any)")
	f.String("token-type", "", "token the policies see: accessToken (default) or identityToken")
	f.StringArray("allow", nil, `GROUP="METHOD /path,ANY /path,operationId,..." (repeatable)`)
	f.StringArray("public", nil, `routes that take no token: "METHOD /path" or operationIds, comma-separated`)
	f.StringArray("authenticated", nil, "routes any signed-in user may call, comma-separated")
	f.StringSlice("scope", nil, "scopes the authenticated routes require (any of them)")
	f.Bool("skip-issuer-check", false, "do not fetch the OIDC issuer's discovery document")
	addClientFlags(cmd)
	return cmd
}

// initAnswers are the flags as given, and which were given.
type initAnswers struct {
	openapi, dir string
	apply        bool
	opts         wizard.Options
	changed      func(string) bool
}

func readInitFlags(cmd *cobra.Command) (*initAnswers, error) {
	f := cmd.Flags()
	str := func(n string) string { v, _ := f.GetString(n); return v }
	list := func(n string) []string {
		v, _ := f.GetStringArray(n)
		var out []string
		for _, s := range v {
			out = append(out, splitList(s)...)
		}
		return out
	}
	a := &initAnswers{openapi: str("openapi"), dir: str("dir"), changed: f.Changed}
	a.apply, _ = f.GetBool("apply")
	clientIDs, _ := f.GetStringSlice("client-id")
	scopes, _ := f.GetStringSlice("scope")
	a.opts = wizard.Options{
		APIName: str("name"), Namespace: str("namespace"), Stage: str("stage"), Upstream: str("upstream"),
		PolicyStoreID: str("policy-store-id"), TokenType: str("token-type"),
		Identity: wizard.IdentitySource{PoolID: str("pool"), UserPoolARN: str("user-pool-arn"), Issuer: str("issuer"),
			EntityIDPrefix: str("entity-id-prefix"), GroupClaim: str("group-claim"), ClientIDs: clientIDs},
		Public: list("public"), Authenticated: list("authenticated"), Scopes: scopes,
	}
	allows, _ := f.GetStringArray("allow")
	for _, s := range allows {
		as, err := parseAllow(s)
		if err != nil {
			return nil, err
		}
		a.opts.Allow = append(a.opts.Allow, as)
	}
	return a, nil
}

// parseAllow reads GROUP=OP,OP,...
func parseAllow(s string) (wizard.Assignment, error) {
	g, ops, ok := strings.Cut(s, "=")
	g = strings.TrimSpace(g)
	if !ok || g == "" {
		return wizard.Assignment{}, fmt.Errorf(`--allow %q: want GROUP="METHOD /path,..."`, s)
	}
	list := splitList(ops)
	if len(list) == 0 {
		return wizard.Assignment{}, fmt.Errorf("--allow %q: no operations", s)
	}
	return wizard.Assignment{Group: g, Operations: list}, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// mergePrevious fills answers not given now from the last run's.
func (a *initAnswers) mergePrevious(prev *wizard.Options) {
	o := &a.opts
	for _, f := range []struct {
		flag     string
		dst, src *string
	}{
		{"name", &o.APIName, &prev.APIName}, {"namespace", &o.Namespace, &prev.Namespace}, {"stage", &o.Stage, &prev.Stage},
		{"upstream", &o.Upstream, &prev.Upstream}, {"policy-store-id", &o.PolicyStoreID, &prev.PolicyStoreID},
		{"token-type", &o.TokenType, &prev.TokenType},
	} {
		if !a.changed(f.flag) {
			*f.dst = *f.src
		}
	}
	if !a.changed("pool") && !a.changed("user-pool-arn") && !a.changed("issuer") {
		id := prev.Identity
		if a.changed("client-id") {
			id.ClientIDs = o.Identity.ClientIDs
		}
		o.Identity = id
	}
	if !a.changed("allow") {
		o.Allow, o.DropMissing.Allow = prev.Allow, true
	}
	if !a.changed("public") {
		o.Public, o.DropMissing.Public = prev.Public, true
	}
	if !a.changed("authenticated") {
		o.Authenticated, o.DropMissing.Authenticated = prev.Authenticated, true
	}
	if !a.changed("scope") {
		o.Scopes = prev.Scopes
	}
}

func runInit(cmd *cobra.Command, _ []string) error {
	ctx := cmd.Context()
	a, err := readInitFlags(cmd)
	if err != nil {
		return err
	}
	if a.dir != "" {
		prev, err := wizard.PreviousOptions(a.dir)
		if err != nil {
			return err
		}
		if prev != nil {
			a.mergePrevious(prev)
		}
	}
	stderr := cmd.ErrOrStderr()
	// The document is read before any prompt: it may name the identity source.
	var doc *wizard.Document
	read := func() error {
		data, err := os.ReadFile(a.openapi)
		if err != nil {
			return err
		}
		start := time.Now()
		if doc, err = wizard.Parse(ctx, data); err != nil {
			return fmt.Errorf("%s: %w", a.openapi, err)
		}
		fmt.Fprintf(stderr, "%s: %d paths read in %s\n", a.openapi, doc.Paths.Len(), time.Since(start).Round(time.Millisecond))
		if id := &a.opts.Identity; id.PoolID == "" && id.UserPoolARN == "" && id.Issuer == "" {
			if id.Issuer = doc.Issuer(); id.Issuer != "" {
				fmt.Fprintf(stderr, "identity source: OIDC issuer %s (the document's openIdConnect security scheme)\n", id.Issuer)
			}
		}
		return nil
	}
	if a.openapi != "" {
		if err := read(); err != nil {
			return err
		}
	}
	id := a.opts.Identity
	missing := a.openapi == "" || id.PoolID == "" && id.UserPoolARN == "" && id.Issuer == "" || a.dir == "" && !a.apply
	if missing && stdinIsTerminal(cmd) {
		if err := promptMissing(bufio.NewReader(cmd.InOrStdin()), cmd.OutOrStdout(), a); err != nil {
			return err
		}
	}
	if a.openapi == "" {
		return errors.New("--openapi is required")
	}
	if a.dir == "" && !a.apply {
		return errors.New("give --dir DIR to write the files for review, or --apply to apply them now")
	}
	if doc == nil {
		if err := read(); err != nil {
			return err
		}
	}
	if pool := a.opts.Identity.PoolID; pool != "" {
		groups, err := localGroups(cmd, pool)
		if err != nil {
			return err
		}
		a.opts.KnownGroups = groups
		if groups == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "note: pool %s is not a pool of the built-in IdP here; group names are not checked\n", pool)
		}
	}
	if iss := a.opts.Identity.Issuer; iss != "" {
		if skip, _ := cmd.Flags().GetBool("skip-issuer-check"); !skip {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := wizard.CheckIssuer(cctx, nil, iss)
			cancel()
			if err != nil {
				return fmt.Errorf("%w (--skip-issuer-check to write the files anyway)", err)
			}
		}
	}
	start := time.Now()
	res, err := wizard.Generate(doc, a.opts)
	if err != nil {
		return fmt.Errorf("%s: %w", a.openapi, err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "warning: %s: %s\n", a.openapi, w)
	}
	fmt.Fprintf(stderr, "generated %d routes, %d actions, %d policy files (schema %d bytes) in %s\n", len(res.Routes), len(res.Actions),
		len(res.PolicyFiles), len(res.Files["schema.cedarschema"]), time.Since(start).Round(time.Millisecond))

	dir := a.dir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "gatehouse-init-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	rep, err := res.WriteDir(dir)
	if err != nil {
		return err
	}
	if a.dir != "" {
		rep.Print(cmd.OutOrStdout())
	} else {
		for _, n := range rep.Notes {
			fmt.Fprintf(cmd.OutOrStdout(), "note: %s\n", n)
		}
	}
	if !a.apply {
		fmt.Fprintf(cmd.OutOrStdout(), "review the files, then: gatehouse apply %s\n", dir)
		return nil
	}
	d, err := apply.Load(dir, os.LookupEnv)
	if err != nil {
		return err
	}
	c, err := managementClient(cmd)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "applying to %s ...\n", c.Endpoint)
	arep, err := apply.Apply(ctx, c, d)
	if arep != nil {
		arep.Print(cmd.OutOrStdout())
	}
	return err
}

// localGroups returns the groups of a built-in IdP pool in the configured database, or nil
// when there is no such database or pool (the pool is then taken to be an AWS one).
func localGroups(cmd *cobra.Command, pool string) ([]string, error) {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	if !sqldb.IsPostgres(cfg.DB) {
		if _, err := os.Stat(cfg.DB); err != nil {
			return nil, nil
		}
	}
	st, err := sqldb.Open(cmd.Context(), cfg.DB)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	gs, err := app.NewIdP(st, cfg, slog.New(slog.DiscardHandler), nil).ListGroups(cmd.Context(), pool)
	var ie *idp.Error
	if errors.As(err, &ie) && ie.Code == idp.CodeResourceNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list groups of pool %s: %w", pool, err)
	}
	out := make([]string, 0, len(gs))
	for _, g := range gs {
		out = append(out, g.Name)
	}
	return out, nil
}

// stdinIsTerminal reports whether the command reads the process's stdin and it is a
// terminal (a character device), so prompting makes sense.
func stdinIsTerminal(cmd *cobra.Command) bool {
	if cmd.InOrStdin() != os.Stdin {
		return false
	}
	st, err := os.Stdin.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// promptMissing asks for the answers a run cannot do without.
func promptMissing(in *bufio.Reader, out io.Writer, a *initAnswers) error {
	ask := func(q, def string) (string, error) {
		if def != "" {
			fmt.Fprintf(out, "%s [%s]: ", q, def)
		} else {
			fmt.Fprintf(out, "%s: ", q)
		}
		line, err := in.ReadString('\n')
		if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
			return "", fmt.Errorf("read answer: %w", err)
		}
		if line = strings.TrimSpace(line); line == "" {
			return def, nil
		}
		return line, nil
	}
	var err error
	if a.openapi == "" {
		if a.openapi, err = ask("OpenAPI document (file)", ""); err != nil {
			return err
		}
	}
	docIssuer := ""
	if data, err := os.ReadFile(a.openapi); err == nil {
		if doc, err := wizard.Parse(context.Background(), data); err == nil {
			docIssuer = doc.Issuer()
			if list, err := wizard.ListOperations(doc); err == nil {
				fmt.Fprintf(out, "Operations in %s:\n  %s\n", a.openapi, strings.Join(list, "\n  "))
			}
		}
	}
	id := &a.opts.Identity
	if id.PoolID == "" && id.UserPoolARN == "" && id.Issuer == "" {
		src, err := ask("Identity source: a pool id (us-east-1_...), a user pool ARN (arn:...) or an OIDC issuer (https://...)", docIssuer)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(src, "arn:"):
			id.UserPoolARN = src
		case strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://"):
			id.Issuer = src
		default:
			id.PoolID = src
		}
	}
	if a.opts.Upstream == "" {
		if a.opts.Upstream, err = ask("Upstream URL (empty if every route is a mock)", ""); err != nil {
			return err
		}
	}
	if len(a.opts.Public) == 0 {
		s, err := ask(`Public routes, comma-separated (e.g. GET /)`, "")
		if err != nil {
			return err
		}
		a.opts.Public = splitList(s)
	}
	if len(a.opts.Authenticated) == 0 {
		s, err := ask("Routes any signed-in user may call, comma-separated", "")
		if err != nil {
			return err
		}
		a.opts.Authenticated = splitList(s)
		if len(a.opts.Authenticated) > 0 && len(a.opts.Scopes) == 0 {
			s, err := ask("Scopes those routes require, comma-separated (empty: none)", "")
			if err != nil {
				return err
			}
			a.opts.Scopes = splitList(s)
		}
	}
	if len(a.opts.Allow) == 0 {
		for {
			g, err := ask("Group to grant operations to (empty to finish)", "")
			if err != nil || g == "" {
				break
			}
			ops, err := ask(fmt.Sprintf(`Operations for %s ("METHOD /path" or operationIds, comma-separated)`, g), "")
			if err != nil {
				return err
			}
			if list := splitList(ops); len(list) > 0 {
				a.opts.Allow = append(a.opts.Allow, wizard.Assignment{Group: g, Operations: list})
			}
		}
	}
	if a.dir == "" && !a.apply {
		if a.dir, err = ask("Output directory", strings.ToLower(wizard.Namespace(strings.TrimSuffix(filepath.Base(a.openapi), filepath.Ext(a.openapi))))); err != nil {
			return err
		}
	}
	return nil
}
