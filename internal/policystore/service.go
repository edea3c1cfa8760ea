package policystore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	jsonv2 "github.com/go-json-experiment/json"
)

// Limits, as AVP's quotas.
const (
	MaxPolicyBytes = 10000
	// AVPMaxSchemaBytes is AVP's schema quota, for deployments that must not accept a schema
	// AWS would refuse (WithMaxSchemaBytes).
	AVPMaxSchemaBytes = 100000
	// DefaultMaxSchemaBytes is the schema limit by default: the management API's request body
	// limit, so a generated schema for a large API is not refused by a quota that only exists
	// for compatibility.
	DefaultMaxSchemaBytes = 1 << 20
	clientTokenTTL        = 8 * time.Hour
	maxNameLength         = 200
	maxDescription        = 150
	defaultPageSize       = 10
	maximumPageSize       = 50
	maxEntitiesBatch      = 1000
)

// Service implements the policy-store operations over a store.Store.
type Service struct {
	st      store.Store
	now     func() time.Time
	account string
	region  string

	maxSchemaBytes int

	cognitoEndpoint CognitoEndpointFunc
}

// Option configures a Service.
type Option func(*Service)

// WithAccount sets the account id and region used in ARNs.
func WithAccount(region, account string) Option {
	return func(s *Service) { s.region, s.account = region, account }
}

// WithMaxSchemaBytes sets the schema size limit (default DefaultMaxSchemaBytes; AVP's quota
// is AVPMaxSchemaBytes). n <= 0 keeps the default.
func WithMaxSchemaBytes(n int) Option {
	return func(s *Service) {
		if n > 0 {
			s.maxSchemaBytes = n
		}
	}
}

// New returns a Service.
func New(st store.Store, opts ...Option) *Service {
	s := &Service{st: st, now: time.Now, account: "000000000000", region: "us-east-1", maxSchemaBytes: DefaultMaxSchemaBytes}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Store returns the underlying store.
func (s *Service) Store() store.Store { return s.st }

// ARN returns a policy store's ARN (AVP's form has no region).
func (s *Service) ARN(storeID string) string {
	return "arn:aws:verifiedpermissions::" + s.account + ":policy-store/" + storeID
}

// PageSize clamps a requested page size to AVP's default 10 and maximum 50.
func PageSize(max int) (int, error) {
	switch {
	case max == 0:
		return defaultPageSize, nil
	case max < 1 || max > maximumPageSize:
		return 0, invalid("maxResults", "must be between 1 and %d", maximumPageSize)
	}
	return max, nil
}

func decode[T any](o store.Object) (T, error) {
	var v T
	// json/v2 reads the stored documents (written by encode: exact member names, valid UTF-8,
	// no duplicates) about five times faster than encoding/json, which was a fifth of the CPU
	// of a 100,000-policy load.
	if err := jsonv2.Unmarshal(o.Data, &v); err != nil {
		return v, fmt.Errorf("decode %s %q: %w", o.Kind, o.ID, err)
	}
	return v, nil
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode stored document: %v", err)) // our own types always marshal
	}
	return b
}

// requireStore loads a policy store inside a transaction.
func requireStore(ctx context.Context, r store.Reader, id string) (PolicyStore, error) {
	o, err := r.Get(ctx, "", KindPolicyStore, id)
	if err != nil {
		return PolicyStore{}, notFound(err, ResourcePolicyStore, id)
	}
	ps, err := decode[PolicyStore](o)
	ps.Created, ps.Updated = o.Created, o.Updated
	return ps, err
}

