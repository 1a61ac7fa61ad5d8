package ops

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"

	"github.com/contactgraph/contactgraph/notify"
	"github.com/prometheus/client_golang/prometheus"
)

// poolCollector exports the sql.DBStats of a store's connection pools,
// labelled by pool name ("write" and "read" for SQLite, "readwrite" for
// PostgreSQL), read at each scrape.
type poolCollector struct {
	pools func() map[string]*sql.DB
}

var (
	poolMaxOpen = prometheus.NewDesc("contactgraph_db_pool_max_open_connections",
		"Most connections the pool may open.", []string{"pool"}, nil)
	poolOpen = prometheus.NewDesc("contactgraph_db_pool_open_connections",
		"Connections open, in use and idle.", []string{"pool"}, nil)
	poolInUse = prometheus.NewDesc("contactgraph_db_pool_in_use_connections",
		"Connections in use.", []string{"pool"}, nil)
	poolIdle = prometheus.NewDesc("contactgraph_db_pool_idle_connections",
		"Idle connections.", []string{"pool"}, nil)
	poolWaits = prometheus.NewDesc("contactgraph_db_pool_wait_count_total",
		"Times a caller waited for a connection.", []string{"pool"}, nil)
	poolWaited = prometheus.NewDesc("contactgraph_db_pool_wait_duration_seconds_total",
		"Time callers waited for a connection.", []string{"pool"}, nil)
	poolClosed = prometheus.NewDesc("contactgraph_db_pool_closed_total",
		"Connections closed by the pool, by reason: max_idle, max_idle_time, max_lifetime.", []string{"pool", "reason"}, nil)
)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMaxOpen, poolOpen, poolInUse, poolIdle, poolWaits, poolWaited, poolClosed} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for name, db := range c.pools() {
		s := db.Stats()
		gauge := func(d *prometheus.Desc, v int) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), name)
		}
		gauge(poolMaxOpen, s.MaxOpenConnections)
		gauge(poolOpen, s.OpenConnections)
		gauge(poolInUse, s.InUse)
		gauge(poolIdle, s.Idle)
		ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(poolWaited, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
		ch <- prometheus.MustNewConstMetric(poolClosed, prometheus.CounterValue, float64(s.MaxIdleClosed), name, "max_idle")
		ch <- prometheus.MustNewConstMetric(poolClosed, prometheus.CounterValue, float64(s.MaxIdleTimeClosed), name, "max_idle_time")
		ch <- prometheus.MustNewConstMetric(poolClosed, prometheus.CounterValue, float64(s.MaxLifetimeClosed), name, "max_lifetime")
	}
}

// outboxCollector exports the depth of the notification outbox, read
// from the store at each scrape. The outbox is shared by every replica on
// a database: each reports the same number.
type outboxCollector struct {
	depth   func(context.Context) (int, error)
	timeout time.Duration
}

var outboxDepth = prometheus.NewDesc("contactgraph_notification_outbox_depth",
	"Notifications waiting for delivery in the outbox (shared by every replica on the database).", nil, nil)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- outboxDepth }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	n, err := c.depth(ctx)
	if err != nil {
		return // the database is down: /readyz says so; the gauge is absent
	}
	ch <- prometheus.MustNewConstMetric(outboxDepth, prometheus.GaugeValue, float64(n))
}

// senderCounters are the counters of a notification sender's Stats.
func senderCounters(s *notify.Stats) []prometheus.Collector {
	counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
	}
	return []prometheus.Collector{
		counter("contactgraph_notifications_delivered_total", "Notifications a receiver accepted.", &s.Delivered),
		counter("contactgraph_notification_posts_failed_total", "Notification POSTs that failed: an answer other than 2xx, a timeout, a refused connection.", &s.Failed),
		counter("contactgraph_notifications_retried_total", "Notifications put back for a later attempt after a failed POST.", &s.Retried),
		counter("contactgraph_notifications_dropped_total", "Notifications given up after --notification-retry-for (a missed lifecycle notification follows).", &s.Dropped),
	}
}
