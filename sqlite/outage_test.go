package sqlite_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/internal/faultfs"
	"github.com/contactgraph/contactgraph/sqlite"
	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// contactIn parses a contact body.
func contactIn(t *testing.T, body string) contactgraph.ContactInput {
	t.Helper()
	in, err := contactgraph.ParseContactInput([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// sqliteCode returns the primary result code of the SQLite error in err's
// chain, or -1.
func sqliteCode(err error) int {
	var e *msqlite.Error
	if !errors.As(err, &e) {
		return -1
	}
	return e.Code() & 0xff
}

// head returns the position of a first delta round of the folder now.
func head(t *testing.T, db *sqlite.DB, mb contactgraph.Mailbox) (int64, int) {
	t.Helper()
	p, err := db.ContactChanges(context.Background(), mb, mb.RootID, contactgraph.ChangeQuery{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return p.Until, len(p.Changes)
}

// TestDiskFull fills the file system under a store (a small tmpfs): writes
// fail with EUnavailable (SQLITE_FULL underneath) and leave nothing
// behind, neither rows nor revisions, while reads go on; once space is
// freed the same store writes again, and the file is intact.
func TestDiskFull(t *testing.T) {
	dir := faultfs.Tmpfs(t, 8<<20)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "cg.db"), sqlite.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	var first *contactgraph.Contact
	for i := 0; i < 20; i++ {
		c, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, fmt.Sprintf(`{"givenName":"before %d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = c
		}
	}
	pos, n := head(t, db, mb)

	filler := faultfs.Fill(t, dir)
	const writers = 16
	notes := strings.Repeat("a long note that makes the log grow ", 1000)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = db.CreateContact(ctx, mb, mb.RootID, contactIn(t, fmt.Sprintf(`{"givenName":"full %d","personalNotes":%q}`, i, notes)))
		}()
	}
	wg.Wait()
	acked := 0
	for _, err := range errs {
		switch {
		case err == nil:
			acked++
		case contactgraph.ErrorCode(err) != contactgraph.EUnavailable || sqliteCode(err) != sqlite3.SQLITE_FULL:
			t.Fatalf("a write on a full disk: %v (SQLite code %d), want EUnavailable with SQLITE_FULL", err, sqliteCode(err))
		}
	}
	if acked == writers {
		t.Fatal("every write succeeded on a full file system")
	}
	// Reads go on.
	if _, err := db.Contact(ctx, mb, first.ID); err != nil {
		t.Fatalf("read on a full disk: %v", err)
	}
	if got, _ := head(t, db, mb); got != pos+int64(acked) {
		t.Fatalf("position %d after %d acknowledged writes from %d: failed writes left revisions", got, acked, pos)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"after"}`)); err != nil {
		t.Fatalf("write after space was freed: %v", err)
	}
	took := time.Since(start)
	got, items := head(t, db, mb)
	if items != n+acked+1 || got != pos+int64(acked)+1 {
		t.Fatalf("a first round has %d contacts at position %d, want %d at %d", items, got, n+acked+1, pos+int64(acked)+1)
	}
	var check string
	if err := db.SQL().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q %v", check, err)
	}
	t.Logf("disk full: %d of %d concurrent writes failed with EUnavailable (SQLITE_FULL), none left a trace; the first write after freeing space took %v", writers-acked, writers, took.Round(10*time.Microsecond))
}

// TestLockedPastTimeout: another process holds the file's write lock; a
// write gives up at the store's timeout with EUnavailable (SQLITE_BUSY's
// wait cut short), long before the 10 s busy timeout, while reads go on;
// once the lock is released writes succeed again.
func TestLockedPastTimeout(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "cg.db")
	const timeout = 300 * time.Millisecond
	db, err := sqlite.Open(ctx, path, sqlite.Options{Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`))
	if err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	lock, err := other.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lock.ExecContext(ctx, `DELETE FROM secrets WHERE name = 'none'`); err != nil { // takes the write lock
		t.Fatal(err)
	}
	start := time.Now()
	_, err = db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"Bob"}`))
	took := time.Since(start)
	if contactgraph.ErrorCode(err) != contactgraph.EUnavailable {
		t.Fatalf("a write on a locked file: %v, want EUnavailable", err)
	}
	if took < timeout || took > timeout+time.Second {
		t.Fatalf("the write gave up after %v, want about %v", took, timeout)
	}
	if _, err := db.Contact(ctx, mb, c.ID); err != nil {
		t.Fatalf("a read while another process writes: %v", err)
	}
	if err := lock.Rollback(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, `{"givenName":"Bob"}`)); err != nil {
		t.Fatalf("a write after the lock was released: %v", err)
	}
	t.Logf("locked file: the write answered EUnavailable after %v (timeout %v)", took.Round(time.Millisecond), timeout)
}
