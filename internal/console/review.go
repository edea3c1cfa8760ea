package console

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/awsjson"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
	"github.com/gatehouse-dev/gatehouse/internal/store"
	"github.com/gatehouse-dev/gatehouse/internal/wizard"
)

// The review of a pending change: a person pastes (or uploads) a bundle — Gatehouse.ApplyBundle's
// input, which `gatehouse plan DIR -o bundle` prints — and sees what applying it would create,
// update, replace, delete and keep, and the access matrices of the current and the proposed
// state side by side with the cells that flip marked (wizard.DiffAccess, which `gatehouse plan`
// uses too). Reviewing is ViewMatrix. Apply sends exactly the reviewed bundle with the
// reviewed prune setting and expectedRevision = the revision reviewed, after checking that a
// dry run at that revision still yields the reviewed changes; a store that moved meanwhile
// gives a ConflictException shown to the person with the bundle ready to review again.

// reviewRoutes registers the review of a pending change: the access matrix diff of a bundle.
func (c *Console) reviewRoutes(mux *http.ServeMux) {
	mux.Handle("GET "+Prefix+"review", c.authed(c.reviewPage))
	mux.Handle("POST "+Prefix+"review", c.authed(c.reviewBundle))
	mux.Handle("POST "+Prefix+"review/apply", c.authed(c.applyReviewed))
}

// reviewForm is what the review form holds.
type reviewForm struct {
	Bundle string
	Prune  bool
}

// reviewResult is one reviewed bundle.
type reviewResult struct {
	Store    string
	APIs     []string
	Revision int64
	// Scope is what Revision counts: the policy store, else the gateway's APIs.
	Scope   string
	Changes []policystore.Change
	Kept    []policystore.Change
	Summary string
	Grids   []reviewGrid
	Flips   []apply.AccessChange
	Notes   []string
	// Digest identifies the reviewed change list; apply refuses if a dry run at the reviewed
	// revision no longer yields it.
	Digest string
	// Needs are the console actions applying takes; Denied those of them the person lacks.
	Needs  []string
	Denied []string
}

// reviewGrid is one access matrix compared: an API's routes × groups or a store's actions ×
// groups.
type reviewGrid struct {
	ID, Title, RowLabel string
	Groups              []string
	Rows                []reviewRow
	Flips               int
}

type reviewRow struct {
	Name  string
	Cells []reviewCell
}

// reviewCell is one cell: its value after the change, and before it when that differs.
type reviewCell struct {
	Group, Before, After string
	// Class colors the cell by its value after the change; Flip is to-allow, to-deny or
	// changed for a cell that differs (a distinct class, and the text "before → after").
	Class, Flip string
	// By names the policies that decide the cell after the change (bundle names).
	By []string
}

func (c *Console) reviewPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActViewMatrix, nodeResource()) {
		return
	}
	data := map[string]any{"Title": "Review a change", "Form": reviewForm{}}
	q := r.URL.Query()
	if q.Get("applied") != "" {
		data["Applied"] = map[string]string{"Scope": q.Get("applied"), "From": q.Get("from"), "To": q.Get("to"), "API": q.Get("api")}
	}
	c.render(w, r, s, http.StatusOK, "review", data)
}

// readBundle reads the form: the bundle from the uploaded file when one is given, else from
// the text area; errors name the field.
func readBundle(r *http.Request) (reviewForm, *avpapi.ApplyBundleInput, *apiError) {
	f := reviewForm{Bundle: r.PostFormValue("bundle"), Prune: r.PostFormValue("prune") != ""}
	if file, _, err := r.FormFile("file"); err == nil {
		defer file.Close()
		b, err := io.ReadAll(file)
		if err != nil {
			return f, nil, &apiError{Field: "file", Message: "file: " + err.Error()}
		}
		if len(bytes.TrimSpace(b)) > 0 {
			f.Bundle = string(b)
		}
	}
	in, ferr := parseBundle(f.Bundle)
	return f, in, ferr
}

