package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/gateway"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/store/storetest"
)

// countingValidator counts the validations of a real identity.Registry.
type countingValidator struct {
	inner *identity.Registry
	n     atomic.Int64
}

func (c *countingValidator) Validate(ctx context.Context, raw string, use identity.TokenUse, sources []*identity.Source) (*identity.Token, *identity.Source, error) {
	c.n.Add(1)
	return c.inner.Validate(ctx, raw, use, sources)
}

// A cedar decision-cache miss validates the token once: the authorizer maps the token it has
// validated instead of resolving (and validating) it again. The old code validated twice.
func TestCheckValidatesCedarTokenOnce(t *testing.T) {
	t.Parallel()
	var cv *countingValidator
	p := newPetStoreIn(t, newEnv(t, storetest.Open(t, "sqlite"), func(d *gateway.Deps, _ *[]gateway.Option) {
		cv = &countingValidator{inner: d.Tokens.(*identity.Registry)}
		d.Tokens = cv
	}), petPool, "petclient")
	emp, cust := p.idp.access(t, employee), p.idp.access(t, customer)
	for i, c := range []struct {
		tok    string
		status int
		want   int64 // validations so far
	}{
		{emp, 200, 1}, // miss: one validation
		{emp, 200, 1}, // hit: none
		{cust, 403, 2},
		{cust, 403, 2},
	} {
		p.do(t, "POST", "/demo/pets", c.tok).want(t, "POST /demo/pets", c.status, "")
		if got := cv.n.Load(); got != c.want {
			t.Fatalf("request %d: %d validations so far, want %d", i, got, c.want)
		}
	}
}

