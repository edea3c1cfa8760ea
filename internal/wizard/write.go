package wizard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	"github.com/cedar-policy/cedar-go/x/exp/ast"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// StateFile records, in the output directory, which files init wrote (with their content
// hashes) and the answers it was given, so a re-run knows what it may overwrite.
const StateFile = ".gatehouse-init.json"

const stateVersion = 1

// editedMarker stands in the state file for the hash of a generated file the user edited: init
// never writes it again, and says so on every run.
const editedMarker = "edited"

type state struct {
	Version int               `json:"version"`
	Files   map[string]string `json:"files"` // slash path → sha256 of the content init wrote
	Options Options           `json:"options"`
}

// File outcomes in a Report.
const (
	Created   = "created"
	Updated   = "updated"
	Unchanged = "unchanged"
	Removed   = "removed"
	// KeptEdited is a file init wrote that the user changed since: it is now the user's.
	KeptEdited = "kept (edited since init wrote it)"
	// KeptForeign is a file init would write that init did not write before.
	KeptForeign = "kept (not written by init)"
)

// FileChange is what happened to one file.
type FileChange struct {
	Path    string `json:"path"`
	Outcome string `json:"outcome"`
}

// StaleReference is a policy whose action scope names an action the schema does not declare.
type StaleReference struct {
	File     string `json:"file"`
	PolicyID string `json:"policyId"`
	Action   string `json:"action"`
	// Generated is true when init wrote the file (and it will rewrite it next run).
	Generated bool `json:"generated"`
}

// Report is the outcome of WriteDir.
type Report struct {
	Dir   string           `json:"dir"`
	Files []FileChange     `json:"files"`
	Stale []StaleReference `json:"stale,omitempty"`
	Notes []string         `json:"notes,omitempty"`
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	for _, f := range r.Files {
		fmt.Fprintf(w, "%-10s %s\n", f.Outcome, filepath.Join(r.Dir, filepath.FromSlash(f.Path)))
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, s := range r.Stale {
		kind := "hand-written"
		if s.Generated {
			kind = "generated"
		}
		fmt.Fprintf(w, "stale: %s: policy %q (%s) refers to %s, which the schema no longer declares\n", s.File, s.PolicyID, kind, s.Action)
	}
}

// PreviousOptions returns the answers an earlier init run remembered in dir, or nil when dir
// holds no init output.
func PreviousOptions(dir string) (*Options, error) {
	st, err := readState(dir)
	if err != nil || st == nil {
		return nil, err
	}
	return &st.Options, nil
}

func readState(dir string) (*state, error) {
	b, err := os.ReadFile(filepath.Join(dir, StateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, StateFile), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%s: unknown version %d", filepath.Join(dir, StateFile), st.Version)
	}
	if st.Files == nil {
		st.Files = map[string]string{}
	}
	return &st, nil
}

func hash(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// WriteDir writes the result into dir (created if missing). Files init wrote before and nobody
// changed since are replaced or, when no longer generated, removed; every other existing file
// is left alone. Afterwards every policy in dir/policies is checked against the schema in dir
// and references to undeclared actions are reported. The report is also stored in r.Report.
func (r *Result) WriteDir(dir string) (*Report, error) {
	st, err := readState(dir)
	if err != nil {
		return nil, err
	}
	if st == nil {
		st = &state{Version: stateVersion, Files: map[string]string{}}
	}
	rep := &Report{Dir: dir, Notes: slices.Clone(r.Notes)}
	type write struct {
		path string
		data []byte
	}
	var writes []write
	var removes []string
	next := map[string]string{}

	paths := make([]string, 0, len(r.Files))
	for p := range r.Files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		data := r.Files[p]
		cur, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			writes = append(writes, write{p, data})
			next[p] = hash(data)
			rep.Files = append(rep.Files, FileChange{p, Created})
		case err != nil:
			return nil, err
		case string(cur) == string(data):
			next[p] = hash(data)
			rep.Files = append(rep.Files, FileChange{p, Unchanged})
		case st.Files[p] == hash(cur):
			writes = append(writes, write{p, data})
			next[p] = hash(data)
			rep.Files = append(rep.Files, FileChange{p, Updated})
		case st.Files[p] != "":
			next[p] = editedMarker
			rep.Files = append(rep.Files, FileChange{p, KeptEdited})
		default:
			rep.Files = append(rep.Files, FileChange{p, KeptForeign})
		}
	}
	old := make([]string, 0, len(st.Files))
	for p := range st.Files {
		if _, ok := r.Files[p]; !ok {
			old = append(old, p)
		}
	}
	slices.Sort(old)
	for _, p := range old {
		if !safeRel(p) {
			continue
		}
		cur, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, err
		case hash(cur) == st.Files[p]:
			removes = append(removes, p)
			rep.Files = append(rep.Files, FileChange{p, Removed})
		default:
			rep.Files = append(rep.Files, FileChange{p, KeptEdited})
		}
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, w := range writes {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(w.path)), w.data); err != nil {
			return nil, err
		}
	}
	for _, p := range removes {
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(p))); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	b, err := marshalJSON(state{Version: stateVersion, Files: next, Options: r.Options})
	if err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, StateFile), b); err != nil {
		return nil, err
	}

	stale, notes, err := StaleReferences(dir)
	if err != nil {
		return nil, err
	}
	for i := range stale {
		h, ok := next[filepath.ToSlash(mustRel(dir, stale[i].File))]
		stale[i].Generated = ok && h != editedMarker
	}
	rep.Stale = stale
	rep.Notes = append(rep.Notes, notes...)
	r.Report = rep
	return rep, nil
}

