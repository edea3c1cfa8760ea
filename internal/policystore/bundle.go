package policystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Bundle is the whole desired state of one policy store, applied by ApplyBundle in the caller's
// transaction. Names are without the "name/" prefix. A zero Schema leaves the stored schema as
// it is, and nil Entities leave the stored entities alone; everything else is managed: what
// the bundle does not name is deleted when pruning, reported as kept otherwise.
type Bundle struct {
	PolicyStoreID   string
	Description     string
	ValidationMode  string
	Schema          string
	Policies        []BundlePolicy
	Templates       []BundlePolicy
	Links           []BundleLink
	IdentitySources []IdentitySourceInput
	// Entities are the complete entity set when non-nil: stored entities it does not name are
	// deleted when pruning or when ReplaceEntities is set (the console's entity editor replaces
	// the set without pruning anything else), reported as kept otherwise.
	Entities        []types.Entity
	ReplaceEntities bool
}

// BundlePolicy is a named static policy or template.
type BundlePolicy struct {
	Name      string
	Statement string
}

// BundleLink is a named template-linked policy; Template is the template's bundle name.
type BundleLink struct {
	Name      string
	Template  string
	Principal *EntityID
	Resource  *EntityID
}

// Change actions.
const (
	ChangeCreate  = "create"
	ChangeUpdate  = "update"
	ChangeReplace = "replace" // deleted and re-created in the same transaction
	ChangeDelete  = "delete"
	// ChangeKeep is an object the bundle does not name that stays because pruning is off.
	ChangeKeep = "keep"
)

// Change is one difference between the store and a bundle.
type Change struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
}

// Writes reports whether c changes the store.
func (c Change) Writes() bool { return c.Action != ChangeKeep }

