// This file holds the wire shapes: Go structs whose JSON member names are
// exactly those of the AWS SDK's serializers for VerifiedPermissions
// (API version 2021-12-01). Requests are decoded strictly with
// awsjson.Decode; responses are encoded with encoding/json, so optional
// members use omitzero/omitempty and required ones do not. Unions
// (AttributeValue, ContextDefinition, EntitiesDefinition, PolicyDefinition,
// Configuration, TokenSelection, EntityReference) are structs with one
// optional member per alternative; ExactlyOne checks the "exactly one"
// rule and conversion functions report the field path.

package avpapi

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

// Timestamp is an AVP timestamp: ISO 8601 in UTC with milliseconds, e.g.
// "2026-11-22T18:00:00.123Z", which the SDKs parse with smithytime.ParseDateTime.
type Timestamp struct{ time.Time }

const timestampLayout = "2006-01-02T15:04:05.000Z"

// NewTimestamp truncates t to milliseconds, the precision on the wire.
func NewTimestamp(t time.Time) Timestamp { return Timestamp{t.UTC().Truncate(time.Millisecond)} }

func (t Timestamp) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(timestampLayout) + `"`), nil
}

func (t *Timestamp) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("timestamp must be a string: %w", err)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("timestamp must be ISO 8601: %w", err)
	}
	*t = NewTimestamp(v)
	return nil
}

// Enum values as on the wire.
const (
	DecisionAllow = "ALLOW"
	DecisionDeny  = "DENY"

	PolicyTypeStatic         = "STATIC"
	PolicyTypeTemplateLinked = "TEMPLATE_LINKED"

	EffectPermit = "Permit"
	EffectForbid = "Forbid"

	ValidationModeOff    = "OFF"
	ValidationModeStrict = "STRICT"

	DeletionProtectionEnabled  = "ENABLED"
	DeletionProtectionDisabled = "DISABLED"

	CedarVersion2 = "CEDAR_2"
	CedarVersion4 = "CEDAR_4"

	ResourceTypeIdentitySource   = "IDENTITY_SOURCE"
	ResourceTypePolicyStore      = "POLICY_STORE"
	ResourceTypePolicy           = "POLICY"
	ResourceTypePolicyTemplate   = "POLICY_TEMPLATE"
	ResourceTypeSchema           = "SCHEMA"
	ResourceTypePolicyStoreAlias = "POLICY_STORE_ALIAS"
)

// Unit is an empty structure member such as EncryptionSettings.default.
type Unit struct{}

// ---- Shared identifiers ----

// EntityIdentifier names a Cedar entity.
type EntityIdentifier struct {
	EntityType string `json:"entityType"`
	EntityID   string `json:"entityId"`
}

// ActionIdentifier names a Cedar action.
type ActionIdentifier struct {
	ActionType string `json:"actionType"`
	ActionID   string `json:"actionId"`
}

// EntityReference is a union: unspecified (true) or identifier.
type EntityReference struct {
	Unspecified *bool             `json:"unspecified,omitempty"`
	Identifier  *EntityIdentifier `json:"identifier,omitempty"`
}

// ---- Policy stores ----

type ValidationSettings struct {
	Mode string `json:"mode"`
}

type KmsEncryptionSettings struct {
	Key               string            `json:"key"`
	EncryptionContext map[string]string `json:"encryptionContext,omitempty"`
}

// EncryptionSettings is a union: kmsEncryptionSettings or default.
type EncryptionSettings struct {
	KmsEncryptionSettings *KmsEncryptionSettings `json:"kmsEncryptionSettings,omitempty"`
	Default               *Unit                  `json:"default,omitempty"`
}

// EncryptionState is a union: kmsEncryptionState or default.
type EncryptionState struct {
	KmsEncryptionState *KmsEncryptionSettings `json:"kmsEncryptionState,omitempty"`
	Default            *Unit                  `json:"default,omitempty"`
}

type CreatePolicyStoreInput struct {
	ClientToken        string              `json:"clientToken,omitempty"`
	ValidationSettings *ValidationSettings `json:"validationSettings"`
	Description        string              `json:"description,omitempty"`
	DeletionProtection string              `json:"deletionProtection,omitempty"`
	EncryptionSettings *EncryptionSettings `json:"encryptionSettings,omitempty"`
	Tags               map[string]string   `json:"tags,omitempty"`
}

