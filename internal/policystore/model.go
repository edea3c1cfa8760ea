// Package policystore is the control plane of policy stores, modelled on Amazon Verified
// Permissions: stores, schemas, static policies, templates and template-linked policies,
// identity sources and entities. It validates every write, persists it in one store
// transaction (which bumps the policy store's revision), and compiles each store into the
// immutable snapshot the decision engine evaluates.
package policystore

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// Store kinds owned by this package. Policy stores are containers (scope ""); everything
// else lives in the scope of its policy store.
const (
	KindPolicyStore    store.Kind = "policy_store"
	KindSchema         store.Kind = "schema"
	KindPolicy         store.Kind = "policy"
	KindTemplate       store.Kind = "policy_template"
	KindIdentitySource store.Kind = "identity_source"
	KindEntity         store.Kind = "entity"
	KindClientToken    store.Kind = "client_token"
)

// Validation modes and other AVP enums.
const (
	ModeOff    = "OFF"
	ModeStrict = "STRICT"

	ProtectionEnabled  = "ENABLED"
	ProtectionDisabled = "DISABLED"

	TypeStatic         = "STATIC"
	TypeTemplateLinked = "TEMPLATE_LINKED"
)

// schemaID is the id of the single schema object of a store.
const schemaID = "schema"

// EntityID is an entity reference as stored (cedar-go's EntityUID has no stable JSON form of
// its own that we want to depend on).
type EntityID struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// UID converts to cedar-go's type.
func (e EntityID) UID() types.EntityUID {
	return types.NewEntityUID(types.EntityType(e.Type), types.String(e.ID))
}

func fromUID(u *types.EntityUID) *EntityID {
	if u == nil {
		return nil
	}
	return &EntityID{Type: string(u.Type), ID: string(u.ID)}
}

func uidPtr(e *EntityID) *types.EntityUID {
	if e == nil {
		return nil
	}
	u := e.UID()
	return &u
}

// PolicyStore is a store's settings.
type PolicyStore struct {
	ID                 string    `json:"id"`
	Description        string    `json:"description,omitempty"`
	ValidationMode     string    `json:"validationMode"`
	DeletionProtection string    `json:"deletionProtection"`
	Created            time.Time `json:"-"`
	Updated            time.Time `json:"-"`
}

// Schema is a store's Cedar schema in canonical JSON.
type Schema struct {
	JSON       string    `json:"json"`
	Namespaces []string  `json:"namespaces"`
	Created    time.Time `json:"-"`
	Updated    time.Time `json:"-"`
}

// Policy is a static or template-linked policy with the fields AVP derives from its head.
type Policy struct {
	ID          string `json:"id"`
	Name        string `json:"name,omitempty"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// Statement is the Cedar text of a static policy ("" for linked ones: they are linked
	// from the template's current text whenever the store is compiled).
	Statement string `json:"statement,omitempty"`

	TemplateID    string    `json:"templateId,omitempty"`
	LinkPrincipal *EntityID `json:"linkPrincipal,omitempty"`
	LinkResource  *EntityID `json:"linkResource,omitempty"`

	Effect    string     `json:"effect"`
	Principal *EntityID  `json:"principal,omitempty"`
	Resource  *EntityID  `json:"resource,omitempty"`
	Actions   []EntityID `json:"actions,omitempty"`

	Created time.Time `json:"-"`
	Updated time.Time `json:"-"`
}

// Template is a policy template.
type Template struct {
	ID          string    `json:"id"`
	Name        string    `json:"name,omitempty"`
	Description string    `json:"description,omitempty"`
	Statement   string    `json:"statement"`
	Created     time.Time `json:"-"`
	Updated     time.Time `json:"-"`
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newID returns an AVP-style identifier: a two-letter prefix and 20 random characters.
func newID(prefix string) string {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the OS RNG failing is not recoverable
	}
	for i, c := range b {
		b[i] = idAlphabet[int(c)%len(idAlphabet)]
	}
	return prefix + string(b)
}
