// Package config defines Gatehouse's process settings: their defaults, the settings file (JSON
// when named *.json, YAML otherwise; unknown keys are errors naming their line), the
// GATEHOUSE_* environment variables, and validation. Precedence: flag > environment > file >
// default. The db setting is a postgres:// URL or a SQLite path: any other URL scheme is
// refused rather than taken as a file name.
package config

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/tracing"
)

// Config holds every process setting. Zero values mean "use the default" (see Defaults).
type Config struct {
	// Listen is the gateway (data plane) address.
	Listen string `json:"listen"`
	// AdminListen serves the management API (AVP-compatible and admin), /metrics and health.
	AdminListen string `json:"adminListen"`
	// IdPListen serves the built-in identity provider; "" or "off" disables it.
	IdPListen string `json:"idpListen"`
	// IdPIssuerBase is the public base URL of the IdP listener used in token issuers; default
	// http://<IdPListen>.
	IdPIssuerBase string `json:"idpIssuerBase"`
	// ForwardAuthListen serves the forward-auth decision endpoint; "" or "off" disables it.
	ForwardAuthListen string `json:"forwardAuthListen"`
	// ExtAuthzListen serves Envoy's ext_authz protocol (gRPC and the HTTP service mode) on
	// one port; "" or "off" (the default) disables it. It uses the tlsCertFile/tlsKeyFile pair
	// when set, else plaintext HTTP/1.1 and HTTP/2 (h2c).
	ExtAuthzListen string `json:"extAuthzListen"`
	// DB is a SQLite file path or a postgres:// URL.
	DB string `json:"db"`
	// AccessKeyID and SecretAccessKey sign management calls (SigV4).
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	// Region is reported in ARNs and accepted in SigV4 credential scopes.
	Region string `json:"region"`
	// AccountID is reported in ARNs.
	AccountID string `json:"accountId"`
	// LogFormat is "text" or "json"; LogLevel is debug, info, warn or error.
	LogFormat string `json:"logFormat"`
	LogLevel  string `json:"logLevel"`
	// PollInterval is how often a node re-reads store revisions as a fallback to change
	// notifications.
	PollInterval Duration `json:"pollInterval"`
	// MaxStaleness bounds how long a node keeps serving its last snapshot while the store is
	// unreachable before it reports not ready.
	MaxStaleness Duration `json:"maxStaleness"`
	// ShutdownTimeout bounds the drain of in-flight requests on SIGINT/SIGTERM.
	ShutdownTimeout Duration `json:"shutdownTimeout"`
	// CacheMemory is the memory budget of the token and decision caches (see CacheBudgets).
	CacheMemory ByteSize `json:"cacheMemory"`
	// ShutdownDelay is how long a node keeps serving after SIGINT/SIGTERM, reporting not
	// ready, before it stops accepting: the time a load balancer needs to stop sending.
	ShutdownDelay Duration `json:"shutdownDelay"`
	// StoreTimeout bounds every wait on the database: connecting, each statement, each lock
	// wait. A call that hits it fails with a retryable error.
	StoreTimeout Duration `json:"storeTimeout"`
	// HealthListen, when set, serves /healthz, /readyz and /metrics on a listener of their
	// own, so probes and scrapers need no access to the management API; "" or "off" disables.
	HealthListen string `json:"healthListen"`
	// TLS, when both files are set, serves the gateway listener over TLS (HTTP/2 enabled).
	TLSCertFile string `json:"tlsCertFile"`
	TLSKeyFile  string `json:"tlsKeyFile"`
	// TrustedProxies lists CIDRs whose X-Forwarded-* headers are believed.
	TrustedProxies []string `json:"trustedProxies"`
	// AuditFile is where audit records go: a path, "stdout", or "" for none.
	AuditFile string `json:"auditFile"`
	// AuditFailure is what decisions do while the audit trail cannot be written: "log" (the
	// default: go on deciding; lost records are counted and reported by gap records) or "deny"
	// (answer 503).
	AuditFailure string `json:"auditFailure"`
	// AuditDigestInterval is how often the audit trail gets a signed digest record (0: 60s).
	AuditDigestInterval Duration `json:"auditDigestInterval"`
	// MaxSchemaBytes bounds a policy store schema; 0 means the management API's request limit
	// (1 MiB). 100000 is AVP's quota, for setups that must stay portable to AWS.
	MaxSchemaBytes int `json:"maxSchemaBytes"`
	// ConsoleKeys are more access key pairs that may sign in to the web console (the
	// management key pair signs in as administrator), each "roles:accessKeyId:secret" with
	// roles viewer, author or administrator joined by "+"; the secret is at least 16
	// characters (docs/console.md).
	ConsoleKeys []string `json:"consoleKeys"`
	// ConsolePool and ConsoleClientID, set together, let people sign in to the web console
	// through the built-in IdP as users of that pool (authorization code with PKCE; the
	// public client must list <console>/console/oauth2/callback among its callback URLs);
	// their groups named viewer, author or administrator are their roles.
	ConsolePool     string `json:"consolePool"`
	ConsoleClientID string `json:"consoleClientId"`
	// TracingEndpoint is the OTLP collector URL (http:// plaintext, https:// TLS); tracing is
	// off while neither it nor OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT is set (docs/observability.md).
	TracingEndpoint string `json:"tracingEndpoint"`
	// TracingProtocol is grpc or http/protobuf ("" = OTEL_EXPORTER_OTLP_PROTOCOL, else grpc).
	TracingProtocol string `json:"tracingProtocol"`
	// TracingSampleRatio is the share of new traces recorded (0..1); unset, OTEL_TRACES_SAMPLER
	// applies (default: every trace). A trusted caller's sampling decision is followed.
	TracingSampleRatio *float64 `json:"tracingSampleRatio"`
	// CodeSender delivers the built-in IdP's verification codes: smtp, webhook, log
	// (development: codes in the log) or off/"" (operations needing a code fail). See codes.go.
	CodeSender     string `json:"codeSender"`
	SMTPHost       string `json:"smtpHost"`
	SMTPPort       int    `json:"smtpPort"` // 0: 587
	SMTPFrom       string `json:"smtpFrom"`
	SMTPUsername   string `json:"smtpUsername"`
	SMTPPassword   string `json:"-"` // environment only
	CodeWebhookURL string `json:"codeWebhookUrl"`
	// CodeWebhookSecret keys the webhook's HMAC-SHA256 signature; environment only.
	CodeWebhookSecret string `json:"-"`
	// SignInFreeFailures is how many IdP sign-in failures one user may have from one client
	// address before each further attempt waits a delay (1 s, doubling up to SignInMaxDelay);
	// 0 turns this count off (signin.go).
	SignInFreeFailures int `json:"signInFreeFailures"`
	// SignInMaxFailuresPerUser failures of one user from all addresses within SignInWindow
	// lock the user out for SignInLockout; must be above SignInFreeFailures; 0 off.
	SignInMaxFailuresPerUser int `json:"signInMaxFailuresPerUser"`
	// SignInMaxFailuresPerIP failures from one client address across users within
	// SignInWindow lock the address out for SignInLockout (loopback not counted); 0 off.
	SignInMaxFailuresPerIP int `json:"signInMaxFailuresPerIp"`
	// SignInMaxDelay caps the doubling delay per user and address.
	SignInMaxDelay Duration `json:"signInMaxDelay"`
	// SignInWindow is the window of the per-user and per-address failure counts.
	SignInWindow Duration `json:"signInWindow"`
	// SignInLockout is how long a per-user or per-address limit locks out.
	SignInLockout Duration `json:"signInLockout"`
}