// clientToken implements AVP's idempotency: the same token and parameters within 8 hours
// return the first call's result; the same token with other parameters is a conflict.
// It returns the id created by the earlier call, or "" when this call should proceed.
func (s *Service) clientToken(ctx context.Context, tx store.Tx, scope, op, token string, params any) (string, func(id string) error, error) {
	if token == "" {
		return "", func(string) error { return nil }, nil
	}
	sum := sha256.Sum256(encode(params))
	hash := hex.EncodeToString(sum[:])
	key := op + ":" + token
	type record struct {
		Hash    string    `json:"hash"`
		ID      string    `json:"id"`
		Expires time.Time `json:"expires"`
	}
	o, err := tx.Get(ctx, scope, KindClientToken, key)
	switch {
	case err == nil:
		rec, err := decode[record](o)
		if err != nil {
			return "", nil, err
		}
		if s.now().Before(rec.Expires) {
			if rec.Hash != hash {
				return "", nil, &ConflictError{Message: "clientToken was already used with different parameters"}
			}
			return rec.ID, nil, nil
		}
	case !errors.Is(err, store.ErrNotFound):
		return "", nil, err
	}
	save := func(id string) error {
		return tx.Put(ctx, store.Object{Scope: scope, Kind: KindClientToken, ID: key,
			Data: encode(record{Hash: hash, ID: id, Expires: s.now().Add(clientTokenTTL)})})
	}
	return "", save, nil
}

// ---- Policy stores ----

// CreateStoreInput are CreatePolicyStore's parameters.
type CreateStoreInput struct {
	ClientToken        string
	Description        string
	ValidationMode     string
	DeletionProtection string
}

func checkMode(path, mode string) error {
	if mode != ModeOff && mode != ModeStrict {
		return invalid(path, "must be OFF or STRICT")
	}
	return nil
}

func checkProtection(path, p string) error {
	if p != ProtectionEnabled && p != ProtectionDisabled {
		return invalid(path, "must be ENABLED or DISABLED")
	}
	return nil
}

func checkDescription(path, d string) error {
	if len(d) > maxDescription {
		return invalid(path, "must be at most %d characters", maxDescription)
	}
	return nil
}

// CreatePolicyStore creates a policy store.
func (s *Service) CreatePolicyStore(ctx context.Context, in CreateStoreInput) (PolicyStore, error) {
	if in.DeletionProtection == "" {
		in.DeletionProtection = ProtectionDisabled
	}
	if err := checkMode("validationSettings.mode", in.ValidationMode); err != nil {
		return PolicyStore{}, err
	}
	if err := checkProtection("deletionProtection", in.DeletionProtection); err != nil {
		return PolicyStore{}, err
	}
	if err := checkDescription("description", in.Description); err != nil {
		return PolicyStore{}, err
	}
	var out PolicyStore
	err := s.st.Update(ctx, func(tx store.Tx) error {
		prior, save, err := s.clientToken(ctx, tx, "", "CreatePolicyStore", in.ClientToken, in)
		if err != nil {
			return err
		}
		if prior != "" {
			out, err = requireStore(ctx, tx, prior)
			return err
		}
		ps := PolicyStore{ID: newID("PS"), Description: in.Description, ValidationMode: in.ValidationMode, DeletionProtection: in.DeletionProtection}
		if err := tx.Create(ctx, store.Object{Kind: KindPolicyStore, ID: ps.ID, Data: encode(ps)}); err != nil {
			return err
		}
		if err := save(ps.ID); err != nil {
			return err
		}
		out, err = requireStore(ctx, tx, ps.ID)
		return err
	})
	return out, err
}

// GetPolicyStore returns a policy store's settings.
func (s *Service) GetPolicyStore(ctx context.Context, id string) (PolicyStore, error) {
	return requireStore(ctx, s.st, id)
}

// ListPolicyStores pages through policy stores.
func (s *Service) ListPolicyStores(ctx context.Context, pageToken string, max int) ([]PolicyStore, string, error) {
	n, err := PageSize(max)
	if err != nil {
		return nil, "", err
	}
	objs, next, err := s.st.List(ctx, store.Query{Kind: KindPolicyStore, PageToken: pageToken, Limit: n})
	if errors.Is(err, store.ErrBadPageToken) {
		return nil, "", invalid("nextToken", "is not a token returned by this operation")
	}
	if err != nil {
		return nil, "", err
	}
	out := make([]PolicyStore, 0, len(objs))
	for _, o := range objs {
		ps, err := decode[PolicyStore](o)
		if err != nil {
			return nil, "", err
		}
		ps.Created, ps.Updated = o.Created, o.Updated
		out = append(out, ps)
	}
	return out, next, nil
}

