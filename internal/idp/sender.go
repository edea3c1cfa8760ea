package idp

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kinds of code a CodeMessage carries.
const (
	CodeKindSignUp         = "signup"
	CodeKindForgotPassword = "forgot_password"
	CodeKindVerifyAttr     = "verify_attribute"
)

// CodeMessage is one verification code to deliver. Destination is the unmasked email address
// or phone number; Code is the plaintext code, which exists only in this message.
type CodeMessage struct {
	PoolID      string
	PoolName    string
	Username    string
	Kind        string // CodeKindSignUp, CodeKindForgotPassword or CodeKindVerifyAttr
	Medium      string // EMAIL or SMS
	Attribute   string // email or phone_number
	Destination string
	Code        string
}

// CodeSender delivers verification codes. Send must not keep or log the code (except the
// development LogSender, which exists to show it).
type CodeSender interface {
	Send(ctx context.Context, m CodeMessage) error
}

// WithCodeSender sets how sign-up, forgot-password and attribute-verification codes are
// delivered. Without one, operations that need a code answer CodeDeliveryFailureException.
func WithCodeSender(s CodeSender) Option { return func(p *IdP) { p.sender = s } }

// subject and body of the mail a code is sent in.
func codeText(m CodeMessage) (subject, body string) {
	switch m.Kind {
	case CodeKindSignUp:
		return "Your verification code", "Your confirmation code is " + m.Code + "\r\n"
	case CodeKindForgotPassword:
		return "Your password reset code", "Your password reset code is " + m.Code + "\r\n"
	}
	return "Your verification code", "Your verification code is " + m.Code + "\r\n"
}

// SMTPSender mails codes through an SMTP server (EMAIL destinations only). It upgrades the
// connection with STARTTLS whenever the server offers it; it authenticates (PLAIN) only when
// Username is set, and net/smtp refuses to send the password over an unencrypted connection
// to anything but localhost.
type SMTPSender struct {
	Host     string
	Port     int // default 587
	From     string
	Username string
	Password string
	// TLS configures STARTTLS (nil: verify the server against the system roots for Host).
	TLS *tls.Config
	// Timeout bounds one delivery (default 15 s).
	Timeout time.Duration
	// Hostname is sent in EHLO (default "localhost", as net/smtp does).
	Hostname string
}

// Send implements CodeSender.
func (s *SMTPSender) Send(ctx context.Context, m CodeMessage) error {
	if m.Medium != "EMAIL" {
		return fmt.Errorf("smtp sender: cannot deliver to %s", m.Medium)
	}
	to, err := mail.ParseAddress(m.Destination)
	if err != nil || strings.ContainsAny(to.Address, "\r\n") {
		return fmt.Errorf("smtp sender: invalid destination address")
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return fmt.Errorf("smtp sender: invalid from address %q: %w", s.From, err)
	}
	port := s.Port
	if port == 0 {
		port = 587
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(s.Host, strconv.Itoa(port))
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("smtp sender: dial %s: %w", addr, err)
	}
	// net/smtp has no context: the deadline bounds the whole conversation instead.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("smtp sender: greeting from %s: %w", addr, err)
	}
	defer c.Close()
	if s.Hostname != "" {
		if err := c.Hello(s.Hostname); err != nil {
			return fmt.Errorf("smtp sender: EHLO: %w", err)
		}
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		cfg := s.TLS
		if cfg == nil {
			cfg = &tls.Config{ServerName: s.Host, MinVersion: tls.VersionTLS12}
		}
		if err := c.StartTLS(cfg); err != nil {
			return fmt.Errorf("smtp sender: STARTTLS: %w", err)
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, s.Host)); err != nil {
			return fmt.Errorf("smtp sender: AUTH: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return fmt.Errorf("smtp sender: MAIL FROM: %w", err)
	}
	if err := c.Rcpt(to.Address); err != nil {
		return fmt.Errorf("smtp sender: RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp sender: DATA: %w", err)
	}
	subject, body := codeText(m)
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\n", from.String())
	fmt.Fprintf(&msg, "To: %s\r\n", to.String())
	fmt.Fprintf(&msg, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&msg, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	msg.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
	msg.WriteString(body)
	if _, err := w.Write(msg.Bytes()); err != nil {
		return fmt.Errorf("smtp sender: write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp sender: end of data: %w", err)
	}
	return c.Quit()
}

// WebhookSignatureHeader carries "sha256=<hex HMAC-SHA256 of the body keyed by the secret>".
const WebhookSignatureHeader = "X-Gatehouse-Signature"

// WebhookSender POSTs each code as JSON {pool, user, kind, medium, attribute, destination,
// code, time} to URL, signed with HMAC-SHA256 under Secret in WebhookSignatureHeader. The
// receiver (an SMS gateway, a mail service) must check the signature and may refuse old
// times. Any answer but 2xx is a delivery failure; redirects are not followed.
type WebhookSender struct {
	URL    string
	Secret []byte
	Client *http.Client // default: 10 s timeout, no redirects
}

type webhookBody struct {
	Pool        string `json:"pool"`
	User        string `json:"user"`
	Kind        string `json:"kind"`
	Medium      string `json:"medium"`
	Attribute   string `json:"attribute"`
	Destination string `json:"destination"`
	Code        string `json:"code"`
	Time        int64  `json:"time"`
}

// Send implements CodeSender.
func (s *WebhookSender) Send(ctx context.Context, m CodeMessage) error {
	if len(s.Secret) == 0 {
		return errors.New("webhook sender: no secret configured")
	}
	b, err := json.Marshal(webhookBody{Pool: m.PoolID, User: m.Username, Kind: m.Kind, Medium: m.Medium,
		Attribute: m.Attribute, Destination: m.Destination, Code: m.Code, Time: time.Now().Unix()})
	if err != nil {
		return fmt.Errorf("webhook sender: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("webhook sender: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(WebhookSignatureHeader, WebhookSignature(s.Secret, b))
	c := s.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	resp, err := c.Do(req)
	if err != nil {
		// The URL may carry credentials in its query: report only the failure.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("webhook sender: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook sender: answered %d", resp.StatusCode)
	}
	return nil
}

// WebhookSignature is the value of WebhookSignatureHeader for body.
func WebhookSignature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// LogSender is for development only: it logs each code at WARN instead of delivering it, so
// anyone who reads the log can confirm any account. The demo uses it.
type LogSender struct{ Log *slog.Logger }

// Send implements CodeSender.
func (s LogSender) Send(ctx context.Context, m CodeMessage) error {
	l := s.Log
	if l == nil {
		l = slog.Default()
	}
	l.WarnContext(ctx, "verification code (development only: codeSender is log, codes are not delivered)",
		"pool", m.PoolID, "username", m.Username, "kind", m.Kind, "destination", m.Destination, "code", m.Code)
	return nil
}
