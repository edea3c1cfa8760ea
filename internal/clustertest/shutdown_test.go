package clustertest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// signedRequest builds a SigV4-signed management request whose body is read from body, so a
// test can send it as slowly as it likes; payload is the whole body, needed for the signature.
func signedRequest(t *testing.T, endpoint, target string, payload []byte, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint+"/", body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(payload))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256(payload)
	creds := aws.Credentials{AccessKeyID: keyID, SecretAccessKey: secret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "verifiedpermissions", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

// outcome classifies one request sent around the shutdown.
type outcome int

const (
	answered outcome = iota // 200 with a decision
	refused                 // the connection was refused: the listener was closed
	// reset: connected, then reset before any answer. Closing a listening socket resets the
	// connections the kernel completed but the process never accepted, so the client cannot
	// tell these from a server that crashed; they are counted, not failed.
	reset
	dropped // connected, then closed without an answer (EOF): the server read and dropped it
	broken  // anything else: a non-200 status, a timeout
)

func (o outcome) String() string {
	return [...]string{"answered", "refused", "reset", "dropped", "broken"}[o]
}

// TestGracefulShutdown sends SIGTERM to a node while a slow request is in flight and clients
// keep deciding: the slow request completes, every other request is either answered or
// refused at connect, and the process exits 0 after draining.
func TestGracefulShutdown(t *testing.T) {
	const shutdownTimeout = 5 * time.Second
	ctx := context.Background()
	n := startNode(t, "node", storetest.DSN(t, "sqlite"), fmt.Sprintf("GATEHOUSE_SHUTDOWN_TIMEOUT=%v", shutdownTimeout))
	storeID := createStore(t, n.client)
	if _, err := createPolicy(ctx, n.client, storeID, "", permitAlice); err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + n.admin

	// The slow request: its headers go out at once, its body only after SIGTERM.
	payload, _ := json.Marshal(aliceViewsD1(storeID))
	pr, pw := io.Pipe()
	slowReq := signedRequest(t, endpoint, "VerifiedPermissions.IsAuthorized", payload, pr)
	headersOut := make(chan struct{})
	slowReq = slowReq.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		WroteHeaders: func() { close(headersOut) },
	}))
	type result struct {
		status int
		body   string
		err    error
	}
	slowDone := make(chan result, 1)
	go func() {
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := hc.Do(slowReq)
		if err != nil {
			slowDone <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		slowDone <- result{status: resp.StatusCode, body: string(b), err: err}
	}()
	t.Cleanup(func() { pw.Close() })
	<-headersOut
	if _, err := pw.Write(payload[:len(payload)/2]); err != nil {
		t.Fatal(err)
	}

	// The steady stream: a fresh connection per request, so a request is either refused at
	// connect or sent to a server that accepted it.
	var (
		stop   atomic.Bool
		wg     sync.WaitGroup
		mu     sync.Mutex
		counts = map[outcome]int{}
		fails  []string
	)
	t.Cleanup(func() {
		stop.Store(true)
		wg.Wait()
	})
	for range 4 {
		wg.Go(func() {
			hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * shutdownTimeout}
			for !stop.Load() {
				o, detail := decideOnce(t, hc, endpoint, payload)
				mu.Lock()
				counts[o]++
				if o == broken || o == dropped {
					fails = append(fails, o.String()+": "+detail)
				}
				mu.Unlock()
				time.Sleep(time.Millisecond)
			}
		})
	}
	waitCount := func(o outcome, atLeast int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			c := counts[o]
			mu.Unlock()
			if c >= atLeast {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("fewer than %d requests ended %v", atLeast, o)
	}
	waitCount(answered, 50)

	termAt := time.Now()
	if err := n.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes at once; the slow request holds the drain open meanwhile.
	waitCount(refused, 20)
	if !n.running() {
		t.Fatal("the node exited while a request was still in flight")
	}
	if _, err := pw.Write(payload[len(payload)/2:]); err != nil {
		t.Fatalf("finish the slow request's body: %v", err)
	}
	pw.Close()
	r := <-slowDone
	if r.err != nil || r.status != http.StatusOK {
		t.Fatalf("in-flight request across SIGTERM: HTTP %d %s, %v", r.status, r.body, r.err)
	}
	var out avpapi.IsAuthorizedOutput
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || out.Decision != avpapi.DecisionAllow {
		t.Fatalf("in-flight request across SIGTERM decided %s (%v), want ALLOW", r.body, err)
	}

	code, err := n.exitCode(shutdownTimeout + 5*time.Second)
	if err != nil || code != 0 {
		t.Fatalf("exit after SIGTERM: code %d, %v", code, err)
	}
	exitedAfter := time.Since(termAt)
	stop.Store(true)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	t.Logf("exited 0 %v after SIGTERM; stream: %v", exitedAfter.Round(time.Millisecond), counts)
	if exitedAfter > shutdownTimeout+2*time.Second {
		t.Errorf("took %v to exit, more than the %v drain", exitedAfter, shutdownTimeout)
	}
	for _, f := range fails {
		t.Errorf("a request was neither answered nor refused at connect: %s", f)
	}
}

