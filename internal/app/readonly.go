package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/store/memstore"
)

// NewReadOnly builds a Core whose whole state is the `gatehouse apply` directory dir (${NAME}
// placeholders replaced through vars): the directory is read and checked as apply checks it,
// sent as one bundle through the same Gatehouse.ApplyBundle operation the management API
// serves, into an in-memory store that is then frozen. Nothing is written anywhere else, and
// the state never changes afterwards: decisions are those a node holding the same directory
// makes.
//
// The built-in IdP does not run here: a directory whose identity sources name its issuer
// (idpIssuerBase, default http://<idpListen>) is refused. Cognito pools resolve to AWS, or to
// o.CognitoEndpoint when set (an emulator).
func NewReadOnly(ctx context.Context, cfg config.Config, logger *slog.Logger, dir string, vars func(string) (string, bool), o CoreOptions) (*Core, error) {
	d, err := apply.Load(dir, vars)
	if err != nil {
		return nil, err
	}
	st := memstore.New()
	c, err := NewCore(st, cfg, logger, o)
	if err != nil {
		return nil, err
	}
	ops := avpapi.New(c.Policies, c.Decider).GatehouseOps()
	if _, err := apply.Apply(ctx, opsCaller(ops), d); err != nil {
		c.Identity.Close()
		return nil, fmt.Errorf("apply %s: %w", dir, err)
	}
	st.Freeze()
	if err := refuseBuiltInIdP(ctx, c, cfg, o, d.Manifest.PolicyStoreID); err != nil {
		c.Identity.Close()
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	// Compile the policy store now, so the first request does not pay for it and a store
	// that cannot compile stops the start.
	if id := d.Manifest.PolicyStoreID; id != "" {
		if _, err := c.Snapshots.Get(ctx, id); err != nil {
			c.Identity.Close()
			return nil, fmt.Errorf("policy store %s: %w", id, err)
		}
	}
	return c, nil
}

// opsCaller calls management operations in process, through the same JSON decoding and
// validation as over HTTP.
type opsCaller map[string]awsjson.Op

func (c opsCaller) Call(ctx context.Context, target string, in, out any) error {
	name, _ := strings.CutPrefix(target, avpapi.GatehouseTargetPrefix+".")
	op, ok := c[name]
	if !ok {
		return fmt.Errorf("operation %s is not available in process", target)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	res, err := op(ctx, body)
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("%s: %w", target, err)
	}
	return json.Unmarshal(b, out)
}

// refuseBuiltInIdP fails when an identity source of the policy store or of an API's
// authorizers is an issuer of the built-in IdP, which is not running.
func refuseBuiltInIdP(ctx context.Context, c *Core, cfg config.Config, o CoreOptions, storeID string) error {
	base := cfg.IdPIssuerBase
	if base == "" {
		base = "http://" + cfg.IdPListen
	}
	base = strings.TrimSuffix(base, "/") + "/"
	builtIn := func(where, issuer string) error {
		if strings.HasPrefix(issuer, base) {
			return fmt.Errorf("%s: issuer %s is the built-in IdP, which does not run in this mode; use Cognito or another OIDC issuer", where, issuer)
		}
		return nil
	}
	if storeID != "" {
		token := ""
		for {
			sources, next, err := c.Policies.ListIdentitySources(ctx, storeID, token, 50)
			if err != nil {
				return fmt.Errorf("identity sources: %w", err)
			}
			for _, is := range sources {
				if err := builtIn("identity source "+is.ID, is.Issuer); err != nil {
					return err
				}
			}
			if token = next; token == "" {
				break
			}
		}
	}
	defs, err := c.APIs.List(ctx)
	if err != nil {
		return fmt.Errorf("apis: %w", err)
	}
	for _, d := range defs {
		for name, az := range d.Authorizers {
			for i, is := range az.IdentitySources {
				var opts identity.SourceOptions
				if cc := is.Configuration.CognitoUserPoolConfiguration; cc != nil && o.CognitoEndpoint != nil {
					if _, pool, err := identity.CognitoIssuer(cc.UserPoolARN, ""); err == nil {
						opts.CognitoEndpoint = o.CognitoEndpoint(ctx, pool)
					}
				}
				src, err := identity.SourceFromAVP("check", is.Configuration, is.PrincipalEntityType, opts)
				if err != nil {
					continue // the gateway refuses it when compiling the API, as on any node
				}
				if err := builtIn(fmt.Sprintf("api %s authorizer %s identitySources[%d]", d.Name, name, i), src.Issuer); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
