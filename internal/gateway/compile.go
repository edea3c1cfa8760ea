package gateway

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/iam"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/router"
)

// state is the compiled gateway at one revision. Immutable once built.
type state struct {
	rev    int64
	apis   []*api // longest base path first
	byName map[string]*api
}

type api struct {
	id, name string
	basePath string // "/" or "/demo"
	stage    string
	region   string
	table    *router.Table
	// authorizers by name.
	authorizers   map[string]*authorizer
	groupPolicies map[string]*iam.Policy
	claimHeaders  []claimHeader
	responses     map[string]*response
}

type claimHeader struct {
	claim, header string
}

type authorizer struct {
	key  string // "<apiId>/<name>": part of every cache key
	name string
	kind authorizerKind

	// jwt and iam
	sources []*identity.Source
	// tokenUse forced by tokenType; 0 = jwt's Cognito rule.
	tokenUse identity.TokenUse

	// cedar
	storeID   string
	namespace string // "" = the schema's single namespace

	cache *authzCache // nil: no caching
	ttl   time.Duration
}

func (a *authorizer) typeName() string { return a.kind.typeName() }

type route struct {
	api    *api
	method string
	path   string      // as written: the cedar action's template
	authz  *authorizer // publicAuthorizer for authorizer "none"; never nil
	scopes []string
	// groups is the route's group list expanded with higher roles of the hierarchy.
	groups   map[string]bool
	action   string
	resource *apidef.ResourceTemplate
	upstream *upstream
	mock     *mock
	maxBody  int64
	// websocket: an authorized "Upgrade: websocket" GET may open a tunnel to the upstream.
	websocket bool
}

func (g *Gateway) compile(ctx context.Context, as *apidef.State) (*state, error) {
	s := &state{rev: as.Revision, byName: make(map[string]*api, len(as.APIs))}
	upstreams := map[string]*upstream{}
	for i := range as.APIs {
		d := &as.APIs[i]
		a, err := g.compileAPI(ctx, d, as.GroupPolicies[d.ID], upstreams)
		if err != nil {
			// Fail closed for this API only: its requests find no route. Keeping the whole
			// previous state instead would keep serving routes and authorizers that other
			// APIs' changes have since revoked.
			g.log.Error("stored API does not compile; its routes are disabled", "api", d.Name, "revision", as.Revision, "err", err)
			continue
		}
		s.apis = append(s.apis, a)
		s.byName[a.name] = a
	}
	slices.SortStableFunc(s.apis, func(x, y *api) int { return len(y.basePath) - len(x.basePath) })
	return s, nil
}