// Check's verdicts carry what a front door needs: the deny response as the proxy writes it,
// and on allow the identity headers to set and the client headers to remove.
func TestCheckVerdict(t *testing.T) {
	t.Parallel()
	var (
		mu        sync.Mutex
		decisions []gateway.Decision
	)
	p := newPetStoreIn(t, newEnv(t, storetest.Open(t, "sqlite"), func(d *gateway.Deps, _ *[]gateway.Option) {
		d.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		d.OnDecision = func(_ context.Context, dec gateway.Decision) {
			mu.Lock()
			decisions = append(decisions, dec)
			mu.Unlock()
		}
	}), petPool, "petclient")
	ctx := context.Background()
	cust := p.idp.access(t, customer)
	lastDecision := func() gateway.Decision {
		mu.Lock()
		defer mu.Unlock()
		return decisions[len(decisions)-1]
	}

	h := http.Header{}
	h.Set("Authorization", "Bearer "+cust)
	h.Set("X-Gatehouse-Principal", "forged")
	h["x_gatehouse_groups"] = []string{"admins"}
	h.Set("X-Forwarded-For", "198.51.100.9")
	h.Set("X-Original-Url", "/demo/admin/x")
	h.Set("X-Http-Method-Override", "DELETE")
	h.Set("Connection", "close, X-Hop")
	h.Set("X-Hop", "1")
	h.Set("Accept", "application/json")
	before := h.Clone()
	in := gateway.Input{Source: gateway.SourceExtAuthz, Method: "GET", RawPath: "/demo/pets", RawQuery: "limit=2", Header: h,
		Peer: netip.MustParseAddr("192.0.2.1"), ContentLength: -1}
	v := p.gw.Check(ctx, in)
	if !v.Allow || v.Status != 200 || v.Body != nil || v.Reason != "" || v.APIName != "PetStore" || v.RouteKey != "GET /pets" {
		t.Fatalf("verdict %+v", v)
	}
	if v.Principal != petPool+"|sub-customer" || !slices.Equal(v.Groups, []string{"customers"}) || v.Claims["username"] != "carol" {
		t.Fatalf("identity %q %q %v", v.Principal, v.Groups, v.Claims)
	}
	if v.Set.Get(gateway.HeaderDecisionID) != v.DecisionID || v.Set.Get(gateway.HeaderPrincipal) != petPool+"|sub-customer" ||
		v.Set.Get(gateway.HeaderGroups) != "customers" || v.Set.Get("X-Gatehouse-Claim-Username") != "carol" {
		t.Fatalf("set %v", v.Set)
	}
	removed := slices.Clone(v.Remove)
	slices.Sort(removed)
	want := []string{"Connection", "X-Forwarded-For", "X-Gatehouse-Principal", "X-Hop", "X-Http-Method-Override", "X-Original-Url", "x_gatehouse_groups"}
	if !slices.Equal(removed, want) {
		t.Fatalf("remove %v, want %v", removed, want)
	}
	if !reflect.DeepEqual(h, before) {
		t.Fatalf("Check changed the caller's headers: %v", h)
	}
	if d := lastDecision(); d.Source != gateway.SourceExtAuthz || d.ID != v.DecisionID || !d.Allowed || d.ClientIP != "192.0.2.1" {
		t.Fatalf("decision %+v", d)
	}

	// A trusted peer's forwarding headers stay, and its X-Forwarded-For names the client.
	in.Peer = netip.MustParseAddr("10.1.2.3")
	v = p.gw.Check(ctx, in)
	if slices.Contains(v.Remove, "X-Forwarded-For") || slices.Contains(v.Remove, "X-Original-Url") {
		t.Fatalf("trusted peer: remove %v", v.Remove)
	}
	if d := lastDecision(); d.ClientIP != "198.51.100.9" {
		t.Fatalf("trusted peer: client %q", d.ClientIP)
	}
	// A client address the front door established wins over both.
	in.Client = netip.MustParseAddr("203.0.113.4")
	p.gw.Check(ctx, in)
	if d := lastDecision(); d.ClientIP != "203.0.113.4" {
		t.Fatalf("Input.Client: client %q", d.ClientIP)
	}

	// Denials: the proxy's status, body and headers.
	deny := func(name string, in gateway.Input, status int, body string, reason gateway.Reason) gateway.Verdict {
		t.Helper()
		if in.Header == nil {
			in.Header = http.Header{}
		}
		v := p.gw.Check(ctx, in)
		if v.Allow || v.Status != status || string(v.Body) != body || v.Reason != reason ||
			v.Header.Get(gateway.HeaderDecisionID) != v.DecisionID || v.DecisionID == "" ||
			v.Header.Get("Content-Type") != "application/json" || v.Set != nil || v.Remove != nil {
			t.Errorf("%s: verdict %+v (body %s)", name, v, v.Body)
		}
		return v
	}
	deny("no token", gateway.Input{Method: "GET", RawPath: "/demo/pets"}, 401, bodyUnauthorized, gateway.ReasonMissingToken)
	v = deny("customer POST", gateway.Input{Method: "POST", RawPath: "/demo/pets", Header: http.Header{"Authorization": {cust}}},
		403, bodyExplicitDeny, gateway.ReasonPolicyDeny)
	if v.Principal != petPool+"|sub-customer" || v.RouteKey != "POST /pets" || v.Header["x-amzn-ErrorType"][0] != "AccessDeniedException" {
		t.Fatalf("customer POST: %+v", v)
	}
	deny("bad path", gateway.Input{Method: "GET", RawPath: "/demo/pets/../admin"}, 400, `{"message":"Invalid request path"}`, gateway.ReasonBadPath)
	deny("no API", gateway.Input{Method: "GET", RawPath: "/elsewhere"}, 403, bodyMissingToken, gateway.ReasonNoAPI)
	deny("no route", gateway.Input{Method: "DELETE", RawPath: "/demo/pets"}, 403, bodyMissingToken, gateway.ReasonNoRoute)
	deny("unknown API by name", gateway.Input{API: "Nope", Method: "GET", RawPath: "/demo/"}, 403, bodyMissingToken, gateway.ReasonUnknownAPI)
	deny("path outside the named API", gateway.Input{API: "PetStore", Method: "GET", RawPath: "/other/"}, 403, bodyMissingToken, gateway.ReasonNoRoute)
	deny("upgrade", gateway.Input{Method: "GET", RawPath: "/demo/", Header: http.Header{"Upgrade": {"h2c"}, "Connection": {"Upgrade"}}},
		400, `{"message":"Protocol upgrade not allowed"}`, gateway.ReasonUpgradeRefused)
	deny("body too large", gateway.Input{Method: "POST", RawPath: "/demo/pets", ContentLength: 11 << 20,
		Header: http.Header{"Authorization": {p.idp.access(t, employee)}}}, 413, `{"message":"Request Too Long"}`, gateway.ReasonBodyTooLarge)
	if v := p.gw.Check(ctx, gateway.Input{API: "PetStore", Method: "GET", RawPath: "/demo/", Header: http.Header{}}); !v.Allow || v.RouteKey != "GET /" {
		t.Fatalf("named API: %+v", v)
	}
}