// Duration is a time.Duration written as a Go duration string ("30s") in files and env.
type Duration time.Duration

// UnmarshalJSON accepts "30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(strconv.Quote(time.Duration(d).String())), nil
}

func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q (use e.g. 30s, 5m)", s)
	}
	return v, nil
}

// Defaults returns the default settings.
func Defaults() Config {
	c := Config{
		Listen:            ":8080",
		AdminListen:       "127.0.0.1:8181",
		IdPListen:         "127.0.0.1:9229",
		ForwardAuthListen: "127.0.0.1:8182",
		DB:                "./gatehouse.db",
		Region:            "us-east-1",
		AccountID:         "000000000000",
		LogFormat:         "text",
		LogLevel:          "info",
		PollInterval:      Duration(2 * time.Second),
		MaxStaleness:      Duration(5 * time.Minute),
		ShutdownTimeout:   Duration(15 * time.Second),
		CacheMemory:       DefaultCacheMemory,
		ShutdownDelay:     Duration(5 * time.Second),
		StoreTimeout:      Duration(5 * time.Second),
	}
	c.signInDefaults()
	return c
}

// Env lists the environment variable of each setting, in documentation order.
var Env = []struct {
	Name, Key, Help string
}{
	{"GATEHOUSE_LISTEN", "listen", "gateway listener address"},
	{"GATEHOUSE_ADMIN_LISTEN", "adminListen", "management API, metrics and health listener"},
	{"GATEHOUSE_IDP_LISTEN", "idpListen", "built-in IdP listener (off disables)"},
	{"GATEHOUSE_IDP_ISSUER_BASE", "idpIssuerBase", "public base URL of the IdP listener"},
	{"GATEHOUSE_FORWARD_AUTH_LISTEN", "forwardAuthListen", "forward-auth listener (off disables)"},
	{"GATEHOUSE_EXT_AUTHZ_LISTEN", "extAuthzListen", "Envoy ext_authz listener, gRPC and HTTP (off, the default, disables)"},
	{"GATEHOUSE_DB", "db", "SQLite file path or postgres:// URL"},
	{"GATEHOUSE_ACCESS_KEY_ID", "accessKeyId", "management access key id (SigV4)"},
	{"GATEHOUSE_SECRET_ACCESS_KEY", "secretAccessKey", "management secret access key (SigV4)"},
	{"GATEHOUSE_REGION", "region", "region used in ARNs and SigV4 scopes"},
	{"GATEHOUSE_ACCOUNT_ID", "accountId", "account id used in ARNs"},
	{"GATEHOUSE_LOG_FORMAT", "logFormat", "text or json"},
	{"GATEHOUSE_LOG_LEVEL", "logLevel", "debug, info, warn or error"},
	{"GATEHOUSE_POLL_INTERVAL", "pollInterval", "revision polling fallback interval"},
	{"GATEHOUSE_MAX_STALENESS", "maxStaleness", "how long to serve a snapshot with the store unreachable"},
	{"GATEHOUSE_SHUTDOWN_TIMEOUT", "shutdownTimeout", "drain time on shutdown"},
	{"GATEHOUSE_CACHE_MEMORY", "cacheMemory", "memory budget of the token and decision caches (e.g. 64MiB)"},
	{"GATEHOUSE_SHUTDOWN_DELAY", "shutdownDelay", "time to keep serving, not ready, before shutdown stops accepting"},
	{"GATEHOUSE_STORE_TIMEOUT", "storeTimeout", "bound on every database wait (connect, statement, lock)"},
	{"GATEHOUSE_HEALTH_LISTEN", "healthListen", "separate /healthz, /readyz and /metrics listener (off disables)"},
	{"GATEHOUSE_TLS_CERT_FILE", "tlsCertFile", "gateway TLS certificate (PEM)"},
	{"GATEHOUSE_TLS_KEY_FILE", "tlsKeyFile", "gateway TLS key (PEM)"},
	{"GATEHOUSE_TRUSTED_PROXIES", "trustedProxies", "comma-separated CIDRs trusted for X-Forwarded-*"},
	{"GATEHOUSE_AUDIT_FILE", "auditFile", "audit trail destination: path, stdout, or empty"},
	{"GATEHOUSE_AUDIT_FAILURE", "auditFailure", "while the audit trail cannot be written: log (keep deciding) or deny (answer 503)"},
	{"GATEHOUSE_AUDIT_DIGEST_INTERVAL", "auditDigestInterval", "interval between signed audit digest records (default 60s)"},
	{"GATEHOUSE_CONSOLE_POOL", "consolePool", "built-in IdP user pool whose users may sign in to the web console"},
	{"GATEHOUSE_CONSOLE_CLIENT_ID", "consoleClientId", "app client of consolePool the web console signs in with"},
	{"GATEHOUSE_CONSOLE_KEYS", "consoleKeys", "comma-separated web console key pairs roles:accessKeyId:secret (roles viewer, author, administrator joined by +)"},
	{"GATEHOUSE_MAX_SCHEMA_BYTES", "maxSchemaBytes", "policy store schema size limit (100000 = AVP's quota)"},
	{"GATEHOUSE_CODE_SENDER", "codeSender", "IdP verification code delivery: smtp, webhook, log (development) or off"},
	{"GATEHOUSE_SMTP_HOST", "smtpHost", "SMTP server for IdP codes"},
	{"GATEHOUSE_SMTP_PORT", "smtpPort", "SMTP port (default 587; STARTTLS whenever offered)"},
	{"GATEHOUSE_SMTP_FROM", "smtpFrom", "From address of IdP code mails"},
	{"GATEHOUSE_SMTP_USERNAME", "smtpUsername", "SMTP AUTH user (none: no AUTH)"},
	{"GATEHOUSE_SMTP_PASSWORD", "smtpPassword", "SMTP AUTH password (environment only)"},
	{"GATEHOUSE_CODE_WEBHOOK_URL", "codeWebhookUrl", "URL the IdP POSTs codes to (codeSender webhook)"},
	{"GATEHOUSE_CODE_WEBHOOK_SECRET", "codeWebhookSecret", "HMAC-SHA256 key of the code webhook's signature (environment only)"},
	{"GATEHOUSE_SIGN_IN_FREE_FAILURES", "signInFreeFailures", "IdP sign-in failures per user and address before delays start (0: none counted)"},
	{"GATEHOUSE_SIGN_IN_MAX_DELAY", "signInMaxDelay", "cap of the doubling delay per user and address"},
	{"GATEHOUSE_SIGN_IN_MAX_FAILURES_PER_USER", "signInMaxFailuresPerUser", "IdP sign-in failures per user from all addresses within signInWindow before a lockout (0: off)"},
	{"GATEHOUSE_SIGN_IN_MAX_FAILURES_PER_IP", "signInMaxFailuresPerIp", "IdP sign-in failures per client address within signInWindow before a lockout (0: off)"},
	{"GATEHOUSE_SIGN_IN_WINDOW", "signInWindow", "window of the sign-in failure counts"},
	{"GATEHOUSE_SIGN_IN_LOCKOUT", "signInLockout", "lockout after a per-user or per-address limit"},
	{"GATEHOUSE_TRACING_ENDPOINT", "tracingEndpoint", "OTLP collector URL for traces (off when unset; OTEL_EXPORTER_OTLP_ENDPOINT also works)"},
	{"GATEHOUSE_TRACING_PROTOCOL", "tracingProtocol", "OTLP protocol: grpc or http/protobuf"},
	{"GATEHOUSE_TRACING_SAMPLE_RATIO", "tracingSampleRatio", "share of new traces recorded, 0 to 1 (default: OTEL_TRACES_SAMPLER, else all)"},
}

