package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

// TestSetupAgainstIdP runs gwsetup against a real built-in IdP on a temporary SQLite store and
// checks the access token it prints verifies against the pool's JWKS and carries the group.
func TestSetupAgainstIdP(t *testing.T) {
	ctx := context.Background()
	st, err := sqldb.Open(ctx, filepath.Join(t.TempDir(), "g.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var h http.Handler
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	defer srv.Close()
	h = idp.New(st, idp.WithBaseURL(srv.URL),
		idp.WithArgon2(idp.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}),
		idp.WithCredentials(func(id string) (string, bool) { return "s3cret", id == "AKIDTEST" })).Handler()
	t.Setenv("GATEHOUSE_ACCESS_KEY_ID", "AKIDTEST")
	t.Setenv("GATEHOUSE_SECRET_ACCESS_KEY", "s3cret")

	var out bytes.Buffer
	if err := run(ctx, []string{"-idp", srv.URL}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, _ := strings.Cut(line, "=")
		vars[k] = strings.Trim(v, "'")
	}
	for _, k := range []string{"POOL_ID", "POOL_ARN", "CLIENT_ID", "ACCESS_TOKEN", "ID_TOKEN"} {
		if vars[k] == "" {
			t.Fatalf("output lacks %s:\n%s", k, out.String())
		}
	}
	if !strings.HasSuffix(vars["POOL_ARN"], ":userpool/"+vars["POOL_ID"]) {
		t.Fatalf("POOL_ARN %q does not name pool %q", vars["POOL_ARN"], vars["POOL_ID"])
	}

	resp, err := http.Get(srv.URL + "/" + vars["POOL_ID"] + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil || len(jwks.Keys) == 0 {
		t.Fatalf("jwks: %v (%d keys)", err, len(jwks.Keys))
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range jwks.Keys {
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pk := &rsa.PublicKey{E: 0}
		pk.N = new(big.Int).SetBytes(n)
		for _, b := range e {
			pk.E = pk.E<<8 | int(b)
		}
		keys[k.Kid] = pk
	}
	claims := jwt.MapClaims{}
	_, err = jwt.ParseWithClaims(vars["ACCESS_TOKEN"], claims, func(tk *jwt.Token) (any, error) {
		return keys[tk.Header["kid"].(string)], nil
	}, jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer(srv.URL+"/"+vars["POOL_ID"]))
	if err != nil {
		t.Fatalf("access token: %v", err)
	}
	if claims["client_id"] != vars["CLIENT_ID"] || claims["token_use"] != "access" {
		t.Fatalf("claims %v", claims)
	}
	groups, _ := claims["cognito:groups"].([]any)
	if len(groups) != 1 || groups[0] != "employees" {
		t.Fatalf("cognito:groups %v, want [employees]", claims["cognito:groups"])
	}
}
