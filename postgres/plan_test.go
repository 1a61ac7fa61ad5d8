package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/odata"
)

// TestEmailFilterUsesIndex: on an analyzed folder of a few thousand
// contacts, an email filter, alone or and-ed with another condition, is an
// index lookup in contact_emails joined to contacts by key.
func TestEmailFilterUsesIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newEnv(t, nil).db
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	gen := fakedata.New(1)
	in := make([]contactgraph.ContactInput, 3000)
	for i := range in {
		in[i] = gen.Contact()
	}
	if _, err := db.ImportContacts(ctx, mb, mb.RootID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Write.ExecContext(ctx, `ANALYZE contacts; ANALYZE contact_emails`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"emailAddresses/any(a:a/address eq 'x@example.com')",
		"givenName eq 'Ada' and emailAddresses/any(a:a/address eq 'x@example.com')",
	} {
		e, err := odata.ParseFilter(f, contactgraph.ContactSchema)
		if err != nil {
			t.Fatal(err)
		}
		q, args, err := db.QueryContactsSQL(mb.RootID, contactgraph.ListQuery{Filter: e, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.Read.QueryContext(ctx, "EXPLAIN "+q, args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, line)
		}
		rows.Close()
		p := strings.Join(plan, "\n")
		if !strings.Contains(p, "contact_emails_pkey") || strings.Contains(p, "Seq Scan on contacts") {
			t.Errorf("%s: the plan does not look addresses up in the index:\n%s", f, p)
		}
	}
}