type CreatePolicyStoreOutput struct {
	PolicyStoreID   string    `json:"policyStoreId"`
	Arn             string    `json:"arn"`
	CreatedDate     Timestamp `json:"createdDate"`
	LastUpdatedDate Timestamp `json:"lastUpdatedDate"`
}

type GetPolicyStoreInput struct {
	PolicyStoreID string `json:"policyStoreId"`
	Tags          *bool  `json:"tags,omitempty"`
}

type GetPolicyStoreOutput struct {
	PolicyStoreID      string              `json:"policyStoreId"`
	Arn                string              `json:"arn"`
	ValidationSettings *ValidationSettings `json:"validationSettings"`
	CreatedDate        Timestamp           `json:"createdDate"`
	LastUpdatedDate    Timestamp           `json:"lastUpdatedDate"`
	Description        string              `json:"description,omitempty"`
	DeletionProtection string              `json:"deletionProtection,omitempty"`
	EncryptionState    *EncryptionState    `json:"encryptionState,omitempty"`
	CedarVersion       string              `json:"cedarVersion,omitempty"`
	Tags               map[string]string   `json:"tags,omitempty"`
}

type UpdatePolicyStoreInput struct {
	PolicyStoreID      string              `json:"policyStoreId"`
	ValidationSettings *ValidationSettings `json:"validationSettings"`
	DeletionProtection string              `json:"deletionProtection,omitempty"`
	Description        *string             `json:"description,omitempty"`
}

type UpdatePolicyStoreOutput = CreatePolicyStoreOutput

type DeletePolicyStoreInput struct {
	PolicyStoreID string `json:"policyStoreId"`
}

type ListPolicyStoresInput struct {
	NextToken  string `json:"nextToken,omitempty"`
	MaxResults *int32 `json:"maxResults,omitempty"`
}

type PolicyStoreItem struct {
	PolicyStoreID   string    `json:"policyStoreId"`
	Arn             string    `json:"arn"`
	CreatedDate     Timestamp `json:"createdDate"`
	LastUpdatedDate Timestamp `json:"lastUpdatedDate,omitzero"`
	Description     string    `json:"description,omitempty"`
}

type ListPolicyStoresOutput struct {
	NextToken    string            `json:"nextToken,omitempty"`
	PolicyStores []PolicyStoreItem `json:"policyStores"`
}

// ---- Schema ----

type SchemaDefinition struct {
	CedarJSON *string `json:"cedarJson,omitempty"`
}

type PutSchemaInput struct {
	PolicyStoreID string            `json:"policyStoreId"`
	Definition    *SchemaDefinition `json:"definition"`
}

type PutSchemaOutput struct {
	PolicyStoreID   string    `json:"policyStoreId"`
	Namespaces      []string  `json:"namespaces"`
	CreatedDate     Timestamp `json:"createdDate"`
	LastUpdatedDate Timestamp `json:"lastUpdatedDate"`
}

type GetSchemaInput struct {
	PolicyStoreID string `json:"policyStoreId"`
}

type GetSchemaOutput struct {
	PolicyStoreID   string    `json:"policyStoreId"`
	Schema          string    `json:"schema"`
	CreatedDate     Timestamp `json:"createdDate"`
	LastUpdatedDate Timestamp `json:"lastUpdatedDate"`
	Namespaces      []string  `json:"namespaces,omitempty"`
}

// ---- Policies ----

// StaticPolicyDefinition is both the input and the detail form. In list
// items Statement is left empty (AVP returns only the description there).
type StaticPolicyDefinition struct {
	Statement   string `json:"statement,omitempty"`
	Description string `json:"description,omitempty"`
}

type TemplateLinkedPolicyDefinition struct {
	PolicyTemplateID string            `json:"policyTemplateId"`
	Principal        *EntityIdentifier `json:"principal,omitempty"`
	Resource         *EntityIdentifier `json:"resource,omitempty"`
}

// PolicyDefinition is a union: static or templateLinked. The same shape
// serves PolicyDefinitionDetail and PolicyDefinitionItem in responses.
type PolicyDefinition struct {
	Static         *StaticPolicyDefinition         `json:"static,omitempty"`
	TemplateLinked *TemplateLinkedPolicyDefinition `json:"templateLinked,omitempty"`
}

