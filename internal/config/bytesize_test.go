package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseByteSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want ByteSize
		ok   bool
	}{
		{"67108864", 64 << 20, true},
		{"64MiB", 64 << 20, true},
		{" 64 MiB ", 64 << 20, true},
		{"512KiB", 512 << 10, true},
		{"1GiB", 1 << 30, true},
		{"100B", 100, true},
		{"64MB", 0, false},
		{"64M", 0, false},
		{"64mib", 0, false},
		{"-1", 0, false},
		{"1.5GiB", 0, false},
		{"", 0, false},
		{"MiB", 0, false},
		{"99999999999999999999", 0, false},
		{"17179869184GiB", 0, false}, // overflows
	}
	for _, tc := range tests {
		got, err := ParseByteSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCacheMemorySetting(t *testing.T) {
	t.Parallel()
	c := Defaults()
	if tok, dec := c.CacheBudgets(); tok != 32<<20 || dec != 32<<20 {
		t.Fatalf("default budgets %d, %d", tok, dec)
	}
	env := map[string]string{"GATEHOUSE_CACHE_MEMORY": "256MiB"}
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		t.Fatal(err)
	}
	if c.CacheMemory != 256<<20 {
		t.Fatalf("cacheMemory %s", c.CacheMemory)
	}
	env["GATEHOUSE_CACHE_MEMORY"] = "lots"
	if err := c.LoadEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil || !strings.Contains(err.Error(), "GATEHOUSE_CACHE_MEMORY") {
		t.Fatalf("bad value: %v", err)
	}
	c.CacheMemory = 1000
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "cacheMemory") {
		t.Fatalf("tiny budget: %v", err)
	}
	path := filepath.Join(t.TempDir(), "gatehouse.yaml")
	if err := os.WriteFile(path, []byte("cacheMemory: 128MiB\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var f Config
	if err := f.LoadFile(path); err != nil || f.CacheMemory != 128<<20 {
		t.Fatalf("yaml: %v %s", err, f.CacheMemory)
	}
}

// FuzzParseByteSize: no panic, and whatever parses prints back to the same size.
func FuzzParseByteSize(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseByteSize(s)
		if err != nil {
			return
		}
		back, err := ParseByteSize(b.String())
		if err != nil || back != b {
			t.Fatalf("%q -> %d -> %q -> %d, %v", s, b, b.String(), back, err)
		}
	})
}
