package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/postgres"
)

// listener runs db.Listen and counts its wake-ups.
type listener struct {
	wakes chan struct{}
	mu    sync.Mutex
	logs  []string
}

func newListener() *listener { return &listener{wakes: make(chan struct{}, 1000)} }

// start runs db.Listen until the test ends; the test fails if Listen
// returns anything but the cancellation.
func (l *listener) start(t *testing.T, db *postgres.DB) *listener {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- db.Listen(ctx, func() { l.wakes <- struct{}{} }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Listen returned %v, want context.Canceled", err)
			}
		case <-time.After(20 * time.Second):
			t.Error("Listen did not return after its context ended")
		}
	})
	return l
}

func (l *listener) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.logs = append(l.logs, fmt.Sprintf(format, args...))
}

// wait waits for one wake-up.
func (l *listener) wait(t *testing.T, what string) {
	t.Helper()
	select {
	case <-l.wakes:
	case <-time.After(20 * time.Second):
		t.Fatalf("no wake-up for %s", what)
	}
}

// quiet fails the test if a wake-up comes within d. Only meaningful once
// the listener has been seen to work.
func (l *listener) quiet(t *testing.T, d time.Duration, what string) {
	t.Helper()
	select {
	case <-l.wakes:
		t.Fatalf("woken by %s", what)
	case <-time.After(d):
	}
}

// cancelKey carries a cancel function that the store calls just before
// commit (beforeCommit): the transaction, with its outbox rows and its
// NOTIFY, is then rolled back by database/sql.
type cancelKey struct{}

