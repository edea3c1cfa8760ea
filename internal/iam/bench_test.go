package iam_test

import (
	"net/netip"
	"testing"

	"github.com/gatehouse-dev/gatehouse/internal/iam"
)

// BenchmarkEvaluate measures article 001's pet-veterinarian policy (two
// wildcard resources and an IpAddress condition) on the three outcomes that
// take different paths: allowed by the first resource, allowed by the
// second, and implicitly denied after trying both.
func BenchmarkEvaluate(b *testing.B) {
	vet := mustParseFile(b, "pet-veterinarian.json")
	ip := netip.MustParseAddr("192.0.2.44")
	cases := []struct {
		name string
		verb string
		path string
	}{
		{"allow-v1", "GET", "/petstore/v1/pets/3"},
		{"allow-v2-status", "GET", "/petstore/v2/status"},
		{"implicit-deny", "GET", "/petstore/v2/pets"},
	}
	for _, c := range cases {
		req := iam.Request{Action: iam.InvokeAction, Resource: arn(c.verb, c.path), SourceIP: ip}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				iam.Evaluate(req, vet)
			}
		})
	}
}

// BenchmarkParse is the baseline Evaluate is compared with: the cost of
// compiling the same document, which Evaluate never pays.
func BenchmarkParse(b *testing.B) {
	doc := []byte(mustRead(b, "pet-veterinarian.json"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := iam.Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
