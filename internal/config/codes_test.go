package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

// TestCodeSenderSettings: the code sender settings come from files and the environment; the
// SMTP password and webhook secret only from the environment; each bad combination names
// the setting to fix.
func TestCodeSenderSettings(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "g.yaml")
	os.WriteFile(file, []byte("codeSender: smtp\nsmtpHost: mail.example.com\nsmtpPort: 2525\nsmtpFrom: no-reply@example.com\nsmtpUsername: mailer\n"), 0o644)
	c := config.Defaults()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEHOUSE_SMTP_PASSWORD": "s3cret", "GATEHOUSE_CODE_WEBHOOK_SECRET": "0123456789abcdef"}
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.CodeSender != "smtp" || c.SMTPHost != "mail.example.com" || c.SMTPPort != 2525 || c.SMTPFrom != "no-reply@example.com" ||
		c.SMTPUsername != "mailer" || c.SMTPPassword != "s3cret" || c.CodeWebhookSecret != "0123456789abcdef" {
		t.Fatalf("settings %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"smtpPassword: x\n", "codeWebhookSecret: x\n"} {
		os.WriteFile(file, []byte(secret), 0o644)
		if err := c.LoadFile(file); err == nil || !strings.Contains(err.Error(), "unknown setting") {
			t.Errorf("file with %q: %v", secret, err)
		}
	}

	for _, tc := range []struct {
		mutate func(*config.Config)
		want   string
	}{
		{func(c *config.Config) { c.CodeSender = "sms" }, "codeSender"},
		{func(c *config.Config) { c.CodeSender = "smtp" }, "smtpHost"},
		{func(c *config.Config) { c.CodeSender, c.SMTPHost = "smtp", "h" }, "smtpFrom"},
		{func(c *config.Config) { c.CodeSender, c.SMTPHost, c.SMTPFrom, c.SMTPPassword = "smtp", "h", "f@x", "p" }, "smtpUsername"},
		{func(c *config.Config) { c.SMTPPort = 70000 }, "smtpPort"},
		{func(c *config.Config) { c.CodeSender, c.CodeWebhookSecret = "webhook", "0123456789abcdef" }, "codeWebhookUrl"},
		{func(c *config.Config) { c.CodeSender, c.CodeWebhookURL = "webhook", "https://sms.example/codes" }, "codeWebhookSecret"},
	} {
		c := config.Defaults()
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
	}
	c = config.Defaults()
	if err := c.Set("smtpPort", "x"); err == nil || !strings.Contains(err.Error(), "smtpPort") {
		t.Errorf("smtpPort x: %v", err)
	}
}
