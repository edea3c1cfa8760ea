package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/authz"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// ConsoleStoreID is the reserved policy store whose Cedar policies decide what each console
// user may see and do. CreatePolicyStore never makes an id of this shape (its ids start with
// PS), the console seeds it before any person can act, and its deletion protection is on, so
// the management API deletes it only after an administrator deliberately turns that off; the
// next console request then seeds the defaults again.
const ConsoleStoreID = "gatehouse-console"

// Roles out of the box.
const (
	RoleViewer        = "viewer"
	RoleAuthor        = "author"
	RoleAdministrator = "administrator"
)

// Actions of the console schema: one per page kind or write.
const (
	ActView        = "View"
	ActCreateStore = "CreateStore"
	ActEditSchema  = "EditSchema"
	ActEditPolicy  = "EditPolicy"
	ActTestBench   = "TestBench"
	ActViewMatrix  = "ViewMatrix"
	ActViewAudit   = "ViewAudit"
	ActViewIdP     = "ViewIdP"
	// ActEditStore changes a store's templates, template links, entities and identity
	// sources; ActManageStore its settings and its deletion.
	ActEditStore   = "EditStore"
	ActManageStore = "ManageStore"
	// ActEditAPIs changes API definitions and group IAM policies; ActEditIdP the built-in
	// IdP's pools, users, groups and clients.
	ActEditAPIs = "EditAPIs"
	ActEditIdP  = "EditIdP"
)

// consoleSchema is the seeded schema: people are Users in Roles; Node is the whole
// Gatehouse node (store list, matrix, audit), Store one policy store.
const consoleSchema = `namespace Console {
  entity Role;
  entity User in [Role];
  entity Node;
  entity Store;
  action View appliesTo { principal: [User], resource: [Node, Store] };
  action CreateStore, ViewMatrix, ViewAudit, ViewIdP, EditAPIs, EditIdP appliesTo { principal: [User], resource: [Node] };
  action EditSchema, EditPolicy, TestBench, EditStore, ManageStore appliesTo { principal: [User], resource: [Store] };
}
`

// consolePolicies are the seeded policies, by name.
var consolePolicies = []avpapi.BundleStatement{
	{Name: "viewer", Statement: `// Viewers read everything and try requests in the test bench.
permit (
  principal in Console::Role::"viewer",
  action in [Console::Action::"View", Console::Action::"TestBench", Console::Action::"ViewMatrix", Console::Action::"ViewAudit"],
  resource
);`},
	{Name: "author", Statement: `// Policy authors also edit schemas and policies.
permit (
  principal in Console::Role::"author",
  action in [Console::Action::"View", Console::Action::"TestBench", Console::Action::"ViewMatrix", Console::Action::"ViewAudit",
             Console::Action::"EditSchema", Console::Action::"EditPolicy"],
  resource
);`},
	{Name: "administrator", Statement: `// Administrators may do everything.
permit (principal in Console::Role::"administrator", action, resource);`},
	{Name: "protect-console-store", Statement: `// Only administrators change the console's own permissions.
forbid (
  principal,
  action in [Console::Action::"EditSchema", Console::Action::"EditPolicy"],
  resource == Console::Store::"gatehouse-console"
) unless { principal in Console::Role::"administrator" };`},
}

// upgrades are the actions added to the console schema after its first release, each with
// the policy that grants it out of the box (none: administrators only, through their
// permit-all policy). They are separate policies, not actions added to the viewer and author
// policies, so that a store seeded by an older node gains them (upgradeStore) without
// rewriting policies an administrator may have edited.
var upgrades = []struct {
	action   string
	resource string // Node or Store
	policies []avpapi.BundleStatement
}{
	{ActViewIdP, "Node", []avpapi.BundleStatement{{Name: "view-idp", Statement: `// Viewers and authors read the built-in IdP's pools, users, groups and app clients.
permit (principal, action == Console::Action::"ViewIdP", resource)
when { principal in Console::Role::"viewer" || principal in Console::Role::"author" };`}}},
	{ActEditStore, "Store", []avpapi.BundleStatement{{Name: "edit-store", Statement: `// Policy authors also edit templates, template links, entities and identity sources.
permit (principal in Console::Role::"author", action == Console::Action::"EditStore", resource);`},
		{Name: "protect-console-store-objects", Statement: `// Only administrators change the console store's entities, templates and identity sources.
forbid (
  principal,
  action in [Console::Action::"EditStore", Console::Action::"ManageStore"],
  resource == Console::Store::"gatehouse-console"
) unless { principal in Console::Role::"administrator" };`}}},
	{ActManageStore, "Store", nil},
	{ActEditAPIs, "Node", nil},
	{ActEditIdP, "Node", nil},
}

