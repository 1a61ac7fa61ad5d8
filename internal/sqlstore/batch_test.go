package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	_ "modernc.org/sqlite"
)

// testDialect is a Dialect for a bare SQLite file: no error is a unique
// violation or an outage (the tests here look at the batcher, not at the
// drivers' codes, which sqlite/ and postgres/ test). The query-building
// methods come from the nil embedded Dialect: the batcher never calls them.
type testDialect struct{ Dialect }

func (testDialect) Rebind(q string) string           { return q }
func (testDialect) IsUniqueViolation(err error) bool { return false }
func (testDialect) IsUnavailable(err error) bool     { return false }

// Unindexed is the sqlite store's: the plan tests here run on SQLite.
func (testDialect) Unindexed(col string) string { return "+" + col }

func (testDialect) StopsThroughOneRow() bool { return true }

// batchStore returns a group-committing Store on a new SQLite file with
// one table t(v), and a function listing t's values.
func batchStore(t *testing.T) (*Store, func() []string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "batch.db")+"?_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	s := New(db, db, testDialect{}, nil)
	s.GroupCommit()
	t.Cleanup(func() { s.Close() })
	return s, func() []string {
		var out []string
		err := s.read(context.Background(), func(tx *conn) error {
			rows, err := tx.QueryContext(context.Background(), `SELECT v FROM t`)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var v string
				if err := rows.Scan(&v); err != nil {
					return err
				}
				out = append(out, v)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(out)
		return out
	}
}

// insert returns a write that inserts v.
func insert(v string) func(tx *conn) error {
	return func(tx *conn) error {
		_, err := tx.ExecContext(context.Background(), `INSERT INTO t VALUES (?)`, v)
		return err
	}
}

// holdBatcher makes the batcher run a write that blocks until the
// returned function is called, so that the writes sent meanwhile queue up
// and share the next transaction.
func holdBatcher(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, hold, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.write(context.Background(), func(tx *conn) error {
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	return func() {
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("the holding write: %v", err)
		}
	}
}

// waitQueued waits until n writes wait in the batcher's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.batch.jobs) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(s.batch.jobs), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommitBrokenTransaction: a write whose statement is
// interrupted (its context ends while SQLite runs it) makes SQLite roll
// back the whole transaction it shares with others. The writes before it
// must not be acknowledged, since they are rolled back (they get
// EUnavailable: retry), and the writes after it must not commit on their
// own in autocommit mode while answered with the batch's failed COMMIT:
// they run in a transaction of their own, and commit. Acknowledged and
// committed are the same writes.
func TestGroupCommitBrokenTransaction(t *testing.T) {
	s, values := batchStore(t)
	release := holdBatcher(t, s)
	slow := func(tx *conn) error {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		// An INSERT that runs for seconds: interrupted by its context.
		_, err := tx.tx.ExecContext(ctx, `INSERT INTO t WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 1000000000)
SELECT 'slow' FROM n WHERE i = 1000000000`)
		return err
	}
	fns := []func(tx *conn) error{insert("a"), insert("b"), slow, insert("c"), insert("d")}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.write(context.Background(), fn)
		}()
		waitQueued(t, s, i+1) // in this order in the queue
	}
	release()
	wg.Wait()
	for i, err := range errs {
		switch {
		case i < 2 && contactgraph.ErrorCode(err) != contactgraph.EUnavailable:
			t.Errorf("write %d, before the interrupted one: %v, want EUnavailable (rolled back with it)", i, err)
		case i == 2 && !errors.Is(err, context.DeadlineExceeded):
			t.Errorf("the interrupted write: %v, want its context's deadline", err)
		case i > 2 && err != nil:
			t.Errorf("write %d, after the interrupted one: %v, want it committed", i, err)
		}
	}
	if got := strings.Join(values(), ","); got != "c,d" {
		t.Fatalf("table holds %q, want c,d: the acknowledged writes and no other", got)
	}
}

// TestGroupCommitAbandoned: a write that waits in the queue past its
// deadline returns at its deadline with EUnavailable (Store.Timeout) and is
// never run, even when the batcher reaches it later.
func TestGroupCommitAbandoned(t *testing.T) {
	s, values := batchStore(t)
	release := holdBatcher(t, s)
	s.Timeout = 200 * time.Millisecond // after the holding write began: it has none
	start := time.Now()
	err := s.write(context.Background(), insert("late"))
	took := time.Since(start)
	if contactgraph.ErrorCode(err) != contactgraph.EUnavailable || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a write stuck in the queue: %v, want EUnavailable from its deadline", err)
	}
	if took < s.Timeout || took > s.Timeout+time.Second {
		t.Fatalf("it returned after %v, want about the timeout (%v)", took, s.Timeout)
	}
	release()
	if err := s.write(context.Background(), insert("next")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(values(), ","); got != "next" {
		t.Fatalf("table holds %q, want only the write after the abandoned one", got)
	}
	t.Logf("a write queued behind a stuck one answered EUnavailable after %v (timeout %v)", took.Round(time.Millisecond), s.Timeout)
}

// TestGroupCommitAlone: a write alone in its transaction runs without a
// savepoint, and a failure still leaves nothing of it: a domain error
// after a statement, or a panic, rolls the transaction back; the next
// write commits.
func TestGroupCommitAlone(t *testing.T) {
	s, values := batchStore(t)
	conflict := contactgraph.Errorf(contactgraph.EConflict, "taken")
	fails := func(tx *conn) error {
		if err := insert("half")(tx); err != nil {
			return err
		}
		return conflict
	}
	if err := s.write(context.Background(), fails); !errors.Is(err, conflict) {
		t.Fatalf("a failing write: %v, want its error", err)
	}
	panics := func(tx *conn) error {
		if err := insert("panicked")(tx); err != nil {
			return err
		}
		panic("boom")
	}
	if err := s.write(context.Background(), panics); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a panicking write: %v, want its panic as the error", err)
	}
	if err := s.write(context.Background(), insert("ok")); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(values(), ","); got != "ok" {
		t.Fatalf("table holds %q, want only the write that succeeded", got)
	}
}
