package sqlite_test

import (
	"context"
	"path/filepath"
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

// TestEmailBackfill: the SQLite part of migration 6 indexes existing
// contacts exactly as the write path does.
func TestEmailBackfill(t *testing.T) {
	db := open(t, storetest.NewClock()).(*sqlite.DB)
	storetest.EmailBackfill(t, db, db.Write, sqlstore.EngineSchema[6][sqlstore.SQLite])
}
