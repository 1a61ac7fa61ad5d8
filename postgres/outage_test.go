package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/pgcluster"
	"github.com/contactgraph/contactgraph/postgres"
	"github.com/jackc/pgx/v5"
)

func contactIn(t *testing.T, body string) contactgraph.ContactInput {
	t.Helper()
	in, err := contactgraph.ParseContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// TestTimeoutSessionSettings: Options.Timeout becomes the server's
// statement_timeout and idle_in_transaction_session_timeout of the store's
// sessions, unless the DSN sets them.
func TestTimeoutSessionSettings(t *testing.T) {
	schema := newSchema(t)
	ctx := context.Background()
	show := func(db *postgres.DB, name string) string {
		var v string
		if err := db.SQL().QueryRowContext(ctx, `SELECT current_setting($1)`, name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	db, err := postgres.Open(ctx, testDSN(t), postgres.Options{Schema: schema, Timeout: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if a, b := show(db, "statement_timeout"), show(db, "idle_in_transaction_session_timeout"); a != "1500ms" || b != "1500ms" {
		t.Errorf("statement_timeout %s, idle_in_transaction_session_timeout %s; want 1500ms", a, b)
	}
	own, err := postgres.Open(ctx, withParam(testDSN(t), "statement_timeout", "7000"), postgres.Options{Schema: schema, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if v := show(own, "statement_timeout"); v != "7s" {
		t.Errorf("statement_timeout %s with the DSN's 7000, want 7s", v)
	}
}

// withParam sets a run-time parameter of a URL DSN.
func withParam(dsn, name, value string) string {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return dsn
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s?sslmode=disable&%s=%s", cfg.User, cfg.Host, cfg.Port, cfg.Database, name, value)
}

// TestStuckStatement: a table locked by another session holds the store's
// statements; each operation gives up at the store's timeout with
// EUnavailable, leaves no session waiting behind, and works again once the
// lock is gone.
func TestStuckStatement(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	const timeout = 500 * time.Millisecond
	db, err := postgres.Open(ctx, e.dsn, postgres.Options{Schema: e.schema, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mb := mailbox(t, db, "a@contoso.com")
	c, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	locker, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer locker.Close(ctx)
	tx, err := locker.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+pgx.Identifier{e.schema, "contacts"}.Sanitize()+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	for name, op := range map[string]func() error{
		"create": func() error {
			_, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"Bob"}`))
			return err
		},
		"read": func() error { _, err := db.Contact(ctx, mb, c.ID); return err },
		"list": func() error {
			_, err := db.ListContacts(ctx, mb, mb.RootID, contactgraph.Page{Limit: 10})
			return err
		},
	} {
		start := time.Now()
		err := op()
		took := time.Since(start)
		if contactgraph.ErrorCode(err) != contactgraph.EUnavailable {
			t.Fatalf("%s on a locked table: %v, want EUnavailable", name, err)
		}
		if took < timeout-50*time.Millisecond || took > timeout+time.Second {
			t.Fatalf("%s gave up after %v, want about %v", name, took, timeout)
		}
		t.Logf("%s on a locked table: EUnavailable after %v", name, took.Round(time.Millisecond))
	}
	waitFor(t, "no session of the store waiting for the lock", func() bool { return e.lockWaiters(t) == 0 })
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"Bob"}`)); err != nil {
		t.Fatalf("a write after the lock was released: %v", err)
	}
}

// TestServerOutage stops, starts, freezes and thaws a PostgreSQL cluster
// of the test's own under a store: while the server is down every
// operation fails at once with EUnavailable; while it is frozen (a server
// that hangs, a network that drops packets) every operation fails at the
// store's timeout; when it is back the same store works again by itself,
// with its data.
func TestServerOutage(t *testing.T) {
	cluster := pgcluster.ForTest(t)
	ctx := context.Background()
	const timeout = time.Second
	db, err := postgres.Open(ctx, cluster.DSN(""), postgres.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	mb := mailbox(t, db, "a@contoso.com")
	c, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]func() error{
		"create": func() error {
			_, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"during the outage"}`))
			return err
		},
		"read": func() error { _, err := db.Contact(ctx, mb, c.ID); return err },
		"delta": func() error {
			_, err := db.ContactChanges(ctx, mb, mb.RootID, contactgraph.ChangeQuery{Limit: 10})
			return err
		},
	}
	down := func(what string, within time.Duration) {
		t.Helper()
		for name, op := range ops {
			start := time.Now()
			err := op()
			took := time.Since(start)
			if contactgraph.ErrorCode(err) != contactgraph.EUnavailable {
				t.Fatalf("%s while the server is %s: %v, want EUnavailable", name, what, err)
			}
			if took > within {
				t.Fatalf("%s while the server is %s took %v, want at most %v", name, what, took, within)
			}
			t.Logf("%s while the server is %s: EUnavailable after %v", name, what, took.Round(time.Millisecond))
		}
	}
	recovers := func(what string) time.Duration {
		t.Helper()
		start := time.Now()
		for {
			_, err := db.Contact(ctx, mb, c.ID)
			if err == nil {
				return time.Since(start)
			}
			if contactgraph.ErrorCode(err) != contactgraph.EUnavailable {
				t.Fatalf("after the server %s: %v", what, err)
			}
			if time.Since(start) > 30*time.Second {
				t.Fatalf("the store did not recover within 30 s after the server %s: %v", what, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	if err := cluster.Stop(ctx, "fast"); err != nil {
		t.Fatal(err)
	}
	down("stopped", 500*time.Millisecond)
	if err := cluster.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("server started again: the store served after %v", recovers("started").Round(time.Millisecond))

	if err := cluster.Stop(ctx, "immediate"); err != nil {
		t.Fatal(err)
	}
	down("crashed", 500*time.Millisecond)
	if err := cluster.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("server started after a crash: the store served after %v", recovers("restarted after a crash").Round(time.Millisecond))

	if err := cluster.Freeze(); err != nil {
		t.Fatal(err)
	}
	down("frozen", timeout+time.Second)
	if err := cluster.Thaw(); err != nil {
		t.Fatal(err)
	}
	t.Logf("server thawed: the store served after %v", recovers("thawed").Round(time.Millisecond))

	n, err := db.CountContacts(ctx, mb, mb.RootID)
	if err != nil || n != 1 {
		t.Fatalf("after the outages: %d contacts, %v; want only the one created before (the failed writes left nothing)", n, err)
	}
	if _, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"after"}`)); err != nil {
		t.Fatal(err)
	}
}