func subscribe(t *testing.T, s contactgraph.Store, id string, mb contactgraph.Mailbox) {
	t.Helper()
	_, err := s.CreateSubscription(context.Background(), contactgraph.Subscription{ID: id, TenantID: mb.TenantID, AppID: "app",
		Watched: contactgraph.Watched{Collection: "contacts", Mailbox: mb, FolderID: mb.RootID}, Resource: "me/contacts",
		Changes: contactgraph.ChangeCreated, NotificationURL: "https://receiver.example/hook", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
}

func createContact(ctx context.Context, t *testing.T, s contactgraph.Store, mb contactgraph.Mailbox, name string) error {
	t.Helper()
	in, err := contactgraph.ParseContactInput([]byte(`{"givenName":"` + name + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateContact(ctx, mb, mb.RootID, in)
	return err
}

// TestListenWakesEveryReplica: a commit on one replica that recorded
// notifications wakes the listener of another at once; a rolled-back one,
// a commit that recorded none, and a commit in another schema of the same
// database wake nobody.
func TestListenWakesEveryReplica(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	l := newListener().start(t, e.open(t, nil))
	l.wait(t, "the listener's connection")
	ctx := context.Background()
	mb := mailbox(t, e.db, "alice@contoso.com")
	subscribe(t, e.db, "sub-1", mb)

	if err := createContact(ctx, t, e.db, mb, "Ada"); err != nil {
		t.Fatal(err)
	}
	l.wait(t, "a commit with notifications on the other replica")

	rctx, cancel := context.WithCancel(ctx)
	rctx = context.WithValue(rctx, cancelKey{}, cancel)
	if err := createContact(rctx, t, e.db, mb, "Alan"); err == nil {
		t.Fatal("a write cancelled before its commit succeeded")
	}
	if n, err := e.db.OutboxDepth(ctx); err != nil || n != 1 {
		t.Fatalf("outbox depth %d (%v) after the rolled-back write, want 1", n, err)
	}
	unwatched := mailbox(t, e.db, "bob@contoso.com")
	if err := createContact(ctx, t, e.db, unwatched, "Grace"); err != nil {
		t.Fatal(err)
	}
	elsewhere := newEnv(t, nil)
	emb := mailbox(t, elsewhere.db, "alice@contoso.com")
	subscribe(t, elsewhere.db, "sub-1", emb)
	if err := createContact(ctx, t, elsewhere.db, emb, "Edsger"); err != nil {
		t.Fatal(err)
	}
	l.quiet(t, 300*time.Millisecond, "a rolled-back write, an unwatched write or another schema's commit")

	// Still live, and one commit is one wake-up.
	if err := createContact(ctx, t, e.db, mb, "Barbara"); err != nil {
		t.Fatal(err)
	}
	l.wait(t, "the next commit")
	l.quiet(t, 100*time.Millisecond, "a second wake-up for one commit")

	// A replica without the seam creates by the one-statement function,
	// which sends the same wake-up.
	if err := createContact(ctx, t, e.openServed(t, nil), mb, "Frances"); err != nil {
		t.Fatal(err)
	}
	l.wait(t, "a one-statement create")
	l.quiet(t, 100*time.Millisecond, "a second wake-up for one create")
}

// TestListenReconnects: when the server ends the listening session, Listen
// logs it, reconnects, wakes once for the notifications it may have
// missed, and wakes again at the next commit.
func TestListenReconnects(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	l := newListener()
	db, err := postgres.Open(context.Background(), e.dsn, postgres.Options{Schema: e.schema, Logf: l.logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l.start(t, db)
	l.wait(t, "the listener's connection")

	var killed int
	err = e.db.SQL().QueryRowContext(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN%'`, e.schema).Scan(&killed)
	if err != nil || killed != 1 {
		t.Fatalf("terminated %d listening sessions (%v), want 1", killed, err)
	}
	l.wait(t, "the reconnection")
	l.mu.Lock()
	logs := len(l.logs)
	l.mu.Unlock()
	if logs == 0 {
		t.Error("the lost connection was not logged")
	}
	ctx := context.Background()
	mb := mailbox(t, e.db, "alice@contoso.com")
	subscribe(t, e.db, "sub-1", mb)
	if err := createContact(ctx, t, e.db, mb, "Ada"); err != nil {
		t.Fatal(err)
	}
	l.wait(t, "a commit after the reconnection")
}

// TestListenKeepsMailboxCache: a replica that listens serves the
// mailboxes it has read from its cache; it forgets them all when any
// replica removes a mailbox (DeleteUser, ResetTenant), and its own
// removals at once; once it no longer listens it reads every time.
func TestListenKeepsMailboxCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	a := e.db // another replica, which does not listen
	b := e.openServed(t, nil)
	l := newListener()
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- b.Listen(lctx, func() { l.wakes <- struct{}{} }) }()
	t.Cleanup(stop)
	l.wait(t, "the listener's connection")

	// dropRow removes a user's row behind the stores' backs, announced to
	// nobody: a lookup that reads the database finds no user and makes a
	// new mailbox, one served from a cache returns the old default folder.
	dropRow := func(mb contactgraph.Mailbox) {
		t.Helper()
		for _, q := range []string{`DELETE FROM folders WHERE tenant_id = $1 AND user_id = $2`, `DELETE FROM users WHERE tenant_id = $1 AND id = $2`} {
			if _, err := a.SQL().ExecContext(ctx, q, mb.TenantID, mb.UserID); err != nil {
				t.Fatal(err)
			}
		}
	}
	// renewed waits until b's lookup of upn gives another default folder
	// than old's.
	renewed := func(upn string, old contactgraph.Mailbox, what string) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if mailbox(t, b, upn).RootID != old.RootID {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s's mailbox still served from the cache after 20 s", what, upn)
			}
		}
	}

	alice := mailbox(t, b, "alice@contoso.com")
	bob := mailbox(t, b, "bob@contoso.com")
	dropRow(bob)
	if got := mailbox(t, b, "bob@contoso.com"); got.RootID != bob.RootID {
		t.Fatalf("bob's mailbox was read again (%s, cached %s): the listening replica does not cache", got.RootID, bob.RootID)
	}
	if got := mailbox(t, a, "alice@contoso.com"); got.RootID != alice.RootID {
		t.Fatalf("the other replica reads alice's default folder %s, want %s", got.RootID, alice.RootID)
	}

	// A removal on the other replica empties b's cache.
	if err := a.DeleteUser(ctx, tenant, alice.UserID); err != nil {
		t.Fatal(err)
	}
	renewed("alice@contoso.com", alice, "DeleteUser on another replica")
	if got := mailbox(t, b, "bob@contoso.com"); got.RootID == bob.RootID {
		t.Fatal("bob's entry outlived the removal of alice's mailbox: the cache forgets one entry, not all")
	}

	// b's own removal is forgotten before DeleteUser returns.
	carol := mailbox(t, b, "carol@contoso.com")
	if err := b.DeleteUser(ctx, tenant, carol.UserID); err != nil {
		t.Fatal(err)
	}
	if got := mailbox(t, b, "carol@contoso.com"); got.RootID == carol.RootID {
		t.Fatal("carol's mailbox served from the cache right after b deleted it")
	}

	dave := mailbox(t, b, "dave@contoso.com")
	if err := a.ResetTenant(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	renewed("dave@contoso.com", dave, "ResetTenant on another replica")

	// No longer listening, no longer caching.
	stop()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Listen returned %v", err)
	}
	erin := mailbox(t, b, "erin@contoso.com")
	dropRow(erin)
	if got := mailbox(t, b, "erin@contoso.com"); got.RootID == erin.RootID {
		t.Fatal("erin's mailbox served from the cache after the listener stopped")
	}
}
