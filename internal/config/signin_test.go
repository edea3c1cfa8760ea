package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestSignInSettings: the IdP's sign-in throttling limits come from files and GATEHOUSE_*
// variables (the environment wins), default to the IdP's built-in policy, and a bad value
// names its setting.
func TestSignInSettings(t *testing.T) {
	t.Parallel()
	d := config.Defaults()
	if d.SignInFreeFailures != 5 || d.SignInMaxFailuresPerUser != 100 || d.SignInMaxFailuresPerIP != 20 ||
		time.Duration(d.SignInWindow) != 15*time.Minute || time.Duration(d.SignInLockout) != 15*time.Minute || time.Duration(d.SignInMaxDelay) != 15*time.Minute {
		t.Fatalf("defaults %+v", d)
	}
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "g.yaml")
	os.WriteFile(file, []byte("signInFreeFailures: 3\nsignInMaxFailuresPerUser: 30\nsignInMaxFailuresPerIp: 0\nsignInWindow: 1h\nsignInLockout: 2h\nsignInMaxDelay: 5m\n"), 0o644)
	c := config.Defaults()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEHOUSE_SIGN_IN_MAX_FAILURES_PER_USER": "40", "GATEHOUSE_SIGN_IN_LOCKOUT": "30m"}
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.SignInFreeFailures != 3 || c.SignInMaxFailuresPerUser != 40 || c.SignInMaxFailuresPerIP != 0 ||
		time.Duration(c.SignInWindow) != time.Hour || time.Duration(c.SignInLockout) != 30*time.Minute || time.Duration(c.SignInMaxDelay) != 5*time.Minute {
		t.Fatalf("settings %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ env, value, want string }{
		{"GATEHOUSE_SIGN_IN_FREE_FAILURES", "five", "signInFreeFailures"},
		{"GATEHOUSE_SIGN_IN_MAX_FAILURES_PER_IP", "1.5", "signInMaxFailuresPerIp"},
		{"GATEHOUSE_SIGN_IN_WINDOW", "soon", "signInWindow"},
	} {
		c := config.Defaults()
		err := c.LoadEnv(func(k string) (string, bool) { return tc.value, k == tc.env })
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.env) {
			t.Errorf("%s=%s: %v", tc.env, tc.value, err)
		}
	}
	for _, tc := range []struct {
		set  func(*config.Config)
		want string
	}{
		{func(c *config.Config) { c.SignInFreeFailures = -1 }, "signInFreeFailures: must not be negative"},
		{func(c *config.Config) { c.SignInMaxFailuresPerIP = -3 }, "signInMaxFailuresPerIp: must not be negative"},
		{func(c *config.Config) { c.SignInWindow = 0 }, "signInWindow: must be positive"},
		{func(c *config.Config) { c.SignInLockout = -1 }, "signInLockout: must be positive"},
		{func(c *config.Config) { c.SignInMaxFailuresPerUser = 5 }, "signInMaxFailuresPerUser: 5 must be above signInFreeFailures (5)"},
	} {
		c := config.Defaults()
		tc.set(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want %q, got %v", tc.want, err)
		}
	}
	// 0 turns a per-user or per-address count off.
	c = config.Defaults()
	c.SignInMaxFailuresPerUser, c.SignInMaxFailuresPerIP = 0, 0
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
