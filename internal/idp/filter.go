package idp

import (
	"strings"
)

// userFilter is a parsed ListUsers Filter: `name = "value"` or `name ^= "value"`.
type userFilter struct {
	attr   string
	prefix bool
	value  string
}

var filterAttrs = map[string]bool{
	"username": true, "email": true, "phone_number": true, "name": true, "given_name": true,
	"family_name": true, "preferred_username": true, "cognito:user_status": true, "status": true, "sub": true,
}

// parseFilter parses Cognito's ListUsers filter; "" means no filter (nil).
func parseFilter(s string) (*userFilter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	bad := errf(CodeInvalidParameter, "Error while parsing filter.")
	if len(s) > 256 {
		return nil, bad
	}
	i := strings.IndexAny(s, "^= ")
	if i <= 0 {
		return nil, bad
	}
	f := &userFilter{attr: s[:i]}
	if !filterAttrs[f.attr] {
		return nil, errf(CodeInvalidParameter, "Invalid search attribute: %s", f.attr)
	}
	rest := strings.TrimSpace(s[i:])
	switch {
	case strings.HasPrefix(rest, "^="):
		f.prefix = true
		rest = rest[2:]
	case strings.HasPrefix(rest, "="):
		rest = rest[1:]
	default:
		return nil, bad
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' {
		return nil, bad
	}
	var b strings.Builder
	inner := rest[1 : len(rest)-1]
	for j := 0; j < len(inner); j++ {
		c := inner[j]
		switch c {
		case '\\':
			if j+1 >= len(inner) {
				return nil, bad
			}
			j++
			b.WriteByte(inner[j])
		case '"':
			return nil, bad
		default:
			b.WriteByte(c)
		}
	}
	f.value = b.String()
	return f, nil
}

func (f *userFilter) match(u *User) bool {
	if f == nil {
		return true
	}
	var v string
	switch f.attr {
	case "username":
		v = u.Username
	case "sub":
		v = u.Sub
	case "cognito:user_status":
		v = u.Status
	case "status":
		v = "Disabled"
		if u.Enabled {
			v = "Enabled"
		}
	default:
		v = u.Attributes[f.attr]
	}
	if f.prefix {
		return strings.HasPrefix(v, f.value)
	}
	return v == f.value
}
