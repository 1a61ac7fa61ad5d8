package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/ops"
	"github.com/contactgraph/contactgraph/throttle"
)

// throttleConfig is --throttle and its limits.
type throttleConfig struct {
	Mode           string // "off" or "graph"
	ConcurrencyKey string // "app" or "app+mailbox"
	Limits         throttle.Limits
}

func (m *Main) throttleFlags(fs *flag.FlagSet, c *throttleConfig) {
	g := throttle.GraphLimits()
	l := &c.Limits
	fs.StringVar(&c.Mode, "throttle", m.env("THROTTLE", "off"), "off, or graph: answer 429 as Microsoft Graph does over its limits (env CONTACTGRAPH_THROTTLE)")
	fs.IntVar(&l.Concurrency, "throttle-concurrency", envInt(m, "THROTTLE_CONCURRENCY", g.Concurrency), "graph mode: concurrent requests per app on contacts and folders; 0 for no limit (env CONTACTGRAPH_THROTTLE_CONCURRENCY)")
	fs.StringVar(&c.ConcurrencyKey, "throttle-concurrency-key", m.env("THROTTLE_CONCURRENCY_KEY", "app"), "graph mode: app, or app+mailbox: what the concurrency limit counts per (env CONTACTGRAPH_THROTTLE_CONCURRENCY_KEY)")
	fs.Int64Var(&l.Requests, "throttle-requests", envInt64(m, "THROTTLE_REQUESTS", g.Requests), "graph mode: requests per app and mailbox in --throttle-requests-window; 0 for no limit (env CONTACTGRAPH_THROTTLE_REQUESTS)")
	fs.DurationVar(&l.RequestWindow, "throttle-requests-window", envDuration(m, "THROTTLE_REQUESTS_WINDOW", g.RequestWindow), "graph mode: the window of --throttle-requests (env CONTACTGRAPH_THROTTLE_REQUESTS_WINDOW)")
	fs.Int64Var(&l.UploadBytes, "throttle-upload-bytes", envInt64(m, "THROTTLE_UPLOAD_BYTES", g.UploadBytes), "graph mode: bytes of POST, PATCH and PUT bodies per app and mailbox in --throttle-upload-window; 0 for no limit (env CONTACTGRAPH_THROTTLE_UPLOAD_BYTES)")
	fs.DurationVar(&l.UploadWindow, "throttle-upload-window", envDuration(m, "THROTTLE_UPLOAD_WINDOW", g.UploadWindow), "graph mode: the window of --throttle-upload-bytes (env CONTACTGRAPH_THROTTLE_UPLOAD_WINDOW)")
	fs.Int64Var(&l.DirectoryUnits, "throttle-directory-units", envInt64(m, "THROTTLE_DIRECTORY_UNITS", g.DirectoryUnits), "graph mode: resource units per app and tenant in --throttle-directory-window on org contacts and users (3500, 5000, 8000 for Graph's S, M, L tenants); 0 for no limit (env CONTACTGRAPH_THROTTLE_DIRECTORY_UNITS)")
	fs.DurationVar(&l.DirectoryWindow, "throttle-directory-window", envDuration(m, "THROTTLE_DIRECTORY_WINDOW", g.DirectoryWindow), "graph mode: how long the resource-unit bucket takes to refill (env CONTACTGRAPH_THROTTLE_DIRECTORY_WINDOW)")
	fs.Int64Var(&l.DirectoryWrites, "throttle-directory-writes", envInt64(m, "THROTTLE_DIRECTORY_WRITES", g.DirectoryWrites), "graph mode: writes per app and tenant in --throttle-directory-writes-window on org contacts and users; 0 for no limit (env CONTACTGRAPH_THROTTLE_DIRECTORY_WRITES)")
	fs.DurationVar(&l.DirectoryWriteWindow, "throttle-directory-writes-window", envDuration(m, "THROTTLE_DIRECTORY_WRITES_WINDOW", g.DirectoryWriteWindow), "graph mode: the window of --throttle-directory-writes (env CONTACTGRAPH_THROTTLE_DIRECTORY_WRITES_WINDOW)")
}

// check validates the configuration.
func (c *throttleConfig) check() error {
	l := &c.Limits
	switch c.Mode {
	case "off", "graph":
	default:
		return fmt.Errorf("serve: --throttle is off or graph, not %q", c.Mode)
	}
	switch c.ConcurrencyKey {
	case "app":
	case "app+mailbox":
		l.ConcurrencyPerMailbox = true
	default:
		return fmt.Errorf("serve: --throttle-concurrency-key is app or app+mailbox, not %q", c.ConcurrencyKey)
	}
	for _, n := range []struct {
		name string
		v    int64
	}{{"concurrency", int64(l.Concurrency)}, {"requests", l.Requests}, {"upload-bytes", l.UploadBytes}, {"directory-units", l.DirectoryUnits}, {"directory-writes", l.DirectoryWrites}} {
		if n.v < 0 {
			return fmt.Errorf("serve: --throttle-%s must not be negative", n.name)
		}
	}
	for _, w := range []struct {
		name string
		d    time.Duration
	}{{"requests-window", l.RequestWindow}, {"upload-window", l.UploadWindow}, {"directory-window", l.DirectoryWindow}, {"directory-writes-window", l.DirectoryWriteWindow}} {
		if w.d < time.Millisecond {
			return fmt.Errorf("serve: --throttle-%s must be at least 1ms", w.name)
		}
	}
	return nil
}

// limiter returns the limiter of graph mode, nil when off. A store that
// keeps shared counters (PostgreSQL) holds the limits across replicas;
// otherwise they live in this process.
func (c *throttleConfig) limiter(store contactgraph.Store) *throttle.Limiter {
	if c.Mode != "graph" {
		return nil
	}
	var counters throttle.Counters = &throttle.Memory{}
	if s, ok := ops.Unwrap(store).(interface{ Throttle() throttle.Counters }); ok { // the store under the metrics wrapper
		counters = s.Throttle()
	}
	return throttle.New(c.Limits, counters, nil)
}