// parseBundle decodes a bundle strictly: an unknown member is a mistake (often a plan report
// pasted instead of the bundle) rather than something to ignore.
func parseBundle(text string) (*avpapi.ApplyBundleInput, *apiError) {
	bad := func(format string, a ...any) *apiError {
		return &apiError{Field: "bundle", Message: "bundle: " + fmt.Sprintf(format, a...)}
	}
	if strings.TrimSpace(text) == "" {
		return nil, bad("paste the bundle (gatehouse plan DIR -o bundle prints it) or choose its file")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal([]byte(text), &probe); err != nil {
		return nil, bad("not a JSON object: %v", err)
	}
	if _, ok := probe["accessChanges"]; ok {
		return nil, bad("this is a plan report (gatehouse plan -o json); paste the bundle: gatehouse plan DIR -o bundle")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	in := &avpapi.ApplyBundleInput{}
	if err := dec.Decode(in); err != nil {
		return nil, bad("%v", err)
	}
	if in.PolicyStore == nil && len(in.APIs) == 0 && len(in.GroupPolicies) == 0 {
		return nil, bad("it names no policy store, API or group policy")
	}
	if in.PolicyStore != nil && in.PolicyStore.PolicyStoreID == "" {
		return nil, &apiError{Field: "bundle", Message: "bundle: policyStore.policyStoreId is required"}
	}
	return in, nil
}

func (c *Console) reviewView(w http.ResponseWriter, r *http.Request, s *session, status int, f reviewForm, res *reviewResult, ferr *apiError, conflict string) {
	c.render(w, r, s, status, "review", map[string]any{"Title": "Review a change", "Form": f, "Review": res, "Error": ferr, "Conflict": conflict})
}

func (c *Console) reviewBundle(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActViewMatrix, nodeResource()) {
		return
	}
	f, in, ferr := readBundle(r)
	if ferr != nil {
		c.reviewView(w, r, s, http.StatusBadRequest, f, nil, ferr, "")
		return
	}
	res, err := c.review(r.Context(), s, in, f.Prune)
	if err != nil {
		c.reviewFailed(w, r, s, f, err)
		return
	}
	c.reviewView(w, r, s, http.StatusOK, f, res, nil, "")
}

// reviewFailed shows a failed review or apply on the form, the bundle kept: a conflict (the
// store moved) as 409, a refused bundle as its 4xx naming the field.
func (c *Console) reviewFailed(w http.ResponseWriter, r *http.Request, s *session, f reviewForm, err error) {
	if msg, ok := conflictOf(err); ok {
		c.reviewView(w, r, s, http.StatusConflict, f, nil, nil, msg)
		return
	}
	if isInternal(err) && !isClientError(err) {
		c.failed(w, r, s, err)
		return
	}
	e := toAPIError(err)
	status := http.StatusBadRequest
	var ae *awsjson.Error
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 {
		status = ae.Status
	}
	if !strings.HasPrefix(e.Message, "bundle") {
		e.Message = "bundle: " + e.Message
	}
	e.Field = "bundle"
	c.reviewView(w, r, s, status, f, nil, e, "")
}

// isClientError reports errors of the bundle itself that reach the console unwrapped.
func isClientError(err error) bool {
	var ve *policystore.ValidationError
	return errors.As(err, &ve) || errors.Is(err, errBadBundle)
}

var errBadBundle = errors.New("bundle")

// conflictOf reports whether err is the store's ConflictException (the revision moved).
func conflictOf(err error) (string, bool) {
	var ae *awsjson.Error
	if errors.As(err, &ae) && ae.Type == "ConflictException" {
		return ae.Message, true
	}
	var ce *policystore.ConflictError
	if errors.As(err, &ce) {
		return ce.Message, true
	}
	if errors.Is(err, store.ErrConflict) {
		return err.Error(), true
	}
	return "", false
}

// dryRun runs the bundle without writing, as the person.
func (c *Console) dryRun(ctx context.Context, s *session, in avpapi.ApplyBundleInput, prune bool, rev *int64) (*avpapi.ApplyBundleOutput, error) {
	in.DryRun, in.Prune = true, prune
	if rev != nil {
		in.ExpectedRevision = rev
	}
	out, err := c.call(ctx, s, "Gatehouse.ApplyBundle", in)
	if err != nil {
		return nil, err
	}
	o, ok := out.(*avpapi.ApplyBundleOutput)
	if !ok {
		return nil, fmt.Errorf("console: unexpected output %T", out)
	}
	return o, nil
}

// review computes what applying in would change, as `gatehouse plan` does: the server's dry
// run gives the changes and the current state, and the access of the current and proposed
// state is compared by wizard.DiffAccess.
func (c *Console) review(ctx context.Context, s *session, in *avpapi.ApplyBundleInput, prune bool) (*reviewResult, error) {
	out, err := c.dryRun(ctx, s, *in, prune, in.ExpectedRevision)
	if err != nil {
		return nil, err
	}
	res := &reviewResult{Revision: out.RevisionBefore, Digest: changeDigest(out.Changes), Scope: "the APIs"}
	if in.PolicyStore != nil {
		res.Store = in.PolicyStore.PolicyStoreID
		res.Scope = "policy store " + res.Store
	}
	rep := &apply.Report{DryRun: true}
	for _, ch := range out.Changes {
		if ch.Writes() {
			res.Changes = append(res.Changes, ch)
			rep.Changes = append(rep.Changes, ch)
		} else {
			res.Kept = append(res.Kept, ch)
			rep.Kept = append(rep.Kept, ch)
		}
	}
	res.Summary = summary(res.Changes, res.Kept)
	if out.Current != nil {
		if rep.Current, err = apply.DirFromBundle(out.Current); err != nil {
			return nil, fmt.Errorf("current state: %w", err)
		}
	}
	d, err := apply.DirFromBundle(in)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errBadBundle, err)
	}
	d.Path = "(bundle)"
	for _, a := range d.APIs {
		res.APIs = append(res.APIs, a.Name)
	}
	proposed, err := rep.Proposed(d)
	if err != nil {
		return nil, fmt.Errorf("proposed state: %w", err)
	}
	diffs, notes := wizard.DiffAccess(rep.Current, proposed)
	for _, n := range notes {
		res.Notes = append(res.Notes, n.Error())
	}
	res.Flips = wizard.AccessChanges(diffs)
	for i, x := range diffs {
		res.Grids = append(res.Grids, grid(i, x))
	}
	for _, n := range needs(in, out.Changes) {
		res.Needs = append(res.Needs, n.String())
		if !c.decide(ctx, s, n.action, n.resource).Allowed {
			res.Denied = append(res.Denied, n.String())
		}
	}
	return res, nil
}