// LoadEnv merges GATEHOUSE_* variables found by lookup (os.LookupEnv in production) into c.
func (c *Config) LoadEnv(lookup func(string) (string, bool)) error {
	for _, e := range Env {
		v, ok := lookup(e.Name)
		if !ok {
			continue
		}
		if err := c.Set(e.Key, v); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
	}
	return nil
}

// Set assigns one setting by its file key from a string.
func (c *Config) Set(key, v string) error {
	var err error
	dur := func(d *Duration) {
		var x time.Duration
		x, err = parseDuration(v)
		*d = Duration(x)
	}
	switch key {
	case "listen":
		c.Listen = v
	case "adminListen":
		c.AdminListen = v
	case "idpListen":
		c.IdPListen = v
	case "idpIssuerBase":
		c.IdPIssuerBase = v
	case "forwardAuthListen":
		c.ForwardAuthListen = v
	case "extAuthzListen":
		c.ExtAuthzListen = v
	case "db":
		c.DB = v
	case "accessKeyId":
		c.AccessKeyID = v
	case "secretAccessKey":
		c.SecretAccessKey = v
	case "region":
		c.Region = v
	case "accountId":
		c.AccountID = v
	case "logFormat":
		c.LogFormat = v
	case "logLevel":
		c.LogLevel = v
	case "pollInterval":
		dur(&c.PollInterval)
	case "maxStaleness":
		dur(&c.MaxStaleness)
	case "shutdownTimeout":
		dur(&c.ShutdownTimeout)
	case "cacheMemory":
		c.CacheMemory, err = ParseByteSize(v)
	case "shutdownDelay":
		dur(&c.ShutdownDelay)
	case "storeTimeout":
		dur(&c.StoreTimeout)
	case "healthListen":
		c.HealthListen = v
	case "tlsCertFile":
		c.TLSCertFile = v
	case "tlsKeyFile":
		c.TLSKeyFile = v
	case "trustedProxies":
		c.TrustedProxies = nil
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.TrustedProxies = append(c.TrustedProxies, p)
			}
		}
	case "auditFile":
		c.AuditFile = v
	case "auditFailure":
		c.AuditFailure = v
	case "auditDigestInterval":
		dur(&c.AuditDigestInterval)
	case "consolePool":
		c.ConsolePool = v
	case "consoleClientId":
		c.ConsoleClientID = v
	case "consoleKeys":
		c.ConsoleKeys = nil
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				c.ConsoleKeys = append(c.ConsoleKeys, k)
			}
		}
	case "maxSchemaBytes":
		c.MaxSchemaBytes, err = strconv.Atoi(v)
	case "codeSender", "smtpHost", "smtpPort", "smtpFrom", "smtpUsername", "smtpPassword", "codeWebhookUrl", "codeWebhookSecret":
		err = c.setCodes(key, v)
	case "signInFreeFailures", "signInMaxFailuresPerUser", "signInMaxFailuresPerIp", "signInMaxDelay", "signInWindow", "signInLockout":
		err = c.setSignIn(key, v)
	case "tracingEndpoint":
		c.TracingEndpoint = v
	case "tracingProtocol":
		c.TracingProtocol = v
	case "tracingSampleRatio":
		var r float64
		if r, err = strconv.ParseFloat(v, 64); err == nil {
			c.TracingSampleRatio = &r
		}
	default:
		return fmt.Errorf("unknown setting %q", key)
	}
	return err
}

