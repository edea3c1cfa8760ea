package wizard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/cedar-policy/cedar-go"
	"github.com/getkin/kin-openapi/openapi3"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/apidef"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policy"
)

// Names of the generated authorizers and entity types.
const (
	CedarAuthorizer = "avp"
	UserType        = "User"
	GroupType       = "UserGroup"
	AppType         = "Application"
	DefaultStage    = "prod"
	// DummyAccount is the account in the user pool ARN of a pool given by id: Gatehouse keys
	// Cognito sources by pool id, and the built-in IdP has no AWS account.
	DummyAccount = "000000000000"
	// cedarCacheTTL is the AWS wizard's authorizer cache setting. Gatehouse keys cached
	// decisions by the store revision, so the TTL never delays a policy change.
	cedarCacheTTL = 120 * time.Second
)

// IdentitySource says who issues the tokens. Exactly one of PoolID, UserPoolARN and Issuer is
// set.
type IdentitySource struct {
	// PoolID is a user pool id (built-in IdP or Cognito), e.g. us-east-1_Example. The identity
	// source uses arn:aws:cognito-idp:<region>:000000000000:userpool/<PoolID>.
	PoolID string `json:"poolId,omitempty"`
	// UserPoolARN is a Cognito user pool ARN.
	UserPoolARN string `json:"userPoolArn,omitempty"`
	// Issuer is an OIDC issuer URL.
	Issuer string `json:"issuer,omitempty"`
	// EntityIDPrefix (OIDC) prefixes principal and group ids; default the issuer without
	// https://, as the AWS console sets it.
	EntityIDPrefix string `json:"entityIdPrefix,omitempty"`
	// GroupClaim (OIDC) holds the groups; default "groups".
	GroupClaim string `json:"groupClaim,omitempty"`
	// ClientIDs the tokens must have been issued to (Cognito client ids, OIDC audiences);
	// empty means any.
	ClientIDs []string `json:"clientIds,omitempty"`
}

// Assignment grants a group a set of operations.
type Assignment struct {
	Group string `json:"group"`
	// Operations are "METHOD /path" (ANY means every method of the path), or operationIds.
	Operations []string `json:"operations"`
}

// Options are the wizard's answers.
type Options struct {
	// APIName names the API and, sanitized, the Cedar namespace; default the document title.
	APIName string `json:"apiName,omitempty"`
	// Namespace overrides the Cedar namespace derived from the API name.
	Namespace string `json:"namespace,omitempty"`
	// Stage is the API's stage (base path /<stage>); default "prod".
	Stage string `json:"stage,omitempty"`
	// Upstream is the URL requests are proxied to; required unless every route is a mock.
	Upstream string `json:"upstream,omitempty"`
	// PolicyStoreID of the generated store; default the namespace.
	PolicyStoreID string         `json:"policyStoreId,omitempty"`
	Identity      IdentitySource `json:"identity"`
	// TokenType the cedar authorizer reads: accessToken (default) or identityToken.
	TokenType string       `json:"tokenType,omitempty"`
	Allow     []Assignment `json:"allow,omitempty"`
	// Public routes ("METHOD /path" or operationIds) take no token.
	Public []string `json:"public,omitempty"`
	// Authenticated routes take any valid token (with one of Scopes, if given) and no policy.
	Authenticated []string `json:"authenticated,omitempty"`
	Scopes        []string `json:"scopes,omitempty"`
	// KnownGroups, when not nil, are the groups that exist in the identity source; assigning
	// any other group is an error.
	KnownGroups []string `json:"-"`
	// DropMissing says which lists may name operations the document no longer has: those are
	// dropped with a note instead of failing. init sets it for answers remembered from an
	// earlier run, so a changed document does not invalidate them; answers given now stay
	// strict.
	DropMissing Lenience `json:"-"`
}

// Lenience selects the lists of Options whose stale entries are dropped.
type Lenience struct{ Allow, Public, Authenticated bool }

// Result is everything init writes.
type Result struct {
	Namespace string
	APIName   string
	// Actions are the schema's action ids in schema order.
	Actions []string
	// Routes are the API's routes ("METHOD /path") in definition order.
	Routes []string
	// Files maps slash-separated paths relative to the output directory to their content.
	Files map[string][]byte
	// PolicyFiles maps each group to its generated policy file (a key of Files).
	PolicyFiles map[string]string
	// Options are the answers with defaults filled in, remembered for the next run.
	Options Options
	// Notes are things the user should know that are not errors (dropped assignments).
	Notes []string
	// Report is set by WriteDir.
	Report *Report
}

