package policystore

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// StaticDefinition is a static policy's content.
type StaticDefinition struct {
	Statement   string
	Description string
}

// LinkedDefinition instantiates a template.
type LinkedDefinition struct {
	TemplateID string
	Principal  *EntityID
	Resource   *EntityID
}

// CreatePolicyInput are CreatePolicy's parameters; exactly one of Static and Linked is set.
type CreatePolicyInput struct {
	ClientToken string
	Name        string
	Static      *StaticDefinition
	Linked      *LinkedDefinition
}

func getPolicy(ctx context.Context, r store.Reader, storeID, idOrName string) (Policy, error) {
	var (
		o   store.Object
		err error
	)
	if strings.HasPrefix(idOrName, "name/") {
		o, err = r.GetByName(ctx, storeID, KindPolicy, idOrName)
	} else {
		o, err = r.Get(ctx, storeID, KindPolicy, idOrName)
	}
	if err != nil {
		return Policy{}, notFound(err, ResourcePolicy, idOrName)
	}
	p, err := decode[Policy](o)
	p.Created, p.Updated = o.Created, o.Updated
	return p, err
}

func getTemplate(ctx context.Context, r store.Reader, storeID, idOrName string) (Template, error) {
	var (
		o   store.Object
		err error
	)
	if strings.HasPrefix(idOrName, "name/") {
		o, err = r.GetByName(ctx, storeID, KindTemplate, idOrName)
	} else {
		o, err = r.Get(ctx, storeID, KindTemplate, idOrName)
	}
	if err != nil {
		return Template{}, notFound(err, ResourceTemplate, idOrName)
	}
	t, err := decode[Template](o)
	t.Created, t.Updated = o.Created, o.Updated
	return t, err
}

// setDerived records the head fields AVP reports for a policy.
func (p *Policy) setDerived(st *policy.Static) {
	p.Effect = st.Effect
	p.Principal = fromUID(st.Principal)
	p.Resource = fromUID(st.Resource)
	p.Actions = nil
	for _, a := range st.Actions {
		p.Actions = append(p.Actions, EntityID{Type: string(a.Type), ID: string(a.ID)})
	}
}

func parseStatic(path, statement string) (*policy.Static, error) {
	if strings.TrimSpace(statement) == "" {
		return nil, invalid(path, "must not be empty")
	}
	if len(statement) > MaxPolicyBytes {
		return nil, invalid(path, "policy is larger than %d bytes", MaxPolicyBytes)
	}
	st, err := policy.ParseStatic(statement)
	if err != nil {
		return nil, invalid(path, "%v", err)
	}
	return st, nil
}

// link instantiates a template for a linked policy.
func link(path string, t Template, principal, resource *EntityID) (*policy.Static, error) {
	tpl, err := policy.ParseTemplate(t.Statement)
	if err != nil {
		return nil, fmt.Errorf("stored template %s: %w", t.ID, err)
	}
	st, err := tpl.Link(uidPtr(principal), uidPtr(resource))
	if err != nil {
		return nil, invalid(path, "%v", err)
	}
	return st, nil
}

