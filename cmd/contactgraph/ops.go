package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/auth"
	"github.com/contactgraph/contactgraph/ops"
)

// opsConfig configures what operators see of serve: logs, metrics, and
// the clock skew allowed on access tokens.
type opsConfig struct {
	LogFormat   string
	LogLevel    string
	MetricsAddr string        // "" serves /metrics on the main listener
	ClockSkew   time.Duration // allowed on exp and nbf of access tokens; 0 for none
}

func (m *Main) opsFlags(fs *flag.FlagSet, c *opsConfig) {
	fs.StringVar(&c.LogFormat, "log-format", m.env("LOG_FORMAT", ops.LogText), "log format: text or json (env CONTACTGRAPH_LOG_FORMAT)")
	fs.StringVar(&c.LogLevel, "log-level", m.env("LOG_LEVEL", "info"), "least level logged: debug, info (one line per request), warn or error (env CONTACTGRAPH_LOG_LEVEL)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", m.env("METRICS_ADDR", ""), "serve /metrics (with /healthz and /readyz) on this address of its own instead of the main listener, such as 127.0.0.1:9090 (env CONTACTGRAPH_METRICS_ADDR)")
	fs.DurationVar(&c.ClockSkew, "clock-skew", envDuration(m, "CLOCK_SKEW", auth.DefaultLeeway), "clock skew allowed on the expiry and not-before times of access tokens: a token is accepted until this long after it expires; 0 for none (env CONTACTGRAPH_CLOCK_SKEW)")
}

// check validates the configuration.
func (c opsConfig) check() error {
	if _, err := ops.NewLogger(io.Discard, c.LogFormat, c.LogLevel); err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	if c.ClockSkew < 0 {
		return errors.New("serve: --clock-skew cannot be negative")
	}
	return nil
}

// leeway is ClockSkew as the auth package takes it: zero there means the
// default, a negative value none.
func (c opsConfig) leeway() time.Duration {
	if c.ClockSkew == 0 {
		return -1
	}
	return c.ClockSkew
}

// operations is the operator side of serve: metrics, probes, the timed store.
type operations struct {
	cfg     opsConfig
	metrics *ops.Metrics
	health  *ops.Health
	store   contactgraph.Store // the opened store, timed
}

// newOperations builds the metrics of a server on store (as opened) and
// its probes: readiness is the store's Ready.
func newOperations(store contactgraph.Store, cfg opsConfig, logger *slog.Logger) (*operations, error) {
	o := &operations{cfg: cfg, metrics: ops.NewMetrics(), health: &ops.Health{Ready: store.Ready, Logger: logger}}
	o.store = o.metrics.InstrumentStore(store)
	if p, ok := store.(interface{ Pools() map[string]*sql.DB }); ok {
		if err := o.metrics.WatchPools(p.Pools); err != nil {
			return nil, err
		}
	}
	if err := o.metrics.WatchOutbox(store.OutboxDepth, ops.DefaultReadyTimeout); err != nil {
		return nil, err
	}
	return o, nil
}

// handler puts the probes, and /metrics unless it has a listener of its
// own, in front of the API.
func (o *operations) handler(api http.Handler) http.Handler {
	var metrics http.Handler
	if o.cfg.MetricsAddr == "" {
		metrics = o.metrics.Handler()
	}
	return ops.Handler(api, o.health, metrics)
}

// listen starts the metrics listener of --metrics-addr, if any, and
// returns its URL ("" without one) and a func that closes it.
func (o *operations) listen(logger *slog.Logger) (string, func(), error) {
	if o.cfg.MetricsAddr == "" {
		return "", func() {}, nil
	}
	ln, err := net.Listen("tcp", o.cfg.MetricsAddr)
	if err != nil {
		return "", nil, fmt.Errorf("metrics listener: %w", err)
	}
	srv := &http.Server{
		Handler:           ops.Handler(nil, o.health, o.metrics.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + displayAddr(ln.Addr()) + ops.MetricsPath
	return url, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
