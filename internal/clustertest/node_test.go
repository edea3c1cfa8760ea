package clustertest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// Management credentials of the test nodes.
const (
	keyID  = "AKIDCLUSTERTEST"
	secret = "cluster-test-secret-0123456789"
)

var (
	binDir    string
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gatehouse-clustertest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// gatehouseBinary builds cmd/gatehouse once per test run.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		goTool, err := exec.LookPath("go")
		if err != nil {
			buildErr = fmt.Errorf("find the go tool: %w", err)
			return
		}
		binPath = filepath.Join(binDir, "gatehouse")
		start := time.Now()
		cmd := exec.Command(goTool, "build", "-o", binPath, "github.com/gatehouse-dev/gatehouse/cmd/gatehouse")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build cmd/gatehouse: %v\n%s", err, out)
			return
		}
		t.Logf("built cmd/gatehouse in %v", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// postgresDSN returns a DSN with its own schema, or skips the test when no PostgreSQL is
// configured (CI always configures one).
func postgresDSN(t *testing.T) string {
	t.Helper()
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("%s not set; multi-node tests need PostgreSQL (.ci/run sets it)", storetest.PostgresEnv)
	}
	return storetest.DSN(t, "postgres")
}

// viaHost returns dsn pointing at host:port instead of its own server.
func viaHost(t *testing.T, dsn, hostport string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = hostport
	return u.String()
}

// dbHost is the host:port of the PostgreSQL server in dsn.
func dbHost(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	if u.Port() == "" {
		return u.Hostname() + ":5432"
	}
	return u.Host
}

// node is one `gatehouse serve` process.
type node struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	// admin is the bound admin listener (host:port).
	admin  string
	client *mgmtclient.Client

	logMu sync.Mutex
	logs  []string
	// addrs are the bound listeners by name, from the "listening" log lines.
	addrs map[string]string

	exited  chan struct{} // closed when the process has been waited for
	waitErr error
}

// startNode runs `gatehouse serve` on db with loopback port-0 listeners and waits until it
// is ready. extraEnv entries ("K=V") override the defaults. The process is killed when the
// test ends if it is still running.
func startNode(t *testing.T, name, db string, extraEnv ...string) *node {
	t.Helper()
	n := startNodeUnready(t, name, db, extraEnv...)
	n.waitReady(t, "ready", 30*time.Second)
	return n
}

// startNodeUnready is startNode without waiting for readiness: it returns once the admin
// listener is up.
func startNodeUnready(t *testing.T, name, db string, extraEnv ...string) *node {
	t.Helper()
	bin := gatehouseBinary(t)
	env := []string{}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GATEHOUSE_") || strings.HasPrefix(kv, "AWS_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"GATEHOUSE_ACCESS_KEY_ID="+keyID,
		"GATEHOUSE_SECRET_ACCESS_KEY="+secret,
		"GATEHOUSE_DB="+db,
		"GATEHOUSE_LISTEN=127.0.0.1:0",
		"GATEHOUSE_ADMIN_LISTEN=127.0.0.1:0",
		"GATEHOUSE_IDP_LISTEN=off",
		"GATEHOUSE_FORWARD_AUTH_LISTEN=off",
		"GATEHOUSE_POLL_INTERVAL=200ms",
		"GATEHOUSE_SHUTDOWN_DELAY=0s",
		"GATEHOUSE_LOG_FORMAT=json",
		"GATEHOUSE_LOG_LEVEL=info",
	)
	env = append(env, extraEnv...)

	n := &node{t: t, name: name, exited: make(chan struct{}), addrs: map[string]string{}}
	n.cmd = exec.Command(bin, "serve")
	n.cmd.Env = env
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	n.cmd.Stdout = io.Discard
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	addr := make(chan string, 1)
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			var rec struct{ Msg, Listener, Addr string }
			listening := json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening"
			n.logMu.Lock()
			n.logs = append(n.logs, line)
			if listening {
				n.addrs[rec.Listener] = rec.Addr
			}
			n.logMu.Unlock()
			if listening && rec.Listener == "admin" {
				select {
				case addr <- rec.Addr:
				default:
				}
			}
		}
	}()
	go func() {
		<-scanned // Wait must not run before the pipe is drained
		n.waitErr = n.cmd.Wait()
		close(n.exited)
	}()
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			n.dumpLogs()
		}
	})

	select {
	case n.admin = <-addr:
	case <-n.exited:
		t.Fatalf("%s exited before listening (%v); last log line: %s", name, n.waitErr, n.lastLog())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not report its admin listener", name)
	}
	n.client = &mgmtclient.Client{Endpoint: "http://" + n.admin, AccessKeyID: keyID, SecretAccessKey: secret,
		HTTP: &http.Client{Timeout: 10 * time.Second}}
	return n
}