// UpdatePolicyDefinition has only the static member.
type UpdatePolicyDefinition struct {
	Static *StaticPolicyDefinition `json:"static,omitempty"`
}

type CreatePolicyInput struct {
	ClientToken   string            `json:"clientToken,omitempty"`
	PolicyStoreID string            `json:"policyStoreId"`
	Definition    *PolicyDefinition `json:"definition"`
	Name          string            `json:"name,omitempty"`
}

// PolicyOutput is the output of CreatePolicy and UpdatePolicy (Definition
// and Name unset) and of GetPolicy.
type PolicyOutput struct {
	PolicyStoreID   string             `json:"policyStoreId"`
	PolicyID        string             `json:"policyId"`
	PolicyType      string             `json:"policyType"`
	Principal       *EntityIdentifier  `json:"principal,omitempty"`
	Resource        *EntityIdentifier  `json:"resource,omitempty"`
	Actions         []ActionIdentifier `json:"actions,omitempty"`
	Definition      *PolicyDefinition  `json:"definition,omitempty"`
	Effect          string             `json:"effect,omitempty"`
	Name            string             `json:"name,omitempty"`
	CreatedDate     Timestamp          `json:"createdDate"`
	LastUpdatedDate Timestamp          `json:"lastUpdatedDate"`
}

type (
	CreatePolicyOutput = PolicyOutput
	GetPolicyOutput    = PolicyOutput
	UpdatePolicyOutput = PolicyOutput
	// PolicyItem is a ListPolicies item: Definition.Static carries only the description.
	PolicyItem = PolicyOutput
)

type GetPolicyInput struct {
	PolicyStoreID string `json:"policyStoreId"`
	PolicyID      string `json:"policyId"`
}

type DeletePolicyInput = GetPolicyInput

type UpdatePolicyInput struct {
	PolicyStoreID string                  `json:"policyStoreId"`
	PolicyID      string                  `json:"policyId"`
	Definition    *UpdatePolicyDefinition `json:"definition,omitempty"`
	Name          *string                 `json:"name,omitempty"`
}

type PolicyFilter struct {
	Principal        *EntityReference `json:"principal,omitempty"`
	Resource         *EntityReference `json:"resource,omitempty"`
	PolicyType       string           `json:"policyType,omitempty"`
	PolicyTemplateID string           `json:"policyTemplateId,omitempty"`
}

type ListPoliciesInput struct {
	PolicyStoreID string        `json:"policyStoreId"`
	NextToken     string        `json:"nextToken,omitempty"`
	MaxResults    *int32        `json:"maxResults,omitempty"`
	Filter        *PolicyFilter `json:"filter,omitempty"`
}

type ListPoliciesOutput struct {
	NextToken string       `json:"nextToken,omitempty"`
	Policies  []PolicyItem `json:"policies"`
}

type BatchGetPolicyInputItem struct {
	PolicyStoreID string `json:"policyStoreId"`
	PolicyID      string `json:"policyId"`
}

type BatchGetPolicyInput struct {
	Requests []BatchGetPolicyInputItem `json:"requests"`
}

type BatchGetPolicyOutputItem struct {
	PolicyStoreID   string            `json:"policyStoreId"`
	PolicyID        string            `json:"policyId"`
	PolicyType      string            `json:"policyType"`
	Definition      *PolicyDefinition `json:"definition"`
	Name            string            `json:"name,omitempty"`
	CreatedDate     Timestamp         `json:"createdDate"`
	LastUpdatedDate Timestamp         `json:"lastUpdatedDate"`
}

// BatchGetPolicyErrorItem.code is one of POLICY_STORE_NOT_FOUND,
// POLICY_NOT_FOUND.
type BatchGetPolicyErrorItem struct {
	Code          string `json:"code"`
	PolicyStoreID string `json:"policyStoreId"`
	PolicyID      string `json:"policyId"`
	Message       string `json:"message"`
}

type BatchGetPolicyOutput struct {
	Results []BatchGetPolicyOutputItem `json:"results"`
	Errors  []BatchGetPolicyErrorItem  `json:"errors"`
}

// ---- Policy templates ----

type CreatePolicyTemplateInput struct {
	ClientToken   string `json:"clientToken,omitempty"`
	PolicyStoreID string `json:"policyStoreId"`
	Statement     string `json:"statement"`
	Description   string `json:"description,omitempty"`
	Name          string `json:"name,omitempty"`
}

