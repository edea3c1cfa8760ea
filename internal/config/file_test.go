package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

func TestLoadFileFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, body string
		want             string // "" means it loads
	}{
		{"yaml", "g.yaml", "listen: \"127.0.0.1:9000\"\npollInterval: 5s\ncacheMemory: 64MiB\ntrustedProxies: [10.0.0.0/8]\n", ""},
		{"json", "g.json", "{\n  \"listen\": \"127.0.0.1:9000\",\n  \"pollInterval\": \"5s\",\n  \"cacheMemory\": \"64MiB\",\n  \"trustedProxies\": [\"10.0.0.0/8\"]\n}\n", ""},
		{"empty yaml", "g.yaml", "", ""},
		// JSON files are parsed as JSON: YAML that is not JSON is refused, with its line.
		{"yaml in a json file", "g.json", "listen: \"127.0.0.1:9000\"\n", "line 1: invalid JSON"},
		{"trailing comma", "g.json", "{\n  \"listen\": \"127.0.0.1:9000\",\n}\n", "line 3: invalid JSON"},
		{"unquoted key", "g.json", "{\n  listen: \"x\"\n}\n", "line 2: invalid JSON"},
		{"truncated", "g.json", "{\n  \"listen\": \"127.0.0.1:9000\",\n", "invalid JSON"},
		{"two objects", "g.json", "{}\n{}\n", "line 2: invalid JSON: data after"},
		{"json array", "g.json", "[1]", "want an object"},
		// Unknown and repeated keys name their line.
		{"unknown yaml key", "g.yaml", "listen: \":1\"\n\nlisen: typo\n", `line 3: unknown setting "lisen"`},
		{"unknown json key", "g.json", "{\n  \"listen\": \":1\",\n  \"lisen\": \"typo\"\n}", `line 3: unknown setting "lisen"`},
		{"unknown json key on one line", "g.json", `{"listen": ":1", "lisen": "typo"}`, `line 1: unknown setting "lisen"`},
		{"repeated yaml key", "g.yaml", "db: a.db\ndb: b.db\n", `line 2: "db" repeated (first at line 1)`},
		{"repeated json key", "g.json", "{\"db\": \"a.db\",\n\"db\": \"b.db\"}", `line 2: "db" repeated (first at line 1)`},
		{"bad yaml value", "g.yaml", "listen: \":1\"\npollInterval: soon\n", "line 2: pollInterval"},
		{"bad json type", "g.json", "{\n\"maxSchemaBytes\": \"many\"\n}", "line 2: maxSchemaBytes"},
		{"yaml syntax", "g.yaml", "listen: [\n", "invalid YAML"},
		{"yaml list", "g.yaml", "- listen\n", "line 1: want a mapping"},
		{"two yaml documents", "g.yaml", "listen: \":1\"\n---\nlisten: \":2\"\n", "want one YAML document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), tc.file)
			if err := os.WriteFile(path, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			c := config.Defaults()
			err := c.LoadFile(path)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.body != "" && (c.Listen != "127.0.0.1:9000" || time.Duration(c.PollInterval) != 5*time.Second ||
					c.CacheMemory != 64<<20 || len(c.TrustedProxies) != 1) {
					t.Fatalf("loaded %+v", c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("want an error naming %s and %q, got %v", path, tc.want, err)
			}
			if c.Listen != config.Defaults().Listen {
				t.Fatalf("a refused file changed the settings: listen %q", c.Listen)
			}
		})
	}
}

func TestDBSchemes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		db   string
		want string
	}{
		{"./gatehouse.db", ""},
		{"/data/gatehouse.db", ""},
		{"file:///data/gatehouse.db", ""},
		{"postgres://u@db:5432/gatehouse", ""},
		{"postgresql://u@db/gatehouse", ""},
		{"mysql://u@db/gatehouse", "db: mysql:// is not supported"},
		{"sqlite://gatehouse.db", "db: sqlite:// is not supported"},
	} {
		c := config.Defaults()
		c.DB = tc.db
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("db %q: want %q, got %v", tc.db, tc.want, err)
		}
	}
}

// FuzzLoadFile: any file content, in either format, loads or fails with an error; never panics.
func FuzzLoadFile(f *testing.F) {
	f.Add([]byte("listen: \":1\"\npollInterval: 5s\n"), false)
	f.Add([]byte(`{"listen": ":1", "cacheMemory": 1048576}`), true)
	f.Add([]byte("{\n\"db\": \"a\",\n\"db\": \"b\"}"), true)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body []byte, asJSON bool) {
		path := filepath.Join(dir, "f.yaml")
		if asJSON {
			path = filepath.Join(dir, "f.json")
		}
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		c := config.Defaults()
		_ = c.LoadFile(path)
	})
}
