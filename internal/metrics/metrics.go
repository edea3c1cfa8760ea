// Package metrics exposes a node's Prometheus metrics. Counters of the hot path (requests,
// decisions, latencies, caches, upstream calls, IdP sign-ins) are recorded through Metrics;
// state owned by other components (JWKS fetches, token cache, snapshot revisions, audit
// trail, store contact) is read from them at scrape time, so those components stay free of
// metrics code.
//
// Invariants:
//   - Every label has bounded cardinality: api and route are names written in API
//     definitions (route is the route key as written, "GET /pets/{id}", never the request
//     path), status is an HTTP status code, pool a user pool id, issuer a configured issuer,
//     policy_store a store id. A request that matched no API or route has api or route "".
//   - No gauge uses a sentinel value. A time is a *_timestamp_seconds gauge (Unix seconds)
//     that is absent until the event first happens; ages are time() minus it in PromQL.
//   - Each Metrics has its own registry (no global state): two nodes in one process do not
//     share series.
package metrics

import (
	"net/http"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse-dev/gatehouse/internal/audit"
	"github.com/gatehouse-dev/gatehouse/internal/identity"
	"github.com/gatehouse-dev/gatehouse/internal/policystore"
)

// Metrics holds a node's collectors in its own registry (no global state).
type Metrics struct {
	reg *prometheus.Registry

	Decisions       *prometheus.CounterVec   // authorizer, policy_store, result
	DecisionLatency *prometheus.HistogramVec // authorizer
	DecisionCache   *prometheus.CounterVec   // authorizer, result (hit|miss)
	// Denials counts refusals by their stable reason (docs/reasons.md).
	Denials *prometheus.CounterVec // api, reason, source
	// Requests and RequestLatency count every request of the gateway and forward-auth
	// listeners once, when its answer is complete (source is the listener).
	Requests       *prometheus.CounterVec   // api, route, status, source
	RequestLatency *prometheus.HistogramVec // api, route, source
	// UpstreamLatency is the time from sending a request upstream to its response headers.
	UpstreamLatency *prometheus.HistogramVec // api
	UpstreamErrors  *prometheus.CounterVec   // api, kind
	// IdPSignIns counts password checks of the built-in IdP by result (success, failure,
	// throttled); IdPThrottled counts the throttled ones alone.
	IdPSignIns   *prometheus.CounterVec // pool, result
	IdPThrottled *prometheus.CounterVec // pool

	buildInfo *prometheus.GaugeVec // version, commit, goversion
}

// TokenStats is the identity registry's view.
type TokenStats interface{ Stats() identity.Stats }

// SnapshotSource lists the snapshots a node holds.
type SnapshotSource interface {
	States() []policystore.SnapshotState
}

// New builds the collectors. tokens and snaps may be nil.
func New(tokens TokenStats, snaps SnapshotSource) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.Decisions = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_decisions_total",
		Help: "Authorization decisions by authorizer type, policy store and result."}, []string{"authorizer", "policy_store", "result"})
	m.DecisionLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_decision_duration_seconds",
		Help:    "Time to decide, from token validation to decision.",
		Buckets: []float64{5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.025, 0.1, 0.5}}, []string{"authorizer"})
	m.Requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_requests_total",
		Help: "Requests answered by the gateway and forward-auth listeners, by API, route (as written), status and source listener."},
		[]string{"api", "route", "status", "source"})
	m.RequestLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_request_duration_seconds",
		Help:    "Time to answer a gateway or forward-auth request, the upstream included, by API, route and source listener.",
		Buckets: []float64{1e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}}, []string{"api", "route", "source"})
	m.Denials = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_denials_total",
		Help: "Requests refused by the gateway, forward-auth and other front doors, by API, stable reason (docs/reasons.md) and source."},
		[]string{"api", "reason", "source"})
	m.DecisionCache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_decision_cache_total",
		Help: "Decision cache lookups by authorizer and result (hit or miss)."}, []string{"authorizer", "result"})
	m.UpstreamLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_upstream_duration_seconds",
		Help:    "Time from sending a request to an API's upstream until its response headers arrived (or the call failed).",
		Buckets: []float64{5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}}, []string{"api"})
	m.UpstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_upstream_errors_total",
		Help: "Upstream failures by API and kind (upstream_timeout, upstream_error, body_too_large)."}, []string{"api", "kind"})
	m.IdPSignIns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_idp_signins_total",
		Help: "Password checks of the built-in IdP by user pool and result: success, failure (wrong password or unknown user) or throttled (refused before the check)."},
		[]string{"pool", "result"})
	m.IdPThrottled = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_idp_throttled_total",
		Help: "Sign-in attempts of the built-in IdP refused by sign-in throttling, by user pool."}, []string{"pool"})
	m.buildInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gatehouse_build_info",
		Help: "1, labelled with the running binary's version, commit and Go version."}, []string{"version", "commit", "goversion"})
	m.SetBuildInfo("", "")
	m.reg.MustRegister(m.Decisions, m.DecisionLatency, m.Denials, m.Requests, m.RequestLatency, m.DecisionCache,
		m.UpstreamLatency, m.UpstreamErrors, m.IdPSignIns, m.IdPThrottled, m.buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if tokens != nil {
		m.reg.MustRegister(&tokenCollector{src: tokens})
	}
	if snaps != nil {
		m.reg.MustRegister(&snapshotCollector{src: snaps})
	}
	return m
}