// seedState remembers that the reserved store exists, so the check runs once per node.
type seedState struct {
	mu   sync.Mutex
	done bool
}

// ensureStore seeds the reserved store when it is missing, in one ApplyBundle transaction
// (audited with actor console:seed), then turns deletion protection on.
func (c *Console) ensureStore(ctx context.Context) error {
	c.seeded.mu.Lock()
	defer c.seeded.mu.Unlock()
	if c.seeded.done {
		return nil
	}
	_, err := c.d.Policies.GetPolicyStore(ctx, ConsoleStoreID)
	if err == nil {
		if err := c.upgradeStore(ctx); err != nil {
			return err
		}
		c.seeded.done = true
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("console policy store: %w", err)
	}
	seed := &session{user: "seed"}
	in := avpapi.ApplyBundleInput{PolicyStore: &avpapi.BundleStore{PolicyStoreID: ConsoleStoreID, ValidationMode: policystore.ModeStrict,
		Description: "Gatehouse web console permissions (reserved)", Schema: consoleSchema, Policies: seedPolicies()}}
	if _, err := c.call(ctx, seed, "Gatehouse.ApplyBundle", in); err != nil {
		return fmt.Errorf("seed console policy store: %w", err)
	}
	desc := "Gatehouse web console permissions (reserved)"
	if _, err := c.call(ctx, seed, "VerifiedPermissions.UpdatePolicyStore", avpapi.UpdatePolicyStoreInput{PolicyStoreID: ConsoleStoreID,
		ValidationSettings: &avpapi.ValidationSettings{Mode: policystore.ModeStrict}, DeletionProtection: policystore.ProtectionEnabled,
		Description: &desc}); err != nil {
		return fmt.Errorf("protect console policy store: %w", err)
	}
	c.seeded.done = true
	return nil
}

// seedPolicies are the policies a new console store starts with.
func seedPolicies() []avpapi.BundleStatement {
	out := slices.Clone(consolePolicies)
	for _, u := range upgrades {
		out = append(out, u.policies...)
	}
	return out
}

