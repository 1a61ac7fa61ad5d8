package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/contactgraph/contactgraph"
)

// feed is a change feed under the commit-order test: writes that each take
// a position in their transaction, and a reader that follows positions.
type feed interface {
	// write writes item in one transaction. When ctx carries a hold, the
	// transaction stops at it after taking its position, until released.
	write(ctx context.Context, item string) error
	// read returns the items committed after cursor, in position order,
	// and the reader's next cursor.
	read(ctx context.Context, cursor int64) ([]string, int64, error)
}

// interleaving is what the reader saw in the commit-order scenario.
type interleaving struct {
	bWaited bool     // B had not finished while A was open
	during  []string // the reader's round while A was open
	after   []string // the reader's next round, after A and B committed
}

// interleave runs the scenario of the classic sequence hole on f: write A
// takes its position and stays open; write B starts after it; once B has
// either committed or is waiting for a lock, a reader runs a round; then A
// commits, B finishes, and the reader runs its next round.
func interleave(t *testing.T, e *env, f feed) interleaving {
	t.Helper()
	ctx := context.Background()
	_, cursor, err := f.read(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	hA := newHold()
	a := start(func() error { return f.write(hA.ctx(), "A") })
	waitHeld(t, hA, a, "write A")
	b := start(func() error { return f.write(ctx, "B") })
	waitFor(t, "write B to commit or wait for a lock", func() bool { return b.finished() || e.lockWaiters(t) > 0 })
	var out interleaving
	out.bWaited = !b.finished()
	out.during, cursor, err = f.read(ctx, cursor)
	if err != nil {
		close(hA.release)
		t.Fatal(err)
	}
	if out.bWaited && b.finished() {
		t.Error("write B finished while A was still open")
	}
	close(hA.release)
	a.wait(t, "write A")
	b.wait(t, "write B")
	if out.after, _, err = f.read(ctx, cursor); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCommitOrder drives the interleaving that loses changes with a
// sequence: the store's B waits for A, the round run meanwhile stops below
// A, and the next round holds A and B in that order. The same interleaving
// on a naive sequence feed loses A, so the scenario can tell the designs apart.
func TestCommitOrder(t *testing.T) {
	t.Parallel()
	t.Run("naive sequence loses A", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		f := newNaiveFeed(t, e)
		got := interleave(t, e, f)
		if got.bWaited {
			t.Fatal("with a sequence, B must commit while A is open")
		}
		if !slices.Equal(got.during, []string{"B"}) || len(got.after) != 0 {
			t.Fatalf("naive reader saw %v then %v, want [B] then nothing", got.during, got.after)
		}
		var committed int
		if err := e.db.SQL().QueryRowContext(context.Background(), `SELECT count(*) FROM naive_feed WHERE item = 'A'`).Scan(&committed); err != nil || committed != 1 {
			t.Fatalf("A committed %d times (%v), want once", committed, err)
		}
		t.Log("the naive feed committed A behind the reader's cursor: the reader never sees it")
	})
	t.Run("store keeps A", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t, nil)
		f := &storeFeed{db: e.db, mb: mailbox(t, e.db, "alice@contoso.com")}
		got := interleave(t, e, f)
		if !got.bWaited {
			t.Error("write B finished while A held the mailbox's revision: writers of a mailbox must commit in revision order")
		}
		if len(got.during) != 0 {
			t.Errorf("the round run while A was open saw %v, want nothing", got.during)
		}
		if !slices.Equal(got.after, []string{"A", "B"}) {
			t.Errorf("the next round saw %v, want [A B]", got.after)
		}
	})
}

// TestMailboxesDoNotWait checks the other side of the cost: a write held
// open in one mailbox does not delay the writes or the feed of another.
func TestMailboxesDoNotWait(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	alice := &storeFeed{db: e.db, mb: mailbox(t, e.db, "alice@contoso.com")}
	bob := &storeFeed{db: e.db, mb: mailbox(t, e.db, "bob@contoso.com")}
	h := newHold()
	a := start(func() error { return alice.write(h.ctx(), "A") })
	waitHeld(t, h, a, "alice's write")
	defer func() { close(h.release); a.wait(t, "alice's write") }()
	if err := bob.write(context.Background(), "B"); err != nil {
		t.Fatal(err)
	}
	items, _, err := bob.read(context.Background(), 0)
	if err != nil || !slices.Equal(items, []string{"B"}) {
		t.Fatalf("bob's feed: %v (%v), want [B]", items, err)
	}
}

// naiveFeed is the classic broken design on a scratch table: a position
// from nextval() per write, and a reader that reads seq > cursor in seq
// order and moves its cursor to the highest seq it saw.
type naiveFeed struct{ e *env }

func newNaiveFeed(t *testing.T, e *env) *naiveFeed {
	t.Helper()
	if _, err := e.db.SQL().ExecContext(context.Background(),
		`CREATE SEQUENCE naive_seq; CREATE TABLE naive_feed (seq BIGINT PRIMARY KEY, item TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return &naiveFeed{e: e}
}

func (f *naiveFeed) write(ctx context.Context, item string) error {
	tx, err := f.e.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO naive_feed (seq, item) VALUES (nextval('naive_seq'), $1)`, item); err != nil {
		return err
	}
	holdOf(ctx).stop()
	return tx.Commit()
}

func (f *naiveFeed) read(ctx context.Context, cursor int64) ([]string, int64, error) {
	rows, err := f.e.db.SQL().QueryContext(ctx, `SELECT seq, item FROM naive_feed WHERE seq > $1 ORDER BY seq`, cursor)
	if err != nil {
		return nil, cursor, err
	}
	defer rows.Close()
	var items []string
	for rows.Next() {
		var item string
		if err := rows.Scan(&cursor, &item); err != nil {
			return nil, cursor, err
		}
		items = append(items, item)
	}
	return items, cursor, rows.Err()
}

// storeFeed is the store's contact feed of a mailbox's default folder:
// items are contacts' given names, the cursor is the round's position.
type storeFeed struct {
	db contactgraph.Store
	mb contactgraph.Mailbox
}

// write creates a contact; the store stops at a hold in ctx (see beforeCommit).
func (f *storeFeed) write(ctx context.Context, item string) error {
	in, err := contactgraph.ParseContactInput([]byte(fmt.Sprintf(`{"givenName":%q}`, item)))
	if err != nil {
		return err
	}
	_, err = f.db.CreateContact(ctx, f.mb, f.mb.RootID, in)
	return err
}

// read runs one whole delta round from cursor, in pages of one.
func (f *storeFeed) read(ctx context.Context, cursor int64) ([]string, int64, error) {
	q := contactgraph.ChangeQuery{Since: cursor, After: cursor, Limit: 1}
	var items []string
	for {
		p, err := f.db.ContactChanges(ctx, f.mb, f.mb.RootID, q)
		if err != nil {
			return nil, cursor, err
		}
		for _, ch := range p.Changes {
			var doc struct {
				GivenName string `json:"givenName"`
			}
			if ch.Contact != nil {
				if err := json.Unmarshal(ch.Contact.Doc, &doc); err != nil {
					return nil, cursor, err
				}
			}
			items = append(items, doc.GivenName)
			q.After = ch.Rev
		}
		q.Until = p.Until
		if !p.More {
			return items, p.Until, nil
		}
	}
}
