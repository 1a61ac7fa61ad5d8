package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
)

// TestBackupOnline copies a database while writers keep committing to it:
// the copy opens as a store, passes its checks, and holds every write
// acknowledged before the backup started, each whole (a contact and its
// change log entry together: a first round of the copy lists exactly its
// contacts).
func TestBackupOnline(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		acked []string // ids, in acknowledgement order
		stop  = make(chan struct{})
		wg    sync.WaitGroup
		n     atomic.Int64
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				c, err := db.CreateContact(ctx, mb, mb.RootID, contactIn(t, fmt.Sprintf(`{"givenName":"w%d-%d"}`, w, i)))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, c.ID)
				mu.Unlock()
				n.Add(1)
			}
		}()
	}
	for n.Load() < 200 {
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	out := filepath.Join(dir, "copy.db")
	start := time.Now()
	if err := sqlite.Backup(ctx, path, out); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	during := n.Load()
	for n.Load() < during+100 {
		time.Sleep(time.Millisecond) // writes go on after the backup
	}
	close(stop)
	wg.Wait()

	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the copy: %v, mode %v; want a file readable by its owner only", err, st.Mode())
	}
	cp, err := sqlite.Open(ctx, out, sqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	for _, id := range before {
		if _, err := cp.Contact(ctx, mb, id); err != nil {
			t.Fatalf("contact %s, acknowledged before the backup started, is not in the copy: %v", id, err)
		}
	}
	page, err := cp.ContactChanges(ctx, mb, mb.RootID, contactgraph.ChangeQuery{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	count, err := cp.CountContacts(ctx, mb, mb.RootID)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) != count || count < len(before) || int64(count) > during {
		t.Fatalf("the copy: %d contacts, %d in a first round; want the same, between %d (acknowledged before) and %d (by its end)", count, len(page.Changes), len(before), during)
	}
	var check string
	if err := cp.SQL().QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check of the copy: %q %v", check, err)
	}
	t.Logf("backup of a database under 4 writers took %v: %d contacts in the copy, %d acknowledged before it started, %d by its end", took.Round(time.Millisecond), count, len(before), during)
}

// TestBackupRefusals: a backup never overwrites a file, never creates the
// database it copies, and leaves no temporary file behind.
func TestBackupRefusals(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "live.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	exists := filepath.Join(dir, "exists.db")
	if err := os.WriteFile(exists, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sqlite.Backup(ctx, path, exists); !errors.Is(err, fs.ErrExist) {
		t.Errorf("backup onto an existing file: %v, want fs.ErrExist", err)
	}
	if b, _ := os.ReadFile(exists); string(b) != "keep me" {
		t.Errorf("the existing file was changed")
	}
	missing := filepath.Join(dir, "missing.db")
	if err := sqlite.Backup(ctx, missing, filepath.Join(dir, "copy.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("backup of a missing database: %v, want fs.ErrNotExist", err)
	}
	if _, err := sqlite.Open(ctx, missing, sqlite.Options{MustExist: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file with MustExist: %v, want fs.ErrNotExist", err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 { // live.db and exists.db
		t.Errorf("the directory holds %v, want only live.db and exists.db", names)
	}
}