// UpdateStoreInput are UpdatePolicyStore's parameters; nil pointers leave a setting as is.
type UpdateStoreInput struct {
	ValidationMode     string
	Description        *string
	DeletionProtection *string
}

// UpdatePolicyStore changes a store's settings.
func (s *Service) UpdatePolicyStore(ctx context.Context, id string, in UpdateStoreInput) (PolicyStore, error) {
	if err := checkMode("validationSettings.mode", in.ValidationMode); err != nil {
		return PolicyStore{}, err
	}
	if in.DeletionProtection != nil {
		if err := checkProtection("deletionProtection", *in.DeletionProtection); err != nil {
			return PolicyStore{}, err
		}
	}
	if in.Description != nil {
		if err := checkDescription("description", *in.Description); err != nil {
			return PolicyStore{}, err
		}
	}
	var out PolicyStore
	err := s.st.Update(ctx, func(tx store.Tx) error {
		ps, err := requireStore(ctx, tx, id)
		if err != nil {
			return err
		}
		ps.ValidationMode = in.ValidationMode
		if in.Description != nil {
			ps.Description = *in.Description
		}
		if in.DeletionProtection != nil {
			ps.DeletionProtection = *in.DeletionProtection
		}
		if err := tx.Put(ctx, store.Object{Kind: KindPolicyStore, ID: id, Data: encode(ps)}); err != nil {
			return err
		}
		out, err = requireStore(ctx, tx, id)
		return err
	})
	return out, err
}

// DeletePolicyStore deletes a store and everything in it. Like AVP it succeeds for a store
// that does not exist, and refuses while deletion protection is enabled.
func (s *Service) DeletePolicyStore(ctx context.Context, id string) error {
	return s.st.Update(ctx, func(tx store.Tx) error {
		ps, err := requireStore(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if ps.DeletionProtection == ProtectionEnabled {
			return fmt.Errorf("policy store %s has deletion protection enabled: %w", id, ErrInvalidState)
		}
		if err := tx.DeleteScope(ctx, id); err != nil {
			return err
		}
		return tx.Delete(ctx, "", KindPolicyStore, id)
	})
}

// ---- Schema ----

// PutSchema sets a store's schema from Cedar JSON or .cedarschema text. As in AVP, existing
// policies are not revalidated.
func (s *Service) PutSchema(ctx context.Context, storeID, text string) (Schema, error) {
	if len(text) > s.maxSchemaBytes {
		return Schema{}, invalid("definition.cedarJson", "schema is larger than %d bytes (setting maxSchemaBytes)", s.maxSchemaBytes)
	}
	sch, err := policy.ParseSchema([]byte(text))
	if err != nil {
		return Schema{}, invalid("definition.cedarJson", "%v", err)
	}
	js, err := sch.JSON()
	if err != nil {
		return Schema{}, invalid("definition.cedarJson", "%v", err)
	}
	doc := Schema{JSON: string(js), Namespaces: sch.Namespaces()}
	if doc.Namespaces == nil {
		doc.Namespaces = []string{}
	}
	var out Schema
	err = s.st.Update(ctx, func(tx store.Tx) error {
		if _, err := requireStore(ctx, tx, storeID); err != nil {
			return err
		}
		if err := tx.Put(ctx, store.Object{Scope: storeID, Kind: KindSchema, ID: schemaID, Data: encode(doc)}); err != nil {
			return err
		}
		if _, err := reconformStored(ctx, tx, storeID, sch, "definition.cedarJson"); err != nil {
			return err
		}
		out, err = getSchema(ctx, tx, storeID)
		return err
	})
	return out, err
}

func getSchema(ctx context.Context, r store.Reader, storeID string) (Schema, error) {
	o, err := r.Get(ctx, storeID, KindSchema, schemaID)
	if err != nil {
		return Schema{}, notFound(err, ResourceSchema, storeID)
	}
	sch, err := decode[Schema](o)
	sch.Created, sch.Updated = o.Created, o.Updated
	return sch, err
}

// GetSchema returns a store's schema (ResourceNotFound when it has none).
func (s *Service) GetSchema(ctx context.Context, storeID string) (Schema, error) {
	if _, err := requireStore(ctx, s.st, storeID); err != nil {
		return Schema{}, err
	}
	return getSchema(ctx, s.st, storeID)
}

// strictSchema returns the schema to validate against, nil when the store does not validate,
// and a validation error when it is STRICT without a schema (AVP fails every policy then).
func strictSchema(ctx context.Context, r store.Reader, ps PolicyStore) (*policy.Schema, error) {
	if ps.ValidationMode != ModeStrict {
		return nil, nil
	}
	doc, err := getSchema(ctx, r, ps.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &ValidationError{Message: "policy store " + ps.ID + " has validation mode STRICT and no schema: put a schema before adding policies",
			Fields: []FieldError{{Path: "policyStoreId", Message: "no schema to validate against"}}}
	}
	if err != nil {
		return nil, err
	}
	sch, err := policy.ParseSchema([]byte(doc.JSON))
	if err != nil {
		return nil, fmt.Errorf("stored schema of %s: %w", ps.ID, err)
	}
	return sch, nil
}

// ---- helpers shared by policies and templates ----

func checkName(path, name string) error {
	if name == "" {
		return nil
	}
	if !strings.HasPrefix(name, "name/") || len(name) == len("name/") {
		return invalid(path, "must start with name/ followed by the name")
	}
	if len(name) > maxNameLength {
		return invalid(path, "must be at most %d characters", maxNameLength)
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f {
			return invalid(path, "must not contain spaces or control characters")
		}
	}
	return nil
}

func syntaxInvalid(path string, err error) error {
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		return &ValidationError{Message: err.Error(), Fields: []FieldError{{Path: path, Message: err.Error()}}}
	}
	return invalid(path, "%v", err)
}

