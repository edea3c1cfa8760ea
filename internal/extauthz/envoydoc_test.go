package extauthz_test

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	ext_authzv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"

	"github.com/gatehouse-dev/gatehouse/internal/extauthz"
)

// envoyDocBlocks returns docs/envoy.md's YAML blocks by the name on their first line
// ("# envoy-grpc.yaml: ...").
func envoyDocBlocks(t *testing.T) map[string]string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	b, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "docs", "envoy.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		first, _, _ := strings.Cut(m[1], "\n")
		name, _, _ := strings.Cut(strings.TrimPrefix(first, "# "), ":")
		blocks[name] = m[1]
	}
	return blocks
}

// decodeStrict decodes YAML into an Envoy message as Envoy reads its configuration: unknown
// fields and unknown Any types are errors; then every message, those inside typed_config
// included, must pass Envoy's field validation (protoc-gen-validate rules).
func decodeStrict(t *testing.T, name, doc string, m proto.Message) {
	t.Helper()
	js, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		t.Fatalf("%s: not YAML: %v", name, err)
	}
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, m); err != nil {
		t.Fatalf("%s: not a %s: %v", name, m.ProtoReflect().Descriptor().FullName(), err)
	}
	validateDeep(t, name, m)
}

func validateDeep(t *testing.T, name string, m proto.Message) {
	t.Helper()
	if a, ok := m.(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			t.Errorf("%s: typed_config %s: %v", name, a.GetTypeUrl(), err)
			return
		}
		m = inner
	}
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			t.Errorf("%s: %s fails Envoy's validation: %v", name, m.ProtoReflect().Descriptor().FullName(), err)
		}
	}
	m.ProtoReflect().Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				validateDeep(t, name, v.List().Get(i).Message().Interface())
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				validateDeep(t, name, mv.Message().Interface())
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			validateDeep(t, name, v.Message().Interface())
		}
		return true
	})
}

// extAuthzOf finds the ext_authz filter of a bootstrap's first listener.
func extAuthzOf(t *testing.T, b *bootstrapv3.Bootstrap) *ext_authzv3.ExtAuthz {
	t.Helper()
	for _, l := range b.GetStaticResources().GetListeners() {
		for _, fc := range l.GetFilterChains() {
			for _, f := range fc.GetFilters() {
				hcm := &hcmv3.HttpConnectionManager{}
				if err := f.GetTypedConfig().UnmarshalTo(hcm); err != nil {
					continue
				}
				for _, hf := range hcm.GetHttpFilters() {
					ea := &ext_authzv3.ExtAuthz{}
					if hf.GetTypedConfig().UnmarshalTo(ea) == nil {
						return ea
					}
				}
			}
		}
	}
	t.Fatal("no ext_authz filter")
	return nil
}

// TestEnvoyDocConfigs decodes the Envoy configurations of docs/envoy.md into Envoy's v3 types
// (Envoy cannot be installed here to load them): a misspelt or misplaced field, a wrong enum
// or a missing required field fails. It also checks what Gatehouse relies on.
func TestEnvoyDocConfigs(t *testing.T) {
	t.Parallel()
	blocks := envoyDocBlocks(t)
	for _, name := range []string{"envoy-grpc.yaml", "envoy-http.yaml", "envoy-gatehouse-tls-cluster.yaml"} {
		if blocks[name] == "" {
			t.Fatalf("docs/envoy.md has no %s block", name)
		}
	}

	grpcBoot := &bootstrapv3.Bootstrap{}
	decodeStrict(t, "envoy-grpc.yaml", blocks["envoy-grpc.yaml"], grpcBoot)
	ea := extAuthzOf(t, grpcBoot)
	if ea.GetGrpcService().GetEnvoyGrpc().GetClusterName() != "gatehouse" || ea.GetFailureModeAllow() || !ea.GetIncludePeerCertificate() {
		t.Errorf("gRPC mode: %v", ea)
	}

	httpBoot := &bootstrapv3.Bootstrap{}
	decodeStrict(t, "envoy-http.yaml", blocks["envoy-http.yaml"], httpBoot)
	ea = extAuthzOf(t, httpBoot)
	hs := ea.GetHttpService()
	if hs.GetPathPrefix() != extauthz.PathPrefix || ea.GetFailureModeAllow() {
		t.Errorf("HTTP mode: path_prefix %q, want %q; failure_mode_allow %v", hs.GetPathPrefix(), extauthz.PathPrefix, ea.GetFailureModeAllow())
	}
	if hs.GetAuthorizationResponse().GetAllowedUpstreamHeaders() == nil || hs.GetAuthorizationResponse().GetAllowedClientHeaders() == nil {
		t.Error("HTTP mode: allowed_upstream_headers and allowed_client_headers must be set")
	}

	decodeStrict(t, "envoy-gatehouse-tls-cluster.yaml", blocks["envoy-gatehouse-tls-cluster.yaml"], &clusterv3.Cluster{})
}

// TestDecodeStrictRefusesTypos keeps the doc test honest: the same decoding refuses a field
// Envoy does not have and a value Envoy's validation refuses.
func TestDecodeStrictRefusesTypos(t *testing.T) {
	t.Parallel()
	if err := protojson.Unmarshal([]byte(`{"failure_mode_alow": false}`), &ext_authzv3.ExtAuthz{}); err == nil {
		t.Error("a misspelt field decoded")
	}
	ea := &ext_authzv3.ExtAuthz{}
	if err := protojson.Unmarshal([]byte(`{"http_service": {"server_uri": {"uri": "http://127.0.0.1:8183", "cluster": "", "timeout": "0.5s"}}}`), ea); err != nil {
		t.Fatal(err)
	}
	if ea.ValidateAll() == nil {
		t.Error("an empty cluster name passed validation")
	}
}
