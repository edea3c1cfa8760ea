// Package apply makes a policy store and its APIs match a directory of files — schema,
// policies, templates, template links, entities, identity sources, APIs, group IAM policies —
// through the management API.
//
// Invariants: the directory is read and validated locally first; the whole directory then
// travels as one bundle (Gatehouse.ApplyBundle) that the server validates and commits in one
// transaction with one revision bump, or not at all, so no half-applied state is ever served.
// Applying the same directory twice changes nothing the second time. Nothing the directory does
// not name is deleted unless pruning is asked for; a plan (dry run) reports deletions either
// way.
//
// Directory layout:
//
//	gatehouse.yaml          policyStoreId, description, validationMode (STRICT|OFF)
//	schema.cedarschema      or schema.json (Cedar JSON schema)
//	policies/*.cedar        static policies; a policy's name is its @id("...") annotation,
//	                        else the file name (file.N when a file holds several)
//	templates/*.cedar       one template per file, named after the file
//	links.yaml              template-linked policies: [{name, template, principal, resource}]
//	entities.json           entities in Cedar's JSON entity format
//	identity-sources.yaml   [{principalEntityType, configuration}] in AVP's shape
//	apis/*.yaml             gateway API definitions (internal/apidef), matched by name
//	iam/<api>/<group>.json  IAM policy documents of groups, for iam authorizers
//
// A directory without a policy store (only APIs and group policies) omits policyStoreId.
// Every text file may use ${NAME} placeholders, replaced by the variables given to Apply (the
// command passes the environment); an undefined variable is an error naming the file.
package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/iam"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// Caller invokes a management API operation.
type Caller interface {
	Call(ctx context.Context, target string, in, out any) error
}

// Manifest is gatehouse.yaml.
type Manifest struct {
	PolicyStoreID  string `json:"policyStoreId"`
	Description    string `json:"description,omitempty"`
	ValidationMode Mode   `json:"validationMode,omitempty"`
}

// Mode is a validation mode. YAML reads a bare OFF as the boolean false, so false is taken
// as OFF; true is refused rather than guessed.
type Mode string

// UnmarshalJSON accepts "OFF", "STRICT" and false.
func (m *Mode) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "false":
		*m = "OFF"
		return nil
	case "true":
		return fmt.Errorf(`validationMode must be "OFF" or "STRICT"`)
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf(`validationMode must be "OFF" or "STRICT"`)
	}
	*m = Mode(s)
	return nil
}

// Link is one entry of links.yaml.
type Link struct {
	Name      string                   `json:"name"`
	Template  string                   `json:"template"`
	Principal *avpapi.EntityIdentifier `json:"principal,omitempty"`
	Resource  *avpapi.EntityIdentifier `json:"resource,omitempty"`
}

// IdentitySourceSpec is one entry of identity-sources.yaml.
type IdentitySourceSpec struct {
	PrincipalEntityType string                `json:"principalEntityType,omitempty"`
	Configuration       *avpapi.Configuration `json:"configuration"`
}

// Dir is a parsed directory.
type Dir struct {
	Path            string
	Manifest        Manifest
	Schema          string // "" when the directory has none
	Policies        []NamedText
	Templates       []NamedText
	Links           []Link
	Entities        json.RawMessage // nil when the directory has none
	IdentitySources []IdentitySourceSpec
	APIs            []NamedText // Name is the API name from the definition
	GroupPolicies   []GroupPolicyFile
}

// GroupPolicyFile is one iam/<api>/<group>.json.
type GroupPolicyFile struct {
	API, Group, Document, File string
}

// NamedText is a named Cedar statement and where it came from.
type NamedText struct {
	Name string // without the name/ prefix
	Text string
	File string
}

var placeholder = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand replaces ${NAME} placeholders; $context.path style text is left alone.
func expand(file string, b []byte, vars func(string) (string, bool)) (string, error) {
	var missing []string
	out := placeholder.ReplaceAllStringFunc(string(b), func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := vars(name)
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("%s: undefined variable(s) %s", file, strings.Join(missing, ", "))
	}
	return out, nil
}

// ReadFile reads a text file and replaces its ${NAME} placeholders from vars (nil leaves them);
// an undefined variable is an error naming the file. apply and the offline commands read every
// file through it, so they see the same text.
func ReadFile(path string, vars func(string) (string, bool)) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	if vars == nil {
		return string(b), nil
	}
	return expand(path, b, vars)
}

