package postgres_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/pgtest"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/contactgraph/contactgraph/storetest"
)

// envDSN names the environment variable holding the test database's DSN.
const envDSN = pgtest.EnvDSN

// testDSN returns the test database's DSN, or skips the test.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(envDSN)
	if dsn == "" {
		t.Skip(envDSN + " is not set: PostgreSQL tests need a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable")
	}
	return dsn
}

// newSchema returns the name of a new, random schema (not created yet) and
// drops it with everything in it when the test ends.
func newSchema(t testing.TB) string {
	t.Helper()
	return pgtest.Schema(t, testDSN(t), "cgtest_")
}

// withAppName sets the application_name of a DSN's sessions, so that a
// test can find its own sessions in pg_stat_activity.
func withAppName(dsn, name string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " application_name=" + name
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn // Open reports the bad DSN
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// env is one test's database: a schema of its own and the store on it.
type env struct {
	db     *postgres.DB
	schema string
	dsn    string // the DSN with the schema's application_name
}

// newEnv opens a store on a fresh schema; clock may be nil.
func newEnv(t testing.TB, clock *storetest.Clock) *env {
	t.Helper()
	schema := newSchema(t)
	e := &env{schema: schema, dsn: withAppName(testDSN(t), schema)}
	e.db = e.open(t, clock)
	return e
}

// open opens another store (a replica) on the env's schema, with the
// BeforeCommit seam the tests hold writes open with.
func (e *env) open(t testing.TB, clock *storetest.Clock) *postgres.DB {
	t.Helper()
	return e.openWith(t, clock, beforeCommit)
}

// openServed opens another store on the env's schema as serve does:
// without the seam, so that a plain create is the one-statement function
// (sqlstore.CreateContactCall) committed on its own.
func (e *env) openServed(t testing.TB, clock *storetest.Clock) *postgres.DB {
	t.Helper()
	return e.openWith(t, clock, nil)
}

func (e *env) openWith(t testing.TB, clock *storetest.Clock, seam func(context.Context)) *postgres.DB {
	t.Helper()
	opts := postgres.Options{Schema: e.schema, BeforeCommit: seam}
	if clock != nil {
		opts.Now = clock.Now
	}
	db, err := postgres.Open(context.Background(), e.dsn, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// lockWaiters counts the env's sessions waiting for a lock.
func (e *env) lockWaiters(t *testing.T) int {
	t.Helper()
	var n int
	err := e.db.SQL().QueryRowContext(context.Background(),
		`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, e.schema).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// waitFor polls cond until it holds; it fails the test after 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// call is a store call running in its own goroutine.
type call struct {
	done chan struct{}
	err  error
}

// start runs fn in a goroutine.
func start(fn func() error) *call {
	c := &call{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.err = fn()
	}()
	return c
}

// finished reports whether the call has returned.
func (c *call) finished() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// wait waits for the call and fails the test on its error.
func (c *call) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not finish", what)
	}
	if c.err != nil {
		t.Fatalf("%s: %v", what, c.err)
	}
}

type holdKey struct{}

// hold stops a write inside its transaction, just before commit: its
// revision is taken and its data written, but nothing is committed.
type hold struct {
	held    chan struct{} // closed when the write reached the hold
	release chan struct{} // closed by the test to let the write commit
	once    sync.Once
}

func newHold() *hold { return &hold{held: make(chan struct{}), release: make(chan struct{})} }

// ctx returns a context whose writes stop at h.
func (h *hold) ctx() context.Context { return context.WithValue(context.Background(), holdKey{}, h) }

// holdOf returns the hold ctx carries, or nil.
func holdOf(ctx context.Context) *hold {
	h, _ := ctx.Value(holdKey{}).(*hold)
	return h
}

// stop signals that the write reached h and waits until h is released.
// A nil hold does not stop.
func (h *hold) stop() {
	if h == nil {
		return
	}
	h.once.Do(func() { close(h.held) })
	<-h.release
}

// beforeCommit is every test store's BeforeCommit seam: a write whose
// context carries a hold stops at it, holding its transaction open, and
// one whose context carries a cancel function (cancelKey) calls it, so
// that database/sql rolls the transaction back. Other writes pass.
func beforeCommit(ctx context.Context) {
	holdOf(ctx).stop()
	if cancel, ok := ctx.Value(cancelKey{}).(context.CancelFunc); ok {
		cancel()
	}
}

// waitHeld waits until the write c, carrying h, is held open.
func waitHeld(t *testing.T, h *hold, c *call, what string) {
	t.Helper()
	select {
	case <-h.held:
	case <-c.done:
		t.Fatalf("%s finished before reaching its commit: %v", what, c.err)
	case <-time.After(20 * time.Second):
		t.Fatalf("%s never reached its commit", what)
	}
}

const tenant = "8f5e1a42-0000-4000-8000-000000000002"

func mailbox(t *testing.T, s contactgraph.Store, upn string) contactgraph.Mailbox {
	t.Helper()
	mb, err := s.EnsureMailbox(context.Background(), tenant, contactgraph.UserID(tenant, upn), upn)
	if err != nil {
		t.Fatal(err)
	}
	return mb
}

// TestStore runs the conformance suite on PostgreSQL, each subtest on a
// schema of its own, on the store as serve opens it (without the seam).
func TestStore(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) contactgraph.Store {
		e := &env{schema: newSchema(t)}
		e.dsn = withAppName(testDSN(t), e.schema)
		return e.openServed(t, clock)
	})
}

// TestPartsDeleted checks that no photo, extension or extended property
// outlives its contact in the database.
func TestPartsDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	storetest.CheckPartsDeleted(t, e.db, func() int {
		var n int
		err := e.db.SQL().QueryRowContext(context.Background(),
			`SELECT (SELECT COUNT(*) FROM contact_photos) + (SELECT COUNT(*) FROM contact_extensions) + (SELECT COUNT(*) FROM contact_ext_props)`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	})
}