// ApplyBundle makes the policy store b names match b inside tx: it validates everything
// (policies, templates and links STRICT against the bundle's schema, or the stored one when
// the bundle has none), then writes the differences. Deletions happen only when prune is set.
// It returns every change in a stable order; on error the caller must roll tx back, since
// writes may have been made.
func (s *Service) ApplyBundle(ctx context.Context, tx store.Tx, b Bundle, prune bool) ([]Change, error) {
	v, err := s.checkBundle(ctx, b)
	if err != nil {
		return nil, err
	}
	id := b.PolicyStoreID
	var changes []Change
	add := func(kind, name, action, detail string) {
		changes = append(changes, Change{Kind: kind, Name: name, Action: action, Detail: detail})
	}

	// Settings.
	cur, err := requireStore(ctx, tx, id)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	want := PolicyStore{ID: id, Description: b.Description, ValidationMode: b.ValidationMode, DeletionProtection: ProtectionDisabled}
	if exists {
		want.DeletionProtection = cur.DeletionProtection
	}
	switch {
	case !exists:
		add("policy-store", id, ChangeCreate, "validation "+b.ValidationMode)
	case cur.Description != want.Description || cur.ValidationMode != want.ValidationMode:
		add("policy-store", id, ChangeUpdate, fmt.Sprintf("validation %s → %s", cur.ValidationMode, want.ValidationMode))
	}
	if !exists || cur.Description != want.Description || cur.ValidationMode != want.ValidationMode {
		if err := tx.Put(ctx, store.Object{Kind: KindPolicyStore, ID: id, Data: encode(want)}); err != nil {
			return nil, err
		}
	}

	// Schema: the effective schema validates everything below.
	sch := v.schema
	if v.schemaDoc != nil {
		old, err := getSchema(ctx, tx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			add("schema", "schema", ChangeCreate, "namespaces "+strings.Join(v.schemaDoc.Namespaces, ", "))
		case err != nil:
			return nil, err
		case old.JSON == v.schemaDoc.JSON:
			v.schemaDoc = nil
		default:
			add("schema", "schema", ChangeUpdate, "namespaces "+strings.Join(v.schemaDoc.Namespaces, ", "))
		}
		if v.schemaDoc != nil {
			if err := tx.Put(ctx, store.Object{Scope: id, Kind: KindSchema, ID: schemaID, Data: encode(*v.schemaDoc)}); err != nil {
				return nil, err
			}
		}
	} else if exists {
		doc, err := getSchema(ctx, tx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		if err == nil {
			if sch, err = policy.ParseSchema([]byte(doc.JSON)); err != nil {
				return nil, fmt.Errorf("stored schema of %s: %w", id, err)
			}
		}
	}
	// Entities are read with the schema whatever the validation mode, as decisions read them.
	entSchema, schemaChanged := sch, v.schemaDoc != nil
	if b.ValidationMode != ModeStrict {
		sch = nil
	} else if sch == nil && (len(b.Policies) > 0 || len(b.Templates) > 0 || len(b.Links) > 0) {
		return nil, invalid("schema", "validation mode STRICT needs a schema: add schema.cedarschema or schema.json")
	}

	// Templates first: links are validated against their new text.
	var curTemplates, curPolicies []store.Object
	if exists {
		if curTemplates, _, err = tx.List(ctx, store.Query{Scope: id, Kind: KindTemplate}); err != nil {
			return nil, err
		}
		if curPolicies, _, err = tx.List(ctx, store.Query{Scope: id, Kind: KindPolicy}); err != nil {
			return nil, err
		}
	}
	tplByName := map[string]Template{}
	for _, o := range curTemplates {
		t, err := decode[Template](o)
		if err != nil {
			return nil, err
		}
		key := t.Name
		if key == "" {
			key = t.ID // unnamed templates match nothing in a bundle
		}
		tplByName[key] = t
	}
	tplID := map[string]string{}     // bundle name → id
	tplText := map[string]Template{} // id → template as written
	relink := map[string]bool{}      // template ids whose stored links need re-deriving
	for i, bt := range b.Templates {
		path := fmt.Sprintf("templates[%d]", i)
		if sch != nil {
			if err := sch.ValidateTemplate(bt.Name, v.templates[i]); err != nil {
				return nil, bundleInvalid(path+" ("+bt.Name+")", err)
			}
		}
		t, ok := tplByName["name/"+bt.Name]
		switch {
		case !ok:
			t = Template{ID: newID("PT"), Name: "name/" + bt.Name, Statement: bt.Statement}
			add("template", bt.Name, ChangeCreate, "")
		case strings.TrimSpace(t.Statement) == strings.TrimSpace(bt.Statement):
			tplID[bt.Name], tplText[t.ID] = t.ID, t
			continue
		default:
			t.Statement = bt.Statement
			relink[t.ID] = true
			add("template", bt.Name, ChangeUpdate, "linked policies re-linked")
		}
		if err := tx.Put(ctx, store.Object{Scope: id, Kind: KindTemplate, ID: t.ID, Name: t.Name, Data: encode(t)}); err != nil {
			return nil, err
		}
		tplID[bt.Name], tplText[t.ID] = t.ID, t
	}

	// Policies and links, matched by name.
	polByName := map[string]Policy{}
	for _, o := range curPolicies {
		p, err := decode[Policy](o)
		if err != nil {
			return nil, err
		}
		key := p.Name
		if key == "" {
			key = p.ID // unnamed policies match nothing in a bundle
		}
		polByName[key] = p
	}
	named := map[string]bool{}
	for i, bp := range b.Policies {
		path := fmt.Sprintf("policies[%d]", i)
		name := "name/" + bp.Name
		named[name] = true
		parsed := v.policies[i]
		if sch != nil {
			if err := sch.Validate(bp.Name, parsed.Policy); err != nil {
				return nil, bundleInvalid(path+" ("+bp.Name+")", err)
			}
		}
		old, ok := polByName[name]
		if ok && old.Type == TypeStatic && strings.TrimSpace(old.Statement) == strings.TrimSpace(bp.Statement) {
			continue
		}
		p := Policy{ID: newID("SP"), Name: name, Type: TypeStatic, Statement: bp.Statement}
		action := ChangeCreate
		if ok {
			action = ChangeReplace
			if prev, err := policy.ParseStatic(old.Statement); old.Type == TypeStatic && err == nil && policy.CheckUpdate(prev, parsed) == nil {
				p.ID, p.Description, action = old.ID, old.Description, ChangeUpdate
			} else if err := tx.Delete(ctx, id, KindPolicy, old.ID); err != nil {
				return nil, err
			}
		}
		p.setDerived(parsed)
		if err := tx.Put(ctx, store.Object{Scope: id, Kind: KindPolicy, ID: p.ID, Name: p.Name, Data: encode(p)}); err != nil {
			return nil, err
		}
		detail := ""
		if action == ChangeReplace {
			detail = "effect, principal or resource changed"
		}
		add("policy", bp.Name, action, detail)
	}
	for i, bl := range b.Links {
		path := fmt.Sprintf("links[%d]", i)
		name := "name/" + bl.Name
		if named[name] {
			return nil, invalid(path+".name", "%s is also the name of a static policy", bl.Name)
		}
		named[name] = true
		tid, ok := tplID[bl.Template]
		if !ok {
			return nil, invalid(path+".template", "template %q is not in the bundle", bl.Template)
		}
		linked, err := link(path, tplText[tid], bl.Principal, bl.Resource)
		if err != nil {
			return nil, err
		}
		if sch != nil {
			if err := sch.Validate(bl.Name, linked.Policy); err != nil {
				return nil, bundleInvalid(path+" ("+bl.Name+")", err)
			}
		}
		old, ok := polByName[name]
		if ok && old.Type == TypeTemplateLinked && old.TemplateID == tid && sameEntity(old.LinkPrincipal, bl.Principal) && sameEntity(old.LinkResource, bl.Resource) {
			continue // re-derived below when its template changed
		}
		action := ChangeCreate
		if ok {
			action = ChangeReplace
			if err := tx.Delete(ctx, id, KindPolicy, old.ID); err != nil {
				return nil, err
			}
		}
		p := Policy{ID: newID("SP"), Name: name, Type: TypeTemplateLinked, TemplateID: tid, LinkPrincipal: bl.Principal, LinkResource: bl.Resource}
		p.setDerived(linked)
		if err := tx.Put(ctx, store.Object{Scope: id, Kind: KindPolicy, ID: p.ID, Name: p.Name, Ref: tid, Data: encode(p)}); err != nil {
			return nil, err
		}
		add("link", bl.Name, action, "template "+bl.Template)
	}

	// What the bundle does not name.
	tplKeys := make([]string, 0, len(tplByName))
	for k := range tplByName {
		tplKeys = append(tplKeys, k)
	}
	sort.Strings(tplKeys)
	for _, k := range tplKeys {
		t := tplByName[k]
		if _, ok := tplID[strings.TrimPrefix(t.Name, "name/")]; !ok || t.Name == "" {
			label := strings.TrimPrefix(t.Name, "name/")
			if label == "" {
				label = t.ID
			}
			if !prune {
				add("template", label, ChangeKeep, "not in the bundle")
				continue
			}
			add("template", label, ChangeDelete, "not in the bundle, with its links")
			if err := tx.Delete(ctx, id, KindTemplate, t.ID); err != nil {
				return nil, err
			}
		}
	}
	for _, name := range sortedPolicyNames(polByName) {
		p := polByName[name]
		if named[name] {
			continue
		}
		kind := "policy"
		if p.Type == TypeTemplateLinked {
			kind = "link"
		}
		label := strings.TrimPrefix(name, "name/")
		if !prune {
			add(kind, label, ChangeKeep, "not in the bundle")
			if p.Type == TypeTemplateLinked && relink[p.TemplateID] {
				if err := s.relink(ctx, tx, id, sch, tplText[p.TemplateID], p); err != nil {
					return nil, err
				}
			}
			continue
		}
		add(kind, label, ChangeDelete, "not in the bundle")
		if err := tx.Delete(ctx, id, KindPolicy, p.ID); err != nil {
			return nil, err
		}
	}
	// Unchanged links of an updated template take its new text.
	for _, bl := range b.Links {
		old, ok := polByName["name/"+bl.Name]
		if ok && old.Type == TypeTemplateLinked && relink[old.TemplateID] && old.TemplateID == tplID[bl.Template] &&
			sameEntity(old.LinkPrincipal, bl.Principal) && sameEntity(old.LinkResource, bl.Resource) {
			if err := s.relink(ctx, tx, id, sch, tplText[old.TemplateID], old); err != nil {
				return nil, err
			}
		}
	}

	isChanges, err := applyIdentitySources(ctx, tx, id, v.sources, exists, prune)
	if err != nil {
		return nil, err
	}
	changes = append(changes, isChanges...)
	if b.Entities != nil {
		entChanges, err := applyEntities(ctx, tx, id, b.Entities, entSchema, exists, prune || b.ReplaceEntities)
		if err != nil {
			return nil, err
		}
		changes = append(changes, entChanges...)
	}
	if schemaChanged && exists {
		// Entities the bundle does not name (kept without prune, or all of them when it names
		// none) are read with the new schema too.
		keys, err := reconformStored(ctx, tx, id, entSchema, "schema")
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			changes = append(changes, Change{Kind: "entity", Name: k, Action: ChangeUpdate, Detail: "read with the new schema"})
		}
	}
	return changes, nil
}