type PolicyTemplateOutput struct {
	PolicyStoreID    string    `json:"policyStoreId"`
	PolicyTemplateID string    `json:"policyTemplateId"`
	CreatedDate      Timestamp `json:"createdDate"`
	LastUpdatedDate  Timestamp `json:"lastUpdatedDate"`
}

type (
	CreatePolicyTemplateOutput = PolicyTemplateOutput
	UpdatePolicyTemplateOutput = PolicyTemplateOutput
)

type GetPolicyTemplateInput struct {
	PolicyStoreID    string `json:"policyStoreId"`
	PolicyTemplateID string `json:"policyTemplateId"`
}

type DeletePolicyTemplateInput = GetPolicyTemplateInput

type GetPolicyTemplateOutput struct {
	PolicyStoreID    string    `json:"policyStoreId"`
	PolicyTemplateID string    `json:"policyTemplateId"`
	Statement        string    `json:"statement"`
	Description      string    `json:"description,omitempty"`
	Name             string    `json:"name,omitempty"`
	CreatedDate      Timestamp `json:"createdDate"`
	LastUpdatedDate  Timestamp `json:"lastUpdatedDate"`
}

type UpdatePolicyTemplateInput struct {
	PolicyStoreID    string  `json:"policyStoreId"`
	PolicyTemplateID string  `json:"policyTemplateId"`
	Statement        string  `json:"statement"`
	Description      *string `json:"description,omitempty"`
	Name             *string `json:"name,omitempty"`
}

type ListPolicyTemplatesInput struct {
	PolicyStoreID string `json:"policyStoreId"`
	NextToken     string `json:"nextToken,omitempty"`
	MaxResults    *int32 `json:"maxResults,omitempty"`
}

type PolicyTemplateItem struct {
	PolicyStoreID    string    `json:"policyStoreId"`
	PolicyTemplateID string    `json:"policyTemplateId"`
	Description      string    `json:"description,omitempty"`
	Name             string    `json:"name,omitempty"`
	CreatedDate      Timestamp `json:"createdDate"`
	LastUpdatedDate  Timestamp `json:"lastUpdatedDate"`
}

type ListPolicyTemplatesOutput struct {
	NextToken       string               `json:"nextToken,omitempty"`
	PolicyTemplates []PolicyTemplateItem `json:"policyTemplates"`
}

// ---- Identity sources ----

// The identity-source configuration members that have the same shape on the wire and in the
// store are identity's own types; only the wrappers below differ (an output-only issuer, a
// tokenSelection that must be told apart from null).
type (
	CognitoGroupConfiguration               = identity.CognitoGroupConfiguration
	OpenIDConnectGroupConfiguration         = identity.OpenIDConnectGroupConfiguration
	OpenIDConnectAccessTokenConfiguration   = identity.OpenIDConnectAccessTokenConfiguration
	OpenIDConnectIdentityTokenConfiguration = identity.OpenIDConnectIdentityTokenConfiguration
	OpenIDConnectTokenSelection             = identity.OpenIDConnectTokenSelection
)

// CognitoUserPoolConfiguration serves the input, update, detail and item
// forms; Issuer is output-only.
type CognitoUserPoolConfiguration struct {
	UserPoolArn        string                     `json:"userPoolArn"`
	ClientIDs          []string                   `json:"clientIds,omitempty"`
	Issuer             string                     `json:"issuer,omitempty"`
	GroupConfiguration *CognitoGroupConfiguration `json:"groupConfiguration,omitempty"`
}

// OpenIDConnectConfiguration is identity's, with TokenSelection a pointer so that a
// missing member is told from an empty one.
type OpenIDConnectConfiguration struct {
	Issuer             string                           `json:"issuer"`
	EntityIDPrefix     string                           `json:"entityIdPrefix,omitempty"`
	GroupConfiguration *OpenIDConnectGroupConfiguration `json:"groupConfiguration,omitempty"`
	TokenSelection     *OpenIDConnectTokenSelection     `json:"tokenSelection"`
}

