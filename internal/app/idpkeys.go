package app

import (
	"context"
	"time"
)

// idpKeysChanged hands a built-in pool's new key set to the node's identity registry when the
// node hears that the pool's signing keys changed (idp.WithKeysChanged): a removed key stops
// verifying tokens, and decisions cached from them stop being current, at once on this node
// and as soon as other nodes hear of the commit, rather than at the registry's next JWKS poll
// (the IdP's jwks.json says max-age 300). The registry updates only key sets it already holds
// for that issuer, so an issuer no API uses costs nothing.
func (n *Node) idpKeysChanged(issuer string, jwks []byte) {
	if n.Identity == nil { // still starting: the first token fetches the keys
		return
	}
	if _, err := n.Identity.ReplaceKeys(issuer, jwks); err != nil {
		n.Logger.Error("built-in IdP keys changed but could not be installed; the next JWKS poll retries", "issuer", issuer, "err", err)
	}
}

// recordIssuerBase stores the IdP's public base URL (idp.RecordIssuerBase) in the background,
// so `gatehouse idp create-pool` run without this node's settings gives new pools the issuer
// this node serves; a start with the store down does not wait for it. Close waits for it.
func (n *Node) recordIssuerBase() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := n.IdP.RecordIssuerBase(ctx); err != nil && ctx.Err() == nil {
			n.Logger.Warn("could not record the IdP's issuer base in the store; CLI commands creating pools need idpIssuerBase", "err", err)
		}
	}()
	n.closers = append(n.closers, func() { cancel(); <-done })
}
