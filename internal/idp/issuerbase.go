package idp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// A node serving the IdP records its public base URL in the store (RecordIssuerBase), so
// that tools working on the database without the node's settings (gatehouse idp
// create-pool) give new pools the issuer the node serves them under instead of guessing one
// from defaults; with neither settings nor a record they refuse (CreatePool needs a base).
const (
	nodeScope                 = "_idp_node"
	kindIssuerBase store.Kind = "idp_issuer_base"
	issuerBaseID              = "base"
)

type issuerBaseRecord struct {
	Base     string    `json:"base"`
	Recorded time.Time `json:"recorded"`
}

// BaseURL is the base of new pools' issuers ("" when none is known: CreatePool refuses).
func (p *IdP) BaseURL() string { return p.base }

// RecordIssuerBase stores the IdP's base URL as the one nodes serve pools under; it writes
// only when the stored one differs.
func (p *IdP) RecordIssuerBase(ctx context.Context) error {
	if p.base == "" {
		return nil
	}
	if cur, err := StoredIssuerBase(ctx, p.st); err != nil || cur == p.base {
		return err
	}
	return p.st.Update(ctx, func(tx store.Tx) error {
		return putJSON(ctx, tx, false, nodeScope, kindIssuerBase, issuerBaseID, "", "", issuerBaseRecord{Base: p.base, Recorded: p.now().UTC()})
	})
}

// StoredIssuerBase returns the base URL a node recorded ("" if none did).
func StoredIssuerBase(ctx context.Context, r store.Reader) (string, error) {
	rec, err := getJSON[issuerBaseRecord](ctx, r, nodeScope, kindIssuerBase, issuerBaseID)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the recorded IdP issuer base: %w", err)
	}
	return rec.Base, nil
}