// decideOnce sends one IsAuthorized request on a new connection and classifies the outcome.
func decideOnce(t *testing.T, hc *http.Client, endpoint string, payload []byte) (outcome, string) {
	req := signedRequest(t, endpoint, "VerifiedPermissions.IsAuthorized", payload, bytes.NewReader(payload))
	var connected atomic.Bool
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		ConnectDone: func(_, _ string, err error) { connected.Store(err == nil) },
	}))
	resp, err := hc.Do(req)
	if err != nil {
		switch {
		case !connected.Load() && (errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)):
			// Reset during the handshake: the listener closed between SYN and accept.
			return refused, ""
		case connected.Load() && errors.Is(err, syscall.ECONNRESET):
			return reset, err.Error()
		case connected.Load() && errors.Is(err, io.EOF):
			return dropped, err.Error()
		}
		return broken, fmt.Sprintf("connected=%v: %v", connected.Load(), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return broken, fmt.Sprintf("HTTP %d %.200s %v", resp.StatusCode, b, err)
	}
	return answered, ""
}

// TestShutdownAnswersAcceptedConnections sends a request on a connection the node accepted
// before SIGTERM but that carried no bytes yet: the node must answer it (with Connection:
// close) before exiting, not close it unanswered.
func TestShutdownAnswersAcceptedConnections(t *testing.T) {
	ctx := context.Background()
	n := startNode(t, "node", storetest.DSN(t, "sqlite"), "GATEHOUSE_SHUTDOWN_TIMEOUT=5s")
	storeID := createStore(t, n.client)
	if _, err := createPolicy(ctx, n.client, storeID, "", permitAlice); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", n.admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Let the accept loop take the connection off the backlog; a connection still in the
	// backlog when the listener closes is reset, which is not what this test is about.
	time.Sleep(200 * time.Millisecond)

	if err := n.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", n.admin)
		if err != nil {
			break // the listener is closed: shutdown has begun
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the admin listener still accepts 5s after SIGTERM")
		}
		time.Sleep(5 * time.Millisecond)
	}

	payload, _ := json.Marshal(aliceViewsD1(storeID))
	req := signedRequest(t, "http://"+n.admin, "VerifiedPermissions.IsAuthorized", payload, bytes.NewReader(payload))
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := req.Write(conn); err != nil {
		t.Fatalf("write the request on the accepted connection: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("the request on a connection accepted before SIGTERM got no answer: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out avpapi.IsAuthorizedOutput
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || out.Decision != avpapi.DecisionAllow {
		t.Fatalf("answer during shutdown: HTTP %d %s", resp.StatusCode, b)
	}
	if !resp.Close {
		t.Error("an answer during shutdown should close the connection (Connection: close)")
	}
	if code, err := n.exitCode(10 * time.Second); err != nil || code != 0 {
		t.Fatalf("exit after SIGTERM: code %d, %v", code, err)
	}
}

// TestShutdownBoundedByTimeout holds a request open forever: SIGTERM still ends the process
// once shutdownTimeout has passed, cutting that request.
func TestShutdownBoundedByTimeout(t *testing.T) {
	const shutdownTimeout = time.Second
	n := startNode(t, "node", storetest.DSN(t, "sqlite"), fmt.Sprintf("GATEHOUSE_SHUTDOWN_TIMEOUT=%v", shutdownTimeout))
	storeID := createStore(t, n.client)

	payload, _ := json.Marshal(aliceViewsD1(storeID))
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	req := signedRequest(t, "http://"+n.admin, "VerifiedPermissions.IsAuthorized", payload, pr)
	headersOut := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		WroteHeaders: func() { close(headersOut) },
	}))
	stuck := make(chan error, 1)
	go func() {
		resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered HTTP %d", resp.StatusCode)
		}
		stuck <- err
	}()
	<-headersOut
	if _, err := pw.Write(payload[:1]); err != nil {
		t.Fatal(err)
	}
	// Let the server read the headers, so the request is in flight rather than unread.
	time.Sleep(200 * time.Millisecond)

	termAt := time.Now()
	if err := n.signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	code, err := n.exitCode(shutdownTimeout + 5*time.Second)
	took := time.Since(termAt)
	if err != nil {
		t.Fatalf("after SIGTERM with a stuck request: %v", err)
	}
	t.Logf("exited with code %d %v after SIGTERM (shutdownTimeout %v)", code, took.Round(time.Millisecond), shutdownTimeout)
	if took < shutdownTimeout {
		t.Errorf("exited after %v, before the %v drain was over", took, shutdownTimeout)
	}
	if took > shutdownTimeout+2*time.Second {
		t.Errorf("took %v to exit, far more than the %v drain", took, shutdownTimeout)
	}
	// The client only notices once its body writer gives up (net/http waits for it).
	pw.CloseWithError(errors.New("test over"))
	if err := <-stuck; err == nil || strings.HasPrefix(err.Error(), "answered") {
		t.Errorf("the stuck request: %v", err)
	}
}