// A stale node answers 503 through Check like through the proxy, whatever the route.
func TestCheckStale(t *testing.T) {
	t.Parallel()
	var stale atomic.Bool
	p := newPetStoreIn(t, newEnv(t, storetest.Open(t, "sqlite"), func(d *gateway.Deps, _ *[]gateway.Option) {
		d.Fresh = func() error {
			if stale.Load() {
				return errors.New("store silent")
			}
			return nil
		}
	}), petPool, "petclient")
	in := gateway.Input{Source: gateway.SourceLambda, Method: "GET", RawPath: "/demo/", Header: http.Header{}}
	if v := p.gw.Check(context.Background(), in); !v.Allow {
		t.Fatalf("fresh: %+v", v)
	}
	stale.Store(true)
	v := p.gw.Check(context.Background(), in)
	if v.Allow || v.Status != 503 || string(v.Body) != `{"message":"Service Unavailable","reason":"store_unavailable"}` ||
		v.Reason != gateway.ReasonStoreUnavailable {
		t.Fatalf("stale: %+v", v)
	}
}

// ---- every scenario row of articles 000 and 004 (examples/petstore, examples/vet-clinic) through Check, the proxy and forward-auth ----

type scenarioRow struct {
	name         string
	method, path string
	token        string
	status       int
	body         string // "" = not compared (upstream bodies differ by front door)
	principal    string
	fromUpstream bool // an allowed request reaches the upstream (the proxy's body is the upstream's)
}

// answer is what one front door answered.
type answer struct {
	allow     bool
	status    int
	body      string
	principal string
}

func viaCheck(t *testing.T, gw *gateway.Gateway, r scenarioRow) answer {
	h := http.Header{}
	if r.token != "" {
		h.Set("Authorization", "Bearer "+r.token)
	}
	path, query, _ := strings.Cut(r.path, "?")
	v := gw.Check(context.Background(), gateway.Input{Source: gateway.SourceExtAuthz, Method: r.method, RawPath: path, RawQuery: query,
		Header: h, Peer: netip.MustParseAddr("127.0.0.1"), ContentLength: -1})
	a := answer{allow: v.Allow, status: v.Status}
	if v.Allow {
		a.principal = v.Principal
	} else {
		a.body = string(v.Body)
	}
	return a
}

// viaProxy reads the principal from what the upstream received; a mock route's principal is
// not visible (it is taken as wanted).
func viaProxy(t *testing.T, e *env, r scenarioRow) answer {
	n := e.up.count()
	res := doURL(t, e.srv.URL, r.method, r.path, r.token)
	a := answer{allow: res.status < 300, status: res.status, body: res.body, principal: r.principal}
	if a.allow {
		a.body = "" // the upstream's or the mock's body
		if r.fromUpstream {
			a.principal = ""
			if e.up.count() == n+1 {
				if p := e.up.last(t).Headers[gateway.HeaderPrincipal]; len(p) == 1 {
					a.principal = p[0]
				}
			}
		}
	}
	return a
}

func viaForwardAuth(t *testing.T, base, api string, r scenarioRow) answer {
	res := doURL(t, base, "GET", "/apis/"+api, r.token, "X-Original-Method", r.method, "X-Original-URI", r.path, "X-Real-IP", "127.0.0.1")
	a := answer{allow: res.status == 200, status: res.status, principal: res.header.Get(gateway.HeaderPrincipal)}
	if !a.allow {
		a.body = res.body
	}
	return a
}

