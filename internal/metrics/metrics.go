// Package metrics exposes a node's Prometheus metrics. Counters of the hot path (decisions,
// latencies, caches) are recorded through Metrics; state owned by other components (JWKS
// fetches, token cache, snapshot revisions) is read from them at scrape time, so those
// components stay free of metrics code.
package metrics

import (
	"net/http"
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
	RequestLatency  *prometheus.HistogramVec // api, status class
	DecisionCache   *prometheus.CounterVec   // authorizer, result (hit|miss)
	UpstreamErrors  *prometheus.CounterVec   // api, kind
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
	m.RequestLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_request_duration_seconds",
		Help: "Gateway request latency including the upstream.", Buckets: prometheus.DefBuckets}, []string{"api", "code"})
	m.DecisionCache = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_decision_cache_total",
		Help: "Decision cache lookups by authorizer and result (hit or miss)."}, []string{"authorizer", "result"})
	m.UpstreamErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_upstream_errors_total",
		Help: "Upstream failures by API and kind (timeout, connect, other)."}, []string{"api", "kind"})
	m.reg.MustRegister(m.Decisions, m.DecisionLatency, m.RequestLatency, m.DecisionCache, m.UpstreamErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if tokens != nil {
		m.reg.MustRegister(&tokenCollector{src: tokens})
	}
	if snaps != nil {
		m.reg.MustRegister(&snapshotCollector{src: snaps})
	}
	return m
}

// Register adds another collector (the audit writer's, for example).
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

var (
	tokenCacheDesc  = prometheus.NewDesc("gatehouse_token_cache_total", "Verified-token cache lookups by result.", []string{"result"}, nil)
	jwksFetchDesc   = prometheus.NewDesc("gatehouse_jwks_fetches_total", "JWKS fetches per issuer.", []string{"issuer"}, nil)
	jwksFailDesc    = prometheus.NewDesc("gatehouse_jwks_fetch_failures_total", "Failed JWKS or discovery fetches per issuer (last good keys kept).", []string{"issuer"}, nil)
	jwksLimitedDesc = prometheus.NewDesc("gatehouse_jwks_refresh_rate_limited_total", "Unknown-kid refreshes refused by the per-issuer rate limit.", []string{"issuer"}, nil)
	jwksKeysDesc    = prometheus.NewDesc("gatehouse_jwks_keys", "Keys currently held per issuer.", []string{"issuer"}, nil)
	jwksAgeDesc     = prometheus.NewDesc("gatehouse_jwks_age_seconds", "Seconds since the last successful JWKS fetch per issuer.", []string{"issuer"}, nil)
	storeRevDesc    = prometheus.NewDesc("gatehouse_policy_store_revision", "Revision of the snapshot this node serves, per policy store.", []string{"policy_store"}, nil)
	snapshotAgeDesc = prometheus.NewDesc("gatehouse_snapshot_age_seconds", "Seconds since this node built the snapshot it serves, per policy store.", []string{"policy_store"}, nil)
)

type tokenCollector struct{ src TokenStats }

func (c *tokenCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{tokenCacheDesc, jwksFetchDesc, jwksFailDesc, jwksLimitedDesc, jwksKeysDesc, jwksAgeDesc} {
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
		}
	}
}

type snapshotCollector struct{ src SnapshotSource }

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- storeRevDesc
	ch <- snapshotAgeDesc
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.src.States() {
		ch <- prometheus.MustNewConstMetric(storeRevDesc, prometheus.GaugeValue, float64(s.Revision), s.PolicyStoreID)
		ch <- prometheus.MustNewConstMetric(snapshotAgeDesc, prometheus.GaugeValue, time.Since(s.LoadedAt).Seconds(), s.PolicyStoreID)
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
// revision poll succeeded within stale, else 0) and the age of that contact.
func (m *Metrics) RegisterStore(lastContact func() time.Time, stale time.Duration) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_store_up",
		Help: "1 when this node reached its store within the last poll window, else 0 (it then serves its last snapshots)."},
		func() float64 {
			if t := lastContact(); !t.IsZero() && time.Since(t) <= stale {
				return 1
			}
			return 0
		}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gatehouse_store_last_contact_age_seconds",
		Help: "Seconds since this node last reached its store (-1 if never)."},
		func() float64 {
			t := lastContact()
			if t.IsZero() {
				return -1
			}
			return time.Since(t).Seconds()
		}))
}