// CreatePolicy creates a static or template-linked policy, validating it in STRICT mode.
func (s *Service) CreatePolicy(ctx context.Context, storeID string, in CreatePolicyInput) (Policy, error) {
	if (in.Static == nil) == (in.Linked == nil) {
		return Policy{}, invalid("definition", "must contain exactly one of static or templateLinked")
	}
	if err := checkName("name", in.Name); err != nil {
		return Policy{}, err
	}
	var parsed *policy.Static
	if in.Static != nil {
		var err error
		if parsed, err = parseStatic("definition.static.statement", in.Static.Statement); err != nil {
			return Policy{}, err
		}
		if err := checkDescription("definition.static.description", in.Static.Description); err != nil {
			return Policy{}, err
		}
	} else if in.Linked.TemplateID == "" {
		return Policy{}, invalid("definition.templateLinked.policyTemplateId", "is required")
	}
	var out Policy
	err := s.st.Update(ctx, func(tx store.Tx) error {
		ps, err := requireStore(ctx, tx, storeID)
		if err != nil {
			return err
		}
		prior, save, err := s.clientToken(ctx, tx, storeID, "CreatePolicy", in.ClientToken, in)
		if err != nil {
			return err
		}
		if prior != "" {
			out, err = getPolicy(ctx, tx, storeID, prior)
			return err
		}
		sch, err := strictSchema(ctx, tx, ps)
		if err != nil {
			return err
		}
		p := Policy{ID: newID("SP"), Name: in.Name}
		if in.Static != nil {
			p.Type, p.Statement, p.Description = TypeStatic, in.Static.Statement, in.Static.Description
			if sch != nil {
				if err := sch.Validate(p.ID, parsed.Policy); err != nil {
					return syntaxInvalid("definition.static.statement", err)
				}
			}
		} else {
			t, err := getTemplate(ctx, tx, storeID, in.Linked.TemplateID)
			if err != nil {
				return err
			}
			p.Type, p.TemplateID = TypeTemplateLinked, t.ID
			p.LinkPrincipal, p.LinkResource = in.Linked.Principal, in.Linked.Resource
			if parsed, err = link("definition.templateLinked", t, p.LinkPrincipal, p.LinkResource); err != nil {
				return err
			}
			if sch != nil {
				if err := sch.Validate(p.ID, parsed.Policy); err != nil {
					return syntaxInvalid("definition.templateLinked", err)
				}
			}
		}
		p.setDerived(parsed)
		if err := tx.Create(ctx, store.Object{Scope: storeID, Kind: KindPolicy, ID: p.ID, Name: p.Name, Ref: p.TemplateID, Data: encode(p)}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &ConflictError{Message: fmt.Sprintf("a policy named %q already exists", p.Name), ResourceType: ResourcePolicy, ResourceID: p.Name}
			}
			return err
		}
		if err := save(p.ID); err != nil {
			return err
		}
		out, err = getPolicy(ctx, tx, storeID, p.ID)
		return err
	})
	return out, err
}

// GetPolicy returns a policy by id or name ("name/...").
func (s *Service) GetPolicy(ctx context.Context, storeID, idOrName string) (Policy, error) {
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return Policy{}, err
	}
	return getPolicy(ctx, s.st, storeID, idOrName)
}

// UpdatePolicyInput are UpdatePolicy's parameters. As in AVP only a static policy's action
// scope and conditions may change; its effect, principal and resource may not.
type UpdatePolicyInput struct {
	Statement   string
	Description *string
	Name        *string // "" removes the name
}

// UpdatePolicy updates a static policy.
func (s *Service) UpdatePolicy(ctx context.Context, storeID, idOrName string, in UpdatePolicyInput) (Policy, error) {
	parsed, err := parseStatic("definition.static.statement", in.Statement)
	if err != nil {
		return Policy{}, err
	}
	if in.Name != nil {
		if err := checkName("name", *in.Name); err != nil {
			return Policy{}, err
		}
	}
	if in.Description != nil {
		if err := checkDescription("definition.static.description", *in.Description); err != nil {
			return Policy{}, err
		}
	}
	var out Policy
	err = s.st.Update(ctx, func(tx store.Tx) error {
		ps, err := requireStore(ctx, tx, storeID)
		if err != nil {
			return err
		}
		p, err := getPolicy(ctx, tx, storeID, idOrName)
		if err != nil {
			return err
		}
		if p.Type != TypeStatic {
			return invalid("definition", "a template-linked policy cannot be updated; update its template or delete and recreate the link")
		}
		old, err := policy.ParseStatic(p.Statement)
		if err != nil {
			return fmt.Errorf("stored policy %s: %w", p.ID, err)
		}
		if err := policy.CheckUpdate(old, parsed); err != nil {
			return invalid("definition.static.statement", "%v", err)
		}
		sch, err := strictSchema(ctx, tx, ps)
		if err != nil {
			return err
		}
		if sch != nil {
			if err := sch.Validate(p.ID, parsed.Policy); err != nil {
				return syntaxInvalid("definition.static.statement", err)
			}
		}
		p.Statement = in.Statement
		if in.Description != nil {
			p.Description = *in.Description
		}
		if in.Name != nil {
			p.Name = *in.Name
		}
		p.setDerived(parsed)
		if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindPolicy, ID: p.ID, Name: p.Name, Data: encode(p)}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &ConflictError{Message: fmt.Sprintf("a policy named %q already exists", p.Name), ResourceType: ResourcePolicy, ResourceID: p.Name}
			}
			return err
		}
		out, err = getPolicy(ctx, tx, storeID, p.ID)
		return err
	})
	return out, err
}

