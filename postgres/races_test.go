package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/postgres"
)

// Races that SQLite's single writer and snapshot reads rule out, driven
// deterministically on PostgreSQL with a write held open before its commit.

// TestDeleteFolderSeesConcurrentChild: a folder created under F by a write
// still open when DeleteFolder(F) starts goes with F; it is not left
// behind with a deleted parent.
func TestDeleteFolderSeesConcurrentChild(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	mb := mailbox(t, e.db, "alice@contoso.com")
	f, err := e.db.CreateFolder(ctx, mb, "", contactgraph.FolderInput{DisplayName: ptr("F")})
	if err != nil {
		t.Fatal(err)
	}
	h := newHold()
	var child *contactgraph.Folder
	a := start(func() (err error) {
		child, err = e.db.CreateFolder(h.ctx(), mb, f.ID, contactgraph.FolderInput{DisplayName: ptr("child")})
		return err
	})
	waitHeld(t, h, a, "CreateFolder")
	del := start(func() error { return e.db.DeleteFolder(ctx, mb, f.ID) })
	waitFor(t, "DeleteFolder to wait for the open write", func() bool { return del.finished() || e.lockWaiters(t) > 0 })
	close(h.release)
	a.wait(t, "CreateFolder")
	del.wait(t, "DeleteFolder")
	if _, err := e.db.Folder(ctx, mb, child.ID); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Fatalf("the child created under the deleted folder is still there: %v", err)
	}
	p, err := e.db.FolderChanges(ctx, mb, "", contactgraph.ChangeQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != 0 {
		t.Fatalf("folder delta after deleting F lists %+v, want nothing", p.Changes)
	}
}

// TestMailboxRootCreatedOnce: two replicas giving a new user a mailbox at
// once agree on one default folder.
func TestMailboxRootCreatedOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	u, err := e.db.CreateUser(ctx, tenant, contactgraph.User{UPN: "dan@contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	h := newHold()
	var first, second contactgraph.Mailbox
	a := start(func() (err error) { first, err = e.db.Mailbox(h.ctx(), tenant, u.ID); return err })
	waitHeld(t, h, a, "first Mailbox")
	b := start(func() (err error) { second, err = e.db.Mailbox(ctx, tenant, u.ID); return err })
	waitFor(t, "the second Mailbox to finish or wait for the first", func() bool { return b.finished() || e.lockWaiters(t) > 0 })
	close(h.release)
	a.wait(t, "first Mailbox")
	b.wait(t, "second Mailbox")
	now, err := e.db.Mailbox(ctx, tenant, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first.RootID != now.RootID || second.RootID != now.RootID {
		t.Fatalf("default folders %s and %s handed out, %s kept", first.RootID, second.RootID, now.RootID)
	}
	var roots int
	if err := e.db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM folders WHERE user_id = $1 AND parent_id = ''`, u.ID).Scan(&roots); err != nil || roots != 1 {
		t.Fatalf("%d default folders (%v), want 1", roots, err)
	}
}

// TestDeltaPageReadsOneSnapshot: a page's bound checks and its changes come
// from one snapshot. Tombstones are pruned and the floor raised (as Prune
// does) between the page's first statements and its read of the change
// log: the page must carry the tombstone or refuse the position, never
// answer without it (a silent partial diff).
func TestDeltaPageReadsOneSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	mb := mailbox(t, e.db, "alice@contoso.com")
	var ids []string
	for i := 0; i < 3; i++ {
		c, err := e.db.CreateContact(ctx, mb, mb.RootID, contactgraph.ContactInput{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	f := &storeFeed{db: e.db, mb: mb}
	_, pos, err := f.read(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteContact(ctx, mb, ids[0], ""); err != nil {
		t.Fatal(err)
	}
	// The pruner locks the change log, so the page stops just before it.
	pruner, err := e.db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pruner.Rollback()
	if _, err := pruner.ExecContext(ctx, `LOCK TABLE changes IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	var page contactgraph.ChangePage[contactgraph.ContactChange]
	r := start(func() (err error) {
		page, err = e.db.ContactChanges(ctx, mb, mb.RootID, contactgraph.ChangeQuery{Since: pos, After: pos, Limit: 10})
		return err
	})
	waitFor(t, "the page to reach the change log", func() bool { return r.finished() || e.lockWaiters(t) > 0 })
	for _, q := range []string{
		`INSERT INTO floors (scope, kind, rev) SELECT scope, kind, MAX(rev) FROM changes WHERE removed <> 0 GROUP BY scope, kind
ON CONFLICT (scope, kind) DO UPDATE SET rev = excluded.rev`,
		`DELETE FROM changes WHERE removed <> 0`,
	} {
		if _, err := pruner.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := pruner.Commit(); err != nil {
		t.Fatal(err)
	}
	<-r.done
	if errors.Is(r.err, contactgraph.ErrSyncStateExpired) {
		return
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if len(page.Changes) != 1 || !page.Changes[0].Removed || page.Changes[0].ID != ids[0] {
		t.Fatalf("page = %+v, want the tombstone of %s or an expired position", page.Changes, ids[0])
	}
}

func ptr(s string) *string { return &s }

// TestEnsureMailboxConcurrently: a user's first requests, arriving at once
// on two replicas, all get the one mailbox. The insert of a new user can
// collide on its id and on its UPN; neither collision may surface as a
// conflict. The interleaving cannot be forced, so this test repeats it.
func TestEnsureMailboxConcurrently(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	replicas := []*postgres.DB{e.db, e.open(t, nil)}
	ctx := context.Background()
	const rounds, callers = 100, 6
	for round := 0; round < rounds; round++ {
		upn := fmt.Sprintf("user%d@contoso.com", round)
		id := contactgraph.UserID(tenant, upn)
		got := make([]contactgraph.Mailbox, callers)
		calls := make([]*call, callers)
		for i := range calls {
			calls[i] = start(func() (err error) {
				got[i], err = replicas[i%2].EnsureMailbox(ctx, tenant, id, upn)
				return err
			})
		}
		for i, c := range calls {
			c.wait(t, fmt.Sprintf("round %d: EnsureMailbox", round))
			if got[i].RootID == "" || got[i] != got[0] {
				t.Fatalf("round %d: mailboxes %+v and %+v", round, got[0], got[i])
			}
		}
	}
	// A UPN taken by another user is still a conflict.
	_, err := e.db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "someone-else"), "user0@contoso.com")
	if contactgraph.ErrorCode(err) != contactgraph.EConflict {
		t.Fatalf("EnsureMailbox with another user's UPN: %v, want a conflict", err)
	}
}
