package apidef

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"github.com/gatehouse-dev/gatehouse/internal/iam"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
)

// BundleGroupPolicy is one group's IAM policy document for an API of a bundle.
type BundleGroupPolicy struct {
	API      string // the API's name
	Group    string
	Document []byte
}

// ApplyBundle writes defs (matched by name) and, for every API that gp names, makes its group
// policies equal gp, in the caller's transaction, so they commit with the policy stores they
// refer to. APIs the bundle does not name belong to other bundles and stay; group policies of
// a named API that gp lacks are deleted only when prune is set. On error the caller must roll
// tx back.
func ApplyBundle(ctx context.Context, tx store.Tx, defs []Definition, gp []BundleGroupPolicy, prune bool) ([]policystore.Change, error) {
	var changes []policystore.Change
	ids := map[string]string{} // API name → id
	for i, d := range defs {
		if err := d.Validate(); err != nil {
			return nil, policystore.Within(fmt.Sprintf("apis[%d]", i), err)
		}
		if _, dup := ids[d.Name]; dup {
			return nil, fieldError(fmt.Sprintf("apis[%d].name", i), "API %s appears twice", d.Name)
		}
		stored, action, err := putInTx(ctx, tx, d)
		if err != nil {
			return nil, policystore.Within(fmt.Sprintf("apis[%d]", i), err)
		}
		ids[d.Name] = stored.ID
		if action != "" {
			changes = append(changes, policystore.Change{Kind: "api", Name: d.Name, Action: action, Detail: stored.EffectiveBasePath()})
		}
	}
	byAPI := map[string][]BundleGroupPolicy{}
	for _, p := range gp {
		byAPI[p.API] = append(byAPI[p.API], p)
	}
	apis := sortedKeys(byAPI)
	for _, api := range apis {
		id, ok := ids[api]
		if !ok {
			d, err := getAPI(ctx, tx, api)
			if err != nil {
				return nil, fmt.Errorf("group policies of API %s: %w", api, err)
			}
			id = d.ID
		}
		cur, _, err := tx.List(ctx, store.Query{Scope: Scope, Kind: KindGroupPolicy, Ref: id})
		if err != nil {
			return nil, err
		}
		have := map[string][]byte{}
		for _, o := range cur {
			have[decodeGroupPolicy(o).Group] = o.Data
		}
		for _, p := range byAPI[api] {
			doc, err := checkGroupPolicy(p.Group, p.Document)
			if err != nil {
				return nil, policystore.Within("groupPolicies["+api+"/"+p.Group+"]", err)
			}
			old, ok := have[p.Group]
			delete(have, p.Group)
			if ok && sameJSON(old, doc) {
				continue
			}
			if err := tx.Put(ctx, store.Object{Scope: Scope, Kind: KindGroupPolicy, ID: groupPolicyID(id, p.Group), Ref: id, Data: doc}); err != nil {
				return nil, err
			}
			action := policystore.ChangeCreate
			if ok {
				action = policystore.ChangeUpdate
			}
			changes = append(changes, policystore.Change{Kind: "group-policy", Name: api + "/" + p.Group, Action: action})
		}
		for _, g := range sortedKeys(have) {
			if !prune {
				changes = append(changes, policystore.Change{Kind: "group-policy", Name: api + "/" + g, Action: policystore.ChangeKeep, Detail: "not in the bundle"})
				continue
			}
			if err := tx.Delete(ctx, Scope, KindGroupPolicy, groupPolicyID(id, g)); err != nil {
				return nil, err
			}
			changes = append(changes, policystore.Change{Kind: "group-policy", Name: api + "/" + g, Action: policystore.ChangeDelete, Detail: "not in the bundle"})
		}
	}
	return changes, nil
}

