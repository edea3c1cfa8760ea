package docs_test

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

// upstreamEnv, when set, makes the test binary serve the sample upstreams instead of running
// tests: the snippet runner starts it inside each network namespace as the "your API on
// 127.0.0.1:9000" the documents assume (9001 and 9002 serve the IAM-groups and vet-clinic
// examples' APIs, 9003 answers 200 to anything, echoing what it was sent).
const upstreamEnv = "GATEHOUSE_DOCS_UPSTREAMS"

// upstreams are the sample APIs by the address the documents give them.
var upstreams = map[string]func() http.Handler{
	"127.0.0.1:9000": sampleapi.PetStore,
	"127.0.0.1:9001": sampleapi.VersionedPets,
	"127.0.0.1:9002": sampleapi.Appointments,
	"127.0.0.1:9003": echo,
}

// echo stands for any API: 200 with the request line and the principal the gateway sent.
func echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, "{\"method\":%q,\"path\":%q,\"principal\":%q}\n", r.Method, r.URL.Path, r.Header.Get("X-Gatehouse-Principal"))
	})
}

func TestMain(m *testing.M) {
	if os.Getenv(upstreamEnv) != "" {
		errs := make(chan error)
		for addr, h := range upstreams {
			srv := &http.Server{Addr: addr, Handler: h(), ReadHeaderTimeout: 10 * time.Second}
			go func() { errs <- srv.ListenAndServe() }()
		}
		fmt.Fprintln(os.Stderr, <-errs)
		os.Exit(1)
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// gatehouseBinary builds cmd/gatehouse once per test run and returns the directory holding it.
func gatehouseBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "gatehouse-docs-bin-")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "gatehouse"), "github.com/gatehouse-dev/gatehouse/cmd/gatehouse").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binDir
}

// block is one fenced code block of a Markdown file.
type block struct {
	file string
	line int // 1-based line of the first line of code
	lang string
	info string // the rest of the info string after the language
	code string
	skip string // why the block is not run; "" runs it
}

var (
	fenceRe    = regexp.MustCompile("^(\\s*)(```+)\\s*([A-Za-z0-9_+-]*)\\s*(.*)$")
	notRunRe   = regexp.MustCompile(`^<!--\s*not run:\s*(.+?)\s*-->$`)
	skipLineRe = regexp.MustCompile(`^#\s*not run here:\s*(\S.*)$`)
	// A curl line whose comment starts with a status ("# 200 ...", "# expect 403") asserts it.
	expectRe = regexp.MustCompile(`^(\s*)(curl\s[^|;&><]*?)\s+#\s*(?:expect\s+)?([1-5][0-9][0-9])\b.*$`)
)

// shellLangs are the info-string languages whose blocks are shell snippets.
var shellLangs = map[string]bool{"sh": true, "bash": true, "shell": true}

// parseBlocks returns the fenced blocks of a Markdown document.
func parseBlocks(file, doc string) []block {
	var (
		out     []block
		lines   = strings.Split(doc, "\n")
		prev    string // the last non-empty line before the current fence
		inBlock bool
		cur     block
		indent  string
		fence   string
		code    []string
	)
	for i, l := range lines {
		if !inBlock {
			m := fenceRe.FindStringSubmatch(l)
			if m == nil {
				if strings.TrimSpace(l) != "" {
					prev = strings.TrimSpace(l)
				}
				continue
			}
			inBlock, indent, fence = true, m[1], m[2]
			cur = block{file: file, line: i + 2, lang: strings.ToLower(m[3]), info: strings.TrimSpace(m[4])}
			if n := notRunRe.FindStringSubmatch(prev); n != nil {
				cur.skip = n[1]
			}
			code = code[:0]
			continue
		}
		if strings.TrimSpace(l) == fence || strings.HasPrefix(strings.TrimSpace(l), fence) && strings.Trim(strings.TrimSpace(l), "`") == "" {
			cur.code = strings.Join(code, "\n")
			if first, _, _ := strings.Cut(strings.TrimSpace(cur.code), "\n"); cur.skip == "" {
				if m := skipLineRe.FindStringSubmatch(strings.TrimSpace(first)); m != nil {
					cur.skip = m[1]
				}
			}
			out = append(out, cur)
			inBlock, prev = false, ""
			continue
		}
		code = append(code, strings.TrimPrefix(l, indent))
	}
	return out
}

// documents lists the Markdown files whose shell snippets must run, relative to the root.
func documents(t *testing.T, root string) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	examples, _ := filepath.Glob(filepath.Join(root, "examples", "*", "README.md"))
	for _, p := range examples {
		rel, _ := filepath.Rel(root, p)
		files = append(files, rel)
	}
	return files
}

