package engine

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/ast"
	"github.com/cedar-policy/cedar-go/types"
)

const pool = "us-east-1_X"

func petGroup(name string) types.EntityUID {
	return uid("PetStore::UserGroup", pool+"|"+name)
}

func petAction(name string) types.EntityUID { return uid("PetStore::Action", name) }

// wizardStore mirrors what the AVP API-Gateway wizard generates: one
// policy per user group, listing the API operations the group may call.
func wizardStore(b *testing.B) ([]Policy, types.EntityMap) {
	texts := map[string]string{
		"employees": `permit(principal in PetStore::UserGroup::"us-east-1_X|employees", action in [PetStore::Action::"get /pets", PetStore::Action::"post /pets"], resource);`,
		"admins":    `permit(principal in PetStore::UserGroup::"us-east-1_X|admins", action in [PetStore::Action::"get /pets", PetStore::Action::"post /pets", PetStore::Action::"delete /pets/{id}"], resource);`,
		"customers": `permit(principal in PetStore::UserGroup::"us-east-1_X|customers", action in [PetStore::Action::"get /pets"], resource);`,
		"vets":      `permit(principal in PetStore::UserGroup::"us-east-1_X|vets", action in [PetStore::Action::"get /pets/{id}"], resource);`,
		"auditors":  `permit(principal in PetStore::UserGroup::"us-east-1_X|auditors", action in [PetStore::Action::"get /audit"], resource);`,
	}
	ps := mustPolicies(b, texts)
	em := types.EntityMap{}
	for _, a := range []string{"get /pets", "post /pets", "delete /pets/{id}", "get /pets/{id}", "get /audit"} {
		em[petAction(a)] = types.Entity{UID: petAction(a)}
	}
	return ps, em
}

// tokenUser is the per-request principal built from a JWT: two groups.
func tokenUser(groups ...string) (types.EntityUID, types.EntityMap) {
	u := uid("PetStore::User", pool+"|alice")
	parents := make([]types.EntityUID, len(groups))
	for i, g := range groups {
		parents[i] = petGroup(g)
	}
	return u, types.EntityMap{u: {UID: u, Parents: types.NewEntityUIDSet(parents...)}}
}

func benchRequest(principal types.EntityUID, action string) cedar.Request {
	return cedar.Request{
		Principal: principal,
		Action:    petAction(action),
		Resource:  uid("PetStore::Application", "petstore"),
		Context:   types.NewRecord(types.RecordMap{"sourceIp": types.String("10.0.0.1")}),
	}
}

func BenchmarkAuthorizeWizardStore(b *testing.B) {
	ps, em := wizardStore(b)
	s, err := Build(Input{Revision: 1, Policies: ps, Entities: em})
	if err != nil {
		b.Fatal(err)
	}
	full := cedar.PolicyMap{}
	for _, p := range ps {
		full[cedar.PolicyID(p.ID)] = p.Policy
	}
	principal, overlay := tokenUser("employees", "customers")
	cases := []struct {
		name   string
		action string
		want   cedar.Decision
	}{
		{"allow", "post /pets", cedar.Allow},
		{"deny", "get /audit", cedar.Deny},
	}
	for _, tc := range cases {
		req := benchRequest(principal, tc.action)
		b.Run("engine/"+tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if r := s.Authorize(req, overlay); r.Decision != tc.want {
					b.Fatalf("decision %v", r.Decision)
				}
			}
		})
		b.Run("cedar/"+tc.name, func(b *testing.B) {
			ents := Merge(overlay, em)
			b.ReportAllocs()
			for b.Loop() {
				if d, _ := cedar.Authorize(full, ents, req); d != tc.want {
					b.Fatalf("decision %v", d)
				}
			}
		})
	}
}

// groupPolicies returns n per-group policies, built through the AST
// builder (parsing is measured separately in BenchmarkBuild100k).
func groupPolicies(n int) []Policy {
	ps := make([]Policy, n)
	post := petAction("post /pets")
	for i := range ps {
		p := ast.Permit().PrincipalIn(petGroup(fmt.Sprint("g", i))).ActionInSet(post)
		ps[i] = Policy{ID: fmt.Sprintf("policy%06d", i), Policy: cedar.NewPolicyFromAST(p)}
	}
	return ps
}