// bundleValidated is a bundle's content parsed and checked without the store.
type bundleValidated struct {
	schema    *policy.Schema
	schemaDoc *Schema
	policies  []*policy.Static
	templates []*policy.Template
	sources   []IdentitySource
}

// checkBundle validates everything that does not depend on stored state.
func (s *Service) checkBundle(ctx context.Context, b Bundle) (*bundleValidated, error) {
	if !storeIDPattern.MatchString(b.PolicyStoreID) || poolShapedID.MatchString(b.PolicyStoreID) || reservedScopeID[b.PolicyStoreID] {
		return nil, invalid("policyStoreId", "must be 1-100 letters, digits, _ or -, start with a letter, and not look like a user pool id or be reserved")
	}
	if err := checkMode("validationMode", b.ValidationMode); err != nil {
		return nil, err
	}
	if err := checkDescription("description", b.Description); err != nil {
		return nil, err
	}
	v := &bundleValidated{}
	if b.Schema != "" {
		if len(b.Schema) > s.maxSchemaBytes {
			return nil, invalid("schema", "schema is larger than %d bytes (setting maxSchemaBytes)", s.maxSchemaBytes)
		}
		sch, err := policy.ParseSchema([]byte(b.Schema))
		if err != nil {
			return nil, invalid("schema", "%v", err)
		}
		js, err := sch.JSON()
		if err != nil {
			return nil, invalid("schema", "%v", err)
		}
		v.schema = sch
		v.schemaDoc = &Schema{JSON: string(js), Namespaces: sch.Namespaces()}
		if v.schemaDoc.Namespaces == nil {
			v.schemaDoc.Namespaces = []string{}
		}
	}
	names := map[string]string{}
	checkUnique := func(path, name string) error {
		if err := checkName(path+".name", "name/"+name); err != nil {
			return err
		}
		if prev, dup := names[name]; dup {
			return invalid(path+".name", "%q is already used by %s", name, prev)
		}
		names[name] = path
		return nil
	}
	for i, p := range b.Policies {
		path := fmt.Sprintf("policies[%d]", i)
		if err := checkUnique(path, p.Name); err != nil {
			return nil, err
		}
		st, err := parseStatic(path+".statement", p.Statement)
		if err != nil {
			return nil, err
		}
		v.policies = append(v.policies, st)
	}
	tnames := map[string]bool{}
	for i, t := range b.Templates {
		path := fmt.Sprintf("templates[%d]", i)
		if err := checkName(path+".name", "name/"+t.Name); err != nil {
			return nil, err
		}
		if tnames[t.Name] {
			return nil, invalid(path+".name", "template %q appears twice", t.Name)
		}
		tnames[t.Name] = true
		tpl, err := parseTemplate(path+".statement", t.Statement)
		if err != nil {
			return nil, err
		}
		v.templates = append(v.templates, tpl)
	}
	for i, l := range b.Links {
		if err := checkUnique(fmt.Sprintf("links[%d]", i), l.Name); err != nil {
			return nil, err
		}
	}
	issuers := map[string]int{}
	for i, in := range b.IdentitySources {
		path := fmt.Sprintf("identitySources[%d]", i)
		is, err := s.resolveSource(ctx, "", in, path+".configuration")
		if err != nil {
			return nil, err
		}
		if j, dup := issuers[is.Issuer]; dup {
			return nil, invalid(path, "trusts issuer %s, as identitySources[%d] does", is.Issuer, j)
		}
		issuers[is.Issuer] = i
		v.sources = append(v.sources, is)
	}
	for i, e := range b.Entities {
		if e.UID.Type == "" || e.UID.ID == "" {
			return nil, invalid(fmt.Sprintf("entities[%d].uid", i), "entity type and id are required")
		}
	}
	return v, nil
}

