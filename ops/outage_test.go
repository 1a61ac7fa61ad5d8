package ops_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph/internal/pgtest"
	"github.com/contactgraph/contactgraph/ops"
	"github.com/contactgraph/contactgraph/postgres"
)

// proxy is a TCP relay between a store and PostgreSQL that a test can cut
// (refusing connections) or stall (accepting them and answering nothing):
// a real database outage for the server, without touching the database.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
	stall bool
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.up(false)
	t.Cleanup(p.down)
	return p
}

// up listens on the proxy's address: relaying, or stalling.
func (p *proxy) up(stall bool) {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr, p.stall = ln, ln.Addr().String(), stall
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns = append(p.conns, c)
			stall := p.stall
			p.mu.Unlock()
			if !stall {
				go p.relay(c)
			}
		}
	}()
}

func (p *proxy) relay(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	p.conns = append(p.conns, s)
	p.mu.Unlock()
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	_, _ = io.Copy(c, s)
	c.Close()
}

// down closes the listener and every connection through it.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestReadinessPostgresOutage: a PostgreSQL store behind a proxy. While
// the database is unreachable (connections refused) or hangs (connections
// accepted, never answered), /readyz answers 503 within its timeout and
// /metrics still answers, without the outbox depth; when the database is
// back, /readyz is 200 again by itself.
func TestReadinessPostgresOutage(t *testing.T) {
	dsn := os.Getenv(pgtest.EnvDSN)
	if dsn == "" {
		t.Skip(pgtest.EnvDSN + " is not set")
	}
	u, err := url.Parse(dsn)
	if err != nil || u.Host == "" {
		t.Skipf("the outage test needs a postgres:// URL DSN, not %q", dsn)
	}
	p := newProxy(t, u.Host)
	through := *u
	through.Host = p.addr
	q := through.Query()
	q.Set("connect_timeout", "1")
	through.RawQuery = q.Encode()
	schema := pgtest.Schema(t, dsn, "cgtest_ops_")

	ctx := context.Background()
	db, err := postgres.Open(ctx, through.String(), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	m := ops.NewMetrics()
	if err := m.WatchPools(db.Pools); err != nil {
		t.Fatal(err)
	}
	if err := m.WatchOutbox(db.OutboxDepth, 500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	const timeout = time.Second
	srv := httptest.NewServer(ops.Handler(nil, &ops.Health{Ready: db.Ready, Timeout: timeout}, m.Handler()))
	defer srv.Close()

	ready := func() int {
		t.Helper()
		start := time.Now()
		st, _, _ := probe(t, http.MethodGet, srv.URL+ops.ReadyPath)
		if d := time.Since(start); d > timeout+2*time.Second {
			t.Fatalf("/readyz took %v, more than its timeout %v", d, timeout)
		}
		return st
	}
	scrapeDuringOutage := func() {
		t.Helper()
		s, _ := scrapeURL(t, srv.URL+ops.MetricsPath)
		if s["contactgraph_notification_outbox_depth"] != nil {
			t.Error("an outbox depth while the database is down")
		}
		if s.value("contactgraph_db_pool_max_open_connections", "pool", "readwrite") < 0 {
			t.Error("no pool statistics while the database is down")
		}
	}
	if st := ready(); st != 200 {
		t.Fatalf("/readyz %d before the outage", st)
	}
	if s, _ := scrapeURL(t, srv.URL+ops.MetricsPath); s.value("contactgraph_notification_outbox_depth") != 0 {
		t.Errorf("outbox depth %v", s.value("contactgraph_notification_outbox_depth"))
	}

	p.down() // refused
	waitFor(t, "/readyz 503 with the database unreachable", func() bool { return ready() == 503 })
	scrapeDuringOutage()

	p.up(true) // accepted, never answered
	for range 2 {
		if st := ready(); st != 503 {
			t.Fatalf("/readyz %d with the database hanging", st)
		}
	}
	scrapeDuringOutage()

	p.down()
	p.up(false)
	waitFor(t, "/readyz 200 once the database is back", func() bool { return ready() == 200 })
}