// storeIDPattern bounds caller-chosen store ids. Ids share the store's scope namespace with
// user pools (<region>_<id>) and the gateway scope, so those shapes are reserved.
var (
	storeIDPattern  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,99}$`)
	poolShapedID    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d_`)
	reservedScopeID = map[string]bool{"gateway": true}
)

// PutPolicyStore creates a store with a caller-chosen id, or updates the settings of the store
// with that id (a Gatehouse extension that makes `gatehouse apply` idempotent).
func (s *Service) PutPolicyStore(ctx context.Context, id string, in CreateStoreInput) (PolicyStore, bool, error) {
	if !storeIDPattern.MatchString(id) || poolShapedID.MatchString(id) || reservedScopeID[id] {
		return PolicyStore{}, false, invalid("policyStoreId", "must be 1-100 letters, digits, _ or -, start with a letter, and not look like a user pool id or be reserved")
	}
	if in.DeletionProtection == "" {
		in.DeletionProtection = ProtectionDisabled
	}
	if err := checkMode("validationSettings.mode", in.ValidationMode); err != nil {
		return PolicyStore{}, false, err
	}
	if err := checkProtection("deletionProtection", in.DeletionProtection); err != nil {
		return PolicyStore{}, false, err
	}
	if err := checkDescription("description", in.Description); err != nil {
		return PolicyStore{}, false, err
	}
	var (
		out     PolicyStore
		created bool
	)
	err := s.st.Update(ctx, func(tx store.Tx) error {
		cur, err := requireStore(ctx, tx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			created = true
		case err != nil:
			return err
		case cur.Description == in.Description && cur.ValidationMode == in.ValidationMode && cur.DeletionProtection == in.DeletionProtection:
			out = cur
			return nil
		}
		ps := PolicyStore{ID: id, Description: in.Description, ValidationMode: in.ValidationMode, DeletionProtection: in.DeletionProtection}
		if err := tx.Put(ctx, store.Object{Kind: KindPolicyStore, ID: id, Data: encode(ps)}); err != nil {
			return err
		}
		out, err = requireStore(ctx, tx, id)
		return err
	})
	return out, created, err
}
