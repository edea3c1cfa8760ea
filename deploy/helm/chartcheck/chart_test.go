// Package chartcheck lints and renders the Helm chart in ../gatehouse with Helm's own Go
// packages and decodes every rendered manifest strictly into the Kubernetes API types: an
// unknown or mistyped field fails, which is schema validation done offline. It is its own
// module so the product's go.mod carries no Helm or Kubernetes dependency; .ci/k8s-check runs it.
package chartcheck

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

const chartDir = "../gatehouse"

func TestLint(t *testing.T) {
	for _, vals := range []map[string]any{nil, allOn} {
		res := lint.All(chartDir, vals, "default", false)
		for _, m := range res.Messages {
			if m.Severity >= support.WarningSev {
				t.Errorf("helm lint: %s", m)
			}
		}
	}
}

var allOn = map[string]any{
	"autoscaling":    map[string]any{"enabled": true},
	"serviceMonitor": map[string]any{"enabled": true},
	"applyBundle":    map[string]any{"enabled": true, "prune": true, "files": map[string]any{"api.json": "{}"}},
	"networkPolicy":  map[string]any{"adminFrom": []any{map[string]any{"team": "platform"}}},
}

func render(t *testing.T, vals map[string]any) map[string][]map[string]any {
	t.Helper()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}
	v, err := chartutil.ToRenderValues(ch, vals, chartutil.ReleaseOptions{Name: "gh", Namespace: "default", Revision: 1, IsInstall: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := engine.Render(ch, v)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string][]map[string]any{}
	for name, text := range out {
		for _, doc := range strings.Split(text, "\n---\n") {
			if strings.TrimSpace(doc) == "" || strings.HasSuffix(name, "NOTES.txt") {
				continue
			}
			j, err := yaml.YAMLToJSON([]byte(doc))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if string(j) == "null" {
				continue
			}
			var head struct{ APIVersion, Kind string }
			json.Unmarshal(j, &head)
			if err := strictDecode(head.APIVersion+"/"+head.Kind, j); err != nil {
				t.Errorf("%s (%s %s): %v\n%s", name, head.APIVersion, head.Kind, err, doc)
			}
			var m map[string]any
			json.Unmarshal(j, &m)
			byKind[head.Kind] = append(byKind[head.Kind], m)
		}
	}
	return byKind
}

// strictDecode decodes a manifest into its API type, refusing unknown fields.
func strictDecode(gvk string, j []byte) error {
	types := map[string]any{
		"apps/v1/Deployment":                      &appsv1.Deployment{},
		"v1/Service":                              &corev1.Service{},
		"v1/ConfigMap":                            &corev1.ConfigMap{},
		"policy/v1/PodDisruptionBudget":           &policyv1.PodDisruptionBudget{},
		"autoscaling/v2/HorizontalPodAutoscaler":  &autoscalingv2.HorizontalPodAutoscaler{},
		"networking.k8s.io/v1/NetworkPolicy":      &networkingv1.NetworkPolicy{},
		"batch/v1/Job":                            &batchv1.Job{},
		"monitoring.coreos.com/v1/ServiceMonitor": nil, // a CRD: checked by the test below
	}
	obj, ok := types[gvk]
	if !ok {
		return fmt.Errorf("no API type known for %s", gvk)
	}
	if obj == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	return dec.Decode(obj)
}

func TestRenderedManifestsMatchTheAPITypes(t *testing.T) {
	def := render(t, nil)
	for _, kind := range []string{"Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy"} {
		if len(def[kind]) != 1 {
			t.Errorf("default values render %d %s", len(def[kind]), kind)
		}
	}
	for _, kind := range []string{"HorizontalPodAutoscaler", "ServiceMonitor", "Job"} {
		if len(def[kind]) != 0 {
			t.Errorf("%s is on by default", kind)
		}
	}
	all := render(t, allOn)
	for _, kind := range []string{"HorizontalPodAutoscaler", "ServiceMonitor", "Job"} {
		if len(all[kind]) != 1 {
			t.Errorf("enabled values render %d %s", len(all[kind]), kind)
		}
	}
}

// TestDeploymentInvariants: the settings the chart promises, read from the rendered Deployment.
func TestDeploymentInvariants(t *testing.T) {
	def := render(t, nil)
	j, _ := json.Marshal(def["Deployment"][0])
	var d appsv1.Deployment
	if err := json.Unmarshal(j, &d); err != nil {
		t.Fatal(err)
	}
	p := d.Spec.Template.Spec
	c := p.Containers[0]
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("root filesystem is not read-only")
	}
	if p.SecurityContext == nil || p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot {
		t.Error("pod may run as root")
	}
	if c.ReadinessProbe.HTTPGet.Port.String() != "health" || c.LivenessProbe.HTTPGet.Port.String() != "health" {
		t.Error("probes are not on the health listener")
	}
	var db *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "GATEHOUSE_DB" {
			db = &c.Env[i]
		}
	}
	if db == nil || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil {
		t.Error("GATEHOUSE_DB is not read from a Secret")
	}
	// The grace period covers shutdownDelay plus the drain (shutdownTimeout).
	var settings struct{ ShutdownDelay, ShutdownTimeout string }
	cm := def["ConfigMap"][0]["data"].(map[string]any)["gatehouse.json"].(string)
	if err := json.Unmarshal([]byte(cm), &settings); err != nil {
		t.Fatalf("settings: %v", err)
	}
	delay, timeout := seconds(t, settings.ShutdownDelay), seconds(t, settings.ShutdownTimeout)
	if g := *p.TerminationGracePeriodSeconds; g <= delay+timeout {
		t.Errorf("terminationGracePeriodSeconds %d is not above shutdownDelay+shutdownTimeout %d", g, delay+timeout)
	}
}

func seconds(t *testing.T, s string) int64 {
	t.Helper()
	var n int64
	if _, err := fmt.Sscanf(s, "%ds", &n); err != nil {
		t.Fatalf("duration %q: %v", s, err)
	}
	return n
}