var (
	cedarIdentRE  = regexp.MustCompile(`^[_a-zA-Z][_a-zA-Z0-9]*$`)
	poolIDRE      = regexp.MustCompile(`^([a-z]{2}(?:-[a-z]+)+-\d)_[0-9a-zA-Z]+$`)
	fileStemRE    = regexp.MustCompile(`[^A-Za-z0-9_.-]`)
	apiNameBadRE  = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
	cedarReserved = []string{"true", "false", "if", "then", "else", "in", "is", "like", "has", "__cedar"}
)

// Namespace sanitizes an API name into a Cedar namespace the way the AWS console does: strip
// everything but [A-Za-z0-9_], "ImportedApi" when nothing is left, and an "Api" prefix when the
// result starts with a digit or '_' (or is a Cedar keyword).
func Namespace(apiName string) string {
	var b strings.Builder
	for _, r := range apiName {
		if r < unicode.MaxASCII && (r == '_' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			b.WriteRune(r)
		}
	}
	ns := b.String()
	switch {
	case ns == "":
		return "ImportedApi"
	case ns[0] == '_' || ns[0] >= '0' && ns[0] <= '9' || slices.Contains(cedarReserved, ns):
		return "Api" + ns
	}
	return ns
}

// apiName turns a document title into an API name apidef accepts.
func apiName(title string) string {
	n := strings.Trim(apiNameBadRE.ReplaceAllString(title, "-"), "-._")
	if len(n) > 128 {
		n = n[:128]
	}
	if n == "" {
		return "ImportedApi"
	}
	return n
}

