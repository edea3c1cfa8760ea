package apidef

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Store layout: every gateway object lives in one scope, so rev(Scope) is the gateway's revision.
const (
	Scope                      = "gateway"
	KindAPI         store.Kind = "api"
	KindGroupPolicy store.Kind = "iam_group_policy"
)

// Resource types in NotFound/Conflict errors.
const (
	ResourceAPI         = "API"
	ResourceGroupPolicy = "GROUP_POLICY"
)

// Service manages API definitions and group policies in a store.
type Service struct {
	st store.Store
}

// NewService returns a Service over st.
func NewService(st store.Store) *Service { return &Service{st: st} }

// Store returns the underlying store.
func (s *Service) Store() store.Store { return s.st }

// GroupPolicy is the IAM policy document of one group for one API (iam authorizers).
type GroupPolicy struct {
	APIID    string          `json:"apiId"`
	Group    string          `json:"group"`
	Document json.RawMessage `json:"document"`
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b[:])
}

func isID(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(idAlphabet, s[i]) < 0 {
			return false
		}
	}
	return true
}

func decodeAPI(o store.Object) (Definition, error) {
	var d Definition
	if err := json.Unmarshal(o.Data, &d); err != nil {
		return Definition{}, fmt.Errorf("stored api %s: %w", o.ID, err)
	}
	d.ID, d.Created, d.Updated = o.ID, o.Created, o.Updated
	return d, nil
}

// getAPI finds an API by id, then by name.
func getAPI(ctx context.Context, r store.Reader, nameOrID string) (Definition, error) {
	if isID(nameOrID) {
		o, err := r.Get(ctx, Scope, KindAPI, nameOrID)
		if err == nil {
			return decodeAPI(o)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return Definition{}, err
		}
	}
	o, err := r.GetByName(ctx, Scope, KindAPI, nameOrID)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return Definition{}, &policystore.NotFoundError{ResourceType: ResourceAPI, ResourceID: nameOrID}
		}
		return Definition{}, err
	}
	return decodeAPI(o)
}

// Put creates the API or replaces the one with the same name, keeping its id. It validates the
// definition, that its base path is not another API's, and that the policy stores of its cedar
// authorizers exist, all in the transaction that writes it.
func (s *Service) Put(ctx context.Context, d Definition) (Definition, error) {
	if err := d.Validate(); err != nil {
		return Definition{}, err
	}
	var out Definition
	err := s.st.Update(ctx, func(tx store.Tx) error {
		var err error
		out, _, err = putInTx(ctx, tx, d)
		return err
	})
	return out, err
}

// Get returns an API by id or name.
func (s *Service) Get(ctx context.Context, nameOrID string) (Definition, error) {
	return getAPI(ctx, s.st, nameOrID)
}

// List returns every API ordered by id.
func (s *Service) List(ctx context.Context) ([]Definition, error) {
	objs, _, err := s.st.List(ctx, store.Query{Scope: Scope, Kind: KindAPI})
	if err != nil {
		return nil, err
	}
	out := make([]Definition, 0, len(objs))
	for _, o := range objs {
		d, err := decodeAPI(o)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Delete removes an API and its group policies.
func (s *Service) Delete(ctx context.Context, nameOrID string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getAPI(ctx, tx, nameOrID)
		if err != nil {
			return err
		}
		pols, _, err := tx.List(ctx, store.Query{Scope: Scope, Kind: KindGroupPolicy, Ref: d.ID})
		if err != nil {
			return err
		}
		for _, p := range pols {
			if err := tx.Delete(ctx, Scope, KindGroupPolicy, p.ID); err != nil {
				return err
			}
		}
		return tx.Delete(ctx, Scope, KindAPI, d.ID)
	})
}

func checkGroup(g string) error {
	if g == "" || len(g) > 128 {
		return fieldError("group", "must be 1 to 128 characters")
	}
	for _, r := range g {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar {
			return fieldError("group", "must not contain spaces or control characters")
		}
	}
	return nil
}

func groupPolicyID(apiID, group string) string { return apiID + "/" + group }

func decodeGroupPolicy(o store.Object) GroupPolicy {
	apiID, group, _ := strings.Cut(o.ID, "/")
	return GroupPolicy{APIID: apiID, Group: group, Document: json.RawMessage(o.Data)}
}