func TestCheckMatchesAdapters(t *testing.T) {
	t.Parallel()
	pet := newPetStore(t, storetest.Open(t, "sqlite"))
	clinic := newClinic(t)
	cust, emp, own := pet.idp.access(t, customer), pet.idp.access(t, employee), pet.idp.access(t, owner)
	id := func(u user) string { return clinic.idp.id(t, u) }
	pp := func(u user) string { return u.pool + "|" + u.sub }
	petRows := []scenarioRow{
		{name: "GET / no token", method: "GET", path: "/demo/", status: 200, fromUpstream: true},
		{name: "GET /pets no token", method: "GET", path: "/demo/pets", status: 401, body: bodyUnauthorized},
		{name: "GET /pets customer", method: "GET", path: "/demo/pets", token: cust, status: 200, principal: pp(customer), fromUpstream: true},
		{name: "POST /pets customer", method: "POST", path: "/demo/pets", token: cust, status: 403, body: bodyExplicitDeny},
		{name: "POST /pets employee", method: "POST", path: "/demo/pets", token: emp, status: 200, principal: pp(employee), fromUpstream: true},
		{name: "admin employee", method: "GET", path: "/demo/admin/curltest1", token: emp, status: 403, body: bodyExplicitDeny},
		{name: "admin owner", method: "GET", path: "/demo/admin/curltest1", token: own, status: 200, principal: pp(owner)},
		{name: "expired", method: "GET", path: "/demo/pets", token: pet.idp.expiredAccess(t, customer), status: 401, body: bodyExpired},
		{name: "garbage", method: "GET", path: "/demo/pets", token: garbageToken, status: 401, body: bodyUnauthorized},
		{name: "no route", method: "GET", path: "/demo/nothing", token: cust, status: 403, body: bodyMissingToken},
		{name: "query", method: "GET", path: "/demo/pets?limit=2", token: cust, status: 200, principal: pp(customer), fromUpstream: true},
	}
	clinicRows := []scenarioRow{
		{name: "none", method: "GET", path: "/dev/appointment/PI-T123", status: 401, body: bodyUnauthorized},
		{name: "garbage", method: "GET", path: "/dev/appointment/PI-T123", token: garbageToken, status: 403, body: bodyExplicitDeny},
	}
	for _, c := range []struct {
		who   user
		appt  string
		allow bool
	}{
		{jane, "PI-T123", true}, {adam, "PI-T123", false}, {adam, "PI-T125", true}, {dave, "PI-T123", true},
		{joy, "PI-T123", false}, {joy, "PI-T124", true}, {jane, "PI-T124", true},
	} {
		r := scenarioRow{name: c.who.username + " " + c.appt, method: "GET", path: "/dev/appointment/" + c.appt, token: id(c.who),
			status: 403, body: bodyExplicitDeny}
		if c.allow {
			r.status, r.body, r.principal, r.fromUpstream = 200, "", pp(c.who), true
		}
		clinicRows = append(clinicRows, r)
	}
	for _, s := range []struct {
		name string
		env  *env
		api  string
		rows []scenarioRow
	}{{"§2.1", pet.env, "PetStore", petRows}, {"§2.5", clinic.env, "Clinic", clinicRows}} {
		fa := httptest.NewServer(s.env.gw.ForwardAuthHandler())
		t.Cleanup(fa.Close)
		for _, r := range s.rows {
			t.Run(s.name+"/"+r.name, func(t *testing.T) {
				want := answer{allow: r.status == 200, status: r.status, body: r.body, principal: r.principal}
				for _, door := range []struct {
					name string
					got  answer
				}{
					{"check", viaCheck(t, s.env.gw, r)},
					{"proxy", viaProxy(t, s.env, r)},
					{"forward-auth", viaForwardAuth(t, fa.URL, s.api, r)},
				} {
					if door.got != want {
						t.Errorf("%s: %+v, want %+v", door.name, door.got, want)
					}
				}
			})
		}
	}
}
