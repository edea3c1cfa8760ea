package policy

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"
)

// cedarParse is the reference: cedar-go's parser, as parseOne calls it.
func cedarParse(text string) (*cedar.Policy, bool) {
	var list cedar.PolicyList
	if err := list.UnmarshalCedar([]byte(text)); err != nil || len(list) != 1 {
		return nil, false
	}
	return list[0], true
}

// sameAsCedar fails the test unless the fast path either declines text or builds exactly
// the policy cedar-go parses from it.
func sameAsCedar(t *testing.T, text string) (accepted bool) {
	t.Helper()
	fast, ok := parseScopeOnly(text)
	if !ok {
		return false
	}
	slow, sok := cedarParse(text)
	if !sok {
		t.Fatalf("fast path accepted text cedar-go rejects: %q", text)
	}
	if !reflect.DeepEqual(fast.AST(), slow.AST()) {
		t.Fatalf("fast path differs from cedar-go for %q:\nfast %#v\ncedar %#v", text, fast.AST(), slow.AST())
	}
	if !bytes.Equal(fast.MarshalCedar(), slow.MarshalCedar()) || fast.Position() != slow.Position() {
		t.Fatalf("fast path differs from cedar-go for %q: %s %v vs %s %v", text, fast.MarshalCedar(), fast.Position(), slow.MarshalCedar(), slow.Position())
	}
	fj, _ := fast.MarshalJSON()
	sj, _ := slow.MarshalJSON()
	if !bytes.Equal(fj, sj) {
		t.Fatalf("JSON differs for %q: %s vs %s", text, fj, sj)
	}
	return true
}

func TestScopeOnlyMatchesCedar(t *testing.T) {
	t.Parallel()
	accepted := []string{
		`permit(principal, action, resource);`,
		"\n\n  forbid (principal == User::\"alice\", action == Action::\"view\", resource == Photo::\"p 1\");\n",
		`permit(principal in PetStore::UserGroup::"pool|group1", action in [PetStore::Action::"get /pets", PetStore::Action::"post /pets"], resource);`,
		`@id("x") @advice("") @flag permit(principal is User, action in Action::"read", resource is Doc in Folder::"f");`,
		`permit(principal is A::B in A::G::"g", action, resource,);`,
		"permit(\tprincipal\r\n,action\n,resource\n)\n;",
	}
	for _, text := range accepted {
		if !sameAsCedar(t, text) {
			t.Errorf("fast path declined %q", text)
		}
	}
	declined := []string{
		`permit(principal, action, resource) when { true };`,
		`permit(principal == ?principal, action, resource);`,
		`// comment
permit(principal, action, resource);`,
		`permit(principal == User::"a\"b", action, resource);`,
		`permit(principal == User::"é", action, resource);`,
		`permit(principal == if::"a", action, resource);`,
		`@id("a") @id("b") permit(principal, action, resource);`,
		`permit(principal, action in [], resource);`,
		`permit(principal, action, resource); permit(principal, action, resource);`,
		`permit(principal == User :: "a", action, resource);`,
		`permit(principal, action, resource)`,
	}
	for _, text := range declined {
		if sameAsCedar(t, text) {
			t.Errorf("fast path accepted %q", text)
		}
	}
}

// TestScopeOnlyRandom generates heads from pieces, with random spacing, and checks each
// against cedar-go.
func TestScopeOnlyRandom(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	sp := func() string { return []string{"", " ", "  ", "\n", "\t", "\r\n "}[r.IntN(6)] }
	name := func() string { return []string{"User", "A::B", "NS::Sub::T", "_x1", "is_", "inx"}[r.IntN(6)] }
	ent := func() string { return name() + `::"` + []string{"", "a", "pool|g 1", "x/y?z"}[r.IntN(4)] + `"` }
	scope := func(v string) string {
		switch r.IntN(5) {
		case 0:
			return v
		case 1:
			return v + sp() + "==" + sp() + ent()
		case 2:
			return v + " in" + sp() + " " + ent()
		case 3:
			return v + " is " + name()
		default:
			return v + " is " + name() + " in " + ent()
		}
	}
	action := func() string {
		switch r.IntN(4) {
		case 0:
			return "action"
		case 1:
			return "action ==" + sp() + ent()
		case 2:
			return "action in " + ent()
		default:
			n := 1 + r.IntN(3)
			var es []string
			for range n {
				es = append(es, ent())
			}
			return "action in" + sp() + "[" + strings.Join(es, ","+sp()) + sp() + "]"
		}
	}
	n := 0
	for range 3000 {
		var b strings.Builder
		b.WriteString(sp())
		for i := range r.IntN(3) {
			fmt.Fprintf(&b, "@k%d%s", i, sp())
			if r.IntN(2) == 0 {
				fmt.Fprintf(&b, `(%s"v%d")%s`, sp(), i, sp())
			}
		}
		b.WriteString([]string{"permit", "forbid"}[r.IntN(2)] + sp() + "(" + sp() + scope("principal") + sp() + "," + sp() + action() + sp() + "," + sp() + scope("resource") + sp() + ")" + sp() + ";" + sp())
		if sameAsCedar(t, b.String()) {
			n++
		}
	}
	if n < 1000 {
		t.Fatalf("the fast path took only %d of 3000 generated heads", n)
	}
}

// FuzzScopeOnlyMatchesCedar: whatever the text, the fast path declines it or builds the policy
// cedar-go parses.
func FuzzScopeOnlyMatchesCedar(f *testing.F) {
	for _, s := range []string{
		`permit(principal, action, resource);`,
		`@id("x") forbid(principal in G::"a", action in [A::"b", A::"c"], resource is T in F::"d");`,
		`permit(principal == U::"u", action == Action::"x", resource == R::"r",);`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		sameAsCedar(t, text)
	})
}

// BenchmarkParseHead compares cedar-go's parser with the fast path on the statement shape of
// a per-group store. Run: go test -run x -bench ParseHead ./internal/policy/
func BenchmarkParseHead(b *testing.B) {
	const text = `permit(principal in PetStore::UserGroup::"us-east-1_abc|group123", action in [PetStore::Action::"get /pets", PetStore::Action::"post /pets"], resource);`
	b.Run("cedar-go", func(b *testing.B) {
		for b.Loop() {
			if _, ok := cedarParse(text); !ok {
				b.Fatal("parse")
			}
		}
	})
	b.Run("scope-only", func(b *testing.B) {
		for b.Loop() {
			if _, ok := parseScopeOnly(text); !ok {
				b.Fatal("parse")
			}
		}
	})
}