// Within names the element of a larger input a validation error belongs to (path
// "apis[2]" turns field "routes[0].route" into "apis[2].routes[0].route"); other errors pass
// through.
func Within(path string, err error) error {
	var ve *ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	out := &ValidationError{Message: path + ": " + ve.Message}
	for _, f := range ve.Fields {
		out.Fields = append(out.Fields, FieldError{Path: path + "." + f.Path, Message: f.Message})
	}
	return out
}

// bundleInvalid names the bundle element a STRICT validation failure belongs to.
func bundleInvalid(path string, err error) error {
	return &ValidationError{Message: path + ": " + err.Error(), Fields: []FieldError{{Path: path, Message: err.Error()}}}
}

func sameEntity(a, b *EntityID) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func sortedPolicyNames(m map[string]Policy) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// relink re-derives a stored linked policy from its template's new text.
func (s *Service) relink(ctx context.Context, tx store.Tx, storeID string, sch *policy.Schema, t Template, p Policy) error {
	linked, err := link("templates", t, p.LinkPrincipal, p.LinkResource)
	if err != nil {
		return invalid("templates", "policy %s linked to template %s cannot be re-linked: %v", p.Name, t.Name, err)
	}
	if sch != nil {
		if err := sch.Validate(p.ID, linked.Policy); err != nil {
			return bundleInvalid("templates ("+strings.TrimPrefix(t.Name, "name/")+")", err)
		}
	}
	p.setDerived(linked)
	return tx.Put(ctx, store.Object{Scope: storeID, Kind: KindPolicy, ID: p.ID, Name: p.Name, Ref: p.TemplateID, Data: encode(p)})
}