// SetBuildInfo sets gatehouse_build_info's labels. An empty version or commit is read from
// the binary's build information (module version, VCS revision), else "devel" / "unknown".
func (m *Metrics) SetBuildInfo(version, commit string) {
	version, commit = BuildVersion(version, commit)
	m.buildInfo.Reset()
	m.buildInfo.WithLabelValues(version, commit, runtime.Version()).Set(1)
}

// BuildVersion fills an empty version or commit from the binary's build information (module
// version, VCS revision), else "devel" / "unknown".
func BuildVersion(version, commit string) (string, string) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && commit == "" {
				commit = s.Value
			}
		}
	}
	if version == "" {
		version = "devel"
	}
	if commit == "" {
		commit = "unknown"
	}
	return version, commit
}

// Register adds another collector (the audit writer's, for example).
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

var (
	tokenCacheDesc   = prometheus.NewDesc("gatehouse_token_cache_total", "Verified-token cache lookups by result.", []string{"result"}, nil)
	jwksFetchDesc    = prometheus.NewDesc("gatehouse_jwks_fetches_total", "JWKS fetches per issuer.", []string{"issuer"}, nil)
	jwksFailDesc     = prometheus.NewDesc("gatehouse_jwks_fetch_failures_total", "Failed JWKS or discovery fetches per issuer (last good keys kept).", []string{"issuer"}, nil)
	jwksLimitedDesc  = prometheus.NewDesc("gatehouse_jwks_refresh_rate_limited_total", "Unknown-kid refreshes refused by the per-issuer rate limit.", []string{"issuer"}, nil)
	jwksKeysDesc     = prometheus.NewDesc("gatehouse_jwks_keys", "Keys currently held per issuer.", []string{"issuer"}, nil)
	jwksAgeDesc      = prometheus.NewDesc("gatehouse_jwks_age_seconds", "Seconds since the last successful JWKS fetch per issuer.", []string{"issuer"}, nil)
	jwksTimeDesc     = prometheus.NewDesc("gatehouse_jwks_last_success_timestamp_seconds", "Unix time of the last successful JWKS fetch per issuer (absent before the first).", []string{"issuer"}, nil)
	storeRevDesc     = prometheus.NewDesc("gatehouse_policy_store_revision", "Revision of the snapshot this node serves, per policy store.", []string{"policy_store"}, nil)
	snapshotAgeDesc  = prometheus.NewDesc("gatehouse_snapshot_age_seconds", "Seconds since this node built the snapshot it serves, per policy store.", []string{"policy_store"}, nil)
	snapshotTimeDesc = prometheus.NewDesc("gatehouse_snapshot_loaded_timestamp_seconds", "Unix time this node built the snapshot it serves, per policy store.", []string{"policy_store"}, nil)
)

type tokenCollector struct{ src TokenStats }

func (c *tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{tokenCacheDesc, jwksFetchDesc, jwksFailDesc, jwksLimitedDesc, jwksKeysDesc, jwksAgeDesc, jwksTimeDesc} {
		ch <- d
	}
}

func (c *tokenCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(tokenCacheDesc, prometheus.CounterValue, float64(s.CacheHits), "hit")
	ch <- prometheus.MustNewConstMetric(tokenCacheDesc, prometheus.CounterValue, float64(s.CacheMisses), "miss")
	for _, is := range s.Issuers {
		ch <- prometheus.MustNewConstMetric(jwksFetchDesc, prometheus.CounterValue, float64(is.Fetches), is.Issuer)
		ch <- prometheus.MustNewConstMetric(jwksFailDesc, prometheus.CounterValue, float64(is.FetchFailures), is.Issuer)
		ch <- prometheus.MustNewConstMetric(jwksLimitedDesc, prometheus.CounterValue, float64(is.RateLimited), is.Issuer)
		ch <- prometheus.MustNewConstMetric(jwksKeysDesc, prometheus.GaugeValue, float64(is.Keys), is.Issuer)
		if !is.LastSuccess.IsZero() {
			ch <- prometheus.MustNewConstMetric(jwksAgeDesc, prometheus.GaugeValue, time.Since(is.LastSuccess).Seconds(), is.Issuer)
			ch <- prometheus.MustNewConstMetric(jwksTimeDesc, prometheus.GaugeValue, unixSeconds(is.LastSuccess), is.Issuer)
		}
	}
}

