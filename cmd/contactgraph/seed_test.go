package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/sqlite"
)

// TestSeedUsers: seed --users N fills N numbered mailboxes, each with
// exactly --contacts contacts of its own, in the default folder or in
// --folder, in transactions that do not span two mailboxes.
func TestSeedUsers(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cg.db")
	out, errs, err := run(t, "seed", "--db", db, "--tenant", "contoso", "--user", "cap@contoso.com", "--users", "3", "--contacts", "5", "--batch", "2", "--seed", "3")
	if err != nil {
		t.Fatal(err, errs)
	}
	if !strings.Contains(out, "created 5 contacts in folder Contacts of each of 3 mailboxes, cap-00001@contoso.com to cap-00003@contoso.com") {
		t.Fatalf("seed printed %q", out)
	}
	if _, errs, err := run(t, "seed", "--db", db, "--tenant", "contoso", "--user", "cap@contoso.com", "--users", "2", "--folder", "Work", "--contacts", "4", "--seed", "4"); err != nil {
		t.Fatal(err, errs)
	}
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db, sqlite.Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tid := contactgraph.TenantID("contoso")
	seen := map[string]string{} // contact id -> mailbox
	docs := map[string]bool{}   // documents of all mailboxes
	for i, upn := range []string{"cap-00001@contoso.com", "cap-00002@contoso.com", "cap-00003@contoso.com"} {
		u, err := store.User(ctx, tid, upn)
		if err != nil {
			t.Fatalf("%s: %v", upn, err)
		}
		mb, err := store.Mailbox(ctx, tid, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		list, err := store.ListContacts(ctx, mb, mb.RootID, contactgraph.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 5 {
			t.Fatalf("%s has %d contacts in its default folder, want 5", upn, len(list))
		}
		for _, c := range list {
			if other, ok := seen[c.ID]; ok {
				t.Fatalf("contact %s is in %s and %s", c.ID, other, upn)
			}
			seen[c.ID] = upn
			docs[string(c.Doc)] = true
		}
		folders, err := store.ListFolders(ctx, mb, "", contactgraph.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var work []string
		for _, f := range folders {
			if f.DisplayName == "Work" {
				work = append(work, f.ID)
			}
		}
		want := 0
		if i < 2 {
			want = 4
			if len(work) != 1 {
				t.Fatalf("%s has %d folders called Work, want 1", upn, len(work))
			}
		} else if len(work) != 0 {
			t.Fatalf("%s, not in the second seed, has a folder Work", upn)
		}
		if len(work) == 1 {
			n, err := store.CountContacts(ctx, mb, work[0])
			if err != nil || n != want {
				t.Fatalf("%s: %d contacts in Work (%v), want %d", upn, n, err, want)
			}
		}
	}
	// The generator goes on from mailbox to mailbox: the data differs.
	if len(docs) != 15 {
		t.Fatalf("15 seeded contacts have %d distinct documents", len(docs))
	}
	for _, upn := range []string{"cap@contoso.com", "cap-00004@contoso.com"} {
		if _, err := store.User(ctx, tid, upn); !errors.Is(err, contactgraph.ErrNotFound) {
			t.Fatalf("%s: %v, want not found", upn, err)
		}
	}
}

// TestSeedUsersNeedsUPN: --users numbers the local part of a UPN
// (fakedata.NumberedUPNs), so a --user without a domain is refused.
func TestSeedUsersNeedsUPN(t *testing.T) {
	if _, _, err := run(t, "seed", "--db", filepath.Join(t.TempDir(), "cg.db"), "--user", "nodomain", "--users", "2", "--contacts", "1"); err == nil || !strings.Contains(err.Error(), "local@domain") {
		t.Fatalf("--users with a --user that is no UPN: %v", err)
	}
}