func BenchmarkAuthorizeScale(b *testing.B) {
	all := groupPolicies(100_000)
	em := types.EntityMap{petAction("post /pets"): {UID: petAction("post /pets")}}
	for _, n := range []int{10, 1000, 10_000, 100_000} {
		ps := all[:n]
		// The principal's groups match exactly one policy.
		principal, overlay := tokenUser(fmt.Sprint("g", n/2), "nomatch")
		req := benchRequest(principal, "post /pets")
		b.Run(fmt.Sprintf("policies=%d/engine", n), func(b *testing.B) {
			s, err := Build(Input{Policies: ps, Entities: em})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if r := s.Authorize(req, overlay); r.Decision != cedar.Allow || len(r.DeterminingPolicies) != 1 {
					b.Fatalf("result %+v", r)
				}
			}
		})
		b.Run(fmt.Sprintf("policies=%d/cedar", n), func(b *testing.B) {
			full := make(cedar.PolicyMap, n)
			for _, p := range ps {
				full[cedar.PolicyID(p.ID)] = p.Policy
			}
			ents := Merge(overlay, em)
			b.ReportAllocs()
			for b.Loop() {
				if d, _ := cedar.Authorize(full, ents, req); d != cedar.Allow {
					b.Fatalf("decision %v", d)
				}
			}
		})
	}
}

func liveHeapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