func readText(path string, vars func(string) (string, bool)) (string, bool, error) {
	s, err := ReadFile(path, vars)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	return s, err == nil, err
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Load reads and checks a directory without contacting the server: every file parses, names
// are unique, and in STRICT mode policies, templates and links validate against the schema. A
// missing directory, or one without any file apply reads, is an error.
func Load(dir string, vars func(string) (string, bool)) (*Dir, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", dir)
	}
	d := &Dir{Path: dir}
	if s, ok, err := readText(filepath.Join(dir, "gatehouse.yaml"), vars); err != nil {
		return nil, err
	} else if ok {
		if err := yaml.UnmarshalStrict([]byte(s), &d.Manifest); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "gatehouse.yaml"), err)
		}
	}
	for _, name := range []string{"schema.cedarschema", "schema.json"} {
		s, ok, err := readText(filepath.Join(dir, name), vars)
		if err != nil {
			return nil, err
		}
		if ok {
			if d.Schema != "" {
				return nil, fmt.Errorf("%s: both schema.cedarschema and schema.json present", dir)
			}
			if _, err := policy.ParseSchema([]byte(s)); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
			}
			d.Schema = s
		}
	}
	if d.Manifest.ValidationMode == "" {
		d.Manifest.ValidationMode = "OFF"
		if d.Schema != "" {
			d.Manifest.ValidationMode = "STRICT"
		}
	}
	if d.Policies, err = readPolicies(filepath.Join(dir, "policies"), vars); err != nil {
		return nil, err
	}
	if d.Templates, err = readTemplates(filepath.Join(dir, "templates"), vars); err != nil {
		return nil, err
	}
	if s, ok, err := readText(filepath.Join(dir, "links.yaml"), vars); err != nil {
		return nil, err
	} else if ok {
		if err := yaml.UnmarshalStrict([]byte(s), &d.Links); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "links.yaml"), err)
		}
		for i, l := range d.Links {
			if !nameRE.MatchString(l.Name) || l.Template == "" {
				return nil, fmt.Errorf("%s: entry %d needs a name (letters, digits, . _ -) and a template", filepath.Join(dir, "links.yaml"), i)
			}
			if !slices.ContainsFunc(d.Templates, func(t NamedText) bool { return t.Name == l.Template }) {
				return nil, fmt.Errorf("%s: link %s names template %q, which is not in templates/", filepath.Join(dir, "links.yaml"), l.Name, l.Template)
			}
		}
	}
	if s, ok, err := readText(filepath.Join(dir, "entities.json"), vars); err != nil {
		return nil, err
	} else if ok {
		var probe []json.RawMessage
		if err := json.Unmarshal([]byte(s), &probe); err != nil {
			return nil, fmt.Errorf("%s: want a JSON array of entities: %w", filepath.Join(dir, "entities.json"), err)
		}
		d.Entities = json.RawMessage(s)
	}
	if s, ok, err := readText(filepath.Join(dir, "identity-sources.yaml"), vars); err != nil {
		return nil, err
	} else if ok {
		if err := yaml.UnmarshalStrict([]byte(s), &d.IdentitySources); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "identity-sources.yaml"), err)
		}
	}
	apiFiles, _ := filepath.Glob(filepath.Join(dir, "apis", "*.yaml"))
	sort.Strings(apiFiles)
	for _, f := range apiFiles {
		s, _, err := readText(f, vars)
		if err != nil {
			return nil, err
		}
		def, err := apidef.Parse([]byte(s))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if err := def.Validate(); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		d.APIs = append(d.APIs, NamedText{Name: def.Name, Text: s, File: f})
	}
	gpFiles, _ := filepath.Glob(filepath.Join(dir, "iam", "*", "*.json"))
	sort.Strings(gpFiles)
	for _, f := range gpFiles {
		s, _, err := readText(f, vars)
		if err != nil {
			return nil, err
		}
		if _, err := iam.Parse([]byte(s)); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		d.GroupPolicies = append(d.GroupPolicies, GroupPolicyFile{API: filepath.Base(filepath.Dir(f)),
			Group: strings.TrimSuffix(filepath.Base(f), ".json"), Document: s, File: f})
	}
	hasStoreContent := d.Schema != "" || len(d.Policies) > 0 || len(d.Templates) > 0 || len(d.Links) > 0 || d.Entities != nil || len(d.IdentitySources) > 0
	if d.Manifest.PolicyStoreID == "" && hasStoreContent {
		return nil, fmt.Errorf("%s: policyStoreId is required when the directory has a schema, policies, entities or identity sources (the store is created with that id if missing)", filepath.Join(dir, "gatehouse.yaml"))
	}
	if d.Manifest.PolicyStoreID == "" && len(d.APIs) == 0 && len(d.GroupPolicies) == 0 {
		return nil, fmt.Errorf("%s: nothing to apply: no gatehouse.yaml with a policyStoreId, schema, policies/*.cedar, templates/*.cedar, links.yaml, entities.json, identity-sources.yaml, apis/*.yaml or iam/<api>/<group>.json", dir)
	}
	if err := d.validateStrict(); err != nil {
		return nil, err
	}
	return d, nil
}