func summary(changes, kept []policystore.Change) string {
	n := map[string]int{}
	for _, ch := range changes {
		n[ch.Action]++
	}
	return fmt.Sprintf("%d to create, %d to update, %d to replace, %d to delete, %d kept", n[policystore.ChangeCreate],
		n[policystore.ChangeUpdate], n[policystore.ChangeReplace], n[policystore.ChangeDelete], len(kept))
}

// changeDigest identifies a change list.
func changeDigest(changes []policystore.Change) string {
	b, _ := json.Marshal(changes)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func grid(i int, x wizard.AccessDiff) reviewGrid {
	g := reviewGrid{ID: "review-grid-" + strconv.Itoa(i), Title: "API " + x.API, RowLabel: "Route", Groups: x.Groups}
	if x.Store != "" {
		g.Title, g.RowLabel = "Policy store "+x.Store+": groups × actions", "Action"
	}
	for _, name := range x.Rows {
		row := reviewRow{Name: name}
		for _, grp := range x.Groups {
			b, a := x.Cell(name, grp)
			cell := reviewCell{Group: grp, Before: b, After: a, Class: cellClass(a), By: x.Determining(name, grp, true)}
			if a == wizard.NoRoute {
				cell.Class = "gone"
			}
			if b != a {
				g.Flips++
				switch {
				case a == wizard.Allow && b != wizard.Allow:
					cell.Flip = "to-allow"
				case b == wizard.Allow && a == wizard.Deny:
					cell.Flip = "to-deny"
				default:
					cell.Flip = "changed"
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		g.Rows = append(g.Rows, row)
	}
	return g
}

// need is one console decision applying a bundle takes.
type need struct {
	action   string
	resource types.EntityUID
}

func (n need) String() string { return n.action + " on " + n.resource.String() }

// needs are the console actions applying in takes: EditPolicy on its policy store and EditAPIs
// when it holds APIs or group policies, and for the changes it makes the action each one takes
// on its own page (a schema EditSchema, templates, links, entities and identity sources
// EditStore, a new store CreateStore, new store settings ManageStore), so that a bundle is no
// way around a denied page.
func needs(in *avpapi.ApplyBundleInput, changes []policystore.Change) []need {
	var out []need
	add := func(action string, res types.EntityUID) {
		n := need{action, res}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	var st types.EntityUID
	if in.PolicyStore != nil {
		st = storeResource(in.PolicyStore.PolicyStoreID)
		add(ActEditPolicy, st)
	}
	if len(in.APIs) > 0 || len(in.GroupPolicies) > 0 {
		add(ActEditAPIs, nodeResource())
	}
	for _, ch := range changes {
		if !ch.Writes() {
			continue
		}
		switch ch.Kind {
		case "policy":
			add(ActEditPolicy, st)
		case "schema":
			add(ActEditSchema, st)
		case "template", "link", "entity", "identity-source":
			add(ActEditStore, st)
		case "policy-store":
			if ch.Action == policystore.ChangeCreate {
				add(ActCreateStore, nodeResource())
			} else {
				add(ActManageStore, st)
			}
		case "api", "group-policy":
			add(ActEditAPIs, nodeResource())
		default:
			// A kind this console does not know yet: only an administrator's permit-all
			// covers it.
			add(ActManageStore, st)
		}
	}
	return out
}

// applyReviewed applies exactly the reviewed bundle: the decisions the bundle's shape takes
// come first, then a dry run at the reviewed revision must yield the reviewed changes (whose
// own decisions follow), then the bundle is applied with expectedRevision = that revision.
func (c *Console) applyReviewed(w http.ResponseWriter, r *http.Request, s *session) {
	f, in, ferr := readBundle(r)
	if ferr != nil {
		if !c.allow(w, r, s, ActViewMatrix, nodeResource()) {
			return
		}
		c.reviewView(w, r, s, http.StatusBadRequest, f, nil, ferr, "")
		return
	}
	for _, n := range needs(in, nil) {
		if !c.allow(w, r, s, n.action, n.resource) {
			return
		}
	}
	rev, err := strconv.ParseInt(r.PostFormValue("revision"), 10, 64)
	if err != nil || rev < 0 {
		c.reviewView(w, r, s, http.StatusBadRequest, f, nil, &apiError{Field: "revision", Message: "revision: the reviewed revision is missing; review the bundle first"}, "")
		return
	}
	digest := r.PostFormValue("digest")
	if digest == "" {
		c.reviewView(w, r, s, http.StatusBadRequest, f, nil, &apiError{Field: "digest", Message: "digest: the reviewed changes are missing; review the bundle first"}, "")
		return
	}
	check, err := c.dryRun(r.Context(), s, *in, f.Prune, &rev)
	if err != nil {
		c.reviewFailed(w, r, s, f, err)
		return
	}
	if changeDigest(check.Changes) != digest {
		c.reviewView(w, r, s, http.StatusConflict, f, nil, nil,
			"the changes this bundle makes are no longer the ones you reviewed (the APIs or the store changed meanwhile); review it again")
		return
	}
	for _, n := range needs(in, check.Changes) {
		if !c.allow(w, r, s, n.action, n.resource) {
			return
		}
	}
	final := *in
	final.DryRun, final.Prune, final.ExpectedRevision = false, f.Prune, &rev
	out, err := c.call(r.Context(), s, "Gatehouse.ApplyBundle", final)
	if err != nil {
		c.reviewFailed(w, r, s, f, err)
		return
	}
	q := url.Values{"applied": {"the APIs"}}
	if in.PolicyStore != nil {
		q.Set("applied", "policy store "+in.PolicyStore.PolicyStoreID)
	}
	if o, ok := out.(*avpapi.ApplyBundleOutput); ok {
		q.Set("from", strconv.FormatInt(o.RevisionBefore, 10))
		q.Set("to", strconv.FormatInt(o.RevisionAfter, 10))
	}
	if d, err := apply.DirFromBundle(in); err == nil && len(d.APIs) > 0 {
		q.Set("api", d.APIs[0].Name)
	}
	http.Redirect(w, r, Prefix+"review?"+q.Encode(), http.StatusSeeOther)
}