// Generate builds the schema, policies, API definition, identity source and manifest from a
// parsed document. It writes nothing; every error names the option or operation at fault.
func Generate(doc *openapi3.T, opts Options) (*Result, error) {
	ops, err := operations(doc)
	if err != nil {
		return nil, err
	}
	o := opts
	if o.APIName == "" {
		title := ""
		if doc.Info != nil {
			title = doc.Info.Title
		}
		o.APIName = apiName(title)
	}
	if o.Namespace == "" {
		o.Namespace = Namespace(o.APIName)
	}
	ns := o.Namespace
	if !cedarIdentRE.MatchString(ns) || slices.Contains(cedarReserved, ns) {
		return nil, fmt.Errorf("namespace %q is not a Cedar identifier", ns)
	}
	if o.Stage == "" {
		o.Stage = DefaultStage
	}
	if o.PolicyStoreID == "" {
		o.PolicyStoreID = ns
	}
	if o.TokenType == "" {
		o.TokenType = apidef.AccessToken
	}
	if o.TokenType != apidef.AccessToken && o.TokenType != apidef.IdentityToken {
		return nil, fmt.Errorf("token type %q: must be accessToken or identityToken", o.TokenType)
	}
	idn, err := resolveIdentity(o.Identity, ns, o.TokenType)
	if err != nil {
		return nil, err
	}
	r := &Result{Namespace: ns, APIName: o.APIName, Files: map[string][]byte{}, PolicyFiles: map[string]string{}}

	idx := newOpIndex(ops)
	authz := map[*operation]string{} // route → "none" | jwt (absent: cedar)
	for _, l := range []struct {
		flag, kind string
		refs       []string
		lenient    bool
	}{{"public", apidef.AuthorizerNone, o.Public, o.DropMissing.Public}, {"authenticated", apidef.TypeJWT, o.Authenticated, o.DropMissing.Authenticated}} {
		for _, ref := range l.refs {
			op, err := idx.route(ref)
			if err != nil {
				if l.lenient {
					r.Notes = append(r.Notes, fmt.Sprintf("%s route %q dropped: %v", l.flag, ref, err))
					continue
				}
				return nil, fmt.Errorf("%s route %q: %w", l.flag, ref, err)
			}
			if prev, dup := authz[op]; dup && prev != l.kind {
				return nil, fmt.Errorf("route %s is listed as both public and authenticated", op.Route())
			}
			authz[op] = l.kind
		}
	}
	if len(o.Scopes) > 0 {
		jwt := false
		for _, k := range authz {
			jwt = jwt || k == apidef.TypeJWT
		}
		if !jwt {
			return nil, errors.New("scopes apply to authenticated routes, and none is listed")
		}
	}

	// Group → actions.
	grants := map[string][]string{}
	var groups []string
	for _, a := range o.Allow {
		if err := checkGroupName(a.Group); err != nil {
			return nil, err
		}
		if o.KnownGroups != nil && !slices.Contains(o.KnownGroups, a.Group) {
			known := "it has none"
			if len(o.KnownGroups) > 0 {
				known = "it has " + strings.Join(o.KnownGroups, ", ")
			}
			err := fmt.Errorf("group %q does not exist in the identity source (%s)", a.Group, known)
			if o.DropMissing.Allow {
				r.Notes = append(r.Notes, fmt.Sprintf("%v: its assignment is dropped", err))
				continue
			}
			return nil, err
		}
		if len(a.Operations) == 0 {
			return nil, fmt.Errorf("group %q: no operations assigned", a.Group)
		}
		if _, ok := grants[a.Group]; !ok {
			groups = append(groups, a.Group)
		}
		for _, ref := range a.Operations {
			acts, op, err := idx.actions(ref)
			if err != nil {
				if o.DropMissing.Allow {
					r.Notes = append(r.Notes, fmt.Sprintf("group %q: operation %q dropped: %v", a.Group, ref, err))
					continue
				}
				return nil, fmt.Errorf("group %q: operation %q: %w", a.Group, ref, err)
			}
			for _, x := range op {
				if k, ok := authz[x]; ok {
					return nil, fmt.Errorf("group %q: operation %q: route %s is %s, so a policy for it would never be asked",
						a.Group, ref, x.Route(), map[string]string{apidef.AuthorizerNone: "public", apidef.TypeJWT: "authenticated-only"}[k])
				}
			}
			for _, act := range acts {
				if !slices.Contains(grants[a.Group], act) {
					grants[a.Group] = append(grants[a.Group], act)
				}
			}
		}
	}

	// Schema.
	schemaText := schemaText(ns, ops)
	schema, err := policy.ParseSchema([]byte(schemaText))
	if err != nil {
		return nil, fmt.Errorf("generated schema does not parse (please report): %w", err)
	}
	for _, op := range ops {
		r.Actions = append(r.Actions, op.actions()...)
		r.Routes = append(r.Routes, op.Route())
	}
	r.Files["schema.cedarschema"] = []byte(schemaText)

	// Policies.
	stems := map[string]bool{}
	for _, g := range groups {
		acts := grants[g]
		if len(acts) == 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("group %q: no operation left, no policy written", g))
			continue
		}
		sortActions(acts)
		text := policyText(ns, idn.prefix+"|"+g, acts)
		list, err := cedar.NewPolicyListFromBytes(g, []byte(text))
		if err != nil || len(list) != 1 {
			return nil, fmt.Errorf("generated policy for group %q does not parse (please report): %v", g, err)
		}
		if err := schema.Validate(g, list[0]); err != nil {
			return nil, fmt.Errorf("generated policy for group %q: %w", g, err)
		}
		stem := fileStemRE.ReplaceAllString(g, "_")
		for base, n := stem, 2; stems[strings.ToLower(stem)]; n++ {
			stem = fmt.Sprintf("%s-%d", base, n)
		}
		stems[strings.ToLower(stem)] = true
		path := "policies/" + stem + ".cedar"
		r.Files[path] = []byte(text)
		r.PolicyFiles[g] = path
	}

	// API definition.
	def, err := definition(o, ops, authz, idn)
	if err != nil {
		return nil, err
	}
	apiYAML, err := yaml.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("marshal api definition: %w", err)
	}
	parsed, err := apidef.Parse(apiYAML)
	if err == nil {
		err = parsed.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("generated api definition: %w", err)
	}
	r.Files["apis/"+def.Name+".yaml"] = apiYAML

	// Manifest and identity source.
	manifest, err := yaml.Marshal(map[string]string{
		"policyStoreId":  o.PolicyStoreID,
		"description":    fmt.Sprintf("ApiGateway: %s/%s", def.Name, def.Stage),
		"validationMode": "STRICT",
	})
	if err != nil {
		return nil, err
	}
	r.Files["gatehouse.yaml"] = manifest
	sources, err := yaml.Marshal([]map[string]any{{"principalEntityType": ns + "::" + UserType, "configuration": idn.store}})
	if err != nil {
		return nil, err
	}
	r.Files["identity-sources.yaml"] = sources

	for name, b := range r.Files {
		// apply expands ${NAME}; a document that smuggles one in must not reach it.
		if bytes.Contains(b, []byte("${")) {
			return nil, fmt.Errorf("%s would contain \"${\", which apply reads as a variable; rename the path or title", name)
		}
	}
	o.KnownGroups, o.DropMissing = nil, Lenience{}
	r.Options = o
	return r, nil
}