func (g *Gateway) compileAPI(ctx context.Context, d *apidef.Definition, policies map[string][]byte, upstreams map[string]*upstream) (*api, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	a := &api{id: d.ID, name: d.Name, basePath: d.EffectiveBasePath(), stage: d.StageName(), region: d.Region,
		authorizers: map[string]*authorizer{}, groupPolicies: map[string]*iam.Policy{}}
	if a.region == "" {
		a.region = g.region
	}
	for name, ad := range d.Authorizers {
		az, err := g.compileAuthorizer(ctx, d.ID, name, ad)
		if err != nil {
			return nil, fmt.Errorf("authorizers.%s: %w", name, err)
		}
		a.authorizers[name] = az
	}
	for group, doc := range policies {
		p, err := iam.Parse(doc)
		if err != nil {
			// Fail closed for that group only: it is as if it had no policy.
			g.log.Error("stored group policy does not parse; the group gets no permissions", "api", d.Name, "group", group, "err", err)
			continue
		}
		a.groupPolicies[group] = p
	}
	if ih := d.IdentityHeaders; ih != nil {
		for _, c := range ih.Claims {
			a.claimHeaders = append(a.claimHeaders, claimHeader{claim: c, header: apidef.ClaimHeader(c)})
		}
	}
	var err error
	if a.responses, err = compileResponses(d.GatewayResponses); err != nil {
		return nil, err
	}
	hierarchy := map[string][]string{} // authorizer → roles, highest first
	for name, ad := range d.Authorizers {
		hierarchy[name] = ad.RoleHierarchy
	}
	routes := make([]router.Route, 0, len(d.Routes))
	for i, rd := range d.Routes {
		method, path, _ := apidef.SplitRoute(rd.Route)
		r := &route{api: a, method: method, path: path, scopes: rd.Scopes, action: rd.Action, maxBody: apidef.DefaultMaxBodyBytes,
			websocket: rd.WebSocket}
		r.authz = publicAuthorizer
		if rd.Authorizer != apidef.AuthorizerNone {
			if r.authz = a.authorizers[rd.Authorizer]; r.authz == nil {
				// Validate refuses this; a route must never fall back to public.
				return nil, fmt.Errorf("routes[%d].authorizer: unknown authorizer %q", i, rd.Authorizer)
			}
		}
		if len(rd.Groups) > 0 {
			r.groups = map[string]bool{}
			roles := hierarchy[rd.Authorizer]
			for _, grp := range rd.Groups {
				r.groups[grp] = true
				if j := slices.Index(roles, grp); j >= 0 {
					for _, higher := range roles[:j] {
						r.groups[higher] = true
					}
				}
			}
		}
		if rd.Resource != "" {
			rt, err := apidef.ParseResourceTemplate(rd.Resource)
			if err != nil {
				return nil, fmt.Errorf("routes[%d].resource: %w", i, err)
			}
			r.resource = &rt
		}
		if rd.MaxBodyBytes != nil && *rd.MaxBodyBytes > 0 {
			r.maxBody = *rd.MaxBodyBytes
		}
		if rd.Mock != nil {
			r.mock = compileMock(rd.Mock)
		} else {
			target := rd.Upstream
			if target == "" {
				target = d.Upstream
			}
			u := upstreams[target]
			if u == nil {
				tu, err := url.Parse(target)
				if err != nil {
					return nil, fmt.Errorf("routes[%d].upstream: %w", i, err)
				}
				u = g.newUpstream(tu)
				upstreams[target] = u
			}
			r.upstream = u
		}
		routes = append(routes, router.Route{Method: method, Path: path, Value: r})
	}
	if a.table, err = router.New(routes); err != nil {
		return nil, err
	}
	return a, nil
}

func (g *Gateway) compileAuthorizer(ctx context.Context, apiID, name string, ad apidef.Authorizer) (*authorizer, error) {
	az := &authorizer{key: apiID + "/" + name, name: name, ttl: apidef.DefaultCacheTTL,
		storeID: ad.PolicyStoreID, namespace: ad.Namespace}
	switch ad.Type {
	case apidef.TypeJWT:
		az.kind = jwtKind{}
	case apidef.TypeCedar:
		az.kind = cedarKind{}
		az.tokenUse = identity.UseAccess
	case apidef.TypeIAM:
		az.kind = iamKind{}
		az.tokenUse = identity.UseAccess
	default:
		return nil, fmt.Errorf("unknown type %q", ad.Type)
	}
	switch ad.TokenType {
	case apidef.AccessToken:
		az.tokenUse = identity.UseAccess
	case apidef.IdentityToken:
		az.tokenUse = identity.UseID
	}
	if ad.CacheTTL != nil {
		az.ttl = ad.CacheTTL.Duration
	}
	for i, is := range ad.IdentitySources {
		var opts identity.SourceOptions
		if c := is.Configuration.CognitoUserPoolConfiguration; c != nil && g.deps.CognitoEndpoint != nil {
			if _, poolID, err := identity.CognitoIssuer(c.UserPoolARN, ""); err == nil {
				opts.CognitoEndpoint = g.deps.CognitoEndpoint(ctx, poolID)
			}
		}
		src, err := identity.SourceFromAVP(fmt.Sprintf("%s/%d", az.key, i), is.Configuration, is.PrincipalEntityType, opts)
		if err != nil {
			return nil, fmt.Errorf("identitySources[%d]: %w", i, err)
		}
		az.sources = append(az.sources, src)
	}
	az.cache = g.decisions.forAuthorizer(az.ttl)
	return az, nil
}