// DeletePolicy deletes a policy. Like AVP, deleting a policy that does not exist succeeds
// only when the store exists; the store itself must exist.
func (s *Service) DeletePolicy(ctx context.Context, storeID, idOrName string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		p, err := getPolicy(ctx, tx, storeID, idOrName)
		if err != nil {
			return err
		}
		return tx.Delete(ctx, storeID, KindPolicy, p.ID)
	})
}

// EntityRef filters on a policy head: Unspecified matches heads with no entity; otherwise
// Identifier must equal the head's entity.
type EntityRef struct {
	Unspecified bool
	Identifier  *EntityID
}

func (r *EntityRef) matches(e *EntityID) bool {
	if r == nil {
		return true
	}
	if r.Unspecified {
		return e == nil
	}
	return e != nil && r.Identifier != nil && *e == *r.Identifier
}

// PolicyFilter selects policies in ListPolicies.
type PolicyFilter struct {
	Principal  *EntityRef
	Resource   *EntityRef
	PolicyType string
	TemplateID string
}

// ListPolicies pages through a store's policies in id order.
func (s *Service) ListPolicies(ctx context.Context, storeID string, f PolicyFilter, pageToken string, max int) ([]Policy, string, error) {
	n, err := PageSize(max)
	if err != nil {
		return nil, "", err
	}
	if f.PolicyType != "" && f.PolicyType != TypeStatic && f.PolicyType != TypeTemplateLinked {
		return nil, "", invalid("filter.policyType", "must be STATIC or TEMPLATE_LINKED")
	}
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return nil, "", err
	}
	q := store.Query{Scope: storeID, Kind: KindPolicy}
	if f.TemplateID != "" {
		q.Ref = f.TemplateID
	}
	// Filters other than the template are applied here, so read the whole (id-ordered) set
	// and page over the matches; the page token is the last returned id.
	objs, _, err := s.st.List(ctx, q)
	if err != nil {
		return nil, "", err
	}
	after, err := decodeAfter(pageToken)
	if err != nil {
		return nil, "", err
	}
	var out []Policy
	for _, o := range objs {
		if after != "" && o.ID <= after {
			continue
		}
		p, err := decode[Policy](o)
		if err != nil {
			return nil, "", err
		}
		p.Created, p.Updated = o.Created, o.Updated
		if (f.PolicyType != "" && p.Type != f.PolicyType) || !f.Principal.matches(p.Principal) || !f.Resource.matches(p.Resource) {
			continue
		}
		if len(out) == n {
			return out, encodeAfter(out[n-1].ID), nil
		}
		out = append(out, p)
	}
	return out, "", nil
}

// ---- Templates ----

// CreateTemplateInput are CreatePolicyTemplate's parameters.
type CreateTemplateInput struct {
	ClientToken string
	Name        string
	Description string
	Statement   string
}

func parseTemplate(path, statement string) (*policy.Template, error) {
	if strings.TrimSpace(statement) == "" {
		return nil, invalid(path, "must not be empty")
	}
	if len(statement) > MaxPolicyBytes {
		return nil, invalid(path, "template is larger than %d bytes", MaxPolicyBytes)
	}
	t, err := policy.ParseTemplate(statement)
	if err != nil {
		return nil, invalid(path, "%v", err)
	}
	return t, nil
}

