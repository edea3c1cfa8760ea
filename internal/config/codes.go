package config

import (
	"fmt"
	"net/url"
	"strconv"
)

// Code sender settings: how the built-in IdP delivers sign-up, forgot-password and
// attribute-verification codes (codeSender: smtp, webhook, log, or off). The SMTP password and
// the webhook secret are read from the environment only (GATEHOUSE_SMTP_PASSWORD,
// GATEHOUSE_CODE_WEBHOOK_SECRET), never from a settings file, which is often kept in version
// control.

// setCodes assigns one code sender setting.
func (c *Config) setCodes(key, v string) error {
	switch key {
	case "codeSender":
		c.CodeSender = v
	case "smtpHost":
		c.SMTPHost = v
	case "smtpPort":
		n, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("smtpPort: %q is not a number", v)
		}
		c.SMTPPort = n
	case "smtpFrom":
		c.SMTPFrom = v
	case "smtpUsername":
		c.SMTPUsername = v
	case "smtpPassword":
		c.SMTPPassword = v
	case "codeWebhookUrl":
		c.CodeWebhookURL = v
	case "codeWebhookSecret":
		c.CodeWebhookSecret = v
	default:
		return fmt.Errorf("unknown setting %q", key)
	}
	return nil
}

// validateCodes checks the code sender settings; each error names the setting to fix.
func (c *Config) validateCodes() []error {
	var errs []error
	switch c.CodeSender {
	case "", "off", "log":
	case "smtp":
		if c.SMTPHost == "" {
			errs = append(errs, fmt.Errorf("smtpHost: required when codeSender is smtp"))
		}
		if c.SMTPFrom == "" {
			errs = append(errs, fmt.Errorf("smtpFrom: required when codeSender is smtp"))
		}
		if c.SMTPUsername == "" && c.SMTPPassword != "" {
			errs = append(errs, fmt.Errorf("smtpUsername: required when GATEHOUSE_SMTP_PASSWORD is set"))
		}
	case "webhook":
		u, err := url.Parse(c.CodeWebhookURL)
		if c.CodeWebhookURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("codeWebhookUrl: an http(s) URL is required when codeSender is webhook"))
		}
		if len(c.CodeWebhookSecret) < 16 {
			errs = append(errs, fmt.Errorf("codeWebhookSecret: GATEHOUSE_CODE_WEBHOOK_SECRET must hold at least 16 characters when codeSender is webhook"))
		}
	default:
		errs = append(errs, fmt.Errorf("codeSender: %q is not smtp, webhook, log or off", c.CodeSender))
	}
	if c.SMTPPort < 0 || c.SMTPPort > 65535 {
		errs = append(errs, fmt.Errorf("smtpPort: %d is not a port", c.SMTPPort))
	}
	return errs
}
