package config

import (
	"strings"
	"testing"
)

func TestParseConsoleKey(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		roles   string
		id      string
		wantErr string
	}{
		{in: "viewer:AKVIEW:0123456789abcdef", roles: "viewer", id: "AKVIEW"},
		{in: "author+viewer:AKAUTH:secret:with:colons!", roles: "author,viewer", id: "AKAUTH"},
		{in: "root:AK:0123456789abcdef", wantErr: `role "root"`},
		{in: "viewer:AK", wantErr: "want roles:accessKeyId:secret"},
		{in: "viewer::0123456789abcdef", wantErr: "access key id"},
		{in: "viewer:AK:short", wantErr: "shorter than 16"},
	} {
		k, err := ParseConsoleKey(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.in, err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "0123456789abcdef") {
				t.Errorf("%q: error repeats the secret: %v", tc.in, err)
			}
			continue
		}
		if err != nil || strings.Join(k.Roles, ",") != tc.roles || k.AccessKeyID != tc.id {
			t.Errorf("%q: got %+v, %v", tc.in, k, err)
		}
	}
}

func TestConsoleKeysSetting(t *testing.T) {
	t.Parallel()
	c := Defaults()
	if err := c.Set("consoleKeys", "viewer:AKV:0123456789abcdef, author:AKA:0123456789abcdef"); err != nil {
		t.Fatal(err)
	}
	if len(c.ConsoleKeys) != 2 {
		t.Fatalf("ConsoleKeys = %q", c.ConsoleKeys)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c.ConsoleKeys = append(c.ConsoleKeys, "viewer:AKV:fedcba9876543210", "boss:AKB:0123456789abcdef")
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "consoleKeys[2]: access key id AKV is used twice") || !strings.Contains(err.Error(), "consoleKeys[3]") {
		t.Fatalf("Validate = %v", err)
	}
}