func checkGroupName(g string) error {
	if g == "" || len(g) > 128 || strings.IndexFunc(g, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0 {
		return fmt.Errorf("group %q: must be 1 to 128 characters without spaces or control characters", g)
	}
	return nil
}

// identitySetup is the resolved identity source.
type identitySetup struct {
	store   identity.Configuration // for identity-sources.yaml (with group configuration)
	jwt     identity.Configuration // for the jwt authorizer
	prefix  string                 // principal and group id prefix
	jwtName string
}

func resolveIdentity(in IdentitySource, ns, tokenType string) (*identitySetup, error) {
	set := 0
	for _, s := range []string{in.PoolID, in.UserPoolARN, in.Issuer} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("identity source: give exactly one of a pool id (--pool), a user pool ARN (--user-pool-arn) or an OIDC issuer (--issuer)")
	}
	groupType := ns + "::" + GroupType
	out := &identitySetup{}
	switch {
	case in.PoolID != "" || in.UserPoolARN != "":
		arn := in.UserPoolARN
		if in.PoolID != "" {
			m := poolIDRE.FindStringSubmatch(in.PoolID)
			if m == nil {
				return nil, fmt.Errorf("pool id %q: must look like <region>_<id>, e.g. us-east-1_Example", in.PoolID)
			}
			arn = fmt.Sprintf("arn:aws:cognito-idp:%s:%s:userpool/%s", m[1], DummyAccount, in.PoolID)
		}
		_, poolID, err := identity.CognitoIssuer(arn, "")
		if err != nil {
			return nil, fmt.Errorf("user pool ARN %q: %w", arn, err)
		}
		if in.Issuer != "" || in.EntityIDPrefix != "" || in.GroupClaim != "" {
			return nil, errors.New("identity source: entity id prefix and group claim are OIDC settings")
		}
		out.prefix, out.jwtName = poolID, "cognito"
		out.store = identity.Configuration{CognitoUserPoolConfiguration: &identity.CognitoUserPoolConfiguration{
			UserPoolARN: arn, ClientIDs: in.ClientIDs, GroupConfiguration: &identity.CognitoGroupConfiguration{GroupEntityType: groupType}}}
		out.jwt = identity.Configuration{CognitoUserPoolConfiguration: &identity.CognitoUserPoolConfiguration{UserPoolARN: arn, ClientIDs: in.ClientIDs}}
	default:
		prefix := in.EntityIDPrefix
		if prefix == "" {
			prefix = strings.TrimPrefix(in.Issuer, "https://")
		}
		claim := in.GroupClaim
		if claim == "" {
			claim = "groups"
		}
		sel := identity.OpenIDConnectTokenSelection{}
		if tokenType == apidef.AccessToken {
			sel.AccessTokenOnly = &identity.OpenIDConnectAccessTokenConfiguration{PrincipalIDClaim: "sub", Audiences: in.ClientIDs}
		} else {
			sel.IdentityTokenOnly = &identity.OpenIDConnectIdentityTokenConfiguration{PrincipalIDClaim: "sub", ClientIDs: in.ClientIDs}
		}
		out.prefix, out.jwtName = prefix, "oidc"
		out.store = identity.Configuration{OpenIDConnectConfiguration: &identity.OpenIDConnectConfiguration{Issuer: in.Issuer, EntityIDPrefix: prefix,
			GroupConfiguration: &identity.OpenIDConnectGroupConfiguration{GroupClaim: claim, GroupEntityType: groupType}, TokenSelection: sel}}
		jwt := *out.store.OpenIDConnectConfiguration
		jwt.GroupConfiguration = &identity.OpenIDConnectGroupConfiguration{GroupClaim: claim, GroupEntityType: groupType}
		out.jwt = identity.Configuration{OpenIDConnectConfiguration: &jwt}
	}
	if _, err := identity.SourceFromAVP("wizard", out.store, ns+"::"+UserType, identity.SourceOptions{}); err != nil {
		return nil, fmt.Errorf("identity source: %w", err)
	}
	return out, nil
}