// script turns a document's runnable blocks into one bash script: each block is a file that
// the main script sources in order, so variables and files carry over as they do for a reader
// typing them into one terminal, and a failure names the block and line.
func script(dir string, blocks []block) (string, error) {
	var main strings.Builder
	main.WriteString(`set -eu -o pipefail
__gh_body=$(mktemp)
# __gh_expect STATUS curl ARGS... runs a documented curl line and checks the status its comment
# states; the body is printed as the reader would see it.
__gh_expect() {
  local want=$1; shift
  local got
  got=$("$@" -sS -o "$__gh_body" -w '%{http_code}') || true
  cat "$__gh_body"; echo
  if [ "$got" != "$want" ]; then
    echo "docs test: answered $got, the document says $want" >&2
    return 1
  fi
}
trap 'echo "docs test: FAILED at $__gh_file:$((__gh_line + LINENO - 1)): $BASH_COMMAND" >&2' ERR
`)
	for i, b := range blocks {
		var body strings.Builder
		for _, l := range strings.Split(b.code, "\n") {
			if m := expectRe.FindStringSubmatch(l); m != nil {
				l = m[1] + "__gh_expect " + m[3] + " " + m[2]
			}
			body.WriteString(l + "\n")
		}
		name := fmt.Sprintf("block-%02d.sh", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body.String()), 0o644); err != nil {
			return "", err
		}
		fmt.Fprintf(&main, "__gh_file=%q __gh_line=%d\necho \"### %s:%d\"\nsource %q\n", b.file, b.line, b.file, b.line, filepath.Join(dir, name))
	}
	main.WriteString("echo '### done'\n")
	p := filepath.Join(dir, "run.sh")
	return p, os.WriteFile(p, []byte(main.String()), 0o644)
}

// netnsOK reports whether a private network namespace can be made here (unshare and ip).
func netnsOK() error {
	if _, err := exec.LookPath("unshare"); err != nil {
		return err
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return err
	}
	out, err := exec.Command("unshare", "-rn", "sh", "-c", "ip link set lo up").CombinedOutput()
	if err != nil {
		return fmt.Errorf("unshare -rn: %v: %s", err, out)
	}
	return nil
}

// copyTree copies the regular files under src (skipping Go sources) to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// TestSnippets runs every shell snippet of the documentation. Each document gets a fresh
// directory holding a copy of examples/ (snippets run from the repository root, as a reader
// with a checkout does), the gatehouse binary on PATH, a clean environment, and a private
// network namespace with only loopback, in which the sample pet store listens on
// 127.0.0.1:9000 and every documented default port is free.
func TestSnippets(t *testing.T) {
	if err := netnsOK(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the docs test needs a private network namespace (util-linux unshare, iproute2 ip): %v", err)
		}
		t.Skipf("no private network namespace here (%v); CI runs this test", err)
	}
	// The tools the documents use, as a reader's machine has them.
	for tool, install := range map[string]string{
		"curl": "apt-get install curl", "jq": "apt-get install jq", "sqlite3": "apt-get install sqlite3",
		// Debian's awscli (2.9) predates Verified Permissions; PyPI's has it.
		"aws": "pip install awscli (a version with the verifiedpermissions command)",
	} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Errorf("the documents use %s, which is not installed: %s", tool, install)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := gatehouseBinary(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, rel := range documents(t, root) {
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		var run []block
		for _, bl := range parseBlocks(rel, string(b)) {
			if !shellLangs[bl.lang] || bl.skip != "" {
				continue
			}
			run = append(run, bl)
		}
		if len(run) == 0 {
			continue
		}
		ran += len(run)
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) {
			t.Parallel()
			runDocument(t, root, bin, self, rel, run)
		})
	}
	if ran == 0 {
		t.Fatal("no runnable shell snippet found: the block parser is broken")
	}
}

