package app

import (
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// signInThrottle is the IdP's throttling policy from the signIn* settings. A Config that never
// went through config.Defaults (signInWindow is 0, which validation refuses) gets
// idp.DefaultThrottle rather than every limit off.
func signInThrottle(cfg config.Config) idp.Throttle {
	t := idp.DefaultThrottle
	if cfg.SignInWindow <= 0 {
		return t
	}
	t.FreeFailures = cfg.SignInFreeFailures
	t.MaxFailures = cfg.SignInMaxFailuresPerUser
	t.MaxFailuresPerIP = cfg.SignInMaxFailuresPerIP
	t.MaxDelay = time.Duration(cfg.SignInMaxDelay)
	t.Window = time.Duration(cfg.SignInWindow)
	t.Lockout = time.Duration(cfg.SignInLockout)
	return t
}
