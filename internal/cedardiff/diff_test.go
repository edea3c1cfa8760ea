package cedardiff

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"

	"github.com/gatehouse-dev/gatehouse/internal/avpapi"
	"github.com/gatehouse-dev/gatehouse/internal/engine"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

var (
	seedFlag  = flag.Uint64("cedardiff.seed", 0, "seed for TestDifferentialCedar (0: time-based); a failure prints it")
	casesFlag = flag.Int("cedardiff.cases", 3000, "number of random requests")
)

// uidJSON is Cedar's {"type","id"} form of an entity UID.
type uidJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// testCase is one request in the form cedar.mjs reads.
type testCase struct {
	Principal uidJSON           `json:"principal"`
	Action    uidJSON           `json:"action"`
	Resource  uidJSON           `json:"resource"`
	Context   json.RawMessage   `json:"context"`
	Policies  map[string]string `json:"policies"`
	Entities  json.RawMessage   `json:"entities"`
	Schema    string            `json:"schema,omitempty"`
}

// answer is the comparable outcome of one case.
type answer struct {
	Rejected      bool     `json:"rejected,omitempty"`
	Messages      []string `json:"messages,omitempty"`
	Decision      string   `json:"decision,omitempty"`
	Reasons       []string `json:"reasons,omitempty"`
	ErrorPolicies []string `json:"errorPolicies,omitempty"`
}

func (a answer) key() string {
	if a.Rejected {
		return "rejected"
	}
	return fmt.Sprintf("%s reasons=%v errors=%v", a.Decision, a.Reasons, a.ErrorPolicies)
}

// TestDifferentialCedar compares Gatehouse with Rust Cedar on seeded random cases. Locally it
// skips when the npm package is not installed; in CI (CI set) that is a failure.
func TestDifferentialCedar(t *testing.T) {
	node, jsDir := nodeAndJS(t)
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	n := *casesFlag
	if testing.Short() {
		n = 500
	}
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5eed))}
	cases := make([]testCase, n)
	for i := range cases {
		cases[i] = g.testCase()
	}
	file := filepath.Join(t.TempDir(), "cases.json")
	data, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	// --no-opt: node 20's V8 intermittently aborts in the optimizing JIT's
	// deoptimizer ("Fatal error ... unreachable code") on this hot loop; the
	// Wasm engine, where the time goes, is unaffected.
	cmd := exec.Command(node, "--no-opt", filepath.Join(jsDir, "cedar.mjs"), file)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("seed %d: cedar.mjs: %v", seed, err)
	}
	var ref struct {
		CedarVersion string   `json:"cedarVersion"`
		Answers      []answer `json:"answers"`
	}
	if err := json.Unmarshal(out, &ref); err != nil || len(ref.Answers) != n {
		t.Fatalf("seed %d: cedar.mjs answered %d of %d cases: %v", seed, len(ref.Answers), n, err)
	}
	var allow, rejected, withErrors, differ int
	for i, c := range cases {
		got, want := gatehouse(t, c), ref.Answers[i]
		if got.key() != want.key() {
			differ++
			if differ <= 5 {
				cj, _ := json.MarshalIndent(c, "", "  ")
				t.Errorf("seed %d case %d: Gatehouse %s %v, Cedar %s %v\n%s", seed, i, got.key(), got.Messages, want.key(), want.Messages, cj)
			}
		}
		switch {
		case want.Rejected:
			rejected++
		case want.Decision == "allow":
			allow++
		}
		if len(want.ErrorPolicies) > 0 {
			withErrors++
		}
	}
	t.Logf("seed %d: %d cases against Cedar %s: %d allow, %d rejected, %d with evaluation errors, %d differ",
		seed, n, ref.CedarVersion, allow, rejected, withErrors, differ)
	if differ > 0 {
		t.Fatalf("seed %d: %d of %d cases differ from Cedar (rerun with -cedardiff.seed=%d)", seed, differ, n, seed)
	}
	// A generator that never reaches these outcomes would make the comparison vacuous.
	if !testing.Short() && (allow == 0 || rejected == 0 || withErrors == 0 || allow == n-rejected) {
		t.Fatalf("seed %d: generator coverage too low: allow %d, rejected %d, errors %d", seed, allow, rejected, withErrors)
	}
}

// nodeAndJS returns node and the directory of the reference scripts. Locally it skips when
// the npm package or node is missing; in CI (CI set) that is a failure.
func nodeAndJS(t *testing.T) (node, jsDir string) {
	t.Helper()
	jsDir, err := filepath.Abs("js")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@cedar-policy", "cedar-wasm")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("@cedar-policy/cedar-wasm is not installed (npm ci --prefix internal/cedardiff/js): %v", err)
		}
		t.Skip("@cedar-policy/cedar-wasm not installed; run npm ci --prefix internal/cedardiff/js")
	}
	node, err = exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node is not installed")
		}
		t.Skip("node not installed")
	}
	return node, jsDir
}

