package postgres_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/postgres"
)

// TestCreateFunction checks the one-statement create of a plain contact
// (contactgraph_create_contact), committed on its own as serve runs it and
// inside a transaction as the seam runs it: the same rows, the revision
// handed back when the folder is gone, the mailbox's absence reported,
// and the wake-up sent only when the create queued notifications.
func TestCreateFunction(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, tc := range []struct {
		name string
		db   *postgres.DB
	}{{"served", e.openServed(t, nil)}, {"seam", e.db}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			db := tc.db
			var woken atomic.Int32
			db.SetWake(func() { woken.Add(1) })
			mb := mailbox(t, db, tc.name+"@contoso.com")
			counter := func() int64 {
				t.Helper()
				var rev int64
				if err := db.SQL().QueryRowContext(ctx, `SELECT rev FROM users WHERE tenant_id = $1 AND id = $2`, mb.TenantID, mb.UserID).Scan(&rev); err != nil {
					t.Fatal(err)
				}
				return rev
			}
			in, err := contactgraph.ParseContactInput([]byte(`{"givenName":"Ada","emailAddresses":[{"address":"Ada@Example.com"},{"address":"ada@example.COM"},{"address":"lovelace@example.com"}]}`))
			if err != nil {
				t.Fatal(err)
			}

			before := counter()
			if _, err := db.CreateContact(ctx, mb, "no-such-folder", in); !errors.Is(err, contactgraph.ErrNotFound) {
				t.Fatalf("create in a missing folder: %v, want ErrNotFound", err)
			}
			if got := counter(); got != before {
				t.Fatalf("the counter is %d after a create in a missing folder, want %d (its revision handed back)", got, before)
			}
			ghost := mb
			ghost.UserID = "no-such-user"
			if _, err := db.CreateContact(ctx, ghost, mb.RootID, in); contactgraph.ErrorCode(err) != contactgraph.EUserNotFound {
				t.Fatalf("create in a missing mailbox: %v, want %s", err, contactgraph.EUserNotFound)
			}

			c, err := db.CreateContact(ctx, mb, mb.RootID, in)
			if err != nil {
				t.Fatal(err)
			}
			if c.Rev != before+1 || counter() != before+1 {
				t.Fatalf("created at revision %d, counter %d; want both %d", c.Rev, counter(), before+1)
			}
			got, err := db.Contact(ctx, mb, c.ID)
			if err != nil || got.ChangeKey != c.ChangeKey || got.Rev != c.Rev || string(got.Doc) != string(c.Doc) {
				t.Fatalf("read back %+v (%v), want %+v", got, err, c)
			}
			var emails, changes int
			if err := db.SQL().QueryRowContext(ctx, `SELECT (SELECT count(*) FROM contact_emails WHERE contact_id = $1),
				(SELECT count(*) FROM changes WHERE object_id = $1 AND rev = $2 AND scope = $3 AND removed = 0)`, c.ID, c.Rev, mb.RootID).Scan(&emails, &changes); err != nil {
				t.Fatal(err)
			}
			if emails != 2 || changes != 1 {
				t.Fatalf("%d email index rows and %d change rows, want 2 (case folded, repeats once) and 1", emails, changes)
			}
			var unwatched int
			if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE object_id = $1`, c.ID).Scan(&unwatched); err != nil {
				t.Fatal(err)
			}
			if unwatched != 0 || woken.Load() != 0 {
				t.Fatalf("%d outbox entries, %d wake-ups without a subscription; want none", unwatched, woken.Load())
			}

			subscribe(t, db, "sub-"+tc.name, mb)
			if _, err := db.CreateContact(ctx, mb, mb.RootID, in); err != nil {
				t.Fatal(err)
			}
			var queued int
			if err := db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE sub_id = $1 AND lifecycle = ''`, "sub-"+tc.name).Scan(&queued); err != nil {
				t.Fatal(err)
			}
			if queued != 1 || woken.Load() != 1 {
				t.Fatalf("%d outbox entries and %d wake-ups after a watched create, want 1 and 1", queued, woken.Load())
			}
		})
	}
}
