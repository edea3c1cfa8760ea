package audittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// FreezableFS mounts a small ext4 file system from a loop device and returns its path and
// freeze and thaw functions (fsfreeze): while frozen, every write to it blocks in the kernel,
// as on a hung disk or a snapshot that never ends. It is thawed and unmounted when the test
// ends. Without mkfs.ext4, fsfreeze or permission to mount it skips, except in CI (CI set).
func FreezableFS(t testing.TB) (dir string, freeze, thaw func()) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") == "" {
			t.Skipf(format+"; runs in CI", args...)
		}
		t.Fatalf(format, args...)
	}
	for _, tool := range []string{"mkfs.ext4", "fsfreeze", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			fail("%s not installed", tool)
		}
	}
	tmp := t.TempDir()
	img, dir := filepath.Join(tmp, "fs.img"), filepath.Join(tmp, "mnt")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 8<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mkfs.ext4", "-q", "-F", img).CombinedOutput(); err != nil {
		fail("mkfs.ext4: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, dir).CombinedOutput(); err != nil {
		fail("mount a loop device: %v: %s", err, out)
	}
	var mu sync.Mutex
	frozen := false
	freeze = func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if out, err := exec.Command("fsfreeze", "-f", dir).CombinedOutput(); err != nil {
			t.Fatalf("fsfreeze -f: %v: %s", err, out)
		}
		frozen = true
	}
	thaw = func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		if !frozen {
			return
		}
		if out, err := exec.Command("fsfreeze", "-u", dir).CombinedOutput(); err != nil {
			t.Errorf("fsfreeze -u: %v: %s", err, out)
			return
		}
		frozen = false
	}
	// Cleanups run last-registered first: thaw before unmounting, or umount (and every
	// writer still blocked on the file system) would hang.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			// A file still open (a test that failed before closing it) keeps the mount busy:
			// detach it so nothing is left mounted, and report the leak.
			_ = exec.Command("umount", "-l", dir).Run()
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	t.Cleanup(thaw)
	return dir, freeze, thaw
}
