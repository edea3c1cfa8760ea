package main

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// readmeRunCommand returns the first command of README.md's first sh block: the command a
// new user runs first.
func readmeRunCommand(t *testing.T, root string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```sh\n(.*?)\n```").FindStringSubmatch(string(b))
	if m == nil {
		t.Fatal("README.md has no sh block")
	}
	return strings.TrimSpace(strings.Split(m[1], "\n")[0])
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReadmeFirstCommand runs the README's first command (the demo) on a fresh SQLite file,
// executes the curl flow it prints with real curl, checks every answer against the printed
// expectation, and stops it with Ctrl-C.
func TestReadmeFirstCommand(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the README's flow")
	}
	root, _ := filepath.Abs("../..")
	command := readmeRunCommand(t, root)
	if command != "go run ./cmd/gatehouse demo" {
		t.Fatalf("README's first command is %q; update this test with it", command)
	}
	cmd := exec.Command("sh", "-c", "exec "+command)
	cmd.Dir = root
	tmp := t.TempDir()
	// Free ports instead of the defaults, so the test does not depend on 8080 being free; the
	// temporary directory gets the fresh SQLite file.
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp, "GATEHOUSE_LOG_LEVEL=warn",
		"GATEHOUSE_LISTEN="+freePort(t), "GATEHOUSE_ADMIN_LISTEN="+freePort(t), "GATEHOUSE_IDP_LISTEN="+freePort(t), "GATEHOUSE_FORWARD_AUTH_LISTEN=off")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	// Its own process group, so Ctrl-C can be delivered as a terminal does: to go run and the
	// program it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	defer func() {
		if cmd.ProcessState == nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}()

	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	var exports, curls []string
	deadline := time.After(4 * time.Minute) // includes compiling the binary
read:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("demo exited before it was ready")
			}
			switch {
			case strings.HasPrefix(l, "export "):
				exports = append(exports, l)
			case strings.HasPrefix(l, "curl "):
				curls = append(curls, l)
			case strings.HasPrefix(l, "Ready."):
				break read
			}
		case <-deadline:
			t.Fatal("demo not ready in time")
		}
	}
	if len(curls) != 7 || len(exports) != 4 {
		t.Fatalf("demo printed %d curl commands and %d exports", len(curls), len(exports))
	}
	expect := regexp.MustCompile(`# expect (\d{3})`)
	for _, c := range curls {
		want := expect.FindStringSubmatch(c)
		if want == nil {
			t.Fatalf("no expectation on %q", c)
		}
		out, err := exec.Command("bash", "-c", strings.Join(exports, "\n")+"\n"+c).Output()
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		got := strings.Fields(string(out))
		if len(got) == 0 || got[len(got)-1] != want[1] {
			t.Errorf("%s\n  answered %q, want status %s", c, out, want[1])
		}
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// `go run` itself exits 1 when interrupted whatever its program did, so the program's
	// clean stop is judged by its last line and by the cleanup it does.
	stopped := false
	timeout := time.After(30 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break wait
			}
			stopped = stopped || l == "Stopped."
		case <-timeout:
			t.Fatal("demo did not stop on Ctrl-C")
		}
	}
	<-exited
	if !stopped {
		t.Fatal("demo did not stop cleanly on Ctrl-C")
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "gatehouse-demo-*")); len(left) != 0 {
		t.Fatalf("demo left %v behind", left)
	}
}