func BenchmarkBuild100k(b *testing.B) {
	const n = 100_000
	b.Run("parsed", func(b *testing.B) {
		ps := groupPolicies(n)
		before := liveHeapMB()
		var s *Snapshot
		b.ReportAllocs()
		for b.Loop() {
			var err error
			if s, err = Build(Input{Policies: ps}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/build")
		// The policies predate before: this is the index's own cost.
		b.ReportMetric(liveHeapMB()-before, "heapMB")
		runtime.KeepAlive(s)
		runtime.KeepAlive(ps)
	})
	b.Run("text", func(b *testing.B) {
		var text strings.Builder
		for i := range n {
			fmt.Fprintf(&text, "permit(principal in PetStore::UserGroup::\"%s|g%d\", action in [PetStore::Action::\"post /pets\"], resource);\n", pool, i)
		}
		doc := []byte(text.String())
		text.Reset()
		before := liveHeapMB()
		var s *Snapshot
		b.ReportAllocs()
		for b.Loop() {
			s = nil // let the previous iteration's snapshot go before measuring
			list, err := cedar.NewPolicyListFromBytes("bench.cedar", doc)
			if err != nil {
				b.Fatal(err)
			}
			ps := make([]Policy, len(list))
			for i, p := range list {
				ps[i] = Policy{ID: fmt.Sprintf("policy%06d", i), Policy: p}
			}
			if s, err = Build(Input{Policies: ps}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/build")
		// Parsed policies plus index.
		b.ReportMetric(liveHeapMB()-before, "heapMB")
		runtime.KeepAlive(s)
	})
}

// groupPoliciesN is groupPolicies for tests.
func groupPoliciesN(n int) []Policy { return groupPolicies(n) }

// BenchmarkChange100k compares moving a 100,000-policy snapshot to the next
// revision after one policy changed: Apply (incremental) against Build (from
// the already parsed policies, what a full rebuild costs at best).
// Run: go test -run x -bench Change100k ./internal/engine/
func BenchmarkChange100k(b *testing.B) {
	const n = 100_000
	ps := groupPolicies(n)
	changed := func(i int) Policy {
		p := ast.Permit().PrincipalIn(petGroup(fmt.Sprint("changed", i))).ActionInSet(petAction("post /pets"))
		return Policy{ID: ps[(i*7919)%n].ID, Policy: cedar.NewPolicyFromAST(p)}
	}
	b.Run("apply", func(b *testing.B) {
		s, err := Build(Input{Policies: ps})
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			i++
			if s, err = s.Apply(Change{Revision: int64(i), Put: []Policy{changed(i)}}); err != nil {
				b.Fatal(err)
			}
		}
		if s.Len() != n {
			b.Fatalf("Len %d", s.Len())
		}
	})
	b.Run("build", func(b *testing.B) {
		cur := slices.Clone(ps)
		i := 0
		for b.Loop() {
			i++
			c := changed(i)
			cur[(i*7919)%n] = c
			if _, err := Build(Input{Revision: int64(i), Policies: cur}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// conditionPolicies returns n policies with an open (or action-only) scope
// whose condition decides, the way multi-tenant stores are written: policy
// i admits tenant "t<i>".
func conditionPolicies(b *testing.B, n int, format string) []Policy {
	var text strings.Builder
	for i := range n {
		fmt.Fprintf(&text, format+"\n", fmt.Sprint("t", i))
	}
	list, err := cedar.NewPolicyListFromBytes("bench.cedar", []byte(text.String()))
	if err != nil {
		b.Fatal(err)
	}
	ps := make([]Policy, len(list))
	for i, p := range list {
		ps[i] = Policy{ID: fmt.Sprintf("policy%06d", i), Policy: p}
	}
	return ps
}

// BenchmarkAuthorizeConditionScale measures the condition index: the same
// request against 10 to 100,000 policies of each shape, one of which
// matches. Compare policies=100000/engine with policies=10/engine of the
// same shape (and with cedar at 10).
// Run: go test -run x -bench AuthorizeConditionScale ./internal/engine/
func BenchmarkAuthorizeConditionScale(b *testing.B) {
	shapes := []struct{ name, format string }{
		{"context", `permit(principal, action, resource) when { context.tenant == %q };`},
		{"principal", `permit(principal, action, resource) when { principal.tenant == %q && context.mfa == true };`},
		{"resource", `permit(principal, action, resource) when { resource.classification == %q };`},
		{"action-only", `permit(principal, action == PetStore::Action::"post /pets", resource) when { context.tenant == %q };`},
	}
	for _, sh := range shapes {
		all := conditionPolicies(b, 100_000, sh.format)
		for _, n := range []int{10, 1000, 100_000} {
			ps := all[:n]
			target := types.String(fmt.Sprint("t", n/2))
			principal := uid("PetStore::User", pool+"|alice")
			resource := uid("PetStore::Application", "petstore")
			em := types.EntityMap{
				petAction("post /pets"): {UID: petAction("post /pets")},
				principal:               {UID: principal, Attributes: types.NewRecord(types.RecordMap{"tenant": target})},
				resource:                {UID: resource, Attributes: types.NewRecord(types.RecordMap{"classification": target})},
			}
			req := cedar.Request{
				Principal: principal,
				Action:    petAction("post /pets"),
				Resource:  resource,
				Context:   types.NewRecord(types.RecordMap{"tenant": target, "mfa": types.True}),
			}
			check := func(b *testing.B, d cedar.Decision) {
				if d != cedar.Allow {
					b.Fatalf("decision %v", d)
				}
			}
			b.Run(fmt.Sprintf("%s/policies=%d/engine", sh.name, n), func(b *testing.B) {
				s, err := Build(Input{Policies: ps, Entities: em})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					r := s.Authorize(req, nil)
					check(b, r.Decision)
					if len(r.DeterminingPolicies) != 1 {
						b.Fatalf("result %+v", r)
					}
				}
			})
			if n > 1000 {
				continue // cedar-go alone is linear: 10 and 1000 show its slope
			}
			b.Run(fmt.Sprintf("%s/policies=%d/cedar", sh.name, n), func(b *testing.B) {
				full := make(cedar.PolicyMap, n)
				for _, p := range ps {
					full[cedar.PolicyID(p.ID)] = p.Policy
				}
				b.ReportAllocs()
				for b.Loop() {
					d, _ := cedar.Authorize(full, em, req)
					check(b, d)
				}
			})
		}
	}
}