// sourceKey is what makes two identity sources the same for a bundle.
func sourceKey(is IdentitySource) string {
	b, _ := json.Marshal(struct {
		P string
		C any
		E string
	}{is.PrincipalEntityType, is.Configuration, is.CognitoEndpoint})
	return string(b)
}

// applyIdentitySources matches identity sources by issuer.
func applyIdentitySources(ctx context.Context, tx store.Tx, storeID string, want []IdentitySource, exists, prune bool) ([]Change, error) {
	var cur []store.Object
	if exists {
		var err error
		if cur, _, err = tx.List(ctx, store.Query{Scope: storeID, Kind: KindIdentitySource}); err != nil {
			return nil, err
		}
	}
	byIssuer := map[string]IdentitySource{}
	for _, o := range cur {
		is, err := decode[IdentitySource](o)
		if err != nil {
			return nil, err
		}
		byIssuer[is.Issuer] = is
	}
	var changes []Change
	for _, w := range want {
		old, ok := byIssuer[w.Issuer]
		delete(byIssuer, w.Issuer)
		action := ChangeCreate
		if ok {
			w.ID = old.ID
			if sourceKey(old) == sourceKey(w) {
				continue
			}
			action = ChangeUpdate
		} else {
			w.ID = newID("IS")
		}
		if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindIdentitySource, ID: w.ID, Name: w.Issuer, Data: encode(w)}); err != nil {
			return nil, err
		}
		changes = append(changes, Change{Kind: "identity-source", Name: w.Issuer, Action: action})
	}
	stale := make([]string, 0, len(byIssuer))
	for iss := range byIssuer {
		stale = append(stale, iss)
	}
	sort.Strings(stale)
	for _, iss := range stale {
		if !prune {
			changes = append(changes, Change{Kind: "identity-source", Name: iss, Action: ChangeKeep, Detail: "not in the bundle"})
			continue
		}
		if err := tx.Delete(ctx, storeID, KindIdentitySource, byIssuer[iss].ID); err != nil {
			return nil, err
		}
		changes = append(changes, Change{Kind: "identity-source", Name: iss, Action: ChangeDelete, Detail: "not in the bundle"})
	}
	return changes, nil
}

// applyEntities makes the stored entities equal want.
func applyEntities(ctx context.Context, tx store.Tx, storeID string, want []types.Entity, sch *policy.Schema, exists, prune bool) ([]Change, error) {
	cur := map[string]store.Object{}
	if exists {
		objs, _, err := tx.List(ctx, store.Query{Scope: storeID, Kind: KindEntity})
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			cur[o.ID] = o
		}
	}
	var changes []Change
	seen := map[string]bool{}
	for i, e := range want {
		key := EntityKey(e.UID)
		if seen[key] {
			return nil, invalid(fmt.Sprintf("entities[%d].uid", i), "%s appears twice", key)
		}
		seen[key] = true
		_, data, err := conformEntity(sch, e, fmt.Sprintf("entities[%d]", i))
		if err != nil {
			return nil, err
		}
		action := ChangeCreate
		if o, ok := cur[key]; ok {
			if sameEntityData(o.Data, data) {
				continue
			}
			action = ChangeUpdate
		}
		if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindEntity, ID: key, Data: data}); err != nil {
			return nil, err
		}
		changes = append(changes, Change{Kind: "entity", Name: key, Action: action})
	}
	stale := make([]string, 0)
	for key := range cur {
		if !seen[key] {
			stale = append(stale, key)
		}
	}
	sort.Strings(stale)
	for _, key := range stale {
		if !prune {
			changes = append(changes, Change{Kind: "entity", Name: key, Action: ChangeKeep, Detail: "not in the bundle"})
			continue
		}
		if err := tx.Delete(ctx, storeID, KindEntity, key); err != nil {
			return nil, err
		}
		changes = append(changes, Change{Kind: "entity", Name: key, Action: ChangeDelete, Detail: "not in the bundle"})
	}
	return changes, nil
}

