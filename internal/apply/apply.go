// Package apply makes a policy store match a directory of Cedar files — schema, policies,
// templates, template links, entities, identity sources — through the management API. It is
// idempotent: applying the same directory twice changes nothing the second time, and it
// reports every change it makes.
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
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/iam"
	"github.com/gatehouse-dev/gatehouse/internal/mgmtclient"
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

func readText(path string, vars func(string) (string, bool)) (string, bool, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if vars == nil {
		return string(b), true, nil
	}
	s, err := expand(path, b, vars)
	return s, true, err
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Load reads and checks a directory without contacting the server.
func Load(dir string, vars func(string) (string, bool)) (*Dir, error) {
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
	var err error
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
	return d, nil
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
			out = append(out, PolicyFile{Name: name, Text: text, File: f, Policy: p})
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

// Report collects what Apply changed.
type Report struct {
	Changes   []string
	Unchanged int
}

func (r *Report) changed(format string, args ...any) {
	r.Changes = append(r.Changes, fmt.Sprintf(format, args...))
}

// Print writes the report.
func (r *Report) Print(w io.Writer) {
	for _, c := range r.Changes {
		fmt.Fprintln(w, c)
	}
	fmt.Fprintf(w, "%d changed, %d unchanged\n", len(r.Changes), r.Unchanged)
}

// Apply makes the server match d.
func Apply(ctx context.Context, c Caller, d *Dir) (*Report, error) {
	r := &Report{}
	if d.Manifest.PolicyStoreID != "" {
		if err := applyStore(ctx, c, d, r); err != nil {
			return r, err
		}
	}
	if err := applyAPIs(ctx, c, d, r); err != nil {
		return r, err
	}
	return r, nil
}

func applyStore(ctx context.Context, c Caller, d *Dir, r *Report) error {
	id := d.Manifest.PolicyStoreID
	var ps avpapi.PutPolicyStoreOutput
	if err := c.Call(ctx, "Gatehouse.PutPolicyStore", avpapi.PutPolicyStoreInput{PolicyStoreID: id, Description: d.Manifest.Description,
		ValidationSettings: &avpapi.ValidationSettings{Mode: string(d.Manifest.ValidationMode)}}, &ps); err != nil {
		return err
	}
	if ps.Created {
		r.changed("policy store %s: created (%s)", id, d.Manifest.ValidationMode)
	} else {
		r.Unchanged++
	}
	if err := applySchema(ctx, c, d, r); err != nil {
		return err
	}
	templateIDs, err := applyTemplates(ctx, c, d, r)
	if err != nil {
		return err
	}
	if err := applyPolicies(ctx, c, d, templateIDs, r); err != nil {
		return err
	}
	if err := deleteStaleTemplates(ctx, c, d, templateIDs, r); err != nil {
		return err
	}
	if err := applyIdentitySources(ctx, c, d, r); err != nil {
		return err
	}
	return applyEntities(ctx, c, d, r)
}

// applyAPIs writes the directory's APIs (others are left alone: a directory owns the APIs it
// names) and makes each named API's group policies match iam/<api>/.
func applyAPIs(ctx context.Context, c Caller, d *Dir, r *Report) error {
	for _, a := range d.APIs {
		var out avpapi.APIOutput
		if err := c.Call(ctx, "Gatehouse.PutApi", avpapi.PutAPIInput{Definition: a.Text}, &out); err != nil {
			return fmt.Errorf("%s: %w", a.File, err)
		}
		if out.Changed {
			r.changed("api %s: written (id %s)", a.Name, out.ID)
		} else {
			r.Unchanged++
		}
	}
	byAPI := map[string][]GroupPolicyFile{}
	for _, gp := range d.GroupPolicies {
		byAPI[gp.API] = append(byAPI[gp.API], gp)
	}
	apis := make([]string, 0, len(byAPI))
	for k := range byAPI {
		apis = append(apis, k)
	}
	sort.Strings(apis)
	for _, api := range apis {
		var cur avpapi.ListGroupPoliciesOutput
		if err := c.Call(ctx, "Gatehouse.ListGroupPolicies", avpapi.APIRef{API: api}, &cur); err != nil {
			return fmt.Errorf("iam/%s: %w", api, err)
		}
		have := map[string]string{}
		for _, gp := range cur.GroupPolicies {
			have[gp.Group] = gp.PolicyDocument
		}
		want := map[string]bool{}
		for _, gp := range byAPI[api] {
			want[gp.Group] = true
			if old, ok := have[gp.Group]; ok && jsonEqual(old, gp.Document) {
				r.Unchanged++
				continue
			}
			if err := c.Call(ctx, "Gatehouse.PutGroupPolicy", avpapi.GroupPolicyInput{API: api, Group: gp.Group, PolicyDocument: gp.Document}, nil); err != nil {
				return fmt.Errorf("%s: %w", gp.File, err)
			}
			r.changed("group policy %s/%s: written", api, gp.Group)
		}
		for g := range have {
			if want[g] {
				continue
			}
			if err := c.Call(ctx, "Gatehouse.DeleteGroupPolicy", avpapi.GroupPolicyRef{API: api, Group: g}, nil); err != nil {
				return err
			}
			r.changed("group policy %s/%s: deleted (not in the directory)", api, g)
		}
	}
	return nil
}

func jsonEqual(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}

func applySchema(ctx context.Context, c Caller, d *Dir, r *Report) error {
	if d.Schema == "" {
		return nil
	}
	local, err := policy.ParseSchema([]byte(d.Schema))
	if err != nil {
		return err
	}
	want, err := local.JSON()
	if err != nil {
		return err
	}
	var cur avpapi.GetSchemaOutput
	err = c.Call(ctx, "VerifiedPermissions.GetSchema", avpapi.GetSchemaInput{PolicyStoreID: d.Manifest.PolicyStoreID}, &cur)
	if err == nil && cur.Schema == string(want) {
		r.Unchanged++
		return nil
	}
	if err != nil && !errors.Is(err, mgmtclient.NotFound) {
		return err
	}
	text := string(want)
	if err := c.Call(ctx, "VerifiedPermissions.PutSchema", avpapi.PutSchemaInput{PolicyStoreID: d.Manifest.PolicyStoreID,
		Definition: &avpapi.SchemaDefinition{CedarJSON: &text}}, nil); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	r.changed("schema: updated (namespaces %s)", strings.Join(local.Namespaces(), ", "))
	return nil
}

func listAllPolicies(ctx context.Context, c Caller, storeID string) ([]avpapi.PolicyItem, error) {
	var all []avpapi.PolicyItem
	token := ""
	for {
		var page avpapi.ListPoliciesOutput
		max := int32(50)
		if err := c.Call(ctx, "VerifiedPermissions.ListPolicies", avpapi.ListPoliciesInput{PolicyStoreID: storeID, NextToken: token, MaxResults: &max}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Policies...)
		if page.NextToken == "" {
			return all, nil
		}
		token = page.NextToken
	}
}

func applyTemplates(ctx context.Context, c Caller, d *Dir, r *Report) (map[string]string, error) {
	storeID := d.Manifest.PolicyStoreID
	ids := map[string]string{} // name → template id
	existing := map[string]avpapi.PolicyTemplateItem{}
	token := ""
	for {
		var page avpapi.ListPolicyTemplatesOutput
		if err := c.Call(ctx, "VerifiedPermissions.ListPolicyTemplates", avpapi.ListPolicyTemplatesInput{PolicyStoreID: storeID, NextToken: token}, &page); err != nil {
			return nil, err
		}
		for _, t := range page.PolicyTemplates {
			existing[t.Name] = t
		}
		if page.NextToken == "" {
			break
		}
		token = page.NextToken
	}
	for _, t := range d.Templates {
		name := "name/" + t.Name
		if cur, ok := existing[name]; ok {
			ids[t.Name] = cur.PolicyTemplateID
			var full avpapi.GetPolicyTemplateOutput
			if err := c.Call(ctx, "VerifiedPermissions.GetPolicyTemplate", avpapi.GetPolicyTemplateInput{PolicyStoreID: storeID, PolicyTemplateID: cur.PolicyTemplateID}, &full); err != nil {
				return nil, err
			}
			if strings.TrimSpace(full.Statement) == t.Text {
				r.Unchanged++
				continue
			}
			if err := c.Call(ctx, "VerifiedPermissions.UpdatePolicyTemplate", avpapi.UpdatePolicyTemplateInput{PolicyStoreID: storeID,
				PolicyTemplateID: cur.PolicyTemplateID, Statement: t.Text}, nil); err != nil {
				return nil, fmt.Errorf("%s: %w", t.File, err)
			}
			r.changed("template %s: updated (linked policies re-linked)", t.Name)
			continue
		}
		var out avpapi.CreatePolicyTemplateOutput
		if err := c.Call(ctx, "VerifiedPermissions.CreatePolicyTemplate", avpapi.CreatePolicyTemplateInput{PolicyStoreID: storeID, Name: name, Statement: t.Text}, &out); err != nil {
			return nil, fmt.Errorf("%s: %w", t.File, err)
		}
		ids[t.Name] = out.PolicyTemplateID
		r.changed("template %s: created", t.Name)
	}
	// Templates not in the directory are deleted after policies, since deleting a template
	// deletes its links.
	for name, t := range existing {
		short := strings.TrimPrefix(name, "name/")
		if _, keep := ids[short]; !keep {
			ids["\x00stale:"+t.PolicyTemplateID] = t.PolicyTemplateID
		}
	}
	return ids, nil
}

func deleteStaleTemplates(ctx context.Context, c Caller, d *Dir, ids map[string]string, r *Report) error {
	for key, id := range ids {
		if !strings.HasPrefix(key, "\x00stale:") {
			continue
		}
		if err := c.Call(ctx, "VerifiedPermissions.DeletePolicyTemplate", avpapi.DeletePolicyTemplateInput{PolicyStoreID: d.Manifest.PolicyStoreID, PolicyTemplateID: id}, nil); err != nil {
			return err
		}
		r.changed("template %s: deleted (not in the directory)", id)
	}
	return nil
}

func sameID(a, b *avpapi.EntityIdentifier) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func applyPolicies(ctx context.Context, c Caller, d *Dir, templateIDs map[string]string, r *Report) error {
	storeID := d.Manifest.PolicyStoreID
	existing, err := listAllPolicies(ctx, c, storeID)
	if err != nil {
		return err
	}
	byName := map[string]avpapi.PolicyItem{}
	for _, p := range existing {
		byName[p.Name] = p
	}
	keep := map[string]bool{}
	create := func(name, file string, def *avpapi.PolicyDefinition) error {
		if err := c.Call(ctx, "VerifiedPermissions.CreatePolicy", avpapi.CreatePolicyInput{PolicyStoreID: storeID, Name: "name/" + name, Definition: def}, nil); err != nil {
			return fmt.Errorf("%s: policy %s: %w", file, name, err)
		}
		return nil
	}
	del := func(p avpapi.PolicyItem) error {
		return c.Call(ctx, "VerifiedPermissions.DeletePolicy", avpapi.DeletePolicyInput{PolicyStoreID: storeID, PolicyID: p.PolicyID}, nil)
	}
	for _, p := range d.Policies {
		full := "name/" + p.Name
		keep[full] = true
		cur, ok := byName[full]
		def := &avpapi.PolicyDefinition{Static: &avpapi.StaticPolicyDefinition{Statement: p.Text}}
		if !ok {
			if err := create(p.Name, p.File, def); err != nil {
				return err
			}
			r.changed("policy %s: created", p.Name)
			continue
		}
		var got avpapi.GetPolicyOutput
		if err := c.Call(ctx, "VerifiedPermissions.GetPolicy", avpapi.GetPolicyInput{PolicyStoreID: storeID, PolicyID: cur.PolicyID}, &got); err != nil {
			return err
		}
		if got.Definition != nil && got.Definition.Static != nil && strings.TrimSpace(got.Definition.Static.Statement) == p.Text {
			r.Unchanged++
			continue
		}
		err := c.Call(ctx, "VerifiedPermissions.UpdatePolicy", avpapi.UpdatePolicyInput{PolicyStoreID: storeID, PolicyID: cur.PolicyID,
			Definition: &avpapi.UpdatePolicyDefinition{Static: &avpapi.StaticPolicyDefinition{Statement: p.Text}}}, nil)
		if err != nil {
			// The head (effect, principal, resource) cannot change in place: replace the policy.
			if err := del(cur); err != nil {
				return err
			}
			if err := create(p.Name, p.File, def); err != nil {
				return err
			}
			r.changed("policy %s: replaced", p.Name)
			continue
		}
		r.changed("policy %s: updated", p.Name)
	}
	for _, l := range d.Links {
		full := "name/" + l.Name
		keep[full] = true
		tid, ok := templateIDs[l.Template]
		if !ok {
			return fmt.Errorf("links.yaml: link %s names template %q, which is not in templates/", l.Name, l.Template)
		}
		def := &avpapi.PolicyDefinition{TemplateLinked: &avpapi.TemplateLinkedPolicyDefinition{PolicyTemplateID: tid, Principal: l.Principal, Resource: l.Resource}}
		if cur, ok := byName[full]; ok {
			var got avpapi.GetPolicyOutput
			if err := c.Call(ctx, "VerifiedPermissions.GetPolicy", avpapi.GetPolicyInput{PolicyStoreID: storeID, PolicyID: cur.PolicyID}, &got); err != nil {
				return err
			}
			if tl := got.Definition.TemplateLinked; tl != nil && tl.PolicyTemplateID == tid && sameID(tl.Principal, l.Principal) && sameID(tl.Resource, l.Resource) {
				r.Unchanged++
				continue
			}
			if err := del(cur); err != nil {
				return err
			}
			if err := create(l.Name, "links.yaml", def); err != nil {
				return err
			}
			r.changed("link %s: replaced", l.Name)
			continue
		}
		if err := create(l.Name, "links.yaml", def); err != nil {
			return err
		}
		r.changed("link %s: created", l.Name)
	}
	for _, p := range existing {
		if keep[p.Name] {
			continue
		}
		if err := del(p); err != nil && !errors.Is(err, mgmtclient.NotFound) {
			return err
		}
		label := p.Name
		if label == "" {
			label = p.PolicyID
		}
		r.changed("policy %s: deleted (not in the directory)", strings.TrimPrefix(label, "name/"))
	}
	return nil
}

func applyIdentitySources(ctx context.Context, c Caller, d *Dir, r *Report) error {
	storeID := d.Manifest.PolicyStoreID
	var list avpapi.ListIdentitySourcesOutput
	if err := c.Call(ctx, "VerifiedPermissions.ListIdentitySources", avpapi.ListIdentitySourcesInput{PolicyStoreID: storeID}, &list); err != nil {
		return err
	}
	key := func(pet string, cfg *avpapi.Configuration) string {
		cp := *cfg
		if cp.CognitoUserPoolConfiguration != nil {
			cu := *cp.CognitoUserPoolConfiguration
			cu.Issuer = ""
			if len(cu.ClientIDs) == 0 {
				cu.ClientIDs = nil
			}
			cp.CognitoUserPoolConfiguration = &cu
		}
		b, _ := json.Marshal(struct {
			P string
			C avpapi.Configuration
		}{pet, cp})
		return string(b)
	}
	have := map[string]string{}
	for _, is := range list.IdentitySources {
		if is.Configuration != nil {
			have[key(is.PrincipalEntityType, is.Configuration)] = is.IdentitySourceID
		}
	}
	want := map[string]bool{}
	for i, spec := range d.IdentitySources {
		if spec.Configuration == nil {
			return fmt.Errorf("identity-sources.yaml: entry %d has no configuration", i)
		}
		k := key(spec.PrincipalEntityType, spec.Configuration)
		want[k] = true
		if _, ok := have[k]; ok {
			r.Unchanged++
			continue
		}
		var out avpapi.CreateIdentitySourceOutput
		if err := c.Call(ctx, "VerifiedPermissions.CreateIdentitySource", avpapi.CreateIdentitySourceInput{PolicyStoreID: storeID,
			Configuration: spec.Configuration, PrincipalEntityType: spec.PrincipalEntityType}, &out); err != nil {
			return fmt.Errorf("identity-sources.yaml: entry %d: %w", i, err)
		}
		r.changed("identity source %s: created", out.IdentitySourceID)
	}
	for k, id := range have {
		if want[k] {
			continue
		}
		if err := c.Call(ctx, "VerifiedPermissions.DeleteIdentitySource", avpapi.DeleteIdentitySourceInput{PolicyStoreID: storeID, IdentitySourceID: id}, nil); err != nil {
			return err
		}
		r.changed("identity source %s: deleted (not in the directory)", id)
	}
	return nil
}

func applyEntities(ctx context.Context, c Caller, d *Dir, r *Report) error {
	if d.Entities == nil {
		return nil
	}
	storeID := d.Manifest.PolicyStoreID
	var current []avpapi.EntityItem
	token := ""
	for {
		var page avpapi.ListEntitiesOutput
		if err := c.Call(ctx, "Gatehouse.ListEntities", avpapi.ListEntitiesInput{PolicyStoreID: storeID, NextToken: token}, &page); err != nil {
			return err
		}
		current = append(current, page.Entities...)
		if page.NextToken == "" {
			break
		}
		token = page.NextToken
	}
	wantMap, err := avpapi.EntitiesFromCedarJSON(d.Entities, "entities.json")
	if err != nil {
		return err
	}
	curMap := map[avpapi.EntityIdentifier]avpapi.EntityItem{}
	for _, e := range current {
		curMap[*e.Identifier] = e
	}
	var upsert []avpapi.EntityItem
	for _, e := range wantMap {
		item, err := avpapi.EntityItemFrom(e)
		if err != nil {
			return err
		}
		if cur, ok := curMap[*item.Identifier]; ok {
			a, _ := json.Marshal(cur)
			b, _ := json.Marshal(item)
			if string(a) == string(b) {
				r.Unchanged++
				continue
			}
		}
		upsert = append(upsert, item)
	}
	sort.Slice(upsert, func(i, j int) bool {
		return upsert[i].Identifier.EntityType+upsert[i].Identifier.EntityID < upsert[j].Identifier.EntityType+upsert[j].Identifier.EntityID
	})
	for start := 0; start < len(upsert); start += 500 {
		end := min(start+500, len(upsert))
		if err := c.Call(ctx, "Gatehouse.PutEntities", avpapi.PutEntitiesInput{PolicyStoreID: storeID,
			Entities: &avpapi.EntitiesDefinition{EntityList: upsert[start:end]}}, nil); err != nil {
			return fmt.Errorf("entities.json: %w", err)
		}
	}
	for _, e := range upsert {
		r.changed("entity %s::%q: written", e.Identifier.EntityType, e.Identifier.EntityID)
	}
	var stale []avpapi.EntityIdentifier
	for id := range curMap {
		if _, ok := wantMap[types.NewEntityUID(types.EntityType(id.EntityType), types.String(id.EntityID))]; !ok {
			stale = append(stale, id)
		}
	}
	if len(stale) > 0 {
		if err := c.Call(ctx, "Gatehouse.DeleteEntities", avpapi.DeleteEntitiesInput{PolicyStoreID: storeID, Identifiers: stale}, nil); err != nil {
			return err
		}
		for _, id := range stale {
			r.changed("entity %s::%q: deleted (not in entities.json)", id.EntityType, id.EntityID)
		}
	}
	return nil
}
