package docs_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/config"
)

var update = flag.Bool("update", false, "rewrite the generated settings table of docs/configuration.md")

const (
	genBegin = "<!-- BEGIN GENERATED SETTINGS: go generate ./docs -->"
	genEnd   = "<!-- END GENERATED SETTINGS -->"
)

// serveFlags maps environment variables to the `gatehouse serve` flag bound to the same
// setting, read from the binary's own help (each setting flag names its variable).
func serveFlags(t *testing.T) map[string]string {
	t.Helper()
	out, err := exec.Command(filepath.Join(gatehouseBinary(t), "gatehouse"), "serve", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("gatehouse serve --help: %v\n%s", err, out)
	}
	flags := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z0-9-]+) [a-zA-Z]+ .*\(env (GATEHOUSE_[A-Z0-9_]+)\)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[2]] = "--" + m[1]
	}
	if len(flags) == 0 {
		t.Fatalf("no setting flag found in gatehouse serve --help:\n%s", out)
	}
	return flags
}

// fieldDocs returns the doc comment of each Config field by its file key, read from the
// config package's source, with Go field names replaced by file keys.
func fieldDocs(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "../internal/config/config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	goToKey := map[string]string{}
	rt := reflect.TypeFor[config.Config]()
	for i := range rt.NumField() {
		if tag, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
			goToKey[rt.Field(i).Name] = tag
		}
	}
	docs := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "Config" {
			return true
		}
		st, ok := ts.Type.(*ast.StructType)
		if !ok {
			return false
		}
		for _, fld := range st.Fields.List {
			if fld.Doc == nil {
				continue
			}
			text := strings.Join(strings.Fields(fld.Doc.Text()), " ")
			for _, name := range fld.Names {
				if key, ok := goToKey[name.Name]; ok {
					docs[key] = text
				}
			}
		}
		return false
	})
	// Longest names first, so IdPListen is not rewritten through a shorter name it contains.
	names := slices.Collect(maps.Keys(goToKey))
	slices.SortFunc(names, func(a, b string) int { return len(b) - len(a) })
	for key, text := range docs {
		for _, n := range names {
			text = regexp.MustCompile(`\b`+n+`\b`).ReplaceAllString(text, "`"+goToKey[n]+"`")
		}
		docs[key] = text
	}
	return docs
}

// defaultOf renders a setting's default from config.Defaults(); "" for none.
func defaultOf(defaults map[string]any, key string) string {
	var v any = defaults
	for _, part := range strings.Split(key, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[part]
	}
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == 0 {
			return ""
		}
		return fmt.Sprint(x)
	case bool:
		if !x {
			return ""
		}
		return "true"
	case []any:
		if len(x) == 0 {
			return ""
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// settingsTable renders the generated part of docs/configuration.md.
func settingsTable(t *testing.T) string {
	t.Helper()
	flags := serveFlags(t)
	docs := fieldDocs(t)
	raw, err := json.Marshal(config.Defaults())
	if err != nil {
		t.Fatal(err)
	}
	var defaults map[string]any
	if err := json.Unmarshal(raw, &defaults); err != nil {
		t.Fatal(err)
	}
	cell := func(s string) string {
		if s == "" {
			return ""
		}
		return "`" + s + "`"
	}
	var b strings.Builder
	b.WriteString(genBegin + "\n\n")
	b.WriteString("| File key | Environment | Flag | Default | Meaning |\n|---|---|---|---|---|\n")
	for _, e := range config.Env {
		meaning := docs[e.Key]
		if meaning == "" {
			meaning = e.Help
		}
		def := defaultOf(defaults, e.Key)
		if def == ":0" || def == "0s" {
			def = ""
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(e.Key), cell(e.Name), cell(flags[e.Name]), cell(def),
			strings.ReplaceAll(meaning, "|", `\|`))
	}
	b.WriteString("\n" + genEnd)
	return b.String()
}

// TestConfigurationReference fails when the settings table of docs/configuration.md is not
// the one generated from the config package (config.Env, config.Defaults, the Config field
// comments) and the binary's flags. `go generate ./docs` rewrites it.
func TestConfigurationReference(t *testing.T) {
	const path = "configuration.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start, end := strings.Index(doc, genBegin), strings.Index(doc, genEnd)
	if start < 0 || end < start {
		t.Fatalf("%s lacks the %q ... %q markers", path, genBegin, genEnd)
	}
	want := settingsTable(t)
	if got := doc[start : end+len(genEnd)]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(doc[:start]+want+doc[end+len(genEnd):]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Fatalf("docs/configuration.md is out of date with the settings of internal/config; run: go generate ./docs")
	}
}

// TestEverySettingIsInTheTable checks that each key of the settings file has an environment
// variable, so the generated table (which lists config.Env) names every setting.
func TestEverySettingIsInTheTable(t *testing.T) {
	t.Parallel()
	env := map[string]bool{}
	for _, e := range config.Env {
		env[strings.Split(e.Key, ".")[0]] = true
	}
	rt := reflect.TypeFor[config.Config]()
	for i := range rt.NumField() {
		key, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if key != "" && key != "-" && !env[key] {
			t.Errorf("setting %q has no entry in config.Env, so docs/configuration.md cannot list it", key)
		}
	}
}
