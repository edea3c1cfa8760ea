package console

import (
	"errors"
	"net/http"

	"github.com/aws/smithy-go"
)

// usersPerPage is one page of a pool's users; membersShown bounds each group's member list.
const (
	usersPerPage = 50
	membersShown = 20
)

func (c *Console) idpPoolsPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActViewIdP, nodeResource()) {
		return
	}
	data := map[string]any{"Title": "Identity provider", "CanEdit": c.canEditIdP(r, s)}
	if c.d.IdPDirectory == nil {
		data["Off"] = true
		c.render(w, r, s, http.StatusOK, "idp", data)
		return
	}
	pools, err := c.d.IdPDirectory.ListPools(r.Context())
	if err != nil {
		c.idpFailed(w, r, s, err)
		return
	}
	data["Pools"] = pools
	c.render(w, r, s, http.StatusOK, "idp", data)
}

func (c *Console) idpPoolPage(w http.ResponseWriter, r *http.Request, s *session) {
	if !c.allow(w, r, s, ActViewIdP, nodeResource()) {
		return
	}
	if c.d.IdPDirectory == nil {
		c.errorPage(w, r, s, http.StatusNotFound, "Not served", "This node does not serve the built-in IdP (setting idpListen).")
		return
	}
	ctx, pool := r.Context(), r.PathValue("pool")
	dir := c.d.IdPDirectory
	page := r.URL.Query().Get("page")
	users, next, err := dir.ListUsers(ctx, pool, page, usersPerPage)
	if err != nil {
		c.idpFailed(w, r, s, err)
		return
	}
	groups, err := dir.ListGroups(ctx, pool)
	if err != nil {
		c.idpFailed(w, r, s, err)
		return
	}
	for i := range groups {
		if groups[i].Members, groups[i].More, err = dir.ListMembers(ctx, pool, groups[i].Name, membersShown); err != nil {
			c.idpFailed(w, r, s, err)
			return
		}
	}
	clients, err := dir.ListClients(ctx, pool)
	if err != nil {
		c.idpFailed(w, r, s, err)
		return
	}
	c.render(w, r, s, http.StatusOK, "idppool", map[string]any{"Title": "User pool " + pool, "Pool": pool, "Users": users,
		"Next": next, "Paged": page != "", "Groups": groups, "Clients": clients, "CanEdit": c.canEditIdP(r, s), "Done": doneMessage(r)})
}

// idpFailed answers an IdP read error: a missing pool is 404, a refused parameter 400 with
// the IdP's message (which names the field), anything else 500.
func (c *Console) idpFailed(w http.ResponseWriter, r *http.Request, s *session, err error) {
	if errors.Is(err, errNoPool) {
		c.errorPage(w, r, s, http.StatusNotFound, "Not found", err.Error())
		return
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && ae.ErrorFault() == smithy.FaultClient {
		c.errorPage(w, r, s, http.StatusBadRequest, "Request refused", ae.ErrorCode()+": "+ae.ErrorMessage())
		return
	}
	c.d.Logger.Error("console IdP read failed", "err", err)
	c.errorPage(w, r, s, http.StatusInternalServerError, "Something failed", "The request failed; the node's log says why.")
}
