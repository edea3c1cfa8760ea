package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// ErrUnknownAPI is RouteAccess's answer for an API name that is not defined.
var ErrUnknownAPI = errors.New("unknown api")

// SourceAccess marks the decisions RouteAccess makes: they are real decisions of the API's
// authorizers, reported to OnDecision (audit, metrics) like any other, but asked by an
// operator, not sent by a client.
const SourceAccess = "access-query"

// RouteQuery asks which routes of one API a token may call.
type RouteQuery struct {
	API   string
	Token string // the bearer token, as a client would send it ("" = none)
	// Params are values for path parameters ({petId}, {proxy+} as "proxy"); a parameter
	// without a value is given the placeholder "x" and named in RouteDecision.Assumed.
	Params map[string]string
	// Client is the client address the decisions assume (default 127.0.0.1).
	Client netip.Addr
}

// RouteDecision is the gateway's answer for one route and method.
type RouteDecision struct {
	Method string // the route's method; each of GET, POST, PUT, PATCH, DELETE for ANY
	Route  string // the route's path as written
	Allow  bool
	Status int    // the status a client would get on deny
	Reason Reason // "" on allow
	// Assumed names the path parameters that had no value in RouteQuery.Params: the
	// decision is the one for the placeholder "x", and a cedar or iam authorizer may decide
	// other values otherwise.
	Assumed []string
}

// anyMethods are the methods an ANY route is asked for.
var anyMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

var paramPattern = regexp.MustCompile(`\{([^{}]+?)\+?\}`)

// RouteAccess decides, for every route of an API, a request carrying q.Token, through Check:
// the same canonicalization, route match, authorizer and cache as a client's request, so the
// answer is what that client would get. Routes come sorted by path, then method as written;
// an ANY route is asked for GET, POST, PUT, PATCH and DELETE, in that order.
func (g *Gateway) RouteAccess(ctx context.Context, q RouteQuery) ([]RouteDecision, error) {
	st, err := g.state(ctx)
	if err != nil {
		return nil, fmt.Errorf("gateway state: %w", err)
	}
	a := st.byName[q.API]
	if a == nil {
		return nil, fmt.Errorf("%w: api %q", ErrUnknownAPI, q.API)
	}
	client := q.Client
	if !client.IsValid() {
		client = netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	h := http.Header{}
	if q.Token != "" {
		h.Set("Authorization", "Bearer "+q.Token)
	}
	routes := a.table.Routes()
	slices.SortFunc(routes, func(x, y router.Route) int {
		return cmp.Or(cmp.Compare(x.Path, y.Path), cmp.Compare(x.Method, y.Method))
	})
	var out []RouteDecision
	for _, r := range routes {
		var assumed []string
		path := paramPattern.ReplaceAllStringFunc(r.Path, func(m string) string {
			name := strings.TrimSuffix(strings.Trim(m, "{}"), "+")
			if v, ok := q.Params[name]; ok && v != "" {
				return pathEscape(v, strings.HasSuffix(m, "+}"))
			}
			if !slices.Contains(assumed, name) {
				assumed = append(assumed, name)
			}
			return "x"
		})
		methods := []string{r.Method}
		if r.Method == "ANY" {
			methods = anyMethods
		}
		for _, m := range methods {
			v := g.Check(ctx, Input{Source: SourceAccess, API: a.name, Method: m, RawPath: joinBase(a.basePath, path),
				Header: h, Client: client, TLS: true, ContentLength: 0})
			out = append(out, RouteDecision{Method: m, Route: r.Path, Allow: v.Allow, Status: v.Status, Reason: v.Reason, Assumed: assumed})
		}
	}
	return out, nil
}

// pathEscape escapes a parameter value for a path: a greedy parameter keeps its slashes.
func pathEscape(v string, greedy bool) string {
	if !greedy {
		return url.PathEscape(v)
	}
	parts := strings.Split(v, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

func joinBase(base, path string) string {
	if base == "/" {
		return path
	}
	return base + path
}
