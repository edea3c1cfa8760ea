package router

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinels wrapped by the errors New returns.
var (
	// ErrInvalidRoute means a route's method or path pattern is malformed.
	ErrInvalidRoute = errors.New("invalid route")
	// ErrRouteConflict means two routes cannot coexist in one table.
	ErrRouteConflict = errors.New("route conflict")
)

// Route is one METHOD + path pattern of an API, as in API Gateway:
//
//   - Method is GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY (upper case).
//   - Path starts with '/'; "/" is the root. Segments are literals, "{name}" (exactly one
//     non-empty segment) or "{name+}" (one or more segments, only as the last segment).
//     Names use letters, digits, '_' and '-'. Literal segments may use any character
//     Canonicalize accepts in a segment — a superset of API Gateway's alphanumerics and
//     "_-.,:" — and are compared in canonical form, so "%7e" in a pattern matches "~".
//     A pattern may not end in '/' (API Gateway resources cannot), and braces are only
//     allowed around a whole segment.
//
// Value is opaque to the router (the gateway stores its compiled route there).
type Route struct {
	Method string
	Path   string
	Value  any
}

// Match is the result of [Table.Match].
type Match struct {
	// Route is the table's copy of the matched route.
	Route *Route
	// Template is the matched pattern in canonical form, e.g. "/pets/{petId}".
	Template string
	// Method is the method the request is authorized as: the route's method when it is
	// explicit (so HEAD matched by a GET route is authorized as GET), the request's method
	// for an ANY route, except HEAD, which is authorized as GET.
	Method string
	// Params holds the percent-decoded parameter values, nil when the route has none. A
	// greedy parameter holds the rest of the path, segments joined with '/' (a trailing
	// slash is kept: "/admin/a/b/" gives "a/b/").
	Params map[string]string
}

// method indexes; ANY last.
const (
	mGET = iota
	mPOST
	mPUT
	mPATCH
	mDELETE
	mHEAD
	mOPTIONS
	mANY
	numMethods
)

func methodIndex(m string) int {
	switch m {
	case "GET":
		return mGET
	case "POST":
		return mPOST
	case "PUT":
		return mPUT
	case "PATCH":
		return mPATCH
	case "DELETE":
		return mDELETE
	case "HEAD":
		return mHEAD
	case "OPTIONS":
		return mOPTIONS
	case "ANY":
		return mANY
	}
	return -1
}

// node is a resource in the segment trie. Each node is at a fixed depth, so a match visits
// every node at most once and Match is linear in the size of the table even with
// backtracking.
type node struct {
	literals   map[string]*node // keyed by canonical escaped segment
	param      *node            // {name}
	paramName  string
	greedy     *node // {name+}; always a leaf with routes
	greedyName string

	template string    // canonical pattern of this node, e.g. "/pets/{petId}"
	vars     []pathVar // parameters on the way to this node
	routes   [numMethods]*Route
	hasRoute bool
}

// Table is an immutable route table, safe for concurrent use. Build it with [New].
type Table struct {
	root   *node
	routes []Route
}

// pathVar is a parameter of a resource: its segment index and name.
type pathVar struct {
	depth  int
	name   string
	greedy bool
}

// segment is one parsed pattern segment.
type segment struct {
	lit    string // canonical literal
	name   string // parameter name when param or greedy
	param  bool
	greedy bool
}