func runDocument(t *testing.T, root, bin, self, rel string, blocks []block) {
	work := t.TempDir()
	scratch := t.TempDir()
	if err := copyTree(filepath.Join(root, "examples"), filepath.Join(work, "examples")); err != nil {
		t.Fatal(err)
	}
	main, err := script(scratch, blocks)
	if err != nil {
		t.Fatal(err)
	}
	// The namespace's loopback starts down; the upstream must answer before the document runs.
	boot := fmt.Sprintf(`ip link set lo up
%s=1 %q -test.run=^$ >%q 2>&1 &
for i in $(seq 1 100); do curl -s -o /dev/null http://127.0.0.1:9000/ && break; sleep 0.1; done
cd %q
exec bash %q`, upstreamEnv, self, filepath.Join(scratch, "upstream.log"), work, main)

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-rn", "bash", "-c", boot)
	cmd.Dir = work
	path := bin + ":/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
	// The AWS CLI, where installed (docs/migrating-from-aws.md drives Gatehouse with it).
	if aws, err := exec.LookPath("aws"); err == nil {
		path += ":" + filepath.Dir(aws)
	}
	cmd.Env = []string{
		"PATH=" + path,
		"HOME=" + work,
		"TMPDIR=" + scratch,
		"LANG=C.UTF-8",
	}
	// Its own process group, so everything the document started in the background (nodes,
	// the upstream) is killed with it. The output goes to a file, not a pipe, so Wait does not
	// wait for background processes that still hold it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	logPath := filepath.Join(scratch, "output.log")
	out, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	runErr := cmd.Wait()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	log, _ := os.ReadFile(logPath)
	if runErr != nil || !strings.Contains(string(log), "\n### done\n") {
		t.Errorf("%s: a snippet failed (%v); output:\n%s", rel, runErr, tail(string(log), 80))
		// The logs the document's nodes wrote (gatehouse serve 2> gatehouse.log &), then the
		// upstream's: a readiness loop that never ends is explained there.
		logs, _ := filepath.Glob(filepath.Join(work, "*.log"))
		for _, p := range append(logs, filepath.Join(scratch, "upstream.log")) {
			if b, _ := os.ReadFile(p); len(b) > 0 {
				t.Logf("%s:\n%s", filepath.Base(p), tail(string(b), 20))
			}
		}
	}
}

func tail(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// TestSnippetConventions checks the parser on the documented conventions, so a change to it
// cannot silently stop running (or start skipping) blocks.
func TestSnippetConventions(t *testing.T) {
	t.Parallel()
	doc := "Text\n\n```sh\necho run\n```\n\n<!-- not run: another test runs it -->\n```sh\necho skipped\n```\n\n" +
		"```sh\n# not run here: needs a Docker daemon\ndocker ps\n```\n\n  ```bash\n  echo indented\n  ```\n\n```yaml\nkey: v\n```\n"
	got := parseBlocks("x.md", doc)
	if len(got) != 5 {
		t.Fatalf("%d blocks, want 5: %+v", len(got), got)
	}
	want := []struct{ lang, skip, code string }{
		{"sh", "", "echo run"},
		{"sh", "another test runs it", "echo skipped"},
		{"sh", "needs a Docker daemon", "# not run here: needs a Docker daemon\ndocker ps"},
		{"bash", "", "echo indented"},
		{"yaml", "", "key: v"},
	}
	for i, w := range want {
		if got[i].lang != w.lang || got[i].skip != w.skip || got[i].code != w.code {
			t.Errorf("block %d = %+v, want %+v", i, got[i], w)
		}
	}
	if got[0].line != 4 {
		t.Errorf("first block at line %d, want 4", got[0].line)
	}
	for _, c := range []struct{ line, want string }{
		{`curl $API/pets          # 401 {"message":"Unauthorized"}`, "__gh_expect 401 curl $API/pets"},
		{`curl -H "A: b" $API/  # expect 200`, `__gh_expect 200 curl -H "A: b" $API/`},
		{`curl $API | jq .  # 200`, ""},
		{`curl $API`, ""},
	} {
		m := expectRe.FindStringSubmatch(c.line)
		got := ""
		if m != nil {
			got = m[1] + "__gh_expect " + m[3] + " " + m[2]
		}
		if got != c.want {
			t.Errorf("%q rewritten to %q, want %q", c.line, got, c.want)
		}
	}
}

// TestForwardAuthConfigsAreTheTestedOnes: examples/frontproxy_test.go runs the nginx and Caddy
// configurations of README.md's forward-auth section against real nginx and Caddy; the copies
// in docs/forward-auth.md must be identical, so they are the tested ones too.
func TestForwardAuthConfigsAreTheTestedOnes(t *testing.T) {
	t.Parallel()
	langs := func(path string) map[string][]string {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]string{}
		for _, bl := range parseBlocks(path, string(b)) {
			if bl.lang == "nginx" || bl.lang == "caddyfile" {
				out[bl.lang] = append(out[bl.lang], bl.code)
			}
		}
		return out
	}
	readme, doc := langs("../README.md"), langs("forward-auth.md")
	for _, lang := range []string{"nginx", "caddyfile"} {
		if len(readme[lang]) != 1 || len(doc[lang]) != 1 {
			t.Fatalf("%s blocks: README.md has %d, docs/forward-auth.md %d; want one each", lang, len(readme[lang]), len(doc[lang]))
		}
		if readme[lang][0] != doc[lang][0] {
			t.Errorf("the %s configuration of docs/forward-auth.md differs from README.md's, which examples/frontproxy_test.go runs: copy it over", lang)
		}
	}
}