// validateStrict checks policies, templates and links against the directory's schema in
// STRICT mode, as the server will, so a bad directory fails before anything is sent.
func (d *Dir) validateStrict() error {
	if d.Manifest.ValidationMode != "STRICT" || d.Manifest.PolicyStoreID == "" {
		return nil
	}
	if d.Schema == "" {
		if len(d.Policies)+len(d.Templates)+len(d.Links) == 0 {
			return nil
		}
		return fmt.Errorf("%s: validationMode STRICT needs schema.cedarschema or schema.json", filepath.Join(d.Path, "gatehouse.yaml"))
	}
	sch, err := policy.ParseSchema([]byte(d.Schema))
	if err != nil {
		return err
	}
	for _, p := range d.Policies {
		st, err := policy.ParseStatic(p.Text)
		if err != nil {
			return fmt.Errorf("%s: policy %s: %w", p.File, p.Name, err)
		}
		if err := sch.Validate(p.Name, st.Policy); err != nil {
			return fmt.Errorf("%s: policy %s: %w", p.File, p.Name, err)
		}
	}
	tpls := map[string]*policy.Template{}
	for _, t := range d.Templates {
		tpl, err := policy.ParseTemplate(t.Text)
		if err != nil {
			return fmt.Errorf("%s: %w", t.File, err)
		}
		if err := sch.ValidateTemplate(t.Name, tpl); err != nil {
			return fmt.Errorf("%s: template %s: %w", t.File, t.Name, err)
		}
		tpls[t.Name] = tpl
	}
	links := filepath.Join(d.Path, "links.yaml")
	for _, l := range d.Links {
		tpl, ok := tpls[l.Template]
		if !ok {
			return fmt.Errorf("%s: link %s names template %q, which is not in templates/", links, l.Name, l.Template)
		}
		st, err := tpl.Link(uid(l.Principal), uid(l.Resource))
		if err != nil {
			return fmt.Errorf("%s: link %s: %w", links, l.Name, err)
		}
		if err := sch.Validate(l.Name, st.Policy); err != nil {
			return fmt.Errorf("%s: link %s: %w", links, l.Name, err)
		}
	}
	return nil
}

func uid(e *avpapi.EntityIdentifier) *types.EntityUID {
	if e == nil {
		return nil
	}
	u := types.NewEntityUID(types.EntityType(e.EntityType), types.String(e.EntityID))
	return &u
}

func readPolicies(dir string, vars func(string) (string, bool)) ([]NamedText, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.cedar"))
	sort.Strings(files)
	pols, err := ReadPolicyFiles(files, vars)
	if err != nil {
		return nil, err
	}
	out := make([]NamedText, 0, len(pols))
	for _, p := range pols {
		if !nameRE.MatchString(p.Name) {
			return nil, fmt.Errorf("%s: policy name %q may only use letters, digits, . _ -", p.File, p.Name)
		}
		out = append(out, NamedText{Name: p.Name, Text: p.Text, File: p.File})
	}
	return out, nil
}

// PolicyFile is one static policy read from a .cedar file.
type PolicyFile struct {
	// Name is the policy's @id("...") annotation, else the file name without .cedar for a
	// single-policy file, else <file name>.<n>.
	Name   string
	Text   string // the file's text for a single-policy file, else the policy re-printed
	File   string
	Policy *cedar.Policy
}

// ReadPolicyFiles reads static policies from .cedar files in order, naming them the way apply
// does, and rejects a name used twice. vars expands ${NAME} placeholders; nil leaves the text
// as it is.
func ReadPolicyFiles(files []string, vars func(string) (string, bool)) ([]PolicyFile, error) {
	var out []PolicyFile
	seen := map[string]string{}
	for _, f := range files {
		s, ok, err := readText(f, vars)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: %w", f, os.ErrNotExist)
		}
		list, err := cedar.NewPolicyListFromBytes(f, []byte(s))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		stem := strings.TrimSuffix(filepath.Base(f), ".cedar")
		for i, p := range list {
			name := string(p.Annotations()["id"])
			if name == "" {
				name = stem
				if len(list) > 1 {
					name = fmt.Sprintf("%s.%d", stem, i)
				}
			}
			if prev, dup := seen[name]; dup {
				return nil, fmt.Errorf("%s: policy name %q already used in %s", f, name, prev)
			}
			seen[name] = f
			text := string(p.MarshalCedar())
			if len(list) == 1 {
				text = strings.TrimSpace(s)
			}
			// Compiled as the server compiles policies, so offline decisions get the same
			// corrections where cedar-go differs from Cedar (policy.Static.Policy).
			st, err := policy.FromParsed(p)
			if err != nil {
				return nil, fmt.Errorf("%s: policy %q: %w", f, name, err)
			}
			out = append(out, PolicyFile{Name: name, Text: text, File: f, Policy: st.Policy})
		}
	}
	return out, nil
}

func readTemplates(dir string, vars func(string) (string, bool)) ([]NamedText, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*.cedar"))
	sort.Strings(files)
	var out []NamedText
	for _, f := range files {
		s, _, err := readText(f, vars)
		if err != nil {
			return nil, err
		}
		if _, err := policy.ParseTemplate(s); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".cedar")
		if !nameRE.MatchString(name) {
			return nil, fmt.Errorf("%s: template name %q may only use letters, digits, . _ -", f, name)
		}
		out = append(out, NamedText{Name: name, Text: strings.TrimSpace(s), File: f})
	}
	return out, nil
}
