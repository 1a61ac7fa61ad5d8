package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"github.com/contactgraph/contactgraph/sqlite"
	"github.com/contactgraph/contactgraph/storetest"
)

func open(t *testing.T, clock *storetest.Clock) contactgraph.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStore(t *testing.T) { storetest.Run(t, open) }

// TestReopen checks that data and schema survive closing and reopening the file.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cg.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	in, _ := contactgraph.ParseContactInput([]byte(`{"givenName":"Ada"}`))
	c, err := db.CreateContact(ctx, mb, mb.RootID, in)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Contact(ctx, mb, c.ID)
	if err != nil || string(got.Doc) != string(c.Doc) {
		t.Fatalf("after reopen: %v %s", err, got.Doc)
	}
}

// TestEnqueueUsesWatchIndex: recording a change's notifications finds the
// subscriptions of its collection through the subscriptions_watch index,
// never a scan of every subscription.
func TestEnqueueUsesWatchIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cg.db")
	db, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	plan := explain(t, raw, sqlstore.EnqueueStatement, 1, "id", 1, 1, 0, 0, "scope", 1, 1, 0)
	if len(plan) != 1 || !strings.Contains(plan[0], "USING INDEX subscriptions_watch") {
		t.Fatalf("query plan %q, want a search of subscriptions using subscriptions_watch", plan)
	}
}

// TestPartsDeleted checks that no photo, extension or extended property
// outlives its contact in the file.
func TestPartsDeleted(t *testing.T) {
	db := open(t, storetest.NewClock()).(*sqlite.DB)
	storetest.CheckPartsDeleted(t, db, func() int { return partRows(t, db.SQL()) })
}

// partRows counts the rows of the part tables.
func partRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	err := db.QueryRowContext(context.Background(),
		`SELECT (SELECT COUNT(*) FROM contact_photos) + (SELECT COUNT(*) FROM contact_extensions) + (SELECT COUNT(*) FROM contact_ext_props)`).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEmailBackfill: the SQLite part of the email index migration indexes existing
// contacts exactly as the write path does.
func TestEmailBackfill(t *testing.T) {
	db := open(t, storetest.NewClock()).(*sqlite.DB)
	storetest.EmailBackfill(t, db, db.SQL(), sqlstore.EngineSchema[sqlstore.EmailIndexMigration][sqlstore.SQLite])
}
