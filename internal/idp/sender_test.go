package idp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/mail"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// smtpMail is one message the test SMTP server accepted.
type smtpMail struct {
	from, to string
	data     []byte
	tls      bool   // sent after STARTTLS
	auth     string // decoded AUTH PLAIN response ("" if none)
}

// smtpServer is a minimal SMTP server on 127.0.0.1 (EHLO, STARTTLS when tlsCfg is set, AUTH
// PLAIN, MAIL, RCPT, DATA, QUIT) that records what it receives.
type smtpServer struct {
	ln     net.Listener
	tlsCfg *tls.Config
	mu     sync.Mutex
	mails  []smtpMail
}

func newSMTPServer(t *testing.T, tlsCfg *tls.Config) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, tlsCfg: tlsCfg}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Minute))
	tp := textproto.NewConn(c)
	var cur smtpMail
	reply := func(format string, args ...any) bool { return tp.PrintfLine(format, args...) == nil }
	if !reply("220 127.0.0.1 ESMTP gatehouse-test") {
		return
	}
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			lines := []string{"127.0.0.1"}
			if s.tlsCfg != nil && !cur.tls {
				lines = append(lines, "STARTTLS")
			}
			lines = append(lines, "AUTH PLAIN", "8BITMIME")
			for i, l := range lines {
				sep := "-"
				if i == len(lines)-1 {
					sep = " "
				}
				reply("250%s%s", sep, l)
			}
		case "HELO", "NOOP", "RSET":
			reply("250 OK")
		case "STARTTLS":
			if s.tlsCfg == nil {
				reply("502 not offered")
				continue
			}
			reply("220 Ready to start TLS")
			tc := tls.Server(c, s.tlsCfg)
			if err := tc.Handshake(); err != nil {
				return
			}
			c = tc
			tp = textproto.NewConn(tc)
			cur.tls = true
		case "AUTH":
			mech, resp, _ := strings.Cut(arg, " ")
			b, err := base64.StdEncoding.DecodeString(resp)
			if mech != "PLAIN" || err != nil {
				reply("504 unsupported")
				continue
			}
			cur.auth = string(b)
			reply("235 2.7.0 Authentication successful")
		case "MAIL":
			addr, _, _ := strings.Cut(strings.TrimPrefix(arg, "FROM:"), " ") // drop BODY=8BITMIME
			cur.from = strings.Trim(addr, "<>")
			reply("250 OK")
		case "RCPT":
			cur.to = strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>")
			reply("250 OK")
		case "DATA":
			reply("354 End data with <CR><LF>.<CR><LF>")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			cur.data = data
			s.mu.Lock()
			s.mails = append(s.mails, cur)
			s.mu.Unlock()
			cur = smtpMail{tls: cur.tls, auth: cur.auth}
			reply("250 OK: queued")
		case "QUIT":
			reply("221 Bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

func (s *smtpServer) last(t *testing.T) smtpMail {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mails) == 0 {
		t.Fatal("no mail received")
	}
	return s.mails[len(s.mails)-1]
}

// selfSigned returns a server TLS config for 127.0.0.1 and a client config trusting it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtp test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

var mailCode = regexp.MustCompile(`code is ([0-9]{6})`)

// codeFromMail checks a received mail's headers and returns the code in its body.
func codeFromMail(t *testing.T, m smtpMail, to string) string {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.data))
	if err != nil {
		t.Fatalf("parse mail: %v\n%s", err, m.data)
	}
	addr, err := mail.ParseAddress(msg.Header.Get("To"))
	if err != nil || addr.Address != to || m.to != to {
		t.Fatalf("mail to %q (RCPT %q), want %s", msg.Header.Get("To"), m.to, to)
	}
	if msg.Header.Get("Subject") == "" || msg.Header.Get("Date") == "" {
		t.Fatalf("mail headers %v", msg.Header)
	}
	body, _ := io.ReadAll(msg.Body)
	got := mailCode.FindSubmatch(body)
	if got == nil {
		t.Fatalf("no code in mail body %q", body)
	}
	return string(got[1])
}