// New validates routes and builds a table. Every problem found is reported (joined), each
// naming the route; errors wrap [ErrInvalidRoute] or [ErrRouteConflict]. Conflicts are: the
// same method on equivalent patterns ("/pets/{id}" and "/pets/{petId}"), and — as in API
// Gateway — two different parameter names at the same position under the same parent. A
// "{name}" and a "{name+}" sibling are allowed; the single-segment one takes precedence.
func New(routes []Route) (*Table, error) {
	t := &Table{root: &node{template: "/"}, routes: make([]Route, len(routes))}
	copy(t.routes, routes)
	var errs []error
	for i := range t.routes {
		r := &t.routes[i]
		if err := t.add(r); err != nil {
			errs = append(errs, fmt.Errorf("route %d %q: %w", i, r.Method+" "+r.Path, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return t, nil
}

func (t *Table) add(r *Route) error {
	mi := methodIndex(r.Method)
	if mi < 0 {
		return fmt.Errorf("%w: method %q is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS, ANY", ErrInvalidRoute, r.Method)
	}
	segs, err := parsePattern(r.Path)
	if err != nil {
		return err
	}
	n := t.root
	var vars []pathVar
	for depth, s := range segs {
		switch {
		case s.greedy:
			if n.greedy == nil {
				n.greedy = &node{template: join(n.template, "{"+s.name+"+}")}
				n.greedyName = s.name
			} else if n.greedyName != s.name {
				return fmt.Errorf("%w: greedy parameter {%s+} conflicts with {%s+} at %s", ErrRouteConflict, s.name, n.greedyName, n.template)
			}
			n = n.greedy
		case s.param:
			if n.param == nil {
				n.param = &node{template: join(n.template, "{"+s.name+"}")}
				n.paramName = s.name
			} else if n.paramName != s.name {
				return fmt.Errorf("%w: parameter {%s} conflicts with {%s} at %s", ErrRouteConflict, s.name, n.paramName, n.template)
			}
			n = n.param
		default:
			c := n.literals[s.lit]
			if c == nil {
				if n.literals == nil {
					n.literals = make(map[string]*node)
				}
				c = &node{template: join(n.template, s.lit)}
				n.literals[s.lit] = c
			}
			n = c
		}
		if s.param || s.greedy {
			for _, prev := range vars {
				if prev.name == s.name {
					return fmt.Errorf("%w: duplicate parameter name %q", ErrInvalidRoute, s.name)
				}
			}
			vars = append(vars, pathVar{depth: depth, name: s.name, greedy: s.greedy})
		}
	}
	if prev := n.routes[mi]; prev != nil {
		return fmt.Errorf("%w: same method and pattern as %q", ErrRouteConflict, prev.Method+" "+prev.Path)
	}
	n.routes[mi] = r
	n.hasRoute = true
	n.vars = vars
	return nil
}

func join(parent, seg string) string {
	if parent == "/" {
		return "/" + seg
	}
	return parent + "/" + seg
}

func parsePattern(p string) ([]segment, error) {
	if p == "" || p[0] != '/' {
		return nil, fmt.Errorf("%w: path must start with '/'", ErrInvalidRoute)
	}
	if p == "/" {
		return nil, nil
	}
	if strings.HasSuffix(p, "/") {
		return nil, fmt.Errorf("%w: path must not end with '/'", ErrInvalidRoute)
	}
	parts := strings.Split(p[1:], "/")
	segs := make([]segment, len(parts))
	for i, part := range parts {
		switch {
		case part == "":
			return nil, fmt.Errorf("%w: empty segment", ErrInvalidRoute)
		case part[0] == '{' && part[len(part)-1] == '}':
			name := part[1 : len(part)-1]
			greedy := strings.HasSuffix(name, "+")
			name = strings.TrimSuffix(name, "+")
			if !validName(name) {
				return nil, fmt.Errorf("%w: parameter %q: name must be non-empty letters, digits, '_' or '-'", ErrInvalidRoute, part)
			}
			if greedy && i != len(parts)-1 {
				return nil, fmt.Errorf("%w: greedy parameter %q must be the last segment", ErrInvalidRoute, part)
			}
			segs[i] = segment{name: name, param: !greedy, greedy: greedy}
		case strings.ContainsAny(part, "{}"):
			return nil, fmt.Errorf("%w: segment %q: braces are only allowed around a whole segment", ErrInvalidRoute, part)
		default:
			c, err := Canonicalize("/" + part)
			if err != nil {
				var pe *PathError
				if errors.As(err, &pe) {
					return nil, fmt.Errorf("%w: segment %q: %s", ErrInvalidRoute, part, pe.Reason)
				}
				return nil, fmt.Errorf("%w: segment %q: %v", ErrInvalidRoute, part, err)
			}
			segs[i] = segment{lit: c[1:]}
		}
	}
	return segs, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Routes returns a copy of the table's routes in the order given to New.
func (t *Table) Routes() []Route { return slices.Clone(t.routes) }

// Match finds the route for a request method and a path returned by [Canonicalize]. Paths
// that are not canonical may fail to match but never cause a panic.
//
// As in API Gateway, the resource is chosen first and the method second:
//
//  1. Resource: at each segment a literal child beats "{name}", which beats "{name+}". A
//     branch is abandoned (backtracking) only when no resource under it matches the whole
//     path; a resource is a pattern that has at least one route. "{name+}" needs at least one
//     non-empty segment, so "/admin/{proxy+}" matches neither "/admin" nor "/admin/". A
//     trailing slash is significant: "/cars/" does not match "/cars".
//  2. Method, on that resource only: the exact method, then ANY, which covers GET, POST, PUT,
//     PATCH, DELETE, HEAD and OPTIONS (any other method, "ANY" itself and lower-case names
//     match nothing). A HEAD request uses a HEAD route, else a GET route, else ANY, and is
//     authorized as GET unless a HEAD route matched (see [Match.Method]). There is no fallback
//     to a less specific resource: a resource without the method means no match (API
//     Gateway's 403 "Missing Authentication Token").
//
// The zero Table and a nil *Table match nothing.
//
// Match allocates only the Params map, and only when the route has parameters, plus the
// decoded value of any parameter that contains escapes.
func (t *Table) Match(method, canonicalPath string) (Match, bool) {
	if t == nil || t.root == nil || canonicalPath == "" || canonicalPath[0] != '/' {
		return Match{}, false
	}
	var n *node
	if canonicalPath == "/" {
		n = t.root
		if !n.hasRoute {
			return Match{}, false
		}
	} else {
		n = lookup(t.root, canonicalPath, 1)
		if n == nil {
			return Match{}, false
		}
	}
	r, authMethod := n.route(method)
	if r == nil {
		return Match{}, false
	}
	m := Match{Route: r, Template: n.template, Method: authMethod}
	if len(n.vars) > 0 {
		m.Params = make(map[string]string, len(n.vars))
		fillParams(m.Params, n.vars, canonicalPath)
	}
	return m, true
}

// lookup returns the resource matching path[start:], where start is the offset of the next
// segment (just past a '/'), or nil.
func lookup(n *node, path string, start int) *node {
	end := strings.IndexByte(path[start:], '/')
	last := end < 0
	if last {
		end = len(path)
	} else {
		end += start
	}
	seg := path[start:end]
	if c := n.literals[seg]; c != nil {
		if last {
			if c.hasRoute {
				return c
			}
		} else if r := lookup(c, path, end+1); r != nil {
			return r
		}
	}
	if n.param != nil && seg != "" {
		if last {
			if n.param.hasRoute {
				return n.param
			}
		} else if r := lookup(n.param, path, end+1); r != nil {
			return r
		}
	}
	if n.greedy != nil && seg != "" {
		return n.greedy
	}
	return nil
}

// fillParams extracts the parameter values of a matched resource; it runs only for routes
// with parameters, after the resource has been chosen.
func fillParams(params map[string]string, vars []pathVar, path string) {
	depth, start := 0, 1
	for _, v := range vars {
		for depth < v.depth {
			start += strings.IndexByte(path[start:], '/') + 1
			depth++
		}
		if v.greedy {
			params[v.name] = unescape(path[start:])
			return
		}
		end := strings.IndexByte(path[start:], '/')
		if end < 0 {
			end = len(path)
		} else {
			end += start
		}
		params[v.name] = unescape(path[start:end])
	}
}

func (n *node) route(method string) (*Route, string) {
	mi := methodIndex(method)
	if mi < 0 || mi == mANY {
		return nil, ""
	}
	if r := n.routes[mi]; r != nil {
		return r, method
	}
	if mi == mHEAD {
		if r := n.routes[mGET]; r != nil {
			return r, "GET"
		}
	}
	if r := n.routes[mANY]; r != nil {
		if mi == mHEAD {
			return r, "GET"
		}
		return r, method
	}
	return nil, ""
}