// sameEntityData compares stored entity documents by meaning (PostgreSQL may reorder keys).
func sameEntityData(a, b []byte) bool {
	var x, y types.Entity
	if x.UnmarshalJSON(a) != nil || y.UnmarshalJSON(b) != nil {
		return false
	}
	xb, err1 := x.MarshalJSON()
	yb, err2 := y.MarshalJSON()
	return err1 == nil && err2 == nil && string(xb) == string(yb)
}

// ExportBundle reads the current state of a policy store as a Bundle (the inverse of
// ApplyBundle, for plans); unnamed policies and templates are named by their id. ok is false
// when the store does not exist.
func ExportBundle(ctx context.Context, r store.Reader, id string) (b Bundle, ok bool, err error) {
	ps, err := requireStore(ctx, r, id)
	if errors.Is(err, store.ErrNotFound) {
		return Bundle{}, false, nil
	}
	if err != nil {
		return Bundle{}, false, err
	}
	b = Bundle{PolicyStoreID: id, Description: ps.Description, ValidationMode: ps.ValidationMode, Entities: []types.Entity{}}
	if sch, err := getSchema(ctx, r, id); err == nil {
		b.Schema = sch.JSON
	} else if !errors.Is(err, store.ErrNotFound) {
		return Bundle{}, false, err
	}
	label := func(name, id string) string {
		if name == "" {
			return id
		}
		return strings.TrimPrefix(name, "name/")
	}
	tpls, _, err := r.List(ctx, store.Query{Scope: id, Kind: KindTemplate})
	if err != nil {
		return Bundle{}, false, err
	}
	tplName := map[string]string{}
	for _, o := range tpls {
		t, err := decode[Template](o)
		if err != nil {
			return Bundle{}, false, err
		}
		tplName[t.ID] = label(t.Name, t.ID)
		b.Templates = append(b.Templates, BundlePolicy{Name: tplName[t.ID], Statement: t.Statement})
	}
	pols, _, err := r.List(ctx, store.Query{Scope: id, Kind: KindPolicy})
	if err != nil {
		return Bundle{}, false, err
	}
	for _, o := range pols {
		p, err := decode[Policy](o)
		if err != nil {
			return Bundle{}, false, err
		}
		if p.Type == TypeTemplateLinked {
			b.Links = append(b.Links, BundleLink{Name: label(p.Name, p.ID), Template: tplName[p.TemplateID], Principal: p.LinkPrincipal, Resource: p.LinkResource})
			continue
		}
		b.Policies = append(b.Policies, BundlePolicy{Name: label(p.Name, p.ID), Statement: p.Statement})
	}
	srcs, _, err := r.List(ctx, store.Query{Scope: id, Kind: KindIdentitySource})
	if err != nil {
		return Bundle{}, false, err
	}
	for _, o := range srcs {
		is, err := decode[IdentitySource](o)
		if err != nil {
			return Bundle{}, false, err
		}
		b.IdentitySources = append(b.IdentitySources, IdentitySourceInput{Configuration: is.Configuration, PrincipalEntityType: is.PrincipalEntityType})
	}
	ents, _, err := r.List(ctx, store.Query{Scope: id, Kind: KindEntity})
	if err != nil {
		return Bundle{}, false, err
	}
	for _, o := range ents {
		var e types.Entity
		if err := e.UnmarshalJSON(o.Data); err != nil {
			return Bundle{}, false, fmt.Errorf("stored entity %s: %w", o.ID, err)
		}
		b.Entities = append(b.Entities, e)
	}
	return b, true, nil
}
