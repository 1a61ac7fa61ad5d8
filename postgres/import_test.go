package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/odata"
)

// TestCopyImport: an import by COPY writes what the engine's import
// writes: contacts in revision order in the change log, the email index,
// revisions that later writes continue; a bad folder or user writes
// nothing; a subscribed folder's import goes row by row and queues its
// notifications.
func TestCopyImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	ctx := context.Background()
	mb := mailbox(t, e.db, "alice@contoso.com")
	in := make([]contactgraph.ContactInput, 300)
	for i := range in {
		var err error
		in[i], err = contactgraph.ParseContactInput([]byte(fmt.Sprintf(`{"givenName":"C%d","emailAddresses":[{"address":"C%d@Example.com"},{"address":"c%d@example.com"},{"address":"other%d@example.com"}]}`, i, i, i, i)))
		if err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.db.ImportContacts(ctx, mb, mb.RootID, in); err != nil || n != len(in) {
		t.Fatalf("import: %d, %v", n, err)
	}
	page, err := e.db.ContactChanges(ctx, mb, mb.RootID, contactgraph.ChangeQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Changes) != len(in) {
		t.Fatalf("the change log has %d contacts, want %d", len(page.Changes), len(in))
	}
	for i, c := range page.Changes {
		if c.Removed || c.Contact == nil || c.Contact.Rev != c.Rev || (i > 0 && c.Rev != page.Changes[i-1].Rev+1) {
			t.Fatalf("change %d: %+v", i, c)
		}
		if got, want := string(c.Contact.Doc), fmt.Sprintf(`"givenName":"C%d"`, i); !strings.Contains(got, want) {
			t.Fatalf("change %d holds %s, want the contact with %s", i, got, want)
		}
	}
	// The email index holds each contact's addresses, case-folded and once.
	e.checkRows(t, `SELECT count(*) FROM contact_emails WHERE folder_id = $1`, []any{mb.RootID}, 2*len(in))
	f, err := odata.ParseFilter(`emailAddresses/any(a:a/address eq 'C7@example.com')`, contactgraph.ContactSchema)
	if err != nil {
		t.Fatal(err)
	}
	found, err := e.db.QueryContacts(ctx, mb, mb.RootID, contactgraph.ListQuery{Filter: f, Limit: 10})
	if err != nil || len(found.Items) != 1 {
		t.Fatalf("lookup by email: %d contacts, %v", len(found.Items), err)
	}
	last := page.Changes[len(page.Changes)-1].Rev
	c, err := e.db.CreateContact(ctx, mb, mb.RootID, in[0])
	if err != nil || c.Rev != last+1 {
		t.Fatalf("a create after the import has rev %d (%v), want %d", c.Rev, err, last+1)
	}

	// Nothing is written for a folder or user that does not exist.
	if _, err := e.db.ImportContacts(ctx, mb, "no-such-folder", in); contactgraph.ErrorCode(err) != contactgraph.ENotFound {
		t.Fatalf("import into a missing folder: %v", err)
	}
	ghost := contactgraph.Mailbox{TenantID: mb.TenantID, UserID: "ghost", RootID: mb.RootID}
	if _, err := e.db.ImportContacts(ctx, ghost, mb.RootID, in); contactgraph.ErrorCode(err) != contactgraph.EUserNotFound {
		t.Fatalf("import for an unknown user: %v", err)
	}
	c2, err := e.db.CreateContact(ctx, mb, mb.RootID, in[1])
	if err != nil || c2.Rev != c.Rev+1 {
		t.Fatalf("after two refused imports a create has rev %d (%v), want %d: a refused import took revisions", c2.Rev, err, c.Rev+1)
	}
	e.checkRows(t, `SELECT count(*) FROM contacts`, nil, len(in)+2)

	// A subscribed folder: the engine's import, with a notification per contact.
	subscribe(t, e.db, "sub-1", mb)
	before, err := e.db.OutboxDepth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.ImportContacts(ctx, mb, mb.RootID, in[:10]); err != nil {
		t.Fatal(err)
	}
	if after, err := e.db.OutboxDepth(ctx); err != nil || after != before+10 {
		t.Fatalf("outbox %d after importing 10 into a subscribed folder (%v), want %d", after, err, before+10)
	}
}

func (e *env) checkRows(t *testing.T, q string, args []any, want int) {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil || n != want {
		t.Fatalf("%s: %d rows (%v), want %d", q, n, err, want)
	}
}
