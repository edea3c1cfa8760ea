// Command signreq signs one management API request (AWS JSON 1.0, SigV4) and prints a wrk Lua
// script that replays it, so wrk can load the management API without signing per request.
//
// A SigV4 signature is accepted for 15 minutes from its X-Amz-Date and the server keeps no
// nonce, so replaying the same bytes is valid for that long; the script must be used at once.
//
//	signreq -endpoint http://127.0.0.1:8181 -target VerifiedPermissions.IsAuthorized \
//	    -body @req.json -check > isauthz.lua
//	wrk -t2 -c32 -d10s --latency -s isauthz.lua http://127.0.0.1:8181/
//
// Credentials come from -access-key-id/-secret-access-key, else GATEHOUSE_ACCESS_KEY_ID /
// GATEHOUSE_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. With -check the
// request is sent once first; a non-200 answer, or an answer that lacks the -expect string, is
// an error (exit 1), so a benchmark never measures a stream of rejections.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "signreq:", err)
		os.Exit(1)
	}
}

type options struct {
	endpoint, target, body, region, service string
	accessKeyID, secret                     string
	check                                   bool
	expect                                  string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("signreq", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.endpoint, "endpoint", "http://127.0.0.1:8181", "management API URL")
	fs.StringVar(&o.target, "target", "", "X-Amz-Target, e.g. VerifiedPermissions.IsAuthorized (required)")
	fs.StringVar(&o.body, "body", "{}", "JSON body, or @FILE to read it from FILE")
	fs.StringVar(&o.region, "region", "us-east-1", "signing region")
	fs.StringVar(&o.service, "service", "", "signing name (default verifiedpermissions; gatehouse for Gatehouse.* targets)")
	fs.StringVar(&o.accessKeyID, "access-key-id", "", "access key id (default from the environment)")
	fs.StringVar(&o.secret, "secret-access-key", "", "secret access key (default from the environment)")
	fs.BoolVar(&o.check, "check", false, "send the request once and fail unless it answers 200")
	fs.StringVar(&o.expect, "expect", "", "with -check, a string the answer must contain (e.g. '\"decision\":\"ALLOW\"')")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if o.target == "" {
		return errors.New("-target is required")
	}
	body, err := readBody(o.body)
	if err != nil {
		return err
	}
	if o.accessKeyID == "" {
		o.accessKeyID, o.secret = firstPair(os.Getenv)
	}
	if o.accessKeyID == "" || o.secret == "" {
		return errors.New("no credentials: set -access-key-id/-secret-access-key or GATEHOUSE_ACCESS_KEY_ID/GATEHOUSE_SECRET_ACCESS_KEY")
	}
	req, err := sign(ctx, o, body, time.Now())
	if err != nil {
		return err
	}
	if o.check {
		if err := check(ctx, req, body, o.expect, stderr); err != nil {
			return err
		}
	}
	_, err = io.WriteString(stdout, luaScript(req, body))
	return err
}

func readBody(s string) ([]byte, error) {
	if name, ok := strings.CutPrefix(s, "@"); ok {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("read body: %w", err)
		}
		return b, nil
	}
	return []byte(s), nil
}

func firstPair(getenv func(string) string) (id, secret string) {
	if id := getenv("GATEHOUSE_ACCESS_KEY_ID"); id != "" {
		return id, getenv("GATEHOUSE_SECRET_ACCESS_KEY")
	}
	return getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY")
}

// sign builds the request exactly as wrk will send it: POST to the endpoint's path with the
// endpoint's host:port as Host, and signs it at now.
func sign(ctx context.Context, o options, body []byte, now time.Time) (*http.Request, error) {
	u, err := url.Parse(o.endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("-endpoint %q: must be an http(s) URL", o.endpoint)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", o.target)
	service := o.service
	if service == "" {
		service = "verifiedpermissions"
		if strings.HasPrefix(o.target, "Gatehouse.") {
			service = "gatehouse"
		}
	}
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: o.accessKeyID, SecretAccessKey: o.secret}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), service, o.region, now); err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	// The signer signs Host from the URL; wrk sends that same value.
	req.Header.Set("Host", req.URL.Host)
	return req, nil
}

func check(ctx context.Context, signed *http.Request, body []byte, expect string, stderr io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, signed.Method, signed.URL.String(), bytes.NewReader(body))
	if err != nil {
		return err
	}
	for k, v := range signed.Header {
		if k != "Host" {
			req.Header[k] = v
		}
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("check: %w", err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(stderr, "signreq: check: HTTP %d %s\n", resp.StatusCode, bytes.TrimSpace(rb))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("check: HTTP %d", resp.StatusCode)
	}
	if expect != "" && !strings.Contains(string(rb), expect) {
		return fmt.Errorf("check: answer does not contain %q", expect)
	}
	return nil
}

// luaScript sets wrk's request fields; wrk builds the request once and replays it.
func luaScript(req *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "-- generated by bench/cmd/signreq at %s; valid for 15 minutes\n", req.Header.Get("X-Amz-Date"))
	fmt.Fprintf(&b, "wrk.method = %s\n", luaQuote(req.Method))
	fmt.Fprintf(&b, "wrk.path = %s\n", luaQuote(req.URL.RequestURI()))
	fmt.Fprintf(&b, "wrk.body = %s\n", luaQuote(string(body)))
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaQuote(k), luaQuote(req.Header.Get(k)))
	}
	return b.String()
}

// luaQuote writes s as a Lua string literal; bytes outside printable ASCII become \ddd escapes,
// which Lua decodes back to the same bytes.
func luaQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