// Configuration is a union: cognitoUserPoolConfiguration or
// openIdConnectConfiguration. It serves Configuration,
// UpdateConfiguration, ConfigurationDetail and ConfigurationItem.
type Configuration struct {
	CognitoUserPoolConfiguration *CognitoUserPoolConfiguration `json:"cognitoUserPoolConfiguration,omitempty"`
	OpenIDConnectConfiguration   *OpenIDConnectConfiguration   `json:"openIdConnectConfiguration,omitempty"`
}

// IdentitySourceDetails is the deprecated details member still returned by
// GetIdentitySource and ListIdentitySources.
type IdentitySourceDetails struct {
	ClientIDs    []string `json:"clientIds,omitempty"`
	UserPoolArn  string   `json:"userPoolArn,omitempty"`
	DiscoveryURL string   `json:"discoveryUrl,omitempty"`
	OpenIDIssuer string   `json:"openIdIssuer,omitempty"` // only "COGNITO"
}

type CreateIdentitySourceInput struct {
	ClientToken         string         `json:"clientToken,omitempty"`
	PolicyStoreID       string         `json:"policyStoreId"`
	Configuration       *Configuration `json:"configuration"`
	PrincipalEntityType string         `json:"principalEntityType,omitempty"`
}

type IdentitySourceOutput struct {
	PolicyStoreID    string    `json:"policyStoreId"`
	IdentitySourceID string    `json:"identitySourceId"`
	CreatedDate      Timestamp `json:"createdDate"`
	LastUpdatedDate  Timestamp `json:"lastUpdatedDate"`
}

type (
	CreateIdentitySourceOutput = IdentitySourceOutput
	UpdateIdentitySourceOutput = IdentitySourceOutput
)

type GetIdentitySourceInput struct {
	PolicyStoreID    string `json:"policyStoreId"`
	IdentitySourceID string `json:"identitySourceId"`
}

type DeleteIdentitySourceInput = GetIdentitySourceInput

// IdentitySource is GetIdentitySourceOutput and an IdentitySourceItem.
type IdentitySource struct {
	PolicyStoreID       string                 `json:"policyStoreId"`
	IdentitySourceID    string                 `json:"identitySourceId"`
	PrincipalEntityType string                 `json:"principalEntityType"`
	Configuration       *Configuration         `json:"configuration,omitempty"`
	Details             *IdentitySourceDetails `json:"details,omitempty"`
	CreatedDate         Timestamp              `json:"createdDate"`
	LastUpdatedDate     Timestamp              `json:"lastUpdatedDate"`
}

type (
	GetIdentitySourceOutput = IdentitySource
	IdentitySourceItem      = IdentitySource
)

type UpdateIdentitySourceInput struct {
	PolicyStoreID       string         `json:"policyStoreId"`
	IdentitySourceID    string         `json:"identitySourceId"`
	UpdateConfiguration *Configuration `json:"updateConfiguration"`
	PrincipalEntityType *string        `json:"principalEntityType,omitempty"`
}

type IdentitySourceFilter struct {
	PrincipalEntityType string `json:"principalEntityType,omitempty"`
}

type ListIdentitySourcesInput struct {
	PolicyStoreID string                 `json:"policyStoreId"`
	NextToken     string                 `json:"nextToken,omitempty"`
	MaxResults    *int32                 `json:"maxResults,omitempty"`
	Filters       []IdentitySourceFilter `json:"filters,omitempty"`
}

type ListIdentitySourcesOutput struct {
	NextToken       string               `json:"nextToken,omitempty"`
	IdentitySources []IdentitySourceItem `json:"identitySources"`
}

// ---- Authorization ----

// ContextDefinition is a union: contextMap or cedarJson.
type ContextDefinition struct {
	ContextMap map[string]AttributeValue `json:"contextMap,omitzero"`
	CedarJSON  *string                   `json:"cedarJson,omitempty"`
}

// EntitiesDefinition is a union: entityList or cedarJson.
type EntitiesDefinition struct {
	EntityList []EntityItem `json:"entityList,omitzero"`
	CedarJSON  *string      `json:"cedarJson,omitempty"`
}

// EntityItem is one entity of an entityList.
type EntityItem struct {
	Identifier *EntityIdentifier         `json:"identifier"`
	Attributes map[string]AttributeValue `json:"attributes,omitempty"`
	Parents    []EntityIdentifier        `json:"parents,omitempty"`
	Tags       map[string]AttributeValue `json:"tags,omitempty"`
}

type DeterminingPolicyItem struct {
	PolicyID string `json:"policyId"`
}

