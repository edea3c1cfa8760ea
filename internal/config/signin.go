package config

import (
	"fmt"
	"strconv"
	"time"
)

// Sign-in throttling of the built-in IdP (idp.Throttle): failures are counted per user and
// client address (signInFreeFailures, then a doubling delay up to signInMaxDelay), per user
// from every address (signInMaxFailuresPerUser within signInWindow locks the user out for
// signInLockout) and per address across users (signInMaxFailuresPerIp, same window and
// lockout). 0 disables a count. The defaults are idp.DefaultThrottle's (internal/app checks
// that they agree).

// setSignIn assigns one sign-in throttling setting.
func (c *Config) setSignIn(key, v string) error {
	num := func(p *int) error {
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a whole number", key, v)
		}
		*p = n
		return nil
	}
	dur := func(p *Duration) error {
		d, err := parseDuration(v)
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		*p = Duration(d)
		return nil
	}
	switch key {
	case "signInFreeFailures":
		return num(&c.SignInFreeFailures)
	case "signInMaxFailuresPerUser":
		return num(&c.SignInMaxFailuresPerUser)
	case "signInMaxFailuresPerIp":
		return num(&c.SignInMaxFailuresPerIP)
	case "signInMaxDelay":
		return dur(&c.SignInMaxDelay)
	case "signInWindow":
		return dur(&c.SignInWindow)
	case "signInLockout":
		return dur(&c.SignInLockout)
	}
	return fmt.Errorf("unknown setting %q", key)
}

// signInDefaults sets the defaults (Defaults calls it).
func (c *Config) signInDefaults() {
	c.SignInFreeFailures = 5
	c.SignInMaxFailuresPerUser = 100
	c.SignInMaxFailuresPerIP = 20
	c.SignInMaxDelay = Duration(15 * time.Minute)
	c.SignInWindow = Duration(15 * time.Minute)
	c.SignInLockout = Duration(15 * time.Minute)
}

// validateSignIn checks the throttling settings; each error names the setting.
func (c *Config) validateSignIn() []error {
	var errs []error
	for _, n := range []struct {
		key string
		v   int
	}{{"signInFreeFailures", c.SignInFreeFailures}, {"signInMaxFailuresPerUser", c.SignInMaxFailuresPerUser}, {"signInMaxFailuresPerIp", c.SignInMaxFailuresPerIP}} {
		if n.v < 0 {
			errs = append(errs, fmt.Errorf("%s: must not be negative (0 disables the count)", n.key))
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"signInMaxDelay", c.SignInMaxDelay}, {"signInWindow", c.SignInWindow}, {"signInLockout", c.SignInLockout}} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("%s: must be positive", d.key))
		}
	}
	if c.SignInFreeFailures > 0 && c.SignInMaxFailuresPerUser > 0 && c.SignInMaxFailuresPerUser <= c.SignInFreeFailures {
		errs = append(errs, fmt.Errorf("signInMaxFailuresPerUser: %d must be above signInFreeFailures (%d), or one address could lock the user out everywhere", c.SignInMaxFailuresPerUser, c.SignInFreeFailures))
	}
	return errs
}