type snapshotCollector struct{ src SnapshotSource }

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeRevDesc
	ch <- snapshotAgeDesc
	ch <- snapshotTimeDesc
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.src.States() {
		ch <- prometheus.MustNewConstMetric(storeRevDesc, prometheus.GaugeValue, float64(s.Revision), s.PolicyStoreID)
		ch <- prometheus.MustNewConstMetric(snapshotAgeDesc, prometheus.GaugeValue, time.Since(s.LoadedAt).Seconds(), s.PolicyStoreID)
		ch <- prometheus.MustNewConstMetric(snapshotTimeDesc, prometheus.GaugeValue, unixSeconds(s.LoadedAt), s.PolicyStoreID)
	}
}

// AuditStats is the audit writer's view.
type AuditStats interface{ Stats() audit.Stats }

// RegisterAudit exposes the audit trail's counters.
func (m *Metrics) RegisterAudit(a AuditStats) {
	m.reg.MustRegister(&auditCollector{src: a})
}

var (
	auditWrittenDesc = prometheus.NewDesc("gatehouse_audit_records_total", "Audit records that reached the destination.", nil, nil)
	auditDroppedDesc = prometheus.NewDesc("gatehouse_audit_dropped_total", "Audit records that could not be queued in time; each loss is also a gap record in the chain.", nil, nil)
	auditLostDesc    = prometheus.NewDesc("gatehouse_audit_lost_total", "Audit records that could not be written to the destination (a full disk); each loss is also a gap record in the chain.", nil, nil)
	auditErrorsDesc  = prometheus.NewDesc("gatehouse_audit_write_errors_total", "Failed writes to the audit destination.", nil, nil)
	auditQueueDesc   = prometheus.NewDesc("gatehouse_audit_queue_depth", "Audit records waiting to be written.", nil, nil)
)

type auditCollector struct{ src AuditStats }

func (c *auditCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{auditWrittenDesc, auditDroppedDesc, auditLostDesc, auditErrorsDesc, auditQueueDesc} {
		ch <- d
	}
}

func (c *auditCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(auditWrittenDesc, prometheus.CounterValue, float64(s.Written))
	ch <- prometheus.MustNewConstMetric(auditDroppedDesc, prometheus.CounterValue, float64(s.Dropped))
	ch <- prometheus.MustNewConstMetric(auditLostDesc, prometheus.CounterValue, float64(s.Lost))
	ch <- prometheus.MustNewConstMetric(auditErrorsDesc, prometheus.CounterValue, float64(s.WriteErrors))
	ch <- prometheus.MustNewConstMetric(auditQueueDesc, prometheus.GaugeValue, float64(s.QueueDepth))
}

// RegisterStore exposes whether the store answers: gatehouse_store_up (1 when the last
// revision poll succeeded within stale, else 0) and gatehouse_store_last_contact_timestamp_seconds
// (the Unix time of that contact; absent while the node has never reached its store, so an
// alert on time() minus it never fires on a sentinel).
func (m *Metrics) RegisterStore(lastContact func() time.Time, stale time.Duration) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_store_up",
		Help: "1 when this node reached its store within the last poll window, else 0 (it then serves its last snapshots)."},
		func() float64 {
			if t := lastContact(); !t.IsZero() && time.Since(t) <= stale {
				return 1
			}
			return 0
		}))
	m.reg.MustRegister(&timestampCollector{desc: storeContactDesc, at: lastContact})
}

// RegisterReadiness exposes gatehouse_ready: 1 while /readyz answers 200 (ready or
// degraded), else 0. ready is called at each scrape.
func (m *Metrics) RegisterReadiness(ready func() bool) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_ready",
		Help: "1 while this node answers /readyz with 200 (ready or degraded), else 0 (not ready, shutting down)."},
		func() float64 {
			if ready() {
				return 1
			}
			return 0
		}))
}

var storeContactDesc = prometheus.NewDesc("gatehouse_store_last_contact_timestamp_seconds",
	"Unix time this node last reached its store (absent until it first does).", nil, nil)

// timestampCollector exposes a time as a *_timestamp_seconds gauge, or nothing while it is zero.
type timestampCollector struct {
	desc *prometheus.Desc
	at   func() time.Time
}

func (c *timestampCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *timestampCollector) Collect(ch chan<- prometheus.Metric) {
	if t := c.at(); !t.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, unixSeconds(t))
	}
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }
