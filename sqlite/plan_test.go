package sqlite_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/odata"
	"github.com/contactgraph/contactgraph/sqlite"
)

// TestEmailFilterUsesIndex: an email filter, alone or and-ed with another
// condition, reads the email index and the contacts by key, never every
// contact of the folder.
func TestEmailFilterUsesIndex(t *testing.T) {
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
	gen := fakedata.New(1)
	in := make([]contactgraph.ContactInput, 2000)
	for i := range in {
		in[i] = gen.Contact()
	}
	if _, err := db.ImportContacts(ctx, mb, mb.RootID, in); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"emailAddresses/any(a:a/address eq 'x@example.com')",
		"givenName eq 'Ada' and emailAddresses/any(a:a/address eq 'x@example.com')",
		"emailAddresses/any(a:a/address eq 'x@example.com') and not startswith(surname,'K')",
	} {
		e, err := odata.ParseFilter(f, contactgraph.ContactSchema)
		if err != nil {
			t.Fatal(err)
		}
		q, args, err := db.QueryContactsSQL(mb.RootID, contactgraph.ListQuery{Filter: e, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Read.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		if !strings.Contains(p, "contact_emails") || !strings.Contains(p, "folder_id=? AND address=?") ||
			!strings.Contains(p, "SEARCH contacts USING INDEX contacts_folder (folder_id=? AND id=?)") {
			t.Errorf("%s: the plan does not look addresses up in the index:\n%s", f, p)
		}
	}
}
