package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

func TestPrecedenceAndValidation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "g.yaml")
	os.WriteFile(file, []byte("listen: \"127.0.0.1:9000\"\nlogLevel: debug\npollInterval: 5s\ntrustedProxies: [10.0.0.0/8]\n"), 0o644)
	c := config.Defaults()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GATEHOUSE_LISTEN": "127.0.0.1:9100", "GATEHOUSE_MAX_STALENESS": "90", "GATEHOUSE_TRUSTED_PROXIES": "192.168.0.0/16, 10.1.0.0/16"}
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9100" || c.LogLevel != "debug" || time.Duration(c.PollInterval) != 5*time.Second ||
		time.Duration(c.MaxStaleness) != 90*time.Second || len(c.TrustedProxies) != 2 || c.AdminListen != "127.0.0.1:8181" {
		t.Fatalf("merged settings %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestValidationNamesTheSetting(t *testing.T) {
	for _, tc := range []struct {
		mutate func(*config.Config)
		want   string
	}{
		{func(c *config.Config) { c.Listen = "nope" }, "listen"},
		{func(c *config.Config) { c.IdPListen = "bad" }, "idpListen"},
		{func(c *config.Config) { c.DB = "" }, "db"},
		{func(c *config.Config) { c.AccessKeyID = "x" }, "secretAccessKey"},
		{func(c *config.Config) { c.LogFormat = "xml" }, "logFormat"},
		{func(c *config.Config) { c.LogLevel = "loud" }, "logLevel"},
		{func(c *config.Config) { c.TLSCertFile = "c.pem" }, "tlsKeyFile"},
		{func(c *config.Config) { c.TrustedProxies = []string{"10.0.0.1"} }, "trustedProxies"},
		{func(c *config.Config) { c.PollInterval = 0 }, "pollInterval"},
		{func(c *config.Config) { c.Region = "" }, "region"},
		{func(c *config.Config) { c.Region = "us-east-1 " }, "region"},
		{func(c *config.Config) { c.TracingEndpoint = "collector:4317" }, "tracingEndpoint"},
		{func(c *config.Config) { c.TracingProtocol = "zipkin" }, "tracingProtocol"},
		{func(c *config.Config) { r := 2.0; c.TracingSampleRatio = &r }, "tracingSampleRatio"},
	} {
		c := config.Defaults()
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("want an error naming %s, got %v", tc.want, err)
		}
	}
	c := config.Defaults()
	c.IdPListen, c.ForwardAuthListen = "off", ""
	if err := c.Validate(); err != nil {
		t.Fatalf("optional listeners off: %v", err)
	}
	if err := c.Set("nonsense", "1"); err == nil {
		t.Fatal("unknown setting accepted")
	}
	if err := c.LoadEnv(func(k string) (string, bool) { return "soon", k == "GATEHOUSE_POLL_INTERVAL" }); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_POLL_INTERVAL") {
		t.Fatalf("bad env duration: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("listen: \":1\"\nlisen: typo\n"), 0o644)
	if err := c.LoadFile(bad); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("unknown file key: %v", err)
	}
}

func TestExtAuthzListen(t *testing.T) {
	t.Parallel()
	if d := config.Defaults(); config.Enabled(d.ExtAuthzListen) {
		t.Fatalf("ext_authz listener on by default: %q", d.ExtAuthzListen)
	}
	file := filepath.Join(t.TempDir(), "g.yaml")
	if err := os.WriteFile(file, []byte("extAuthzListen: \"127.0.0.1:9191\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := config.Defaults()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	if c.ExtAuthzListen != "127.0.0.1:9191" {
		t.Fatalf("file: %q", c.ExtAuthzListen)
	}
	env := func(k string) (string, bool) { return "127.0.0.1:9292", k == "GATEHOUSE_EXT_AUTHZ_LISTEN" }
	if err := c.LoadEnv(env); err != nil || c.ExtAuthzListen != "127.0.0.1:9292" {
		t.Fatalf("env: %q %v", c.ExtAuthzListen, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	c.ExtAuthzListen = "9191"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "extAuthzListen") {
		t.Fatalf("bad address: want an error naming extAuthzListen, got %v", err)
	}
	c.ExtAuthzListen = "off"
	if err := c.Validate(); err != nil {
		t.Fatalf("off: %v", err)
	}
}

func TestTracingSettings(t *testing.T) {
	file := filepath.Join(t.TempDir(), "g.yaml")
	os.WriteFile(file, []byte("tracingEndpoint: http://otel:4318\ntracingProtocol: http/protobuf\n"), 0o644)
	c := config.Defaults()
	if err := c.LoadFile(file); err != nil {
		t.Fatal(err)
	}
	if c.TracingSampleRatio != nil {
		t.Fatal("the sample ratio must stay unset so OTEL_TRACES_SAMPLER applies")
	}
	env := map[string]string{"GATEHOUSE_TRACING_SAMPLE_RATIO": "0.25"}
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	tc := c.Tracing()
	if tc.Endpoint != "http://otel:4318" || tc.Protocol != "http/protobuf" || tc.SampleRatio == nil || *tc.SampleRatio != 0.25 {
		t.Fatalf("tracing settings %+v", tc)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("tracingSampleRatio", "most"); err == nil {
		t.Fatal("a non-number ratio was accepted")
	}
}
