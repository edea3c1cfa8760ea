package app

import (
	"context"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// idpChanged records a committed write to the built-in IdP (user, group, client, pool,
// sign-out) in the audit trail. The change carries no secret (see idp.Change).
func (n *Node) idpChanged(_ context.Context, c idp.Change) {
	if n.auditor == nil {
		return
	}
	n.auditor.write(IdPChangeRecord(c))
}

// IdPChangeRecord is the audit record of an IdP change, for every writer of the trail (the
// node and the CLI) to record changes alike.
func IdPChangeRecord(c idp.Change) audit.Record {
	target := c.PoolID
	for _, s := range []string{c.Username, c.Target} {
		if s != "" {
			target += "/" + s
		}
	}
	return audit.Record{Kind: "write", Source: "idp", Actor: c.Actor, Operation: idp.TargetPrefix + "." + c.Operation,
		Target: target, Change: strings.TrimSpace(c.Detail)}
}