func safeRel(p string) bool {
	return p != "" && !strings.HasPrefix(p, "/") && !slices.Contains(strings.Split(p, "/"), "..")
}

func mustRel(dir, path string) string {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return path
	}
	return rel
}

// writeFile replaces a file atomically (temp file in the same directory, then rename).
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// StaleReferences reads the schema of dir (schema.cedarschema or schema.json) and every
// policies/*.cedar file, and returns each policy action (in the action scope) the schema does
// not declare. Files that do not parse are returned as notes: apply reports them anyway.
func StaleReferences(dir string) ([]StaleReference, []string, error) {
	var schema *policy.Schema
	for _, name := range []string{"schema.cedarschema", "schema.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if schema, err = policy.ParseSchema(b); err != nil {
			return nil, []string{fmt.Sprintf("%s: %v (stale references not checked)", filepath.Join(dir, name), err)}, nil
		}
		break
	}
	if schema == nil {
		return nil, nil, nil
	}
	declared := map[types.EntityUID]bool{}
	for _, a := range schema.Actions() {
		declared[a.UID] = true
	}
	files, err := filepath.Glob(filepath.Join(dir, "policies", "*.cedar"))
	if err != nil {
		return nil, nil, err
	}
	slices.Sort(files)
	var out []StaleReference
	var notes []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, err
		}
		list, err := cedar.NewPolicyListFromBytes(f, b)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: does not parse: %v", f, err))
			continue
		}
		stem := strings.TrimSuffix(filepath.Base(f), ".cedar")
		for i, p := range list {
			id := string(p.Annotations()["id"])
			if id == "" {
				id = stem
				if len(list) > 1 {
					id = fmt.Sprintf("%s.%d", stem, i)
				}
			}
			for _, uid := range scopeActions((*ast.Policy)(p.AST()).Action) {
				if !declared[uid] {
					out = append(out, StaleReference{File: f, PolicyID: id, Action: uid.String()})
				}
			}
		}
	}
	return out, notes, nil
}

func scopeActions(sc ast.IsActionScopeNode) []types.EntityUID {
	switch sc := sc.(type) {
	case ast.ScopeTypeEq:
		return []types.EntityUID{sc.Entity}
	case ast.ScopeTypeIn:
		return []types.EntityUID{sc.Entity}
	case ast.ScopeTypeInSet:
		return sc.Entities
	}
	return nil
}
