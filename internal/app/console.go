package app

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/console"
)

// consoleKeys maps an access key id to its console roles: the management key pair signs in
// as administrator, the consoleKeys setting adds the others (validated by config.Validate).
func (n *Node) consoleKeys() func(string) (console.Key, bool) {
	keys := map[string]console.Key{}
	if n.Credentials.AccessKeyID != "" {
		keys[n.Credentials.AccessKeyID] = console.Key{Secret: n.Credentials.SecretAccessKey, Roles: []string{console.RoleAdministrator}}
	}
	for _, s := range n.Config.ConsoleKeys {
		if k, err := config.ParseConsoleKey(s); err == nil {
			keys[k.AccessKeyID] = console.Key{Secret: k.SecretAccessKey, Roles: k.Roles}
		}
	}
	return func(id string) (console.Key, bool) {
		k, ok := keys[id]
		return k, ok
	}
}

// mountConsole serves the web console at /console/ on the management listener. Its writes
// run api's operations, so they are validated and audited as the management API's. It
// returns what authenticates management API requests by console session (nil when the
// console is disabled).
func (n *Node) mountConsole(mux *http.ServeMux, api *avpapi.API) awsjson.SessionAuthenticator {
	var trusted []netip.Prefix
	for _, c := range n.Config.TrustedProxies {
		if p, err := netip.ParsePrefix(c); err == nil { // config validation rejects the others
			trusted = append(trusted, p)
		}
	}
	var viaIdP *console.IdPSignIn
	if n.Config.ConsolePool != "" && n.IdP != nil {
		viaIdP = &console.IdPSignIn{Issuer: n.IdP.Issuer(n.Config.ConsolePool), PoolID: n.Config.ConsolePool, ClientID: n.Config.ConsoleClientID,
			Token: n.IdP.Handler(), Revoked: n.IdP.Revoked}
	}
	var dir console.IdPDirectory
	if n.IdP != nil && n.Credentials.AccessKeyID != "" {
		dir = console.NewIdPDirectory(n.IdP.Handler(), n.Config.Region, n.Credentials.AccessKeyID, n.Credentials.SecretAccessKey,
			console.WithIdPOperations(n.IdP.Operation))
	}
	c, err := console.New(console.Deps{TrustedProxies: trusted, IdP: viaIdP, IdPDirectory: dir, Operation: api.Operation, Policies: n.Policies, Decider: n.Decider, APIs: n.APIs, Store: n.Store,
		Keys: n.consoleKeys(), AuditFile: n.Config.AuditFile, Logger: n.Logger,
		AuditVerify: func(ctx context.Context) (audit.VerifyOptions, error) {
			return AuditVerifyOptions(ctx, n.Store, AuditTrailName(n.Config.AuditFile))
		}})
	if err != nil {
		n.Logger.Error("web console disabled", "err", err)
		return nil
	}
	mux.Handle(console.Prefix, c.Handler())
	return c
}