// putInTx creates d or replaces the API with its name, keeping its id, after checking that
// its base path is not another API's and that the policy stores of its cedar authorizers
// exist (in tx, so a store created in the same transaction counts). action is create, update
// or "" when the stored definition already equals d.
func putInTx(ctx context.Context, tx store.Tx, d Definition) (Definition, string, error) {
	id, create := "", false
	var before Definition
	prev, err := tx.GetByName(ctx, Scope, KindAPI, d.Name)
	switch {
	case err == nil:
		id = prev.ID
		if before, err = decodeAPI(prev); err != nil {
			return Definition{}, "", err
		}
	case errors.Is(err, store.ErrNotFound):
		id, create = newID(), true
	default:
		return Definition{}, "", err
	}
	all, _, err := tx.List(ctx, store.Query{Scope: Scope, Kind: KindAPI})
	if err != nil {
		return Definition{}, "", err
	}
	bp := d.EffectiveBasePath()
	for _, o := range all {
		if o.ID == id {
			continue
		}
		other, err := decodeAPI(o)
		if err != nil {
			return Definition{}, "", err
		}
		if other.EffectiveBasePath() == bp {
			return Definition{}, "", &policystore.ConflictError{Message: fmt.Sprintf("basePath: %s is already used by API %s", bp, other.Name),
				ResourceType: ResourceAPI, ResourceID: other.Name}
		}
	}
	for _, name := range sortedKeys(d.Authorizers) {
		a := d.Authorizers[name]
		if a.Type != TypeCedar {
			continue
		}
		if _, err := tx.Get(ctx, "", policystore.KindPolicyStore, a.PolicyStoreID); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return Definition{}, "", fieldError("authorizers."+name+".policyStoreId", "policy store %s does not exist", a.PolicyStoreID)
			}
			return Definition{}, "", err
		}
	}
	d.ID = id
	data, err := json.Marshal(d)
	if err != nil {
		return Definition{}, "", err
	}
	if !create {
		// Compare as stored: a parsed definition and a decoded one differ in nil vs empty.
		if again, err := decodeAPI(store.Object{ID: id, Data: data, Created: before.Created, Updated: before.Updated}); err == nil && reflect.DeepEqual(before, again) {
			return before, "", nil
		}
	}
	write, action := tx.Put, policystore.ChangeUpdate
	if create {
		write, action = tx.Create, policystore.ChangeCreate // never overwrite another API on an id collision
	}
	if err := write(ctx, store.Object{Scope: Scope, Kind: KindAPI, ID: id, Name: d.Name, Data: data}); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return Definition{}, "", &policystore.ConflictError{Message: fmt.Sprintf("an API named %s already exists", d.Name), ResourceType: ResourceAPI, ResourceID: d.Name}
		}
		return Definition{}, "", err
	}
	o, err := tx.Get(ctx, Scope, KindAPI, id)
	if err != nil {
		return Definition{}, "", err
	}
	out, err := decodeAPI(o)
	return out, action, err
}

// checkGroupPolicy validates a group name and an IAM policy document and returns the document
// compacted, as stored.
func checkGroupPolicy(group string, doc []byte) ([]byte, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	if err := checkIAMDocument(doc); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, doc); err != nil {
		return nil, fieldError("document", "%v", err)
	}
	return buf.Bytes(), nil
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// checkIAMDocument validates a group policy document; errors name the element
// (document.Statement[0].Effect).
func checkIAMDocument(doc []byte) error {
	if _, err := iam.Parse(doc); err != nil {
		var pe *iam.ParseError
		if errors.As(err, &pe) {
			if pe.Path != "" {
				return fieldError("document."+pe.Path, "%s", pe.Msg)
			}
			return fieldError("document", "%s", pe.Msg)
		}
		return fieldError("document", "%v", err)
	}
	return nil
}

// ExportBundle reads the named APIs that exist and their group policies (for plans).
func ExportBundle(ctx context.Context, r store.Reader, names []string) ([]Definition, []BundleGroupPolicy, error) {
	var defs []Definition
	var gps []BundleGroupPolicy
	for _, name := range names {
		d, err := getAPI(ctx, r, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		defs = append(defs, d)
		objs, _, err := r.List(ctx, store.Query{Scope: Scope, Kind: KindGroupPolicy, Ref: d.ID})
		if err != nil {
			return nil, nil, err
		}
		for _, o := range objs {
			gp := decodeGroupPolicy(o)
			gps = append(gps, BundleGroupPolicy{API: d.Name, Group: gp.Group, Document: gp.Document})
		}
	}
	return defs, gps, nil
}
