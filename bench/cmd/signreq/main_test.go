package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/sigv4"
)

// TestReplayVerifies signs a request, checks it against a real server with Gatehouse's SigV4
// verifier, then replays the headers the Lua script carries and checks they verify too.
func TestReplayVerifies(t *testing.T) {
	v := &sigv4.Verifier{
		Lookup:   func(id string) (string, bool) { return "secret", id == "AKIDTEST" },
		Services: []string{"verifiedpermissions"},
		Region:   "us-east-1",
	}
	var hits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		body, _ := io.ReadAll(r.Body)
		if _, err := v.Verify(r, body); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
			return
		}
		io.WriteString(w, `{"decision":"ALLOW"}`)
	}))
	defer srv.Close()

	body := `{"policyStoreId":"ps","principal":{"entityType":"A::User","entityId":"ünï \"q\"\n"}}`
	var out, errb bytes.Buffer
	args := []string{"-endpoint", srv.URL, "-target", "VerifiedPermissions.IsAuthorized",
		"-access-key-id", "AKIDTEST", "-secret-access-key", "secret", "-body", body,
		"-check", "-expect", `"decision":"ALLOW"`}
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("run: %v (stderr %s)", err, errb.String())
	}
	script := out.String()

	// Replay from the script's own fields, as wrk would.
	req, err := http.NewRequest(luaField(t, script, "wrk.method"), srv.URL+luaField(t, script, "wrk.path"),
		strings.NewReader(luaField(t, script, "wrk.body")))
	if err != nil {
		t.Fatal(err)
	}
	if got := luaField(t, script, "wrk.body"); got != body {
		t.Fatalf("body round trip: got %q want %q", got, body)
	}
	hdr := regexp.MustCompile(`(?m)^wrk\.headers\[("(?:[^"\\]|\\.)*")\] = ("(?:[^"\\]|\\.)*")$`)
	for _, m := range hdr.FindAllStringSubmatch(script, -1) {
		k, val := luaUnquote(t, m[1]), luaUnquote(t, m[2])
		if k == "Host" {
			req.Host = val
			continue
		}
		req.Header.Set(k, val)
	}
	for _, h := range []string{"Authorization", "X-Amz-Date", "X-Amz-Target", "Content-Type"} {
		if req.Header.Get(h) == "" {
			t.Fatalf("script lacks header %s:\n%s", h, script)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || hits != 2 {
		t.Fatalf("replay: HTTP %d after %d requests, want 200 after 2", resp.StatusCode, hits)
	}
}

func TestCheckFailsOnDeny(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"decision":"DENY"}`)
	}))
	defer srv.Close()
	tests := []struct {
		name string
		args []string
	}{
		{"deny", []string{"-check", "-expect", `"decision":"ALLOW"`}},
		{"no target", []string{"-target", ""}},
		{"bad endpoint", []string{"-endpoint", "ftp://x"}},
		{"no body file", []string{"-body", "@/nonexistent/x.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-endpoint", srv.URL, "-target", "VerifiedPermissions.IsAuthorized",
				"-access-key-id", "A", "-secret-access-key", "S"}, tt.args...)
			if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
				t.Fatal("run succeeded, want an error")
			}
		})
	}
}

func luaField(t *testing.T, script, name string) string {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` = ("(?:[^"\\]|\\.)*")$`)
	m := re.FindStringSubmatch(script)
	if m == nil {
		t.Fatalf("script lacks %s:\n%s", name, script)
	}
	return luaUnquote(t, m[1])
}

// luaUnquote decodes the subset of Lua string escapes luaQuote writes.
func luaUnquote(t *testing.T, s string) string {
	t.Helper()
	s = s[1 : len(s)-1]
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b = append(b, s[i])
			continue
		}
		i++
		if s[i] >= '0' && s[i] <= '9' {
			n, err := strconv.Atoi(s[i : i+3])
			if err != nil {
				t.Fatalf("bad escape in %q", s)
			}
			b = append(b, byte(n))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}
