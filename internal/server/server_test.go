package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/server"
)

func writeCert(t *testing.T, dir, cn string) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, keyPath := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, keyPath
}

func TestTLSServesHTTP2AndReloadsCertificates(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeCert(t, dir, "first")
	cfg, err := server.ReloadingTLS(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	g, err := server.Bind(slog.New(slog.DiscardHandler), []server.Listener{{Name: "gw", Addr: "127.0.0.1:0", TLS: cfg,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) })}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Serve(ctx, time.Second) }()
	defer func() { cancel(); <-done }()

	get := func() (string, string) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://" + g.Addr("gw") + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	if proto, cn := get(); proto != "HTTP/2.0" || cn != "first" {
		t.Fatalf("got %s with certificate %q", proto, cn)
	}
	time.Sleep(2100 * time.Millisecond) // the reloader checks files at most every 2 s
	later := time.Now().Add(time.Second)
	writeCert(t, dir, "second")
	os.Chtimes(certFile, later, later)
	os.Chtimes(keyFile, later, later)
	if _, cn := get(); cn != "second" {
		t.Fatalf("certificate not reloaded: %q", cn)
	}
}

func TestBindFailsWholeOnPortClash(t *testing.T) {
	g, err := server.Bind(slog.New(slog.DiscardHandler), []server.Listener{{Name: "a", Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = server.Bind(slog.New(slog.DiscardHandler), []server.Listener{
		{Name: "b", Addr: "127.0.0.1:0", Handler: http.NotFoundHandler()},
		{Name: "c", Addr: g.Addr("a"), Handler: http.NotFoundHandler()},
	})
	if err == nil {
		t.Fatal("bound a taken port")
	}
}