// opIndex finds operations by route, "ANY /path" or operationId.
type opIndex struct {
	ops    []*operation
	byID   map[string]*operation
	byPath map[string][]*operation
}

func newOpIndex(ops []*operation) *opIndex {
	x := &opIndex{ops: ops, byID: map[string]*operation{}, byPath: map[string][]*operation{}}
	for _, o := range ops {
		if o.OperationID != "" {
			x.byID[o.OperationID] = o
		}
		x.byPath[o.Path] = append(x.byPath[o.Path], o)
	}
	return x
}

func (x *opIndex) parse(ref string) (method, path string, byID *operation, err error) {
	ref = strings.TrimSpace(ref)
	if o, ok := x.byID[ref]; ok {
		return "", "", o, nil
	}
	m, p, ok := strings.Cut(ref, " ")
	p = strings.TrimSpace(p)
	if !ok || !strings.HasPrefix(p, "/") {
		return "", "", nil, errors.New(`no such operationId, and not "METHOD /path"`)
	}
	if _, ok := x.byPath[p]; !ok {
		return "", "", nil, fmt.Errorf("the document has no path %s", p)
	}
	return strings.ToUpper(m), p, nil, nil
}

// route finds the one operation (route) a reference names.
func (x *opIndex) route(ref string) (*operation, error) {
	m, p, o, err := x.parse(ref)
	if err != nil || o != nil {
		return o, err
	}
	for _, o := range x.byPath[p] {
		if o.Method == m {
			return o, nil
		}
	}
	return nil, fmt.Errorf("the document has no %s operation on %s", m, p)
}

// actions returns the action ids a reference grants and the operations they belong to. ANY on
// a path without an ANY operation means every operation of the path.
func (x *opIndex) actions(ref string) ([]string, []*operation, error) {
	m, p, o, err := x.parse(ref)
	if err != nil {
		return nil, nil, err
	}
	if o != nil {
		return o.actions(), []*operation{o}, nil
	}
	if m == "ANY" {
		var acts []string
		var ops []*operation
		for _, o := range x.byPath[p] {
			acts = append(acts, o.actions()...)
			ops = append(ops, o)
		}
		return acts, ops, nil
	}
	for _, o := range x.byPath[p] {
		if o.Method == m {
			return o.actions(), []*operation{o}, nil
		}
	}
	for _, o := range x.byPath[p] {
		if o.Method == "ANY" && slices.Contains(o.actions(), strings.ToLower(m)+" "+p) {
			return []string{strings.ToLower(m) + " " + p}, []*operation{o}, nil
		}
	}
	return nil, nil, fmt.Errorf("the document has no %s operation on %s", m, p)
}

// methodRank orders the actions of a policy as the AWS console writes them (article 000):
// by path, then delete, post, get, patch, put, then any other method alphabetically.
var methodRank = []string{"delete", "post", "get", "patch", "put"}

func sortActions(acts []string) {
	rank := func(m string) int {
		if i := slices.Index(methodRank, m); i >= 0 {
			return i
		}
		return len(methodRank)
	}
	slices.SortFunc(acts, func(a, b string) int {
		am, ap, _ := strings.Cut(a, " ")
		bm, bp, _ := strings.Cut(b, " ")
		if c := strings.Compare(ap, bp); c != 0 {
			return c
		}
		if c := rank(am) - rank(bm); c != 0 {
			return c
		}
		return strings.Compare(am, bm)
	})
}

// policyText writes a group's policy in the AWS console's layout.
func policyText(ns, groupID string, acts []string) string {
	var b strings.Builder
	b.WriteString("permit (\n    principal in ")
	b.WriteString(ns + "::" + GroupType + "::" + cedarString(groupID))
	b.WriteString(",\n    action in")
	if len(acts) == 1 {
		b.WriteString(" [" + ns + "::Action::" + cedarString(acts[0]) + "],\n")
	} else {
		for i, a := range acts {
			switch i {
			case 0:
				b.WriteString("\n        [")
			default:
				b.WriteString(",\n         ")
			}
			b.WriteString(ns + "::Action::" + cedarString(a))
		}
		b.WriteString("],\n")
	}
	b.WriteString("    resource\n);\n")
	return b.String()
}

