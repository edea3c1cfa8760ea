package extauthz_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"

	"github.com/gatehouse-dev/gatehouse/internal/config"
	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
)

// selfSigned writes a certificate for 127.0.0.1 and its key; it returns their paths and a pool
// trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gatehouse"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSWithTheNodesCertificate: with tlsCertFile/tlsKeyFile the ext_authz listener serves
// TLS (gRPC over h2 by ALPN, and the HTTP service), and refuses plaintext.
func TestTLSWithTheNodesCertificate(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	p := startPetStore(t, "sqlite", func(cfg *config.Config) { cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile })
	addr := p.node.Addr("ext-authz")
	tlsCfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	client := grpcClient(t, addr, credentials.NewTLS(tlsCfg))
	req := envoyRequest("POST", "/demo/pets", map[string]string{"authorization": "Bearer " + p.tokens["erin"]})
	res, err := client.Check(context.Background(), req)
	if err != nil || codes.Code(res.GetStatus().GetCode()) != codes.OK {
		t.Fatalf("gRPC over TLS: %v %v", res, err)
	}
	req = envoyRequest("POST", "/demo/pets", map[string]string{"authorization": "Bearer " + p.tokens["carol"]})
	if res, err := client.Check(context.Background(), req); err != nil || res.GetDeniedResponse().GetBody() != bodyExplicitDeny {
		t.Fatalf("gRPC over TLS, customer: %v %v", res, err)
	}

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	hreq, _ := http.NewRequest("POST", "https://"+addr+extauthz.PathPrefix+"/demo/pets", nil)
	hreq.Header.Set("Authorization", "Bearer "+p.tokens["erin"])
	hres, err := hc.Do(hreq)
	if err != nil {
		t.Fatal(err)
	}
	hres.Body.Close()
	if hres.StatusCode != 200 {
		t.Fatalf("HTTP service over TLS: %d", hres.StatusCode)
	}

	plain := grpcClient(t, addr, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := plain.Check(ctx, req); err == nil {
		t.Fatal("a plaintext gRPC call was answered on the TLS listener")
	}
}
