package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
)

// TestGroupCommitIsolatesFailures: concurrent writes share transactions;
// one that fails (here a move to a folder that does not exist, after the
// contact was already rewritten inside the transaction) must roll back
// alone, and every other write of its batch must commit.
func TestGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "cg.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenant := contactgraph.TenantID("contoso")
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	in := func(body string) contactgraph.ContactInput {
		x, err := contactgraph.ParseContactInput([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	const n = 64
	ids := make([]string, n)
	for i := range ids {
		c, err := db.CreateContact(ctx, mb, mb.RootID, in(fmt.Sprintf(`{"givenName":"c%d"}`, i)))
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = c.ID
	}
	before, err := db.ContactChanges(ctx, mb, mb.RootID, contactgraph.ChangeQuery{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			body := `{"jobTitle":"ok"}`
			if i%2 == 1 {
				body = `{"jobTitle":"lost","parentFolderId":"` + contactgraph.NewID() + `"}`
			}
			_, errs[i] = db.UpdateContact(ctx, mb, ids[i], in(body), "")
		}(i)
	}
	wg.Wait()
	for i := 0; i < n; i++ {
		c, err := db.Contact(ctx, mb, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		doc := string(c.Doc)
		switch {
		case i%2 == 0 && (errs[i] != nil || !strings.Contains(doc, `"jobTitle":"ok"`)):
			t.Fatalf("write %d should have committed: %v %s", i, errs[i], doc)
		case i%2 == 1 && (contactgraph.ErrorCode(errs[i]) != contactgraph.ENotFound || strings.Contains(doc, "lost")):
			t.Fatalf("write %d should have failed alone: %v %s", i, errs[i], doc)
		}
	}
	// The failed writes left no trace in the change log either: a first
	// round sees each contact once, at its committed state.
	p, err := db.ContactChanges(ctx, mb, mb.RootID, contactgraph.ChangeQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Changes) != n {
		t.Fatalf("first round: %d contacts, want %d", len(p.Changes), n)
	}
	// A failed write took a revision before it failed; rolled back to its
	// savepoint, the mailbox's position moved by the committed writes only.
	if p.Until != before.Until+n/2 {
		t.Fatalf("position moved from %d to %d, want +%d: failed writes leaked", before.Until, p.Until, n/2)
	}
	// A cancelled write is not run.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := db.CreateContact(cctx, mb, mb.RootID, in(`{"givenName":"never"}`)); err == nil {
		t.Fatal("a write with a cancelled context ran")
	}
}
