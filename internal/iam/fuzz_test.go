package iam_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/iam"
)

// FuzzParse checks Parse never panics and that whatever it accepts can be
// evaluated without panicking, against a request that exercises every kind
// of condition key.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		doc, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	for _, s := range []string{
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`,
		`{"Statement":[{"Effect":"Deny","NotAction":"s3:*","NotResource":["arn:*"]}]}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:StringLikeIfExists":{"aws:TagKeys":["a*",1,true]}}}}`,
		`{"Statement":{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThanEquals":{"aws:PrincipalTag/n":"1e3"},"DateEquals":{"aws:PrincipalTag/d":"2020-01-01"},"Bool":{"aws:PrincipalTag/b":false},"IpAddress":{"aws:PrincipalTag/ip":"::1"}}}}`,
		`{"Statement":{"Effect":"Allow","Effect":"Deny"}}`,
		`{"Statement":[[[[[[[[[[[[[]]]]]]]]]]]]]}`,
	} {
		f.Add([]byte(s))
	}
	reqs := []iam.Request{
		{},
		{
			Resource:        iam.MethodARN("us-east-1", "123456789012", "abc", "dev", "GET", "/petstore/v1/pets"),
			SourceIP:        netip.MustParseAddr("192.0.2.1"),
			SecureTransport: true,
			Now:             time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
			Values: map[string][]string{
				"aws:UserAgent": {"curl"}, "aws:Referer": nil, "aws:TagKeys": {"a", "b"},
				"aws:PrincipalTag/n": {"12"}, "aws:PrincipalTag/d": {"2020-01-01"},
				"aws:PrincipalTag/b": {"false"}, "aws:PrincipalTag/ip": {"::1", "x"},
			},
		},
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := iam.Parse(doc)
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned both a policy and an error")
			}
			return
		}
		_ = p.ConditionKeys()
		for _, req := range reqs {
			d := iam.Evaluate(req, p)
			if d != iam.ImplicitDeny && d != iam.Allow && d != iam.ExplicitDeny {
				t.Fatalf("Evaluate returned %v", d)
			}
			// A policy never denies less for being listed twice.
			if d2 := iam.Evaluate(req, p, p); d2 != d {
				t.Fatalf("Evaluate(p, p) = %v, Evaluate(p) = %v", d2, d)
			}
		}
	})
}