// upgradeStore adds what later versions declare to a store seeded by an earlier one: each
// action of upgrades that the Console namespace of the stored schema lacks is added to it
// (everything else kept) together with that action's policies, all in one ApplyBundle
// transaction that keeps every other policy and fails if the store moved meanwhile (another
// node upgrading it at the same time: the check then runs again on the next request). An
// action already declared is left alone, so each upgrade runs once and an administrator's
// later edits stand; a schema without the Console namespace (rewritten by an administrator)
// is not touched.
func (c *Console) upgradeStore(ctx context.Context) error {
	// The revision is read first: a change after it makes the bundle's precondition fail
	// rather than be overwritten.
	rev, err := c.d.Store.Revision(ctx, ConsoleStoreID)
	if err != nil {
		return fmt.Errorf("console policy store revision: %w", err)
	}
	ps, err := c.d.Policies.GetPolicyStore(ctx, ConsoleStoreID)
	if err != nil {
		return fmt.Errorf("console policy store: %w", err)
	}
	sc, err := c.d.Policies.GetSchema(ctx, ConsoleStoreID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("console policy store schema: %w", err)
	}
	var doc map[string]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(sc.JSON), &doc); err != nil {
		return fmt.Errorf("console policy store schema: %w", err)
	}
	ns, ok := doc["Console"]
	if !ok {
		return nil
	}
	var actions map[string]json.RawMessage
	if err := json.Unmarshal(ns["actions"], &actions); err != nil {
		return fmt.Errorf("console policy store schema actions: %w", err)
	}
	var added []string
	var policies []avpapi.BundleStatement
	for _, u := range upgrades {
		if _, ok := actions[u.action]; ok {
			continue
		}
		actions[u.action] = json.RawMessage(`{"appliesTo":{"principalTypes":["User"],"resourceTypes":["` + u.resource + `"]}}`)
		added = append(added, u.action)
		policies = append(policies, u.policies...)
	}
	if len(added) == 0 {
		return nil
	}
	raw, err := json.Marshal(actions)
	if err != nil {
		return err
	}
	ns["actions"] = raw
	text, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	in := avpapi.ApplyBundleInput{ExpectedRevision: &rev, PolicyStore: &avpapi.BundleStore{PolicyStoreID: ConsoleStoreID,
		ValidationMode: ps.ValidationMode, Description: ps.Description, Schema: string(text), Policies: policies}}
	if _, err := c.call(ctx, &session{user: "seed"}, "Gatehouse.ApplyBundle", in); err != nil {
		return fmt.Errorf("upgrade console policy store: %w", err)
	}
	c.d.Logger.Info("console policy store upgraded", "actions", added)
	return nil
}

// Seed creates the reserved policy store now if it is missing (the node calls it at start;
// the first signed-in request retries when the store was unreachable then).
func (c *Console) Seed(ctx context.Context) error { return c.ensureStore(ctx) }

func nodeResource() types.EntityUID { return types.NewEntityUID("Console::Node", "gatehouse") }

func storeResource(id string) types.EntityUID {
	return types.NewEntityUID("Console::Store", types.String(id))
}

// decision is the console store's answer for one action.
type decision struct {
	Allowed bool
	Action  string
	Reason  string
}

// decide asks the console policy store whether s may take action on resource. Any failure
// is a denial.
func (c *Console) decide(ctx context.Context, s *session, action string, resource types.EntityUID) decision {
	d := decision{Action: action}
	if err := c.ensureStore(ctx); err != nil {
		c.d.Logger.Error("console authorization unavailable", "err", err)
		d.Reason = "the console's policy store cannot be read"
		return d
	}
	user := types.NewEntityUID("Console::User", types.String(s.user))
	parents := make([]types.EntityUID, 0, len(s.roles))
	for _, r := range s.roles {
		parents = append(parents, types.NewEntityUID("Console::Role", types.String(r)))
	}
	ents := types.EntityMap{user: {UID: user, Parents: types.NewEntityUIDSet(parents...)}}
	for _, p := range parents {
		ents[p] = types.Entity{UID: p}
	}
	req := authz.Request{Principal: user, Action: types.NewEntityUID("Console::Action", types.String(action)), Resource: resource, Entities: ents}
	res, err := c.d.Decider.IsAuthorized(awsjson.WithCaller(ctx, "console:"+s.user), ConsoleStoreID, req)
	if errors.Is(err, store.ErrNotFound) {
		// Deleted since it was seeded (after its protection was turned off): seed it again.
		c.seeded.mu.Lock()
		c.seeded.done = false
		c.seeded.mu.Unlock()
		if err = c.ensureStore(ctx); err == nil {
			res, err = c.d.Decider.IsAuthorized(awsjson.WithCaller(ctx, "console:"+s.user), ConsoleStoreID, req)
		}
	}
	if err != nil {
		c.d.Logger.Error("console authorization failed", "err", err, "action", action)
		d.Reason = "the decision failed: " + err.Error()
		return d
	}
	d.Allowed = res.Decision == cedar.Allow
	if !d.Allowed {
		d.Reason = "no policy of the console policy store permits it"
		if len(res.DeterminingPolicies) > 0 {
			d.Reason = "forbidden by policy " + res.DeterminingPolicies[0]
		}
	}
	return d
}
