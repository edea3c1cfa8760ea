package extauthz_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/app/apptest"
	"github.com/gatehouse-dev/gatehouse/internal/apply"
	"github.com/gatehouse-dev/gatehouse/internal/idp"
	"github.com/gatehouse-dev/gatehouse/internal/sampleapi"
)

// TestVetClinicSameAsProxy runs the vet-clinic scenario, examples/vet-clinic (two identity providers, Cedar on entities from the
// store, examples/vet-clinic) through the proxy, the gRPC service and the HTTP service of one
// node: the same decisions, and each ext_authz decision is in the audit trail with source
// ext-authz and the decision id Envoy's client receives.
func TestVetClinicSameAsProxy(t *testing.T) {
	t.Parallel()
	cfg := apptest.WithIdP(t, apptest.Config(t, "sqlite"))
	cfg.ExtAuthzListen = "127.0.0.1:0"
	cfg.AuditFile = filepath.Join(t.TempDir(), "audit.jsonl")
	node := apptest.Start(t, cfg)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	vars := map[string]string{}
	tokens := map[string]string{}
	for _, pool := range []struct {
		name, group, prefix string
		users               []string
	}{{"vets", "AllVeterinarians", "VETS", []string{"Jane", "Adam"}}, {"clients", "AllClients", "CLIENTS", []string{"Dave", "Joy"}}} {
		p, err := node.IdP.CreatePool(ctx, idp.PoolInput{Name: pool.name})
		must(err)
		c, err := node.IdP.CreateClient(ctx, p.ID, idp.ClientInput{Name: pool.name + "-app", ExplicitAuthFlows: []string{"ALLOW_USER_PASSWORD_AUTH"}})
		must(err)
		_, err = node.IdP.CreateGroup(ctx, p.ID, idp.GroupInput{Name: pool.group})
		must(err)
		vars[pool.prefix+"_POOL_ID"], vars[pool.prefix+"_CLIENT_ID"] = p.ID, c.ID
		for _, u := range pool.users {
			usr, err := node.IdP.CreateUser(ctx, p.ID, u, "Passw0rd!"+u, map[string]string{"email": u + "@example.com"})
			must(err)
			must(node.IdP.AddUserToGroup(ctx, p.ID, u, pool.group))
			vars[strings.ToUpper(u)+"_SUB"] = usr.Sub
			tok, err := node.IdP.IssueTokens(ctx, p.ID, c.ID, u)
			must(err)
			tokens[u] = "Bearer " + tok.IDToken
		}
	}
	upstream := httptest.NewServer(sampleapi.Appointments())
	t.Cleanup(upstream.Close)
	vars["UPSTREAM"] = upstream.URL
	d, err := apply.Load(filepath.Join(examplesDir(t), "vet-clinic"), func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	must(err)
	_, err = apply.Apply(ctx, apptest.Client(node), d)
	must(err)

	p := &petStore{node: node}
	client := grpcClient(t, node.Addr("ext-authz"), nil)
	var decisionIDs []string
	for _, row := range []struct {
		name, appointment, auth string
		want                    answer
	}{
		{"none", "PI-T123", "", answer{status: 401, body: bodyUnauthorized}},
		{"garbage", "PI-T123", "Bearer " + garbageToken, answer{status: 403, body: bodyExplicitDeny}},
		{"Jane T123", "PI-T123", tokens["Jane"], answer{allow: true}},
		{"Adam T123", "PI-T123", tokens["Adam"], answer{status: 403, body: bodyExplicitDeny}},
		{"Adam T125", "PI-T125", tokens["Adam"], answer{allow: true}},
		{"Dave T123", "PI-T123", tokens["Dave"], answer{allow: true}},
		{"Joy T123", "PI-T123", tokens["Joy"], answer{status: 403, body: bodyExplicitDeny}},
		{"Joy T124", "PI-T124", tokens["Joy"], answer{allow: true}},
		{"Jane T124", "PI-T124", tokens["Jane"], answer{allow: true}},
		{"Dave T124", "PI-T124", tokens["Dave"], answer{status: 403, body: bodyExplicitDeny}},
	} {
		path := "/dev/appointment/" + row.appointment
		hdr := map[string]string{}
		h := http.Header{}
		if row.auth != "" {
			hdr["authorization"] = row.auth
			h.Set("Authorization", row.auth)
		}
		res, err := client.Check(ctx, envoyRequest("GET", path, hdr))
		must(err)
		viaGRPC := grpcAnswer(t, res)
		hres := httpCheck(t, node.Addr("ext-authz"), "GET", path, h)
		viaHTTP := httpAnswer(t, hres)
		for door, got := range map[string]answer{"proxy": p.viaProxy(t, "GET", path, row.auth), "gRPC": viaGRPC, "HTTP service": viaHTTP} {
			if got != row.want {
				t.Errorf("%s via %s: %+v, want %+v", row.name, door, got, row.want)
			}
		}
		if d := res.GetDeniedResponse(); d != nil {
			id, _, _ := headerOf(d.GetHeaders(), "x-gatehouse-decision-id")
			decisionIDs = append(decisionIDs, id)
		} else {
			id, _, _ := headerOf(res.GetOkResponse().GetResponseHeadersToAdd(), "x-gatehouse-decision-id")
			decisionIDs = append(decisionIDs, id)
		}
		decisionIDs = append(decisionIDs, hres.Header.Get("X-Gatehouse-Decision-Id"))
	}

	// The audit trail is written asynchronously: poll for every ext_authz decision id.
	waitFor(t, 20*time.Second, "ext_authz decisions in the audit trail", func() bool {
		b, _ := os.ReadFile(cfg.AuditFile)
		found := map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			var r struct {
				Kind, Source, DecisionID string
			}
			if json.Unmarshal([]byte(line), &r) == nil && r.Source == "ext-authz" {
				found[r.DecisionID] = true
			}
		}
		for _, id := range decisionIDs {
			if id == "" || !found[id] {
				return false
			}
		}
		return true
	})
}
