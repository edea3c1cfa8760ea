package avpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Gatehouse.ApplyBundle: a whole desired state — one policy store with everything in it, APIs
// and their group policies — validated first and written in one store transaction, or not at
// all. It is what `gatehouse apply` and `gatehouse plan` call.

// ApplyBundleInput is the desired state and how to apply it.
type ApplyBundleInput struct {
	PolicyStore *BundleStore `json:"policyStore,omitempty"`
	// APIs are definitions as YAML or JSON text, matched by name.
	APIs          []string           `json:"apis,omitempty"`
	GroupPolicies []GroupPolicyInput `json:"groupPolicies,omitempty"`
	// Prune deletes what the bundle does not name; without it such objects are kept and
	// reported with action "keep".
	Prune bool `json:"prune,omitempty"`
	// DryRun computes the changes and returns the current state without writing.
	DryRun bool `json:"dryRun,omitempty"`
	// ExpectedRevision fails the call with ConflictException unless the bundle's revision
	// (the policy store's, else the gateway's) still has this value.
	ExpectedRevision *int64 `json:"expectedRevision,omitempty"`
}

// BundleStore is a policy store's desired state.
type BundleStore struct {
	PolicyStoreID  string `json:"policyStoreId"`
	Description    string `json:"description,omitempty"`
	ValidationMode string `json:"validationMode"`
	// Schema is Cedar JSON or .cedarschema text; empty leaves the stored schema.
	Schema          string                 `json:"schema,omitempty"`
	Policies        []BundleStatement      `json:"policies,omitempty"`
	Templates       []BundleStatement      `json:"templates,omitempty"`
	Links           []BundleLink           `json:"links,omitempty"`
	IdentitySources []BundleIdentitySource `json:"identitySources,omitempty"`
	// Entities is a Cedar JSON entity array, the complete set; absent leaves stored entities.
	// Stored entities it does not name are deleted with prune or replaceEntities, kept otherwise.
	Entities json.RawMessage `json:"entities,omitempty"`
	// ReplaceEntities deletes the stored entities Entities does not name without pruning
	// anything else (policies, templates, identity sources the bundle does not name stay).
	ReplaceEntities bool `json:"replaceEntities,omitempty"`
}

// BundleStatement is a named policy or template (the name without "name/").
type BundleStatement struct {
	Name      string `json:"name"`
	Statement string `json:"statement"`
}

// BundleLink is a template-linked policy naming its template by bundle name.
type BundleLink struct {
	Name      string            `json:"name"`
	Template  string            `json:"template"`
	Principal *EntityIdentifier `json:"principal,omitempty"`
	Resource  *EntityIdentifier `json:"resource,omitempty"`
}

// BundleIdentitySource is an identity source in AVP's configuration shape.
type BundleIdentitySource struct {
	PrincipalEntityType string         `json:"principalEntityType,omitempty"`
	Configuration       *Configuration `json:"configuration"`
}

// ApplyBundleOutput reports what changed (or would change).
type ApplyBundleOutput struct {
	// Applied is true when the changes were committed (false for a dry run or no change).
	Applied        bool                 `json:"applied"`
	RevisionBefore int64                `json:"revisionBefore"`
	RevisionAfter  int64                `json:"revisionAfter"`
	Changes        []policystore.Change `json:"changes"`
	// ChangeDigest is sha256 over the changes and the bundle, as recorded in the audit trail.
	ChangeDigest string `json:"changeDigest"`
	// Current is the state before the call, for dry runs (the plan's access comparison).
	Current *ApplyBundleInput `json:"current,omitempty"`
}

// BundleObserver is told about every committed bundle (the audit trail). The API's
// observer receives it when it implements this interface.
type BundleObserver interface {
	BundleApplied(ctx context.Context, b BundleApplied)
}

// BundleApplied describes one committed bundle.
type BundleApplied struct {
	PolicyStoreID  string
	Scope          string
	RevisionBefore int64
	RevisionAfter  int64
	Changes        int
	Digest         string
}

// errDryRun rolls the transaction of a dry run (or of a bundle that changes nothing) back.
var errDryRun = errors.New("dry run")

