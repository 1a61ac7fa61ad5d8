package ops

import (
	"context"
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/graphapi"
	"github.com/contactgraph/contactgraph/notify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are a server's Prometheus metrics, on a registry of their own
// (never the global default one). A value serves one process: build it in
// main and pass it where it is needed. It is safe for concurrent use.
//
// Label values come from small fixed sets (route kinds, methods, statuses,
// collections, reasons, store operations, error codes, pool names): no
// tenant, user, id or path ever becomes one.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	batchRequests *prometheus.CounterVec
	deltaRounds   *prometheus.CounterVec
	deltaPages    *prometheus.CounterVec
	tokensRefused *prometheus.CounterVec
	storeSeconds  *prometheus.HistogramVec
	notifyLatency prometheus.Histogram
}

var _ graphapi.Observer = (*Metrics)(nil)

// Buckets of the histograms, in seconds.
var (
	requestBuckets = prometheus.DefBuckets // 5 ms to 10 s
	storeBuckets   = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}
	// Commit to delivery: immediate, slow receivers, then retries with
	// backoff for up to --notification-retry-for (4 h by default).
	notifyBuckets = []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14400}
)

// NewMetrics returns Metrics with the Go runtime and process collectors
// registered, and every series of delta rounds and refused tokens present
// at zero.
func NewMetrics() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contactgraph_http_requests_total",
			Help: "HTTP requests answered, by route kind, method and status.",
		}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contactgraph_http_request_duration_seconds",
			Help:    "Time from receiving a request's headers to the end of its handler, by route kind and method.",
			Buckets: requestBuckets,
		}, []string{"route", "method"}),
		batchRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contactgraph_batch_inner_requests_total",
			Help: "Inner requests of $batch requests, by route kind, method and status.",
		}, []string{"route", "method", "status"}),
		deltaRounds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contactgraph_delta_rounds_total",
			Help: "Delta rounds started (their first page answered), by collection and round: first (no token) or incremental (from a deltaLink).",
		}, []string{"collection", "round"}),
		deltaPages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contactgraph_delta_pages_total",
			Help: "Delta pages answered, by collection and round.",
		}, []string{"collection", "round"}),
		tokensRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "contactgraph_delta_tokens_refused_total",
			Help: "Delta requests refused for their token, by collection and reason: expired, malformed or resync.",
		}, []string{"collection", "reason"}),
		storeSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "contactgraph_store_operation_duration_seconds",
			Help:    "Duration of store calls, by operation and result (ok, canceled, or the error code).",
			Buckets: storeBuckets,
		}, []string{"operation", "result"}),
		notifyLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "contactgraph_notification_delivery_latency_seconds",
			Help:    "Time from the commit of a change to a receiver accepting its notification, retries included.",
			Buckets: notifyBuckets,
		}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.batchRequests, m.deltaRounds, m.deltaPages, m.tokensRefused, m.storeSeconds,
	)
	for _, c := range graphapi.DeltaCollections() {
		for _, r := range []graphapi.DeltaRound{graphapi.RoundFirst, graphapi.RoundIncremental} {
			m.deltaRounds.WithLabelValues(c, string(r))
			m.deltaPages.WithLabelValues(c, string(r))
		}
		for _, r := range []graphapi.TokenRefusal{graphapi.RefusedExpired, graphapi.RefusedMalformed, graphapi.RefusedResync} {
			m.tokensRefused.WithLabelValues(c, string(r))
		}
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition formats, with
// promhttp's own counters of scrapes. A collector that fails leaves its
// metrics out of the answer instead of failing the scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:      m.reg,
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	}))
}

// Register adds a collector of the caller's own to the registry.
func (m *Metrics) Register(c prometheus.Collector) error { return m.reg.Register(c) }

// ObserveRequest implements graphapi.Observer.
func (m *Metrics) ObserveRequest(r graphapi.RequestInfo) {
	status := strconv.Itoa(r.Status)
	if r.Batch != "" {
		m.batchRequests.WithLabelValues(r.Route, r.Method, status).Inc()
		return
	}
	m.requests.WithLabelValues(r.Route, r.Method, status).Inc()
	m.duration.WithLabelValues(r.Route, r.Method).Observe(r.Duration.Seconds())
}

// ObserveDeltaPage implements graphapi.Observer.
func (m *Metrics) ObserveDeltaPage(collection string, round graphapi.DeltaRound, start bool) {
	m.deltaPages.WithLabelValues(collection, string(round)).Inc()
	if start {
		m.deltaRounds.WithLabelValues(collection, string(round)).Inc()
	}
}

// ObserveTokenRefused implements graphapi.Observer.
func (m *Metrics) ObserveTokenRefused(collection string, reason graphapi.TokenRefusal) {
	m.tokensRefused.WithLabelValues(collection, string(reason)).Inc()
}

// InstrumentStore returns s wrapped in a Store that times its calls into
// these metrics.
func (m *Metrics) InstrumentStore(s contactgraph.Store) *Store {
	return &Store{Store: s, seconds: m.storeSeconds}
}

// WatchPools registers the statistics of database/sql pools, read at each
// scrape from pools (a store's Pools method; see poolCollector). It fails
// when called twice.
func (m *Metrics) WatchPools(pools func() map[string]*sql.DB) error {
	return m.reg.Register(&poolCollector{pools: pools})
}

// WatchOutbox registers contactgraph_notification_outbox_depth, read at
// each scrape with depth (a store's OutboxDepth), given timeout. A failing
// read leaves the gauge out of that scrape. It fails when called twice.
func (m *Metrics) WatchOutbox(depth func(context.Context) (int, error), timeout time.Duration) error {
	return m.reg.Register(&outboxCollector{depth: depth, timeout: timeout})
}

// WatchSender registers the counters of a notification sender (its Stats)
// and sets its DeliveryLatency to feed
// contactgraph_notification_delivery_latency_seconds. Call it before the
// sender runs, once.
func (m *Metrics) WatchSender(s *notify.Sender) error {
	if err := m.reg.Register(m.notifyLatency); err != nil {
		return err
	}
	for _, c := range senderCounters(&s.Stats) {
		if err := m.reg.Register(c); err != nil {
			return err
		}
	}
	s.DeliveryLatency = func(d time.Duration) { m.notifyLatency.Observe(d.Seconds()) }
	return nil
}
