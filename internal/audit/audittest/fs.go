// Package audittest gives audit-trail tests a real file system that runs out of space.
package audittest

import (
	"os"
	"os/exec"
	"testing"
)

// SmallFS mounts a 256 KiB tmpfs and returns its path; it is unmounted when the test ends.
// Without permission to mount it skips, except in CI (CI set), where the test must run.
func SmallFS(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Skipf("cannot mount a tmpfs (%v: %s); runs in CI", err, out)
		}
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	return dir
}
