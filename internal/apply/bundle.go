package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// Options control Run.
type Options struct {
	// Prune deletes what the directory does not name.
	Prune bool
	// DryRun computes the plan without writing.
	DryRun bool
	// ExpectedRevision, when set, makes the server refuse (ConflictException) if the
	// bundle's revision moved.
	ExpectedRevision *int64
}

// Report is the outcome of Run: the changes made (or planned) and the objects kept because
// pruning was off.
type Report struct {
	Applied        bool                 `json:"applied"`
	DryRun         bool                 `json:"dryRun"`
	RevisionBefore int64                `json:"revisionBefore"`
	RevisionAfter  int64                `json:"revisionAfter"`
	ChangeDigest   string               `json:"changeDigest,omitempty"`
	Changes        []policystore.Change `json:"changes"`
	Kept           []policystore.Change `json:"kept"`
	// Access lists the access-matrix cells the change flips (plans only; filled by the
	// caller with AccessDiff's help).
	Access []AccessChange `json:"accessChanges"`
	// Current is the server's state before the call as a directory (plans only).
	Current *Dir `json:"-"`
}

// AccessChange is one cell of an access matrix whose value changes.
type AccessChange struct {
	API    string `json:"api"`
	Route  string `json:"route"`
	Group  string `json:"group"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Apply makes the server match d without pruning.
func Apply(ctx context.Context, c Caller, d *Dir) (*Report, error) {
	return Run(ctx, c, d, Options{})
}

// Run sends d as one bundle.
func Run(ctx context.Context, c Caller, d *Dir, opts Options) (*Report, error) {
	in := BundleInput(d)
	in.Prune, in.DryRun, in.ExpectedRevision = opts.Prune, opts.DryRun, opts.ExpectedRevision
	var out avpapi.ApplyBundleOutput
	if err := c.Call(ctx, "Gatehouse.ApplyBundle", in, &out); err != nil {
		return nil, err
	}
	r := &Report{Applied: out.Applied, DryRun: opts.DryRun, RevisionBefore: out.RevisionBefore, RevisionAfter: out.RevisionAfter,
		ChangeDigest: out.ChangeDigest, Changes: []policystore.Change{}, Kept: []policystore.Change{}, Access: []AccessChange{}}
	for _, ch := range out.Changes {
		if ch.Writes() {
			r.Changes = append(r.Changes, ch)
		} else {
			r.Kept = append(r.Kept, ch)
		}
	}
	if out.Current != nil {
		cur, err := DirFromBundle(out.Current)
		if err != nil {
			return nil, fmt.Errorf("current state: %w", err)
		}
		r.Current = cur
	}
	return r, nil
}

// BundleInput converts a directory to the ApplyBundle request.
func BundleInput(d *Dir) *avpapi.ApplyBundleInput {
	in := &avpapi.ApplyBundleInput{}
	if m := d.Manifest; m.PolicyStoreID != "" {
		ps := &avpapi.BundleStore{PolicyStoreID: m.PolicyStoreID, Description: m.Description, ValidationMode: string(m.ValidationMode),
			Schema: d.Schema, Entities: d.Entities}
		for _, p := range d.Policies {
			ps.Policies = append(ps.Policies, avpapi.BundleStatement{Name: p.Name, Statement: p.Text})
		}
		for _, t := range d.Templates {
			ps.Templates = append(ps.Templates, avpapi.BundleStatement{Name: t.Name, Statement: t.Text})
		}
		for _, l := range d.Links {
			ps.Links = append(ps.Links, avpapi.BundleLink{Name: l.Name, Template: l.Template, Principal: l.Principal, Resource: l.Resource})
		}
		for _, is := range d.IdentitySources {
			ps.IdentitySources = append(ps.IdentitySources, avpapi.BundleIdentitySource{PrincipalEntityType: is.PrincipalEntityType, Configuration: is.Configuration})
		}
		in.PolicyStore = ps
	}
	for _, a := range d.APIs {
		in.APIs = append(in.APIs, a.Text)
	}
	for _, gp := range d.GroupPolicies {
		in.GroupPolicies = append(in.GroupPolicies, avpapi.GroupPolicyInput{API: gp.API, Group: gp.Group, PolicyDocument: gp.Document})
	}
	return in
}

// DirFromBundle is the inverse of BundleInput, for the server's current state: a Dir that the
// access matrix can evaluate.
func DirFromBundle(in *avpapi.ApplyBundleInput) (*Dir, error) {
	d := &Dir{Path: "(server)"}
	if ps := in.PolicyStore; ps != nil {
		d.Manifest = Manifest{PolicyStoreID: ps.PolicyStoreID, Description: ps.Description, ValidationMode: Mode(ps.ValidationMode)}
		d.Schema, d.Entities = ps.Schema, ps.Entities
		for _, p := range ps.Policies {
			d.Policies = append(d.Policies, NamedText{Name: p.Name, Text: p.Statement, File: "policy " + p.Name})
		}
		for _, t := range ps.Templates {
			d.Templates = append(d.Templates, NamedText{Name: t.Name, Text: t.Statement, File: "template " + t.Name})
		}
		for _, l := range ps.Links {
			d.Links = append(d.Links, Link{Name: l.Name, Template: l.Template, Principal: l.Principal, Resource: l.Resource})
		}
		for _, is := range ps.IdentitySources {
			d.IdentitySources = append(d.IdentitySources, IdentitySourceSpec{PrincipalEntityType: is.PrincipalEntityType, Configuration: is.Configuration})
		}
	}
	for _, text := range in.APIs {
		def, err := apidef.Parse([]byte(text))
		if err != nil {
			return nil, err
		}
		d.APIs = append(d.APIs, NamedText{Name: def.Name, Text: text, File: "api " + def.Name})
	}
	for _, gp := range in.GroupPolicies {
		d.GroupPolicies = append(d.GroupPolicies, GroupPolicyFile{API: gp.API, Group: gp.Group, Document: gp.PolicyDocument, File: "group policy " + gp.API + "/" + gp.Group})
	}
	return d, nil
}

// HasChanges reports whether applying would change or changed anything.
func (r *Report) HasChanges() bool { return len(r.Changes) > 0 }

// Print writes the report as text: one line per change, the kept objects, the access flips and
// a summary.
func (r *Report) Print(w io.Writer) {
	verb := map[string]string{policystore.ChangeCreate: "+", policystore.ChangeUpdate: "~", policystore.ChangeReplace: "-/+", policystore.ChangeDelete: "-"}
	for _, c := range r.Changes {
		line := fmt.Sprintf("%-3s %s %s: %s", verb[c.Action], c.Kind, c.Name, c.Action)
		if c.Detail != "" {
			line += " (" + c.Detail + ")"
		}
		fmt.Fprintln(w, line)
	}
	for _, c := range r.Kept {
		fmt.Fprintf(w, "    %s %s: kept, not in the directory (--prune deletes it)\n", c.Kind, c.Name)
	}
	if len(r.Access) > 0 {
		fmt.Fprintln(w, "access changes:")
		for _, a := range r.Access {
			fmt.Fprintf(w, "    %s %s, group %s: %s → %s\n", a.API, a.Route, a.Group, a.Before, a.After)
		}
	}
	counts := map[string]int{}
	for _, c := range r.Changes {
		counts[c.Action]++
	}
	summary := fmt.Sprintf("%d to create, %d to update, %d to replace, %d to delete, %d kept", counts[policystore.ChangeCreate],
		counts[policystore.ChangeUpdate], counts[policystore.ChangeReplace], counts[policystore.ChangeDelete], len(r.Kept))
	switch {
	case r.DryRun:
		fmt.Fprintf(w, "plan: %s; %d access change(s)\n", summary, len(r.Access))
	case r.Applied:
		fmt.Fprintf(w, "applied: %s; revision %d → %d\n", strings.ReplaceAll(summary, " to ", " "), r.RevisionBefore, r.RevisionAfter)
	default:
		fmt.Fprintf(w, "no changes (revision %d); %d kept\n", r.RevisionBefore, len(r.Kept))
	}
}

// WriteJSON writes the report as JSON (for CI).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Proposed is the state the server holds after applying d: d itself plus what the server
// keeps although d does not name it — a schema or entities.json the directory lacks (the
// stored one is left alone) and, without pruning, the kept objects — so a plan's access
// comparison decides with what requests will meet, not with a state nobody will hold (a kept
// permit still grants, a stored group hierarchy still counts).
func (r *Report) Proposed(d *Dir) (*Dir, error) {
	cur := r.Current
	if cur == nil {
		return d, nil
	}
	p := *d
	if cur.Manifest.PolicyStoreID == d.Manifest.PolicyStoreID {
		if p.Schema == "" {
			p.Schema = cur.Schema
		}
		if p.Entities == nil {
			p.Entities = cur.Entities
		}
	}
	if len(r.Kept) == 0 {
		return &p, nil
	}
	kept := map[string]bool{}
	for _, c := range r.Kept {
		kept[c.Kind] = true
		kept[c.Kind+" "+c.Name] = true
	}
	p.Policies, p.Templates, p.Links, p.GroupPolicies = slices.Clone(d.Policies), slices.Clone(d.Templates), slices.Clone(d.Links), slices.Clone(d.GroupPolicies)
	for _, x := range cur.Policies {
		if kept["policy "+x.Name] {
			p.Policies = append(p.Policies, x)
		}
	}
	for _, x := range cur.Templates {
		if kept["template "+x.Name] {
			p.Templates = append(p.Templates, x)
		}
	}
	for _, x := range cur.Links {
		if kept["link "+x.Name] {
			p.Links = append(p.Links, x)
		}
	}
	for _, x := range cur.GroupPolicies {
		if kept["group-policy "+x.API+"/"+x.Group] {
			p.GroupPolicies = append(p.GroupPolicies, x)
		}
	}
	if kept["identity-source"] {
		// The server matches identity sources by issuer, which a user pool ARN or an OIDC
		// issuer determines: a stored source none of d's shares it with is kept.
		p.IdentitySources = slices.Clone(d.IdentitySources)
		for _, x := range cur.IdentitySources {
			if k := sourceKey(x); k != "" && !slices.ContainsFunc(d.IdentitySources, func(w IdentitySourceSpec) bool { return sourceKey(w) == k }) {
				p.IdentitySources = append(p.IdentitySources, x)
			}
		}
	}
	if cur.Entities != nil && d.Entities != nil {
		var want, have []json.RawMessage
		if err := json.Unmarshal(d.Entities, &want); err != nil {
			return nil, err
		}
		if err := json.Unmarshal(cur.Entities, &have); err != nil {
			return nil, err
		}
		for _, raw := range have {
			var e types.Entity
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, err
			}
			if kept["entity "+policystore.EntityKey(e.UID)] {
				want = append(want, raw)
			}
		}
		merged, err := json.Marshal(want)
		if err != nil {
			return nil, err
		}
		p.Entities = merged
	}
	return &p, nil
}

// sourceKey is what identifies an identity source across a bundle: its user pool ARN or its
// OIDC issuer.
func sourceKey(is IdentitySourceSpec) string {
	switch c := is.Configuration; {
	case c == nil:
		return ""
	case c.CognitoUserPoolConfiguration != nil:
		return "cognito " + c.CognitoUserPoolConfiguration.UserPoolArn
	case c.OpenIDConnectConfiguration != nil:
		return "oidc " + strings.TrimSuffix(c.OpenIDConnectConfiguration.Issuer, "/")
	}
	return ""
}