// CreatePolicyTemplate creates a template, validating it in STRICT mode.
func (s *Service) CreatePolicyTemplate(ctx context.Context, storeID string, in CreateTemplateInput) (Template, error) {
	parsed, err := parseTemplate("statement", in.Statement)
	if err != nil {
		return Template{}, err
	}
	if err := checkName("name", in.Name); err != nil {
		return Template{}, err
	}
	if err := checkDescription("description", in.Description); err != nil {
		return Template{}, err
	}
	var out Template
	err = s.st.Update(ctx, func(tx store.Tx) error {
		ps, err := requireStore(ctx, tx, storeID)
		if err != nil {
			return err
		}
		prior, save, err := s.clientToken(ctx, tx, storeID, "CreatePolicyTemplate", in.ClientToken, in)
		if err != nil {
			return err
		}
		if prior != "" {
			out, err = getTemplate(ctx, tx, storeID, prior)
			return err
		}
		t := Template{ID: newID("PT"), Name: in.Name, Description: in.Description, Statement: in.Statement}
		sch, err := strictSchema(ctx, tx, ps)
		if err != nil {
			return err
		}
		if sch != nil {
			if err := sch.ValidateTemplate(t.ID, parsed); err != nil {
				return syntaxInvalid("statement", err)
			}
		}
		if err := tx.Create(ctx, store.Object{Scope: storeID, Kind: KindTemplate, ID: t.ID, Name: t.Name, Data: encode(t)}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &ConflictError{Message: fmt.Sprintf("a policy template named %q already exists", t.Name), ResourceType: ResourceTemplate, ResourceID: t.Name}
			}
			return err
		}
		if err := save(t.ID); err != nil {
			return err
		}
		out, err = getTemplate(ctx, tx, storeID, t.ID)
		return err
	})
	return out, err
}

// GetPolicyTemplate returns a template by id or name.
func (s *Service) GetPolicyTemplate(ctx context.Context, storeID, idOrName string) (Template, error) {
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return Template{}, err
	}
	return getTemplate(ctx, s.st, storeID, idOrName)
}

// UpdateTemplateInput are UpdatePolicyTemplate's parameters.
type UpdateTemplateInput struct {
	Statement   string
	Description *string
	Name        *string
}

// UpdatePolicyTemplate changes a template and re-links every policy linked to it in the same
// transaction, so decisions switch to the new text atomically. A link the new text cannot
// take (a slot removed, a STRICT validation failure) rejects the whole update.
func (s *Service) UpdatePolicyTemplate(ctx context.Context, storeID, idOrName string, in UpdateTemplateInput) (Template, error) {
	parsed, err := parseTemplate("statement", in.Statement)
	if err != nil {
		return Template{}, err
	}
	if in.Name != nil {
		if err := checkName("name", *in.Name); err != nil {
			return Template{}, err
		}
	}
	var out Template
	err = s.st.Update(ctx, func(tx store.Tx) error {
		ps, err := requireStore(ctx, tx, storeID)
		if err != nil {
			return err
		}
		t, err := getTemplate(ctx, tx, storeID, idOrName)
		if err != nil {
			return err
		}
		sch, err := strictSchema(ctx, tx, ps)
		if err != nil {
			return err
		}
		if sch != nil {
			if err := sch.ValidateTemplate(t.ID, parsed); err != nil {
				return syntaxInvalid("statement", err)
			}
		}
		t.Statement = in.Statement
		if in.Description != nil {
			t.Description = *in.Description
		}
		if in.Name != nil {
			t.Name = *in.Name
		}
		links, _, err := tx.List(ctx, store.Query{Scope: storeID, Kind: KindPolicy, Ref: t.ID})
		if err != nil {
			return err
		}
		for _, o := range links {
			p, err := decode[Policy](o)
			if err != nil {
				return err
			}
			linked, err := link("statement", t, p.LinkPrincipal, p.LinkResource)
			if err != nil {
				return invalid("statement", "policy %s linked to this template cannot be re-linked: %v", p.ID, err)
			}
			if sch != nil {
				if err := sch.Validate(p.ID, linked.Policy); err != nil {
					return syntaxInvalid("statement", err)
				}
			}
			p.setDerived(linked)
			if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindPolicy, ID: p.ID, Name: p.Name, Ref: p.TemplateID, Data: encode(p)}); err != nil {
				return err
			}
		}
		if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindTemplate, ID: t.ID, Name: t.Name, Data: encode(t)}); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &ConflictError{Message: fmt.Sprintf("a policy template named %q already exists", t.Name), ResourceType: ResourceTemplate, ResourceID: t.Name}
			}
			return err
		}
		out, err = getTemplate(ctx, tx, storeID, t.ID)
		return err
	})
	return out, err
}