// schemaText writes the Cedar schema: the three entity types and one action per method and
// path, whose context declares the path parameters and the (optional) query parameters.
func schemaText(ns string, ops []*operation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "namespace %s {\n  entity %s;\n  entity %s in [%s];\n  entity %s;\n", ns, GroupType, UserType, GroupType, AppType)
	type act struct {
		id string
		op *operation
	}
	var acts []act
	for _, o := range ops {
		for _, id := range o.actions() {
			acts = append(acts, act{id, o})
		}
	}
	slices.SortFunc(acts, func(a, b act) int {
		am, ap, _ := strings.Cut(a.id, " ")
		bm, bp, _ := strings.Cut(b.id, " ")
		if c := strings.Compare(ap, bp); c != 0 {
			return c
		}
		return strings.Compare(am, bm)
	})
	for _, a := range acts {
		fmt.Fprintf(&b, "\n  action %s appliesTo {\n    principal: [%s],\n    resource: [%s],\n    context: {\n", cedarString(a.id), UserType, AppType)
		b.WriteString("      pathParameters: ")
		writeRecord(&b, a.op.PathParams, "")
		b.WriteString(",\n      queryStringParameters: ")
		writeRecord(&b, a.op.QueryParams, "?")
		b.WriteString("\n    }\n  };\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func writeRecord(b *strings.Builder, names []string, opt string) {
	if len(names) == 0 {
		b.WriteString("{}")
		return
	}
	b.WriteString("{\n")
	for i, n := range names {
		b.WriteString("        " + attrName(n) + opt + ": String")
		if i < len(names)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("      }")
}

func attrName(n string) string {
	if cedarIdentRE.MatchString(n) && !slices.Contains(cedarReserved, n) {
		return n
	}
	return cedarString(n)
}

// cedarString quotes s as a Cedar string literal.
func cedarString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || !unicode.IsPrint(r):
			fmt.Fprintf(&b, `\u{%x}`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// definition builds the gateway API: public routes take no authorizer, authenticated-only
// routes the jwt authorizer on the same identity source, everything else the cedar
// authorizer, so an operation no group was given is denied.
func definition(o Options, ops []*operation, authz map[*operation]string, idn *identitySetup) (*apidef.Definition, error) {
	def := &apidef.Definition{Name: o.APIName, Stage: o.Stage, Upstream: o.Upstream, Authorizers: map[string]apidef.Authorizer{}}
	for _, op := range ops {
		rt := apidef.Route{Route: op.Route()}
		switch authz[op] {
		case apidef.AuthorizerNone:
			rt.Authorizer = apidef.AuthorizerNone
		case apidef.TypeJWT:
			rt.Authorizer = idn.jwtName
			rt.Scopes = o.Scopes
			if _, ok := def.Authorizers[idn.jwtName]; !ok {
				a := apidef.Authorizer{Type: apidef.TypeJWT, IdentitySources: []apidef.IdentitySource{{Configuration: idn.jwt}}}
				if len(o.Scopes) == 0 {
					// Without scopes API Gateway's Cognito authorizer wants ID tokens; keep the one
					// token type the cedar routes take.
					a.TokenType = o.TokenType
				}
				def.Authorizers[idn.jwtName] = a
			}
		default:
			rt.Authorizer = CedarAuthorizer
			if _, ok := def.Authorizers[CedarAuthorizer]; !ok {
				def.Authorizers[CedarAuthorizer] = apidef.Authorizer{Type: apidef.TypeCedar, PolicyStoreID: o.PolicyStoreID,
					TokenType: o.TokenType, Namespace: o.Namespace, CacheTTL: &apidef.Duration{Duration: cedarCacheTTL}}
			}
		}
		if op.Mock != nil {
			rt.Mock = &apidef.Mock{Status: op.Mock.Status, Body: op.Mock.Body, ContentType: "application/json"}
		} else if o.Upstream == "" {
			return nil, fmt.Errorf("route %s needs an upstream: give the API's upstream URL (--upstream)", op.Route())
		}
		def.Routes = append(def.Routes, rt)
	}
	return def, nil
}

// marshalJSON is json.Marshal with two-space indentation and a final newline.
func marshalJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
