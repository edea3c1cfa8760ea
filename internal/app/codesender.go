package app

import (
	"log/slog"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
)

// codeSender builds the IdP's verification code sender from the settings (validated before):
// nil when none is configured, and the IdP then answers CodeDeliveryFailureException naming
// the codeSender setting.
func codeSender(cfg config.Config, logger *slog.Logger) idp.CodeSender {
	switch cfg.CodeSender {
	case "smtp":
		return &idp.SMTPSender{Host: cfg.SMTPHost, Port: cfg.SMTPPort, From: cfg.SMTPFrom,
			Username: cfg.SMTPUsername, Password: cfg.SMTPPassword}
	case "webhook":
		return &idp.WebhookSender{URL: cfg.CodeWebhookURL, Secret: []byte(cfg.CodeWebhookSecret)}
	case "log":
		logger.Warn("codeSender is log: IdP verification codes are written to this log, not delivered (development only)")
		return idp.LogSender{Log: logger}
	}
	return nil
}
