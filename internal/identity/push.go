package identity

import "fmt"

// ReplaceKeys installs jwks (a JWKS document) as the key set of issuer in every key set of
// that issuer this registry already holds, as a successful fetch would (the version moves only
// if the key material changed, so tokens and decisions verified by a removed key stop being
// current at once). It is for issuers whose keys this process reads from the same store that
// the issuer's JWKS endpoint serves them from — the built-in IdP's pools — so a key removed on
// any node is dropped when the change is heard instead of at the next poll (up to the
// refresh interval or the JWKS max-age later). A fetch that was in flight when ReplaceKeys ran
// is discarded: its answer may predate the change. Key sets not in use are left alone (the
// first token fetches them). It returns how many key sets it replaced; a document with no
// usable key is an error and replaces nothing.
func (r *Registry) ReplaceKeys(issuer string, jwks []byte) (int, error) {
	keys, err := parseJWKS(jwks, r.maxKeys, r.log.With("issuer", issuer))
	if err != nil {
		return 0, fmt.Errorf("keys of %s: %w", issuer, err)
	}
	n := 0
	r.sets.Range(func(_, v any) bool {
		ks := v.(*keySet)
		if ks.issuer != issuer {
			return true
		}
		ks.install.Lock()
		ks.pushes.Add(1)
		now := r.now()
		refreshAt := now.Add(r.refreshInterval)
		if old := ks.snap.Load(); old != nil {
			refreshAt = old.refreshAt // the poll keeps its rhythm
		}
		ks.store(keys, now, refreshAt)
		ks.install.Unlock()
		n++
		return true
	})
	return n, nil
}