// Enabled reports whether an optional listener setting is switched on.
func Enabled(addr string) bool { return addr != "" && addr != "off" }

// regionPattern is the shape of AWS region names (us-east-1, us-gov-west-1, ap-southeast-4).
var regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)

// Validate checks the settings and names the first bad one.
func (c *Config) Validate() error {
	var errs []error
	addr := func(key, v string, optional bool) {
		if optional && !Enabled(v) {
			return
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not host:port: %w", key, v, err))
		}
	}
	addr("listen", c.Listen, false)
	addr("adminListen", c.AdminListen, false)
	addr("idpListen", c.IdPListen, true)
	addr("forwardAuthListen", c.ForwardAuthListen, true)
	addr("extAuthzListen", c.ExtAuthzListen, true)
	addr("healthListen", c.HealthListen, true)
	if c.DB == "" {
		errs = append(errs, errors.New("db: must name a SQLite file or a postgres:// URL"))
	} else if scheme, _, ok := strings.Cut(c.DB, "://"); ok && scheme != "postgres" && scheme != "postgresql" && scheme != "file" {
		errs = append(errs, fmt.Errorf("db: %s:// is not supported: use a postgres:// URL or a SQLite file path", scheme))
	}
	// SigV4 verification accepts only credential scopes naming this region, so an empty or
	// malformed one would refuse every signed request.
	if !regionPattern.MatchString(c.Region) {
		errs = append(errs, fmt.Errorf("region: %q is not an AWS region name such as us-east-1", c.Region))
	}
	if (c.AccessKeyID == "") != (c.SecretAccessKey == "") {
		errs = append(errs, errors.New("accessKeyId and secretAccessKey must be set together"))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("logFormat: %q is not text or json", c.LogFormat))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("logLevel: %q is not debug, info, warn or error", c.LogLevel))
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, errors.New("tlsCertFile and tlsKeyFile must be set together"))
	}
	for _, p := range c.TrustedProxies {
		if _, _, err := net.ParseCIDR(p); err != nil {
			errs = append(errs, fmt.Errorf("trustedProxies: %q is not a CIDR", p))
		}
	}
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("pollInterval: must be positive"))
	}
	if c.CacheMemory != 0 && c.CacheMemory < minCacheMemory {
		errs = append(errs, fmt.Errorf("cacheMemory: %s is below the minimum %s", c.CacheMemory, minCacheMemory))
	}
	if c.StoreTimeout <= 0 {
		errs = append(errs, errors.New("storeTimeout: must be positive"))
	}
	if c.ShutdownDelay < 0 {
		errs = append(errs, errors.New("shutdownDelay: must not be negative"))
	}
	if (c.ConsolePool == "") != (c.ConsoleClientID == "") {
		errs = append(errs, errors.New("consolePool and consoleClientId must be set together"))
	} else if c.ConsolePool != "" && !Enabled(c.IdPListen) {
		errs = append(errs, errors.New("consolePool: the built-in IdP is off (idpListen)"))
	}
	seen := map[string]bool{}
	for i, s := range c.ConsoleKeys {
		k, err := ParseConsoleKey(s)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("consoleKeys[%d]: %w", i, err))
		case seen[k.AccessKeyID] || k.AccessKeyID == c.AccessKeyID:
			errs = append(errs, fmt.Errorf("consoleKeys[%d]: access key id %s is used twice", i, k.AccessKeyID))
		}
		seen[k.AccessKeyID] = true
	}
	if c.MaxSchemaBytes < 0 {
		errs = append(errs, errors.New("maxSchemaBytes: must not be negative"))
	}
	if c.AuditFailure != "" && c.AuditFailure != "log" && c.AuditFailure != "deny" {
		errs = append(errs, fmt.Errorf("auditFailure: %q is not log or deny", c.AuditFailure))
	}
	if c.AuditDigestInterval < 0 {
		errs = append(errs, errors.New("auditDigestInterval: must not be negative"))
	}
	errs = append(errs, c.validateCodes()...)
	errs = append(errs, c.validateSignIn()...)
	if err := c.Tracing().Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Tracing returns the tracing settings (the OTEL_* environment fills what they leave unset).
