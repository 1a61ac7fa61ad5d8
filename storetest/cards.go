package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/contactgraph/contactgraph"
)

// testCardNames: a card name outlives its contact until the tombstone is
// pruned, can then be taken over, and of concurrent creates of one name
// exactly one wins.
func testCardNames(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "cards@contoso.com")
	c := must(s.CreateNamedContact(ctx(), mb, mb.RootID, "phone-1.vcf", contactIn(t, `{"givenName":"Ada"}`)))
	if got := must(s.NamedContact(ctx(), mb, mb.RootID, "phone-1.vcf")); got.ID != c.ID {
		t.Fatalf("NamedContact = %s, want %s", got.ID, c.ID)
	}
	if _, err := s.CreateNamedContact(ctx(), mb, mb.RootID, "phone-1.vcf", contactIn(t, `{"givenName":"Bob"}`)); contactgraph.ErrorCode(err) != contactgraph.EConflict {
		t.Fatalf("second create of one name: %v, want EConflict", err)
	}
	must(0, s.DeleteContact(ctx(), mb, c.ID, ""))
	if _, err := s.NamedContact(ctx(), mb, mb.RootID, "phone-1.vcf"); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Fatalf("NamedContact of a deleted card: %v, want ENotFound", err)
	}
	if names := must(s.CardNames(ctx(), mb, mb.RootID, []string{c.ID})); names[c.ID] != "phone-1.vcf" {
		t.Fatalf("CardNames after delete = %v: the name must outlive the contact", names)
	}
	clock.Advance(48 * time.Hour)
	must(s.Prune(ctx(), contactgraph.Retention{Items: clock.Now().Add(-time.Hour)}))
	if names := must(s.CardNames(ctx(), mb, mb.RootID, []string{c.ID})); len(names) != 0 {
		t.Fatalf("CardNames after the tombstone was pruned = %v", names)
	}
	again := must(s.CreateNamedContact(ctx(), mb, mb.RootID, "phone-1.vcf", contactIn(t, `{"givenName":"Eve"}`)))
	if got := must(s.NamedContact(ctx(), mb, mb.RootID, "phone-1.vcf")); got.ID != again.ID {
		t.Fatalf("the name was not taken over: %s", got.ID)
	}

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.CreateNamedContact(ctx(), mb, mb.RootID, "race.vcf", contactgraph.ContactInput{})
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch contactgraph.ErrorCode(err) {
		case "":
			won++
		case contactgraph.EConflict:
		default:
			t.Fatalf("concurrent create: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d concurrent creates of one name won, want 1", won)
	}
}

// testContactsPosition: a folder's position moves with its own contacts
// only, and ContactChanges answers from it.
func testContactsPosition(t *testing.T, s contactgraph.Store, clock *Clock) {
	mb := mailbox(t, s, "position@contoso.com")
	other := must(s.CreateFolder(ctx(), mb, "", folderIn("Other")))
	p0 := must(s.ContactsPosition(ctx(), mb, mb.RootID, 0))
	c := must(s.CreateContact(ctx(), mb, mb.RootID, contactIn(t, `{"givenName":"Ada"}`)))
	p1 := must(s.ContactsPosition(ctx(), mb, mb.RootID, 0))
	if p1.Rev != c.Rev || p1.Rev <= p0.Rev || p1.At.IsZero() {
		t.Fatalf("position after a create = %+v (before %+v), want rev %d", p1, p0, c.Rev)
	}
	must(s.CreateContact(ctx(), mb, other.ID, contactIn(t, `{"givenName":"Bob"}`)))
	if p := must(s.ContactsPosition(ctx(), mb, mb.RootID, 0)); p != p1 {
		t.Fatalf("a change of another folder moved the position: %+v, was %+v", p, p1)
	}
	if p := must(s.ContactsPosition(ctx(), mb, mb.RootID, c.Rev-1)); p.Rev != p0.Rev {
		t.Fatalf("position at or below %d = %+v, want %d", c.Rev-1, p, p0.Rev)
	}
	must(0, s.DeleteContact(ctx(), mb, c.ID, ""))
	p2 := must(s.ContactsPosition(ctx(), mb, mb.RootID, 0))
	page := must(s.ContactChanges(ctx(), mb, mb.RootID, contactgraph.ChangeQuery{Since: p1.Rev, Limit: 10}))
	if len(page.Changes) != 1 || !page.Changes[0].Removed || p2.Rev <= p1.Rev {
		t.Fatalf("changes since %d: %+v (position now %+v)", p1.Rev, page.Changes, p2)
	}
	clock.Advance(48 * time.Hour)
	must(s.Prune(ctx(), contactgraph.Retention{Items: clock.Now().Add(-time.Hour)}))
	p3 := must(s.ContactsPosition(ctx(), mb, mb.RootID, 0))
	if p3.Rev < p2.Rev {
		t.Fatalf("position after pruning = %+v, below the floor %d", p3, p2.Rev)
	}
	must(s.ContactChanges(ctx(), mb, mb.RootID, contactgraph.ChangeQuery{Since: p3.Rev, Limit: 10}))
	if _, err := s.ContactsPosition(ctx(), mb, contactgraph.NewID(), 0); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Fatalf("position of an unknown folder: %v", err)
	}
}

// testFolderNames: a folder's name is unique in its mailbox, resolves to
// the folder, and goes with the folder.
func testFolderNames(t *testing.T, s contactgraph.Store, _ *Clock) {
	mb := mailbox(t, s, "books@contoso.com")
	other := mailbox(t, s, "books2@contoso.com")
	dn := "Work"
	f := must(s.CreateNamedFolder(ctx(), mb, "", "work", contactgraph.FolderInput{DisplayName: &dn}))
	if id := must(s.NamedFolder(ctx(), mb, "work")); id != f.ID {
		t.Fatalf("NamedFolder = %s, want %s", id, f.ID)
	}
	dn2 := "Other"
	if _, err := s.CreateNamedFolder(ctx(), mb, "", "work", contactgraph.FolderInput{DisplayName: &dn2}); contactgraph.ErrorCode(err) != contactgraph.EConflict {
		t.Fatalf("a second folder named work: %v, want EConflict", err)
	}
	if _, err := s.NamedFolder(ctx(), other, "work"); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Fatalf("NamedFolder of another mailbox: %v, want ENotFound", err)
	}
	if names := must(s.FolderNames(ctx(), mb)); len(names) != 1 || names[f.ID] != "work" {
		t.Fatalf("FolderNames = %v", names)
	}
	if err := s.DeleteFolder(ctx(), mb, f.ID); err != nil {
		t.Fatal(err)
	}
	if names := must(s.FolderNames(ctx(), mb)); len(names) != 0 {
		t.Fatalf("FolderNames after DeleteFolder = %v", names)
	}
	must(s.CreateNamedFolder(ctx(), mb, "", "work", contactgraph.FolderInput{DisplayName: &dn}))
}
