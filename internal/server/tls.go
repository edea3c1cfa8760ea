package server

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// ReloadingTLS returns a TLS config that serves the certificate in certFile/keyFile and picks
// up a replaced pair without a restart (checked at most every few seconds, on handshake). A
// replacement that does not load keeps the previous certificate. HTTP/2 is offered.
func ReloadingTLS(certFile, keyFile string, logger *slog.Logger) (*tls.Config, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	if err := r.load(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: r.get,
	}
	return cfg, nil
}

type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

func (r *certReloader) load() error {
	st, err := os.Stat(r.certFile)
	if err != nil {
		return fmt.Errorf("tls certificate: %w", err)
	}
	kst, err := os.Stat(r.keyFile)
	if err != nil {
		return fmt.Errorf("tls key: %w", err)
	}
	mod := st.ModTime()
	if kst.ModTime().After(mod) {
		mod = kst.ModTime()
	}
	if r.cert != nil && !mod.After(r.modTime) {
		return nil
	}
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("tls key pair: %w", err)
	}
	r.cert, r.modTime = &c, mod
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) > 2*time.Second {
		r.checked = now
		if err := r.load(); err != nil {
			r.logger.Warn("kept the previous TLS certificate", "err", err)
		}
	}
	return r.cert, nil
}