// listener returns the address of the named listener ("gateway", "health", ...), which
// reported listening before the admin one did or shortly after.
func (n *node) listener(name string) string {
	n.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n.logMu.Lock()
		a := n.addrs[name]
		n.logMu.Unlock()
		if a != "" {
			return a
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("%s did not report its %s listener", n.name, name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (n *node) dumpLogs() {
	n.logMu.Lock()
	defer n.logMu.Unlock()
	lines := n.logs
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	n.t.Logf("--- last log lines of %s ---\n%s", n.name, strings.Join(lines, "\n"))
}

func (n *node) lastLog() string {
	n.logMu.Lock()
	defer n.logMu.Unlock()
	if len(n.logs) == 0 {
		return ""
	}
	return n.logs[len(n.logs)-1]
}

// kill ends the process with SIGKILL (no-op if it already exited) and waits for it.
func (n *node) kill() {
	select {
	case <-n.exited:
		return
	default:
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
}

func (n *node) signal(sig os.Signal) error { return n.cmd.Process.Signal(sig) }

// running reports whether the process has not exited yet.
func (n *node) running() bool {
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// exitCode waits up to d for the process to exit and returns its exit code.
func (n *node) exitCode(d time.Duration) (int, error) {
	select {
	case <-n.exited:
	case <-time.After(d):
		return -1, fmt.Errorf("%s still running after %v", n.name, d)
	}
	if n.waitErr == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(n.waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -1, fmt.Errorf("%s killed by %v", n.name, ws.Signal())
		}
		return ee.ExitCode(), nil
	}
	return -1, n.waitErr
}

// readiness is the part of /readyz the tests look at.
type readiness struct {
	Status              string `json:"status"`
	StoreUnreachableFor string `json:"storeUnreachableFor"`
	Snapshots           []struct {
		PolicyStoreID string `json:"policyStoreId"`
		Revision      int64  `json:"revision"`
	} `json:"snapshots"`
}

func (n *node) readyz() (readiness, int, error) {
	var r readiness
	resp, err := http.Get("http://" + n.admin + "/readyz")
	if err != nil {
		return r, 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return r, resp.StatusCode, fmt.Errorf("decode /readyz: %w", err)
	}
	return r, resp.StatusCode, nil
}

// waitReady polls /readyz until its status is want (with the matching HTTP status).
func (n *node) waitReady(t *testing.T, want string, within time.Duration) readiness {
	t.Helper()
	deadline := time.Now().Add(within)
	var (
		last readiness
		code int
		err  error
	)
	for time.Now().Before(deadline) {
		last, code, err = n.readyz()
		wantCode := http.StatusOK
		if want == "not_ready" {
			wantCode = http.StatusServiceUnavailable
		}
		if err == nil && last.Status == want && code == wantCode {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s /readyz: want %q within %v, last: HTTP %d %+v %v", n.name, want, within, code, last, err)
	return last
}

// The request every test decides, and the policy that allows it.
const permitAlice = `permit(principal == User::"alice", action == Action::"view", resource == Doc::"d1");`

func createStore(t *testing.T, c *mgmtclient.Client) string {
	t.Helper()
	var out avpapi.CreatePolicyStoreOutput
	err := c.Call(context.Background(), "VerifiedPermissions.CreatePolicyStore",
		avpapi.CreatePolicyStoreInput{ValidationSettings: &avpapi.ValidationSettings{Mode: avpapi.ValidationModeOff}}, &out)
	if err != nil {
		t.Fatalf("create policy store: %v", err)
	}
	return out.PolicyStoreID
}

func createPolicy(ctx context.Context, c *mgmtclient.Client, storeID, name, statement string) (avpapi.PolicyOutput, error) {
	var out avpapi.PolicyOutput
	err := c.Call(ctx, "VerifiedPermissions.CreatePolicy", avpapi.CreatePolicyInput{
		PolicyStoreID: storeID,
		Name:          name,
		Definition:    &avpapi.PolicyDefinition{Static: &avpapi.StaticPolicyDefinition{Statement: statement}},
	}, &out)
	return out, err
}

func deletePolicy(ctx context.Context, c *mgmtclient.Client, storeID, policyID string) error {
	return c.Call(ctx, "VerifiedPermissions.DeletePolicy", avpapi.DeletePolicyInput{PolicyStoreID: storeID, PolicyID: policyID}, nil)
}

// aliceViewsD1 is the IsAuthorized request the permitAlice policy allows.
func aliceViewsD1(storeID string) avpapi.IsAuthorizedInput {
	return avpapi.IsAuthorizedInput{
		PolicyStoreID: storeID,
		Principal:     &avpapi.EntityIdentifier{EntityType: "User", EntityID: "alice"},
		Action:        &avpapi.ActionIdentifier{ActionType: "Action", ActionID: "view"},
		Resource:      &avpapi.EntityIdentifier{EntityType: "Doc", EntityID: "d1"},
	}
}

// decide asks n whether alice may view d1 in storeID.
func decide(ctx context.Context, n *node, storeID string) (string, error) {
	var out avpapi.IsAuthorizedOutput
	if err := n.client.Call(ctx, "VerifiedPermissions.IsAuthorized", aliceViewsD1(storeID), &out); err != nil {
		return "", err
	}
	return out.Decision, nil
}

// waitDecision polls n until it decides want, returning how long after start it did.
func waitDecision(ctx context.Context, n *node, storeID, want string, start time.Time, within time.Duration) (time.Duration, error) {
	deadline := start.Add(within)
	var (
		got string
		err error
	)
	for {
		got, err = decide(ctx, n, storeID)
		if err == nil && got == want {
			return time.Since(start), nil
		}
		if time.Now().After(deadline) {
			return time.Since(start), fmt.Errorf("%s: want %s within %v, last answer %q, %v", n.name, want, within, got, err)
		}
		time.Sleep(time.Millisecond)
	}
}
