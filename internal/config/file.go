package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LoadFile merges a settings file into c: JSON when its name ends in .json, YAML otherwise.
// The file is one mapping of setting keys; every error (syntax, unknown or repeated key, bad
// value) names the file and line, and leaves c unchanged.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	next := *c
	if strings.EqualFold(filepath.Ext(path), ".json") {
		err = next.loadJSON(b)
	} else {
		err = next.loadYAML(b)
	}
	if err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	*c = next
	return nil
}

// fileKeys maps each file key (the json tag) to its field index in Config.
var fileKeys = func() map[string]int {
	m := map[string]int{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); k != "" && k != "-" {
			m[k] = i
		}
	}
	return m
}()

// setJSON assigns one setting from its JSON value.
func (c *Config) setJSON(key string, raw []byte) error {
	i, ok := fileKeys[key]
	if !ok {
		return fmt.Errorf("unknown setting %q", key)
	}
	field := reflect.ValueOf(c).Elem().Field(i)
	if err := json.Unmarshal(raw, field.Addr().Interface()); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: want %s, got %s", key, te.Type, te.Value)
		}
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

func (c *Config) loadJSON(b []byte) error {
	at := func(off int64) string {
		line := 1 + bytes.Count(b[:min(int(off), len(b))], []byte("\n"))
		return fmt.Sprintf("line %d", line)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	syntax := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: invalid JSON: %w", at(se.Offset), err)
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%s: invalid JSON: unexpected end of file", at(int64(len(b))))
		}
		return fmt.Errorf("%s: invalid JSON: %w", at(dec.InputOffset()), err)
	}
	tok, err := dec.Token()
	if err != nil {
		return syntax(err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("%s: want an object of settings", at(dec.InputOffset()))
	}
	seen := map[string]string{}
	for dec.More() {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		key, _ := tok.(string)
		// The key's line: skip the separator and blanks the offset still points at.
		rest := b[off:]
		off += int64(len(rest) - len(bytes.TrimLeft(rest, ", \t\r\n")))
		where := at(off)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return syntax(err)
		}
		if first, dup := seen[key]; dup {
			return fmt.Errorf("%s: %q repeated (first at %s)", where, key, first)
		}
		seen[key] = where
		if err := c.setJSON(key, raw); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntax(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%s: invalid JSON: data after the settings object", at(dec.InputOffset()))
	}
	return nil
}

func (c *Config) loadYAML(b []byte) error {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file: no settings
		}
		return fmt.Errorf("invalid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("line %d: want one YAML document", extra.Line)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of settings", root.Line)
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: a setting key must be a string", k.Line)
		}
		if first, dup := seen[k.Value]; dup {
			return fmt.Errorf("line %d: %q repeated (first at line %d)", k.Line, k.Value, first)
		}
		seen[k.Value] = k.Line
		var val any
		if err := v.Decode(&val); err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
		}
		raw, err := json.Marshal(val)
		if err != nil {
			return fmt.Errorf("line %d: %s: %w", v.Line, k.Value, err)
		}
		if err := c.setJSON(k.Value, raw); err != nil {
			return fmt.Errorf("line %d: %w", k.Line, err)
		}
	}
	return nil
}
