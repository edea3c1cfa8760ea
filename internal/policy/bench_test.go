package policy_test

import (
	"testing"

	"github.com/cedar-policy/cedar-go"

	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

const benchTemplate = `permit(
  principal in ?principal,
  action in [PetStore::Action::"post /pets", PetStore::Action::"get /pets"],
  resource
) when { context has token };`

// benchLinked is the text BenchmarkLink produces.
const benchLinked = `permit(
  principal in PetStore::UserGroup::"us-east-1_EXAMPLE|owners",
  action in [PetStore::Action::"post /pets", PetStore::Action::"get /pets"],
  resource
) when { context has token };`

// BenchmarkCedarParse is the baseline: cedar-go alone parsing benchLinked.
func BenchmarkCedarParse(b *testing.B) {
	text := []byte(benchLinked)
	b.ReportAllocs()
	for b.Loop() {
		var l cedar.PolicyList
		if err := l.UnmarshalCedar(text); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseStatic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := policy.ParseStatic(benchLinked); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLink(b *testing.B) {
	tpl, err := policy.ParseTemplate(benchTemplate)
	if err != nil {
		b.Fatal(err)
	}
	g := uid("PetStore::UserGroup", "us-east-1_EXAMPLE|owners")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Link(g, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	s := mustSchema(b, readTestdata(b, "petstore.schema.json"))
	st, err := policy.ParseStatic(readTestdata(b, "petstore-owners.cedar"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Validate("p", st.Policy); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidateTemplate(b *testing.B) {
	s := mustSchema(b, readTestdata(b, "petstore.schema.json"))
	tpl, err := policy.ParseTemplate(`permit(principal in ?principal, action in [PetStore::Action::"post /pets", PetStore::Action::"get /pets"], resource);`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ValidateTemplate("t", tpl); err != nil {
			b.Fatal(err)
		}
	}
}
