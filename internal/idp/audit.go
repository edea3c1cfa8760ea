package idp

import (
	"context"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
)

// Change is one committed write to the IdP, for the audit trail: who, which pool, user and
// object, and what changed. It never holds a password, code, token or secret.
type Change struct {
	Actor     string // SigV4 access key id, WithActor's value, or "user:<name>" / "client:<id>" for self-service calls
	Operation string // the Cognito operation name (CLI commands report the operation they perform)
	PoolID    string
	Username  string `json:",omitempty"`
	Target    string `json:",omitempty"` // group, client id, resource server
	Detail    string `json:",omitempty"` // e.g. "added to group owners", attribute names
}

// WithAudit sets the function told of every committed write (after the commit, on the
// caller's goroutine).
func WithAudit(fn func(context.Context, Change)) Option { return func(p *IdP) { p.onChange = fn } }

type actorKey struct{}

// WithActor names who acts for calls that carry no SigV4 caller (the CLI).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) string {
	if c := awsjson.Caller(ctx); c != "" {
		return c
	}
	if a, _ := ctx.Value(actorKey{}).(string); a != "" {
		return a
	}
	return "anonymous"
}

// audited reports c (built after the write, so it may read the results) when *err is nil.
// Use it deferred, with named results.
func (p *IdP) audited(ctx context.Context, err *error, c func() Change) {
	if *err != nil || p.onChange == nil {
		return
	}
	ch := c()
	ch.Actor = actorOf(ctx)
	p.onChange(ctx, ch)
}

// attrNames lists attribute names, never values (they may be personal data).
func attrNames(attrs map[string]string) string {
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	slices.Sort(names)
	return "attributes: " + strings.Join(names, ",")
}