func (c *Config) Tracing() tracing.Config {
	return tracing.Config{Endpoint: c.TracingEndpoint, Protocol: c.TracingProtocol, SampleRatio: c.TracingSampleRatio}
}

// ConsoleKey is one parsed consoleKeys entry.
type ConsoleKey struct {
	Roles           []string
	AccessKeyID     string
	SecretAccessKey string
}

// consoleRoles are the roles the console's seeded policies know.
var consoleRoles = map[string]bool{"viewer": true, "author": true, "administrator": true}

// ParseConsoleKey parses "roles:accessKeyId:secret" (roles joined by "+"; the secret is the
// rest, so it may hold ':'). The messages never repeat the secret.
func ParseConsoleKey(s string) (ConsoleKey, error) {
	roles, rest, ok := strings.Cut(s, ":")
	id, secret, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 {
		return ConsoleKey{}, errors.New("want roles:accessKeyId:secret")
	}
	k := ConsoleKey{AccessKeyID: id, SecretAccessKey: secret}
	for _, r := range strings.Split(roles, "+") {
		if !consoleRoles[r] {
			return ConsoleKey{}, fmt.Errorf("role %q is not viewer, author or administrator", r)
		}
		k.Roles = append(k.Roles, r)
	}
	if id == "" || strings.ContainsAny(id, " \t,") {
		return ConsoleKey{}, errors.New("the access key id must not be empty or hold spaces or commas")
	}
	if len(secret) < 16 {
		return ConsoleKey{}, fmt.Errorf("the secret of %s is shorter than 16 characters", id)
	}
	return k, nil
}
