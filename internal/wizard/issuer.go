package wizard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// CheckIssuer fetches the issuer's OpenID discovery document and checks that it names the
// issuer, so init fails while the user is still at the keyboard rather than on the first
// request. client nil means http.DefaultClient; the caller bounds the time through ctx.
func CheckIssuer(ctx context.Context, client *http.Client, issuer string) error {
	if client == nil {
		client = http.DefaultClient
	}
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("issuer %s: %w", issuer, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("issuer %s is unreachable: %w", issuer, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("issuer %s: %s answered %s", issuer, url, resp.Status)
	}
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&disc); err != nil {
		return fmt.Errorf("issuer %s: discovery document: %w", issuer, err)
	}
	if disc.Issuer != issuer {
		return fmt.Errorf("issuer %s: discovery document names issuer %q", issuer, disc.Issuer)
	}
	if disc.JWKSURI == "" {
		return fmt.Errorf("issuer %s: discovery document has no jwks_uri", issuer)
	}
	return nil
}
