// Command startup measures what a node pays to start on a large policy store: it writes a
// store of N per-group policies into a database (SQLite file or PostgreSQL URL), starts
// `gatehouse serve` on it as a separate process, and reports the time from process start to
// /readyz answering 200, to the first decision answered (IsAuthorized through the management
// API, SigV4-signed), how long that first decision took, and the process's peak RSS (VmHWM)
// after it. One JSON line per run:
//
//	go build -o /tmp/gatehouse ./cmd/gatehouse
//	go run ./bench/cmd/startup -bin /tmp/gatehouse -db /tmp/big.db
//	go run ./bench/cmd/startup -bin /tmp/gatehouse -db 'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'
//
// The database is filled once (a store named bench-startup is replaced) and the node started
// -runs times on it.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/store/sqldb"
)

const storeID = "bench-startup"

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "startup:", err)
		os.Exit(1)
	}
}

// Result is one start of the node.
type Result struct {
	Backend        string  `json:"backend"`
	Policies       int     `json:"policies"`
	ReadySeconds   float64 `json:"readySeconds"`
	FirstDecision  float64 `json:"firstDecisionSeconds"`
	FirstLatencyMs float64 `json:"firstDecisionLatencyMs"`
	PeakRSSMB      float64 `json:"peakRssMB"`
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bin := fs.String("bin", "gatehouse", "gatehouse binary")
	db := fs.String("db", "", "SQLite file or postgres:// URL (required)")
	n := fs.Int("policies", 100000, "policies in the store")
	runs := fs.Int("runs", 3, "node starts")
	fill := fs.Bool("fill", true, "write the store first (false: reuse what a previous run wrote)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *db == "" {
		return errors.New("-db is required")
	}
	if *fill {
		if err := fillStore(ctx, *db, *n); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	backend := "sqlite"
	if sqldb.IsPostgres(*db) {
		backend = "postgres"
	}
	for range *runs {
		r, err := start(ctx, *bin, *db)
		if err != nil {
			return err
		}
		r.Backend, r.Policies = backend, *n
		if err := json.NewEncoder(stdout).Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// fillStore replaces the store bench-startup with n per-group policies, in one transaction.
func fillStore(ctx context.Context, dsn string, n int) error {
	st, err := sqldb.Open(ctx, dsn, sqldb.WithTimeout(10*time.Minute))
	if err != nil {
		return err
	}
	defer st.Close()
	svc := policystore.New(st)
	if err := svc.DeletePolicyStore(ctx, storeID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if _, _, err := svc.PutPolicyStore(ctx, storeID, policystore.CreateStoreInput{ValidationMode: "OFF"}); err != nil {
		return err
	}
	return st.Update(ctx, func(tx store.Tx) error {
		for i := range n {
			p := policystore.Policy{ID: fmt.Sprintf("SP%08d", i), Type: policystore.TypeStatic, Effect: "Permit",
				Statement: fmt.Sprintf(`permit(principal in PetStore::UserGroup::"pool|group%d", action in [PetStore::Action::"post /pets"], resource);`, i)}
			data, err := json.Marshal(p)
			if err != nil {
				return err
			}
			if err := tx.Create(ctx, store.Object{Scope: storeID, Kind: policystore.KindPolicy, ID: p.ID, Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start runs the node once and measures it.
func start(ctx context.Context, bin, dsn string) (Result, error) {
	var r Result
	admin, err := freePort()
	if err != nil {
		return r, err
	}
	gw, err := freePort()
	if err != nil {
		return r, err
	}
	const key, secret = "AKIABENCHSTARTUP0001", "bench-startup-secret-key-0123456789abcdef"
	cmd := exec.CommandContext(ctx, bin, "serve", "--db", dsn, "--admin-listen", admin, "--listen", gw,
		"--idp-listen", "off", "--forward-auth-listen", "off", "--log-level", "warn")
	cmd.Env = append(os.Environ(), "GATEHOUSE_ACCESS_KEY_ID="+key, "GATEHOUSE_SECRET_ACCESS_KEY="+secret)
	cmd.Dir = os.TempDir()
	cmd.Stderr = os.Stderr
	begin := time.Now()
	if err := cmd.Start(); err != nil {
		return r, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	deadline := time.Now().Add(10 * time.Minute)
	for {
		resp, err := http.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return r, errors.New("the node never became ready")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.ReadySeconds = time.Since(begin).Seconds()
	c := &mgmtclient.Client{Endpoint: "http://" + admin, AccessKeyID: key, SecretAccessKey: secret, Region: "us-east-1"}
	in := avpapi.IsAuthorizedInput{PolicyStoreID: storeID,
		Principal: &avpapi.EntityIdentifier{EntityType: "PetStore::User", EntityID: "alice"},
		Action:    &avpapi.ActionIdentifier{ActionType: "PetStore::Action", ActionID: "post /pets"},
		Resource:  &avpapi.EntityIdentifier{EntityType: "PetStore::Application", EntityID: "petstore"},
		Entities: &avpapi.EntitiesDefinition{EntityList: []avpapi.EntityItem{{
			Identifier: &avpapi.EntityIdentifier{EntityType: "PetStore::User", EntityID: "alice"},
			Parents:    []avpapi.EntityIdentifier{{EntityType: "PetStore::UserGroup", EntityID: "pool|group77"}}}}},
	}
	var out avpapi.IsAuthorizedOutput
	t0 := time.Now()
	if err := c.Call(ctx, "VerifiedPermissions.IsAuthorized", in, &out); err != nil {
		return r, fmt.Errorf("first decision: %w", err)
	}
	r.FirstLatencyMs = float64(time.Since(t0).Microseconds()) / 1000
	r.FirstDecision = time.Since(begin).Seconds()
	if out.Decision != "ALLOW" {
		return r, fmt.Errorf("first decision %s, want ALLOW", out.Decision)
	}
	r.PeakRSSMB, err = peakRSS(cmd.Process.Pid)
	return r, err
}

// peakRSS reads VmHWM (the peak resident set) of a process, in MB.
func peakRSS(pid int) (float64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}