// PutGroupPolicy sets the IAM policy document of a group for an API's iam authorizers. The
// document is validated with iam.Parse; errors name the element (document.Statement[0].Effect).
func (s *Service) PutGroupPolicy(ctx context.Context, api, group string, doc []byte) (GroupPolicy, error) {
	compact, err := checkGroupPolicy(group, doc)
	if err != nil {
		return GroupPolicy{}, err
	}
	var out GroupPolicy
	err = s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getAPI(ctx, tx, api)
		if err != nil {
			return err
		}
		o := store.Object{Scope: Scope, Kind: KindGroupPolicy, ID: groupPolicyID(d.ID, group), Ref: d.ID, Data: compact}
		if err := tx.Put(ctx, o); err != nil {
			return err
		}
		out = decodeGroupPolicy(o)
		return nil
	})
	return out, err
}

// GetGroupPolicy returns one group policy.
func (s *Service) GetGroupPolicy(ctx context.Context, api, group string) (GroupPolicy, error) {
	d, err := getAPI(ctx, s.st, api)
	if err != nil {
		return GroupPolicy{}, err
	}
	o, err := s.st.Get(ctx, Scope, KindGroupPolicy, groupPolicyID(d.ID, group))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return GroupPolicy{}, &policystore.NotFoundError{ResourceType: ResourceGroupPolicy, ResourceID: groupPolicyID(d.Name, group)}
		}
		return GroupPolicy{}, err
	}
	return decodeGroupPolicy(o), nil
}

// DeleteGroupPolicy removes a group policy.
func (s *Service) DeleteGroupPolicy(ctx context.Context, api, group string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		d, err := getAPI(ctx, tx, api)
		if err != nil {
			return err
		}
		if err := tx.Delete(ctx, Scope, KindGroupPolicy, groupPolicyID(d.ID, group)); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return &policystore.NotFoundError{ResourceType: ResourceGroupPolicy, ResourceID: groupPolicyID(d.Name, group)}
			}
			return err
		}
		return nil
	})
}

// ListGroupPolicies returns an API's group policies ordered by group.
func (s *Service) ListGroupPolicies(ctx context.Context, api string) ([]GroupPolicy, error) {
	d, err := getAPI(ctx, s.st, api)
	if err != nil {
		return nil, err
	}
	objs, _, err := s.st.List(ctx, store.Query{Scope: Scope, Kind: KindGroupPolicy, Ref: d.ID})
	if err != nil {
		return nil, err
	}
	out := make([]GroupPolicy, 0, len(objs))
	for _, o := range objs {
		out = append(out, decodeGroupPolicy(o))
	}
	return out, nil
}

// State is every API and group policy at one revision of [Scope].
type State struct {
	Revision int64
	APIs     []Definition
	// GroupPolicies maps API id → group → policy document.
	GroupPolicies map[string]map[string][]byte
}

// Load reads every API and group policy at one revision. The read is optimistic, as
// policystore.Load: the revision is read before and after and the load retried if a write
// landed in between.
func Load(ctx context.Context, st store.Store) (*State, error) {
	for attempt := 0; ; attempt++ {
		before, err := st.Revision(ctx, Scope)
		if err != nil {
			return nil, err
		}
		state, err := load(ctx, st, before)
		if err != nil {
			return nil, err
		}
		after, err := st.Revision(ctx, Scope)
		if err != nil {
			return nil, err
		}
		if after == before {
			return state, nil
		}
		if attempt == 5 {
			return nil, fmt.Errorf("load gateway state: revision kept moving (%d → %d)", before, after)
		}
	}
}

func load(ctx context.Context, st store.Store, rev int64) (*State, error) {
	objs, _, err := st.List(ctx, store.Query{Scope: Scope, Kind: KindAPI})
	if err != nil {
		return nil, fmt.Errorf("list apis: %w", err)
	}
	s := &State{Revision: rev, GroupPolicies: map[string]map[string][]byte{}}
	for _, o := range objs {
		d, err := decodeAPI(o)
		if err != nil {
			return nil, err
		}
		s.APIs = append(s.APIs, d)
	}
	pols, _, err := st.List(ctx, store.Query{Scope: Scope, Kind: KindGroupPolicy})
	if err != nil {
		return nil, fmt.Errorf("list group policies: %w", err)
	}
	for _, o := range pols {
		gp := decodeGroupPolicy(o)
		m := s.GroupPolicies[gp.APIID]
		if m == nil {
			m = map[string][]byte{}
			s.GroupPolicies[gp.APIID] = m
		}
		m[gp.Group] = o.Data
	}
	return s, nil
}