type EvaluationErrorItem struct {
	ErrorDescription string `json:"errorDescription"`
}

type IsAuthorizedInput struct {
	PolicyStoreID string              `json:"policyStoreId"`
	Principal     *EntityIdentifier   `json:"principal,omitempty"`
	Action        *ActionIdentifier   `json:"action,omitempty"`
	Resource      *EntityIdentifier   `json:"resource,omitempty"`
	Context       *ContextDefinition  `json:"context,omitempty"`
	Entities      *EntitiesDefinition `json:"entities,omitempty"`
}

// IsAuthorizedOutput's three members are required, so the slices must be
// non-nil (encode as []).
type IsAuthorizedOutput struct {
	Decision            string                  `json:"decision"`
	DeterminingPolicies []DeterminingPolicyItem `json:"determiningPolicies"`
	Errors              []EvaluationErrorItem   `json:"errors"`
}

type IsAuthorizedWithTokenInput struct {
	PolicyStoreID string              `json:"policyStoreId"`
	IdentityToken string              `json:"identityToken,omitempty"`
	AccessToken   string              `json:"accessToken,omitempty"`
	Action        *ActionIdentifier   `json:"action,omitempty"`
	Resource      *EntityIdentifier   `json:"resource,omitempty"`
	Context       *ContextDefinition  `json:"context,omitempty"`
	Entities      *EntitiesDefinition `json:"entities,omitempty"`
}

type IsAuthorizedWithTokenOutput struct {
	Decision            string                  `json:"decision"`
	DeterminingPolicies []DeterminingPolicyItem `json:"determiningPolicies"`
	Errors              []EvaluationErrorItem   `json:"errors"`
	Principal           *EntityIdentifier       `json:"principal,omitempty"`
}

type BatchIsAuthorizedInputItem struct {
	Principal *EntityIdentifier  `json:"principal,omitempty"`
	Action    *ActionIdentifier  `json:"action,omitempty"`
	Resource  *EntityIdentifier  `json:"resource,omitempty"`
	Context   *ContextDefinition `json:"context,omitempty"`
}

type BatchIsAuthorizedInput struct {
	PolicyStoreID string                       `json:"policyStoreId"`
	Entities      *EntitiesDefinition          `json:"entities,omitempty"`
	Requests      []BatchIsAuthorizedInputItem `json:"requests"`
}

type BatchIsAuthorizedOutputItem struct {
	Request             BatchIsAuthorizedInputItem `json:"request"`
	Decision            string                     `json:"decision"`
	DeterminingPolicies []DeterminingPolicyItem    `json:"determiningPolicies"`
	Errors              []EvaluationErrorItem      `json:"errors"`
}

type BatchIsAuthorizedOutput struct {
	Results []BatchIsAuthorizedOutputItem `json:"results"`
}

type BatchIsAuthorizedWithTokenInputItem struct {
	Action   *ActionIdentifier  `json:"action,omitempty"`
	Resource *EntityIdentifier  `json:"resource,omitempty"`
	Context  *ContextDefinition `json:"context,omitempty"`
}

type BatchIsAuthorizedWithTokenInput struct {
	PolicyStoreID string                                `json:"policyStoreId"`
	IdentityToken string                                `json:"identityToken,omitempty"`
	AccessToken   string                                `json:"accessToken,omitempty"`
	Entities      *EntitiesDefinition                   `json:"entities,omitempty"`
	Requests      []BatchIsAuthorizedWithTokenInputItem `json:"requests"`
}

type BatchIsAuthorizedWithTokenOutputItem struct {
	Request             BatchIsAuthorizedWithTokenInputItem `json:"request"`
	Decision            string                              `json:"decision"`
	DeterminingPolicies []DeterminingPolicyItem             `json:"determiningPolicies"`
	Errors              []EvaluationErrorItem               `json:"errors"`
}

type BatchIsAuthorizedWithTokenOutput struct {
	Principal *EntityIdentifier                      `json:"principal,omitempty"`
	Results   []BatchIsAuthorizedWithTokenOutputItem `json:"results"`
}

// ExactlyOne reports whether exactly one of the given union-member
// presence flags is set.
func ExactlyOne(set ...bool) bool {
	n := 0
	for _, s := range set {
		if s {
			n++
		}
	}
	return n == 1
}