// gatehouse decides c through Gatehouse's layers: the AVP cedarJson parsers, the schema's
// reading of entities and context, and the indexed engine with the schema's action entities.
func gatehouse(t *testing.T, c testCase) answer {
	t.Helper()
	reject := func(err error) answer { return answer{Rejected: true, Messages: []string{err.Error()}} }
	ents, err := avpapi.EntitiesFromCedarJSON(c.Entities, "entities")
	if err != nil {
		return reject(err)
	}
	ctx, err := avpapi.ContextFromCedarJSON(c.Context, "context")
	if err != nil {
		return reject(err)
	}
	action := types.NewEntityUID(types.EntityType(c.Action.Type), types.String(c.Action.ID))
	stored := types.EntityMap{}
	if c.Schema != "" {
		sch, err := policy.ParseSchema([]byte(c.Schema))
		if err != nil {
			t.Fatalf("schema: %v", err)
		}
		for uid, e := range ents {
			if ents[uid], err = sch.ConformEntity(e); err != nil {
				return reject(err)
			}
		}
		if ctx, err = sch.ConformContext(action, ctx); err != nil {
			return reject(err)
		}
		for _, a := range sch.Actions() {
			stored[a.UID] = a
		}
	}
	var ps []engine.Policy
	for _, id := range slices.Sorted(mapsKeys(c.Policies)) {
		st, err := policy.ParseStatic(c.Policies[id])
		if err != nil {
			t.Fatalf("policy %s: %v", id, err)
		}
		ps = append(ps, engine.Policy{ID: id, Policy: st.Policy})
	}
	snap, err := engine.Build(engine.Input{Policies: ps, Entities: stored})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	res := snap.Authorize(cedar.Request{
		Principal: types.NewEntityUID(types.EntityType(c.Principal.Type), types.String(c.Principal.ID)),
		Action:    action,
		Resource:  types.NewEntityUID(types.EntityType(c.Resource.Type), types.String(c.Resource.ID)),
		Context:   ctx,
	}, ents)
	a := answer{Decision: "deny", Reasons: res.DeterminingPolicies}
	if res.Decision == cedar.Allow {
		a.Decision = "allow"
	}
	for _, e := range res.Errors {
		if !slices.Contains(a.ErrorPolicies, e.PolicyID) {
			a.ErrorPolicies = append(a.ErrorPolicies, e.PolicyID)
		}
	}
	slices.Sort(a.ErrorPolicies)
	return a
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// gen draws random cases. Everything comes from r, so a seed reproduces a run.
type gen struct{ r *rand.Rand }

func (g *gen) pick(s ...string) string { return s[g.r.IntN(len(s))] }
func (g *gen) chance(p float64) bool   { return g.r.Float64() < p }

const schemaText = `
entity Group;
entity User in [Group] { level: Long, manager?: User, score?: decimal };
entity Doc { owner: User, limit: decimal, ip?: ipaddr, created?: datetime, ttl?: duration, tags: Set<String>, meta?: { n: Long } };
action all;
action read in [all] appliesTo { principal: User, resource: Doc, context: { score: decimal, level?: Long, now?: datetime, who?: User } };
action write in [all] appliesTo { principal: User, resource: Doc };
`

// policies are drawn from these; together they exercise entity references, extension values
// (comparisons and methods), sets, records, hierarchy, has, and evaluation errors.
var policyPool = []string{
	`permit(principal, action == Action::"read", resource) when { principal == resource.owner };`,
	`permit(principal, action in Action::"all", resource is Doc) when { resource.limit.lessThan(context.score) };`,
	`forbid(principal, action, resource) when { resource has ip && resource.ip.isInRange(ip("10.0.0.0/8")) };`,
	`permit(principal in Group::"g1", action in Action::"all", resource);`,
	`forbid(principal, action, resource) when { context has level && context.level > 3 };`,
	`permit(principal, action, resource) when { principal.level >= 2 && resource.tags.contains("a") };`,
	`permit(principal, action, resource) when { resource.limit.greaterThan(decimal("0.5")) };`,
	`permit(principal, action, resource) when { principal.level + 9223372036854775000 > 0 };`,
	`permit(principal, action, resource) when { resource has created && resource.created < datetime("2000-01-01") };`,
	`forbid(principal, action, resource) when { resource has created && context has now && resource.created.offset(duration("1d")) > context.now };`,
	`permit(principal, action, resource) when { principal has manager && principal.manager == resource.owner };`,
	`permit(principal, action, resource) when { context has who && context.who in Group::"g2" };`,
	`forbid(principal, action, resource) when { resource has meta && resource.meta.n == principal.level };`,
	`permit(principal, action, resource) when { resource has ttl && resource.ttl.toHours() >= 1 };`,
	`forbid(principal == User::"u3", action, resource);`,
	`permit(principal, action, resource) when { principal.score.lessThanOrEqual(resource.limit) };`,
	// cedar-go alone differs from Cedar on these (policy.cedarCompat).
	`permit(principal, action, resource) when { resource has created && resource.created.toDate() == datetime("1969-07-20") };`,
	`forbid(principal, action, resource) when { context has now && context.now.toTime() < duration("12h") };`,
	`permit(principal, action, resource) when { resource has created && resource.created.toTime() >= duration("20h") };`,
	`permit(principal, action, resource) when { decimal("+1.0").lessThan(resource.limit) };`,
	`forbid(principal, action, resource) when { context has now && context.now.toDate() < datetime("1970-01-01") };`,
}

func (g *gen) testCase() testCase {
	c := testCase{
		Principal: uidJSON{"User", fmt.Sprintf("u%d", g.r.IntN(4))},
		Action:    uidJSON{"Action", g.pick("read", "read", "write")},
		Resource:  uidJSON{"Doc", fmt.Sprintf("d%d", g.r.IntN(3))},
		Policies:  map[string]string{},
	}
	if g.chance(0.7) {
		c.Schema = schemaText
	}
	for i := range 1 + g.r.IntN(5) {
		c.Policies[fmt.Sprintf("p%d", i)] = policyPool[g.r.IntN(len(policyPool))]
	}
	var ents []map[string]any
	for i := range 4 {
		if g.chance(0.8) {
			ents = append(ents, g.user(i))
		}
	}
	for i := range 3 {
		if g.chance(0.8) {
			ents = append(ents, g.doc(i))
		}
	}
	if ents == nil {
		ents = []map[string]any{}
	}
	c.Entities, _ = json.Marshal(ents)
	ctx := map[string]any{}
	if c.Action.ID == "read" || g.chance(0.1) {
		ctx["score"] = g.decimal()
		if g.chance(0.5) {
			ctx["level"] = g.long()
		}
		if g.chance(0.5) {
			ctx["now"] = g.datetime()
		}
		if g.chance(0.5) {
			ctx["who"] = g.ref("User", 4)
		}
	}
	c.Context, _ = json.Marshal(ctx)
	return c
}

func (g *gen) ref(typ string, n int) any {
	u := map[string]any{"type": typ, "id": fmt.Sprintf("%s%d", strings.ToLower(typ[:1]), g.r.IntN(n))}
	switch {
	case g.chance(0.3):
		return map[string]any{"__entity": u}
	case g.chance(0.01):
		u["type"] = "Group" // wrong type where the schema says User
	}
	return u
}

func (g *gen) long() any {
	if g.chance(0.01) {
		return "3" // a string where the schema says Long
	}
	return g.r.IntN(6)
}

func (g *gen) decimal() any {
	s := g.pick("0.1", "0.5", "0.6", "1.0", "-2.25", "0.7")
	switch {
	case g.chance(0.01):
		s = "+" + s // Cedar's decimal() rejects a leading +
	case g.chance(0.01):
		s = "1.23456"
	case g.chance(0.2):
		return map[string]any{"__extn": map[string]any{"fn": "decimal", "arg": s}}
	}
	return s
}

func (g *gen) datetime() any {
	s := g.pick("1999-12-31", "2024-01-01T00:00:00Z", "1969-07-20T20:17:00Z", "2000-01-01T12:00:00.000+0100")
	if g.chance(0.2) {
		return map[string]any{"__extn": map[string]any{"fn": "datetime", "arg": s}}
	}
	return s
}

func (g *gen) user(i int) map[string]any {
	attrs := map[string]any{"level": g.long()}
	if g.chance(0.4) {
		attrs["manager"] = g.ref("User", 4)
	}
	if g.chance(0.4) {
		attrs["score"] = g.decimal()
	}
	if g.chance(0.01) {
		delete(attrs, "level") // missing required attribute
	}
	if g.chance(0.01) {
		attrs["extra"] = true // undeclared attribute
	}
	var parents []any
	if g.chance(0.5) {
		parents = append(parents, map[string]any{"type": "Group", "id": fmt.Sprintf("g%d", g.r.IntN(3))})
	}
	if parents == nil {
		parents = []any{}
	}
	return map[string]any{"uid": map[string]any{"type": "User", "id": fmt.Sprintf("u%d", i)}, "attrs": attrs, "parents": parents}
}

func (g *gen) doc(i int) map[string]any {
	tags := []any{}
	for range g.r.IntN(3) {
		tags = append(tags, g.pick("a", "b", "c"))
	}
	attrs := map[string]any{"owner": g.ref("User", 4), "limit": g.decimal(), "tags": tags}
	if g.chance(0.4) {
		ip := g.pick("10.1.2.3", "192.168.0.1", "10.0.0.0/16", "::1")
		if g.chance(0.01) {
			ip = "10.1.2"
		}
		attrs["ip"] = ip
	}
	if g.chance(0.4) {
		attrs["created"] = g.datetime()
	}
	if g.chance(0.3) {
		attrs["ttl"] = g.pick("1h", "30m", "2d3h", "-1h")
	}
	if g.chance(0.3) {
		attrs["meta"] = map[string]any{"n": g.long()}
	}
	return map[string]any{"uid": map[string]any{"type": "Doc", "id": fmt.Sprintf("d%d", i)}, "attrs": attrs, "parents": []any{}}
}
