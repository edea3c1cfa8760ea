package app

import (
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// TestSignInThrottleDefaults: the signIn* defaults of internal/config (which cannot import
// idp) are the IdP's DefaultThrottle, so a node without those settings throttles as before.
func TestSignInThrottleDefaults(t *testing.T) {
	t.Parallel()
	if got := signInThrottle(config.Defaults()); got != idp.DefaultThrottle {
		t.Fatalf("from config.Defaults: %+v\nidp.DefaultThrottle: %+v", got, idp.DefaultThrottle)
	}
	if got := signInThrottle(config.Config{}); got != idp.DefaultThrottle {
		t.Fatalf("from a zero Config: %+v", got)
	}
}