func (a *API) applyBundle(ctx context.Context, in *ApplyBundleInput) (*ApplyBundleOutput, error) {
	var (
		psBundle *policystore.Bundle
		err      error
	)
	if in.PolicyStore != nil {
		if psBundle, err = bundleIn(in.PolicyStore); err != nil {
			return nil, err
		}
	}
	defs := make([]apidef.Definition, 0, len(in.APIs))
	names := make([]string, 0, len(in.APIs))
	for i, text := range in.APIs {
		d, err := apidef.Parse([]byte(text))
		if err != nil {
			return nil, invalid(fmt.Sprintf("apis[%d]", i), "%v", err)
		}
		defs = append(defs, d)
		names = append(names, d.Name)
	}
	gps := make([]apidef.BundleGroupPolicy, 0, len(in.GroupPolicies))
	for i, gp := range in.GroupPolicies {
		if gp.API == "" || gp.Group == "" {
			return nil, invalid(fmt.Sprintf("groupPolicies[%d]", i), "api and group are required")
		}
		gps = append(gps, apidef.BundleGroupPolicy{API: gp.API, Group: gp.Group, Document: []byte(gp.PolicyDocument)})
		names = append(names, gp.API)
	}
	scope := apidef.Scope
	if psBundle != nil {
		scope = psBundle.PolicyStoreID
	}
	digestInput := *in
	digestInput.DryRun = false

	var out *ApplyBundleOutput
	err = a.svc.Store().Update(ctx, func(stx store.Tx) error {
		tx := &scopeTracker{Tx: stx, touched: map[string]bool{}}
		out = &ApplyBundleOutput{Changes: []policystore.Change{}}
		before, err := tx.Revision(ctx, scope)
		if err != nil {
			return err
		}
		out.RevisionBefore, out.RevisionAfter = before, before
		if in.ExpectedRevision != nil && *in.ExpectedRevision != before {
			return &policystore.ConflictError{Message: fmt.Sprintf("expectedRevision %d: %s is at revision %d", *in.ExpectedRevision, scope, before),
				ResourceType: "REVISION", ResourceID: scope}
		}
		if in.DryRun {
			if out.Current, err = exportBundle(ctx, tx, psBundle, names); err != nil {
				return err
			}
		}
		if psBundle != nil {
			ch, err := a.svc.ApplyBundle(ctx, tx, *psBundle, in.Prune)
			if err != nil {
				return policystore.Within("policyStore", err)
			}
			out.Changes = append(out.Changes, ch...)
		}
		ch, err := apidef.ApplyBundle(ctx, tx, defs, gps, in.Prune)
		if err != nil {
			return err
		}
		out.Changes = append(out.Changes, ch...)
		b, _ := json.Marshal(struct {
			Changes []policystore.Change
			Bundle  ApplyBundleInput
		}{out.Changes, digestInput})
		sum := sha256.Sum256(b)
		out.ChangeDigest = "sha256:" + hex.EncodeToString(sum[:])
		if in.DryRun || len(tx.touched) == 0 {
			return errDryRun
		}
		if tx.touched[scope] {
			out.RevisionAfter = before + 1 // every touched scope is bumped exactly once
		}
		out.Applied = true
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	if out.Applied {
		if o, ok := a.observer.(BundleObserver); ok {
			id := ""
			if psBundle != nil {
				id = psBundle.PolicyStoreID
			}
			o.BundleApplied(ctx, BundleApplied{PolicyStoreID: id, Scope: scope, RevisionBefore: out.RevisionBefore,
				RevisionAfter: out.RevisionAfter, Changes: len(out.Changes), Digest: out.ChangeDigest})
		}
	}
	return out, nil
}

// scopeTracker records the scopes a transaction writes.
type scopeTracker struct {
	store.Tx
	touched map[string]bool
}

func (t *scopeTracker) mark(scope, id string) {
	t.touched[scope] = true
	if scope == "" {
		t.touched[id] = true
	}
}

func (t *scopeTracker) Create(ctx context.Context, o store.Object) error {
	t.mark(o.Scope, o.ID)
	return t.Tx.Create(ctx, o)
}

func (t *scopeTracker) Put(ctx context.Context, o store.Object) error {
	t.mark(o.Scope, o.ID)
	return t.Tx.Put(ctx, o)
}

func (t *scopeTracker) Delete(ctx context.Context, scope string, kind store.Kind, id string) error {
	t.mark(scope, id)
	return t.Tx.Delete(ctx, scope, kind, id)
}

func (t *scopeTracker) DeleteScope(ctx context.Context, scope string) error {
	t.mark(scope, "")
	return t.Tx.DeleteScope(ctx, scope)
}

// bundleIn converts the wire form; errors name the field.
func bundleIn(in *BundleStore) (*policystore.Bundle, error) {
	b := &policystore.Bundle{PolicyStoreID: in.PolicyStoreID, Description: in.Description, ValidationMode: in.ValidationMode, Schema: in.Schema}
	for _, p := range in.Policies {
		b.Policies = append(b.Policies, policystore.BundlePolicy{Name: p.Name, Statement: p.Statement})
	}
	for _, t := range in.Templates {
		b.Templates = append(b.Templates, policystore.BundlePolicy{Name: t.Name, Statement: t.Statement})
	}
	for i, l := range in.Links {
		path := fmt.Sprintf("policyStore.links[%d]", i)
		pr, err := fromWireID(path+".principal", l.Principal)
		if err != nil {
			return nil, err
		}
		res, err := fromWireID(path+".resource", l.Resource)
		if err != nil {
			return nil, err
		}
		b.Links = append(b.Links, policystore.BundleLink{Name: l.Name, Template: l.Template, Principal: pr, Resource: res})
	}
	for i, is := range in.IdentitySources {
		cfg, err := configIn(fmt.Sprintf("policyStore.identitySources[%d].configuration", i), is.Configuration)
		if err != nil {
			return nil, err
		}
		b.IdentitySources = append(b.IdentitySources, policystore.IdentitySourceInput{Configuration: cfg, PrincipalEntityType: is.PrincipalEntityType})
	}
	if in.ReplaceEntities && in.Entities == nil {
		return nil, invalid("policyStore.replaceEntities", "needs policyStore.entities (the complete set)")
	}
	b.ReplaceEntities = in.ReplaceEntities
	if in.Entities != nil {
		m, err := EntitiesFromCedarJSON(in.Entities, "policyStore.entities")
		if err != nil {
			return nil, err
		}
		b.Entities = make([]types.Entity, 0, len(m))
		for _, e := range m {
			b.Entities = append(b.Entities, e)
		}
		// The map has no order; changes and their digest must not depend on it.
		slices.SortFunc(b.Entities, func(x, y types.Entity) int {
			return strings.Compare(policystore.EntityKey(x.UID), policystore.EntityKey(y.UID))
		})
	}
	return b, nil
}

// ExportBundle reads the current state of a policy store (when storeID is not "") and of the
// named APIs in the wire form ApplyBundle takes: what the web console's access matrix
// evaluates, as `gatehouse plan` evaluates a dry run's Current.
func ExportBundle(ctx context.Context, r store.Reader, storeID string, apiNames []string) (*ApplyBundleInput, error) {
	var ps *policystore.Bundle
	if storeID != "" {
		ps = &policystore.Bundle{PolicyStoreID: storeID}
	}
	return exportBundle(ctx, r, ps, apiNames)
}

// exportBundle reads the current state of what the bundle names, in the wire form.
func exportBundle(ctx context.Context, r store.Reader, ps *policystore.Bundle, apiNames []string) (*ApplyBundleInput, error) {
	out := &ApplyBundleInput{}
	if ps != nil {
		b, ok, err := policystore.ExportBundle(ctx, r, ps.PolicyStoreID)
		if err != nil {
			return nil, err
		}
		if ok {
			w := &BundleStore{PolicyStoreID: b.PolicyStoreID, Description: b.Description, ValidationMode: b.ValidationMode, Schema: b.Schema}
			for _, p := range b.Policies {
				w.Policies = append(w.Policies, BundleStatement(p))
			}
			for _, t := range b.Templates {
				w.Templates = append(w.Templates, BundleStatement(t))
			}
			for _, l := range b.Links {
				w.Links = append(w.Links, BundleLink{Name: l.Name, Template: l.Template, Principal: toWireID(l.Principal), Resource: toWireID(l.Resource)})
			}
			for _, is := range b.IdentitySources {
				var cfg Configuration
				raw, _ := json.Marshal(is.Configuration)
				if err := json.Unmarshal(raw, &cfg); err != nil {
					return nil, fmt.Errorf("stored identity source: %w", err)
				}
				w.IdentitySources = append(w.IdentitySources, BundleIdentitySource{PrincipalEntityType: is.PrincipalEntityType, Configuration: &cfg})
			}
			ents, err := json.Marshal(b.Entities)
			if err != nil {
				return nil, err
			}
			w.Entities = ents
			out.PolicyStore = w
		}
	}
	defs, gps, err := apidef.ExportBundle(ctx, r, apiNames)
	if err != nil {
		return nil, err
	}
	for _, d := range defs {
		d.ID = ""
		text, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		out.APIs = append(out.APIs, string(text))
	}
	for _, gp := range gps {
		out.GroupPolicies = append(out.GroupPolicies, GroupPolicyInput{API: gp.API, Group: gp.Group, PolicyDocument: string(gp.Document)})
	}
	return out, nil
}
