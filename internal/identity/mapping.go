package identity

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/cedar-policy/cedar-go/types"
)

// principalClaim returns the value of the source's principal id claim: a non-empty string, or an
// integer (some IdPs use numeric user ids) in its decimal form.
func principalClaim(c *compiledSource, tok *Token) (string, error) {
	switch v := tok.Claims[c.idClaim].(type) {
	case string:
		if v != "" {
			return v, nil
		}
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return string(v), nil
		}
	}
	return "", fail(ErrClaims, "principal id claim %q is missing or not a non-empty string", c.idClaim)
}

// Principal returns the Cedar principal AVP derives from tok: <PrincipalEntityType>::"<prefix>|<claim>".
func (s *Source) Principal(tok *Token) (types.EntityUID, error) {
	c, err := s.compiled()
	if err != nil {
		return types.EntityUID{}, err
	}
	id, err := principalClaim(c, tok)
	if err != nil {
		return types.EntityUID{}, err
	}
	return types.NewEntityUID(types.EntityType(c.principal), types.String(c.prefix+"|"+id)), nil
}

// GroupNames returns the group names in tok's group claim, given as an array of strings, a
// single string, or a space-separated string: AVP splits on the space character only, so
// "admins\tusers" is one group. Empty names and duplicates are dropped; order follows the
// token. It is the one reader of the group claim: [Source.Groups] and the gateway's group
// checks, IAM group policies and X-Gatehouse-Groups header all read the same groups.
func (s *Source) GroupNames(tok *Token) []string {
	c, err := s.compiled()
	if err != nil || c.groupClaim == "" {
		return nil
	}
	var names []string
	switch v := tok.Claims[c.groupClaim].(type) {
	case string:
		names = strings.Split(v, " ")
	case []any:
		for _, e := range v {
			if g, ok := e.(string); ok {
				names = append(names, g)
			}
		}
	}
	out := names[:0]
	seen := make(map[string]bool, len(names))
	for _, g := range names {
		if g == "" || seen[g] {
			continue
		}
		seen[g] = true
		out = append(out, g)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Groups returns the principal's parents, <GroupEntityType>::"<prefix>|<group>", for the
// groups of [Source.GroupNames].
func (s *Source) Groups(tok *Token) []types.EntityUID {
	c, err := s.compiled()
	if err != nil || c.group == "" {
		return nil
	}
	names := s.GroupNames(tok)
	out := make([]types.EntityUID, 0, len(names))
	for _, g := range names {
		out = append(out, types.NewEntityUID(types.EntityType(c.group), types.String(c.prefix+"|"+g)))
	}
	return out
}

var reservedClaims = []string{"cognito", "custom", "dev"}

// checkReservedClaims mirrors AVP: a token that has cognito:/custom: prefixed claims and also a
// literal top-level cognito, custom or dev claim is refused, because the legacy nested attribute
// form (principal.cognito.username) would collide with it.
func checkReservedClaims(claims map[string]any) error {
	var literal string
	for _, r := range reservedClaims {
		if _, ok := claims[r]; ok {
			literal = r
			break
		}
	}
	if literal == "" {
		return nil
	}
	for k := range claims {
		if strings.HasPrefix(k, "cognito:") || strings.HasPrefix(k, "custom:") {
			return fail(ErrClaims, "claim %q is reserved when cognito:/custom: claims are present", literal)
		}
	}
	return nil
}

// Entity returns the principal entity: UID from [Source.Principal], parents from [Source.Groups],
// and, for an ID token, every claim except the group claim as an attribute with its verbatim name
// (principal["cognito:username"], principal.aud, principal.exp). declared reports whether the
// schema declares an attribute of the principal type; nil keeps every claim. For Cognito, when
// the schema declares a "cognito" or "custom" attribute, the legacy nested form is built too
// (principal.cognito.username from cognito:username). Claims with no Cedar form (null, non-integer
// numbers) are dropped. An access token yields the UID and parents only: its claims belong in
// context (see [Source.ContextToken]).
func (s *Source) Entity(idTok *Token, declared func(name string) bool) (types.Entity, error) {
	c, err := s.compiled()
	if err != nil {
		return types.Entity{}, err
	}
	uid, err := s.Principal(idTok)
	if err != nil {
		return types.Entity{}, err
	}
	e := types.Entity{UID: uid, Parents: types.NewEntityUIDSet(s.Groups(idTok)...)}
	if idTok.Use == UseAccess {
		return e, nil
	}
	if err := checkReservedClaims(idTok.Claims); err != nil {
		return types.Entity{}, err
	}
	attrs := make(types.RecordMap, len(idTok.Claims))
	for name, v := range idTok.Claims {
		if name == c.groupClaim || (declared != nil && !declared(name)) {
			continue
		}
		if cv, ok := cedarValue(v); ok {
			attrs[types.String(name)] = cv
		}
	}
	if c.kind == KindCognito && declared != nil {
		for _, ns := range []string{"cognito", "custom"} {
			if !declared(ns) {
				continue
			}
			nested := types.RecordMap{}
			for name, v := range idTok.Claims {
				rest, ok := strings.CutPrefix(name, ns+":")
				if !ok || name == c.groupClaim {
					continue
				}
				if cv, ok := cedarValue(v); ok {
					nested[types.String(rest)] = cv
				}
			}
			if len(nested) > 0 {
				attrs[types.String(ns)] = types.NewRecord(nested)
			}
		}
	}
	e.Attributes = types.NewRecord(attrs)
	return e, nil
}

// ContextToken returns the value AVP puts at context.token for an access token: every claim except
// the group claim, with scope as a set of strings split on spaces.
func (s *Source) ContextToken(accessTok *Token) types.Record {
	groupClaim := ""
	if c, err := s.compiled(); err == nil {
		groupClaim = c.groupClaim
	}
	m := make(types.RecordMap, len(accessTok.Claims))
	for name, v := range accessTok.Claims {
		if name == groupClaim {
			continue
		}
		if name == "scope" {
			if str, ok := v.(string); ok {
				var scopes []types.Value
				for sc := range strings.SplitSeq(str, " ") {
					if sc != "" {
						scopes = append(scopes, types.String(sc))
					}
				}
				m["scope"] = types.NewSet(scopes...)
				continue
			}
		}
		if cv, ok := cedarValue(v); ok {
			m[types.String(name)] = cv
		}
	}
	return types.NewRecord(m)
}

// cedarValue converts a decoded JSON claim: strings, booleans, integers (Long), arrays (Set) and
// objects (Record). null and numbers that are not 64-bit integers have no Cedar form.
func cedarValue(v any) (types.Value, bool) {
	switch v := v.(type) {
	case string:
		return types.String(v), true
	case bool:
		return types.Boolean(v), true
	case json.Number:
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, false
		}
		return types.Long(n), true
	case []any:
		vals := make([]types.Value, 0, len(v))
		for _, e := range v {
			if cv, ok := cedarValue(e); ok {
				vals = append(vals, cv)
			}
		}
		return types.NewSet(vals...), true
	case map[string]any:
		m := make(types.RecordMap, len(v))
		for k, e := range v {
			if cv, ok := cedarValue(e); ok {
				m[types.String(k)] = cv
			}
		}
		return types.NewRecord(m), true
	}
	return nil, false
}
