package identity_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/cedar-policy/cedar-go/types"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
)

func uid(typ, id string) types.EntityUID {
	return types.NewEntityUID(types.EntityType(typ), types.String(id))
}

func validated(t *testing.T, r *identity.Registry, raw string, use identity.TokenUse, src *identity.Source) *identity.Token {
	t.Helper()
	tok, _, err := r.Validate(context.Background(), raw, use, []*identity.Source{src})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestCognitoMapping(t *testing.T) {
	keys(t)
	clk := newClock()
	now := clk.Now()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	src := p.cognitoSource(t, "client-1")
	r := newRegistry(t, clk)
	iss := p.cognitoIssuer()
	idTok := validated(t, r, mint(t, "k1", "RS256", rsaA, cognitoID(iss, now)), identity.UseID, src)
	accTok := validated(t, r, mint(t, "k1", "RS256", rsaA, cognitoAccess(iss, now)), identity.UseAccess, src)

	wantPrincipal := uid("App::User", poolID+"|user-1")
	for _, tok := range []*identity.Token{idTok, accTok} {
		got, err := src.Principal(tok)
		if err != nil || got != wantPrincipal {
			t.Fatalf("principal %v, %v; want %v", got, err, wantPrincipal)
		}
	}
	if g := src.Groups(accTok); !slices.Equal(g, []types.EntityUID{uid("App::Group", poolID+"|admins"), uid("App::Group", poolID+"|readers")}) {
		t.Fatalf("groups %v", g)
	}

	t.Run("id token attributes", func(t *testing.T) {
		e, err := src.Entity(idTok, nil)
		if err != nil {
			t.Fatal(err)
		}
		if e.UID != wantPrincipal || !e.Parents.Contains(uid("App::Group", poolID+"|admins")) || e.Parents.Len() != 1 {
			t.Fatalf("entity %v parents %v", e.UID, e.Parents)
		}
		want := map[string]types.Value{
			"cognito:username":  types.String("alice"),
			"custom:costCenter": types.String("cc-42"),
			"custom:level":      types.Long(7),
			"email_verified":    types.True,
			"aud":               types.String("client-1"),
			"token_use":         types.String("id"),
			"exp":               types.Long(now.Add(time.Hour).Unix()),
			"address":           types.NewRecord(types.RecordMap{"country": types.String("NZ")}),
		}
		for k, v := range want {
			got, ok := e.Attributes.Get(types.String(k))
			if !ok || !got.Equal(v) {
				t.Errorf("attribute %q = %v, want %v", k, got, v)
			}
		}
		if _, ok := e.Attributes.Get("cognito:groups"); ok {
			t.Error("cognito:groups must be parents, not an attribute")
		}
	})

	t.Run("undeclared claims dropped, legacy nested form", func(t *testing.T) {
		declared := func(n string) bool { return n == "email" || n == "custom" || n == "cognito:username" }
		e, err := src.Entity(idTok, declared)
		if err != nil {
			t.Fatal(err)
		}
		if e.Attributes.Len() != 3 {
			t.Fatalf("attributes %v", e.Attributes)
		}
		custom, _ := e.Attributes.Get("custom")
		want := types.NewRecord(types.RecordMap{"costCenter": types.String("cc-42"), "level": types.Long(7)})
		if !custom.Equal(want) {
			t.Fatalf("principal.custom = %v, want %v", custom, want)
		}
	})

	t.Run("access token entity has no attributes", func(t *testing.T) {
		e, err := src.Entity(accTok, nil)
		if err != nil || e.Attributes.Len() != 0 || e.Parents.Len() != 2 {
			t.Fatalf("%v %v", e, err)
		}
	})

	t.Run("context token", func(t *testing.T) {
		rec := src.ContextToken(accTok)
		scope, _ := rec.Get("scope")
		if !scope.Equal(types.NewSet(types.String("openid"), types.String("pets/read"), types.String("pets/write"))) {
			t.Fatalf("scope %v", scope)
		}
		if v, _ := rec.Get("client_id"); !v.Equal(types.String("client-1")) {
			t.Fatalf("client_id %v", v)
		}
		if _, ok := rec.Get("cognito:groups"); ok {
			t.Fatal("groups claim in context")
		}
	})

	t.Run("reserved names", func(t *testing.T) {
		raw := mint(t, "k1", "RS256", rsaA, with(cognitoID(iss, now), "cognito", "x"))
		if _, _, err := r.Validate(context.Background(), raw, identity.UseID, []*identity.Source{src}); !errors.Is(err, identity.ErrClaims) {
			t.Fatalf("validate: %v", err)
		}
		// Entity refuses it too, for any source kind.
		forged := *idTok
		forged.Claims = with(idTok.Claims, "dev", "x")
		if _, err := src.Entity(&forged, nil); !errors.Is(err, identity.ErrClaims) {
			t.Fatalf("entity: %v", err)
		}
	})
}

func TestOIDCMapping(t *testing.T) {
	keys(t)
	clk := newClock()
	now := clk.Now()
	p := newIdP(t, jwksJSON(rsaJWK("k1", "RS256", &rsaA.PublicKey)))
	r := newRegistry(t, clk)
	prefix := p.oidcIssuer()[len("http://"):]
	tests := []struct {
		name   string
		groups any
		want   []string
	}{
		{"array", []string{"Accounting", "Admins"}, []string{"Accounting", "Admins"}},
		{"single string", "Accounting", []string{"Accounting"}},
		{"space separated", "G1 G2  G3 G1", []string{"G1", "G2", "G3"}},
		{"absent", nil, nil},
	}
	src := p.oidcSource(t, identity.IdentityTokenOnly, []string{"web"}, "groups")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			claims := map[string]any{"iss": p.oidcIssuer(), "sub": "carlos", "aud": []string{"web"}, "exp": now.Add(time.Hour).Unix(), "groups": tc.groups, "name": tc.name}
			if tc.groups == nil {
				delete(claims, "groups")
			}
			tok := validated(t, r, mint(t, "k1", "RS256", rsaA, claims), identity.UseID, src)
			var want []types.EntityUID
			for _, g := range tc.want {
				want = append(want, uid("App::Group", prefix+"|"+g))
			}
			if got := src.Groups(tok); !slices.Equal(got, want) && (len(got) != 0 || len(want) != 0) {
				t.Fatalf("groups %v, want %v", got, want)
			}
			e, err := src.Entity(tok, nil)
			if err != nil {
				t.Fatal(err)
			}
			if e.UID != uid("App::User", prefix+"|carlos") {
				t.Fatalf("principal %v", e.UID)
			}
			if _, ok := e.Attributes.Get("groups"); ok {
				t.Fatal("group claim kept as attribute")
			}
		})
	}

	t.Run("custom principal claim and prefix", func(t *testing.T) {
		s := &identity.Source{Kind: identity.KindOIDC, Issuer: p.oidcIssuer(), TokenSelection: identity.AccessTokenOnly,
			PrincipalIDClaim: "uid", EntityIDPrefix: "MyOIDCProvider", PrincipalEntityType: "MyCorp::User"}
		tok := validated(t, r, mint(t, "k1", "RS256", rsaA, map[string]any{"iss": p.oidcIssuer(), "uid": 4711, "exp": now.Add(time.Hour).Unix()}), identity.UseAccess, s)
		got, err := s.Principal(tok)
		if err != nil || got != uid("MyCorp::User", "MyOIDCProvider|4711") {
			t.Fatalf("%v %v", got, err)
		}
	})
	t.Run("missing principal claim", func(t *testing.T) {
		s := &identity.Source{Kind: identity.KindOIDC, Issuer: p.oidcIssuer(), TokenSelection: identity.AccessTokenOnly,
			PrincipalIDClaim: "email", PrincipalEntityType: "MyCorp::User"}
		raw := mint(t, "k1", "RS256", rsaA, map[string]any{"iss": p.oidcIssuer(), "sub": "x", "exp": now.Add(time.Hour).Unix()})
		if _, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{s}); !errors.Is(err, identity.ErrClaims) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("group claim of wrong type", func(t *testing.T) {
		raw := mint(t, "k1", "RS256", rsaA, map[string]any{"iss": p.oidcIssuer(), "sub": "x", "aud": "web", "exp": now.Add(time.Hour).Unix(), "groups": map[string]any{"a": 1}})
		if _, _, err := r.Validate(context.Background(), raw, identity.UseID, []*identity.Source{src}); !errors.Is(err, identity.ErrClaims) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("at+jwt as id token", func(t *testing.T) {
		raw := mintRaw(t, `{"alg":"RS256","kid":"k1","typ":"at+jwt"}`, mustJSON(map[string]any{"iss": p.oidcIssuer(), "sub": "x", "aud": "web", "exp": now.Add(time.Hour).Unix()}), "RS256", rsaA)
		if _, _, err := r.Validate(context.Background(), raw, identity.UseID, []*identity.Source{src}); !errors.Is(err, identity.ErrTokenUse) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("selection", func(t *testing.T) {
		raw := mint(t, "k1", "RS256", rsaA, map[string]any{"iss": p.oidcIssuer(), "sub": "x", "aud": "web", "exp": now.Add(time.Hour).Unix()})
		if _, _, err := r.Validate(context.Background(), raw, identity.UseAccess, []*identity.Source{src}); !errors.Is(err, identity.ErrTokenUse) {
			t.Fatalf("got %v", err)
		}
	})
}
