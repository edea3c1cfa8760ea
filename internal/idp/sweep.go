package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Sweep deletes expired authorization codes, challenge sessions, verification codes and refresh tokens (revoked
// ones included, once past their expiry) of every pool, and token revocations that outlived
// every token they cover, and returns how many it removed. The
// server should run it periodically; nothing depends on it for correctness, since every
// redemption checks expiry itself.
func (p *IdP) Sweep(ctx context.Context) (int, error) {
	pools, err := listAll[Pool](ctx, p.st, "", kindPool)
	if err != nil {
		return 0, err
	}
	now := p.now()
	removed := 0
	for _, pool := range pools {
		for _, kind := range []store.Kind{kindAuthCode, kindSession, kindRefresh, kindSRPSession, kindCode, kindMFASession} {
			n, err := p.sweepKind(ctx, pool.ID, kind, now)
			removed += n
			if err != nil {
				return removed, fmt.Errorf("sweep %s of %s: %w", kind, pool.ID, err)
			}
		}
	}
	n, err := p.sweepRevocations(ctx, now)
	removed += n
	if err != nil {
		return removed, fmt.Errorf("sweep revocations: %w", err)
	}
	return removed, nil
}

func expired(data []byte, now time.Time) bool {
	var v struct {
		Expires time.Time `json:"expires"`
	}
	return json.Unmarshal(data, &v) == nil && !v.Expires.IsZero() && !now.Before(v.Expires)
}

func (p *IdP) sweepKind(ctx context.Context, poolID string, kind store.Kind, now time.Time) (int, error) {
	removed := 0
	token := ""
	for {
		objs, next, err := p.st.List(ctx, store.Query{Scope: poolID, Kind: kind, Limit: 200, PageToken: token})
		if err != nil {
			return removed, err
		}
		var ids []string
		for _, o := range objs {
			if expired(o.Data, now) {
				ids = append(ids, o.ID)
			}
		}
		if len(ids) > 0 {
			n := 0
			err := p.st.Update(ctx, func(tx store.Tx) error {
				n = 0
				for _, id := range ids {
					o, err := tx.Get(ctx, poolID, kind, id)
					if errors.Is(err, store.ErrNotFound) {
						continue // redeemed meanwhile
					}
					if err != nil {
						return err
					}
					if !expired(o.Data, now) {
						continue
					}
					if err := tx.Delete(ctx, poolID, kind, id); err != nil {
						return err
					}
					n++
				}
				return nil
			})
			if err != nil {
				return removed, err
			}
			removed += n
		}
		if next == "" {
			return removed, nil
		}
		token = next
	}
}