// TestSMTPSender: sign-up codes reach an SMTP server, over STARTTLS with AUTH PLAIN when the
// server offers it, in plain text without credentials when it does not; the code read from
// the mail confirms the user.
func TestSMTPSender(t *testing.T) {
	t.Parallel()
	serverTLS, clientTLS := selfSigned(t)
	for _, tc := range []struct {
		name     string
		tls      bool
		username string
	}{
		{"starttls and auth", true, "mailer"},
		{"plain without auth", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			var cfg *tls.Config
			if tc.tls {
				cfg = serverTLS
			}
			srv := newSMTPServer(t, cfg)
			sender := &idp.SMTPSender{Host: "127.0.0.1", Port: srv.port(), From: "Gatehouse <no-reply@gatehouse.test>",
				Username: tc.username, Password: "smtp-pass", TLS: clientTLS}
			e := newEnv(t, storetest.Open(t, "sqlite"), idp.WithCodeSender(sender))
			api := e.api
			poolID := aws.ToString(must[*cip.CreateUserPoolOutput](t)(api.CreateUserPool(ctx, &cip.CreateUserPoolInput{PoolName: aws.String("p"),
				AutoVerifiedAttributes: []types.VerifiedAttributeType{types.VerifiedAttributeTypeEmail}})).UserPool.Id)
			clientID := aws.ToString(must[*cip.CreateUserPoolClientOutput](t)(api.CreateUserPoolClient(ctx, &cip.CreateUserPoolClientInput{
				UserPoolId: aws.String(poolID), ClientName: aws.String("web")})).UserPoolClient.ClientId)
			must[*cip.SignUpOutput](t)(api.SignUp(ctx, &cip.SignUpInput{ClientId: aws.String(clientID), Username: aws.String("mia"),
				Password: aws.String(password), UserAttributes: []types.AttributeType{{Name: aws.String("email"), Value: aws.String("mia@example.com")}}}))
			m := srv.last(t)
			if m.tls != tc.tls || m.from != "no-reply@gatehouse.test" {
				t.Fatalf("mail tls=%v from=%q", m.tls, m.from)
			}
			if want := map[bool]string{true: "\x00mailer\x00smtp-pass", false: ""}[tc.username != ""]; m.auth != want {
				t.Fatalf("AUTH %q, want %q", m.auth, want)
			}
			code := codeFromMail(t, m, "mia@example.com")
			must[*cip.ConfirmSignUpOutput](t)(api.ConfirmSignUp(ctx, &cip.ConfirmSignUpInput{ClientId: aws.String(clientID),
				Username: aws.String("mia"), ConfirmationCode: aws.String(code)}))
			u := must[*cip.AdminGetUserOutput](t)(api.AdminGetUser(ctx, &cip.AdminGetUserInput{UserPoolId: aws.String(poolID), Username: aws.String("mia")}))
			if u.UserStatus != types.UserStatusTypeConfirmed {
				t.Fatalf("status %s", u.UserStatus)
			}
		})
	}
}

// TestSMTPSenderRefusals: an SMS destination, a header-injecting address and a server that
// presents an untrusted certificate are delivery errors, and nothing is sent.
func TestSMTPSenderRefusals(t *testing.T) {
	t.Parallel()
	serverTLS, _ := selfSigned(t)
	srv := newSMTPServer(t, serverTLS)
	s := &idp.SMTPSender{Host: "127.0.0.1", Port: srv.port(), From: "no-reply@gatehouse.test", Timeout: 30 * time.Second}
	ctx := context.Background()
	for _, m := range []idp.CodeMessage{
		{Medium: "SMS", Destination: "+15555550100", Code: "123456"},
		{Medium: "EMAIL", Destination: "a@example.com\r\nBcc: victim@example.com", Code: "123456"},
		{Medium: "EMAIL", Destination: "a@example.com", Code: "123456"}, // untrusted certificate
	} {
		if err := s.Send(ctx, m); err == nil {
			t.Errorf("Send(%q) succeeded", m.Destination)
		}
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.mails) != 0 {
		t.Fatalf("%d mails sent", len(srv.mails))
	}
}

// TestLogSender: the development sender logs the code at WARN, saying it is for development.
func TestLogSender(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	var mu sync.Mutex
	h := slog.NewTextHandler(writerFunc(func(b []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return buf.Write(b) }), nil)
	s := idp.LogSender{Log: slog.New(h)}
	if err := s.Send(context.Background(), idp.CodeMessage{PoolID: "p", Username: "u", Kind: idp.CodeKindSignUp, Code: "654321"}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	line, _ := bufio.NewReader(&buf).ReadString('\n')
	if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "development only") || !strings.Contains(line, "code=654321") {
		t.Fatalf("log line %q", line)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