// DeletePolicyTemplate deletes a template and every policy linked to it.
func (s *Service) DeletePolicyTemplate(ctx context.Context, storeID, idOrName string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		t, err := getTemplate(ctx, tx, storeID, idOrName)
		if err != nil {
			return err
		}
		links, _, err := tx.List(ctx, store.Query{Scope: storeID, Kind: KindPolicy, Ref: t.ID})
		if err != nil {
			return err
		}
		for _, o := range links {
			if err := tx.Delete(ctx, storeID, KindPolicy, o.ID); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, storeID, KindTemplate, t.ID)
	})
}

// ListPolicyTemplates pages through a store's templates.
func (s *Service) ListPolicyTemplates(ctx context.Context, storeID, pageToken string, max int) ([]Template, string, error) {
	n, err := PageSize(max)
	if err != nil {
		return nil, "", err
	}
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return nil, "", err
	}
	objs, next, err := s.st.List(ctx, store.Query{Scope: storeID, Kind: KindTemplate, PageToken: pageToken, Limit: n})
	if errors.Is(err, store.ErrBadPageToken) {
		return nil, "", invalid("nextToken", "is not a token returned by this operation")
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]Template, 0, len(objs))
	for _, o := range objs {
		t, err := decode[Template](o)
		if err != nil {
			return nil, "", err
		}
		t.Created, t.Updated = o.Created, o.Updated
		out = append(out, t)
	}
	return out, next, nil
}

// ---- Entities (a Gatehouse extension: AVP keeps no entity data) ----

// EntityKey is the stored id of an entity: its Cedar literal, e.g. App::Appointment::"PI-T123".
func EntityKey(uid types.EntityUID) string { return uid.String() }

// PutEntities creates or replaces entities (attributes, parents and tags) in one transaction.
func (s *Service) PutEntities(ctx context.Context, storeID string, entities []types.Entity) error {
	if len(entities) == 0 {
		return invalid("entities", "must contain at least one entity")
	}
	if len(entities) > maxEntitiesBatch {
		return invalid("entities", "at most %d entities per call", maxEntitiesBatch)
	}
	for i, e := range entities {
		if e.UID.Type == "" || e.UID.ID == "" {
			return invalid(fmt.Sprintf("entities[%d].identifier", i), "entity type and id are required")
		}
	}
	return s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		sch, err := storedSchema(ctx, tx, storeID)
		if err != nil {
			return err
		}
		for i, e := range entities {
			_, data, err := conformEntity(sch, e, fmt.Sprintf("entities[%d]", i))
			if err != nil {
				return err
			}
			if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindEntity, ID: EntityKey(e.UID), Data: data}); err != nil {
				return err
			}
		}
		return nil
	})
}

// storedSchema returns the store's parsed schema, nil when it has none.
func storedSchema(ctx context.Context, r store.Reader, storeID string) (*policy.Schema, error) {
	doc, err := getSchema(ctx, r, storeID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sch, err := policy.ParseSchema([]byte(doc.JSON))
	if err != nil {
		return nil, fmt.Errorf("stored schema of %s: %w", storeID, err)
	}
	return sch, nil
}

// DeleteEntities deletes entities; unknown ones are ResourceNotFound and nothing is deleted.
func (s *Service) DeleteEntities(ctx context.Context, storeID string, uids []types.EntityUID) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		for _, u := range uids {
			if err := tx.Delete(ctx, storeID, KindEntity, EntityKey(u)); err != nil {
				return notFound(err, ResourceEntity, EntityKey(u))
			}
		}
		return nil
	})
}

// ListEntities pages through a store's entities ordered by their Cedar literal.
func (s *Service) ListEntities(ctx context.Context, storeID, pageToken string, max int) ([]types.Entity, string, error) {
	if max == 0 {
		max = 100
	}
	if max < 1 || max > 1000 {
		return nil, "", invalid("maxResults", "must be between 1 and 1000")
	}
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return nil, "", err
	}
	objs, next, err := s.st.List(ctx, store.Query{Scope: storeID, Kind: KindEntity, PageToken: pageToken, Limit: max})
	if errors.Is(err, store.ErrBadPageToken) {
		return nil, "", invalid("nextToken", "is not a token returned by this operation")
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]types.Entity, 0, len(objs))
	for _, o := range objs {
		var e types.Entity
		if err := e.UnmarshalJSON(o.Data); err != nil {
			return nil, "", fmt.Errorf("stored entity %s: %w", o.ID, err)
		}
		out = append(out, e)
	}
	return out, next, nil
}
