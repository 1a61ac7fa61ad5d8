package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/odata"
	"github.com/contactgraph/contactgraph/postgres"
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
	if _, err := db.SQL().ExecContext(ctx, `ANALYZE contacts; ANALYZE contact_emails`); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{
		"emailAddresses/any(a:a/address eq 'x@example.com')",
		"givenName eq 'Ada' and emailAddresses/any(a:a/address eq 'x@example.com')",
	} {
		p := filterPlan(t, db, mb, f)
		if !strings.Contains(p, "contact_emails_pkey") || strings.Contains(p, "Seq Scan on contacts") {
			t.Errorf("%s: the plan does not look addresses up in the index:\n%s", f, p)
		}
	}
}

// TestExtendedPropertyFilterUsesIndex: on an analyzed folder of a few
// thousand contacts, each with an extended property, a $filter on the
// property's value, alone or and-ed with other conditions, is an index
// lookup in contact_ext_props_value joined to contacts by key (with an
// email condition, possibly the email index probing the property by its
// primary key), never a sequential scan.
func TestExtendedPropertyFilterUsesIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := newEnv(t, nil).db
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	const id = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name SourceId"
	key, err := contactgraph.ExtendedPropertyKey(id)
	if err != nil {
		t.Fatal(err)
	}
	gen := fakedata.New(2)
	in := make([]contactgraph.ContactInput, 3000)
	for i := range in {
		in[i] = gen.Contact()
		in[i].Extended = []contactgraph.ExtendedProperty{{ID: id, Key: key, Value: "src-" + strconv.Itoa(i)}}
	}
	if _, err := db.ImportContacts(ctx, mb, mb.RootID, in); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().ExecContext(ctx, `ANALYZE contacts; ANALYZE contact_ext_props; ANALYZE contact_emails`); err != nil {
		t.Fatal(err)
	}
	ep := "singleValueExtendedProperties/any(ep: ep/id eq '" + id + "' and ep/value eq 'SRC-7')"
	for _, f := range []string{
		ep,
		"displayName eq 'Ada' and " + ep,
		ep + " and emailAddresses/any(a:a/address eq 'x@example.com')",
	} {
		p := filterPlan(t, db, mb, f)
		// With an email condition too, the planner may start from the
		// email index and probe each candidate's property by primary key:
		// an index either way.
		byKey := strings.Contains(f, "emailAddresses") && strings.Contains(p, "using contact_ext_props_pkey on contact_ext_props")
		if !strings.Contains(p, "using contact_ext_props_value on contact_ext_props") && !byKey || strings.Contains(p, "Seq Scan") {
			t.Errorf("%s: the plan does not look the property up in the index:\n%s", f, p)
		}
		t.Logf("%s:\n%s", f, p)
	}
}

// filterPlan returns the EXPLAIN output of a contact list of mb's default
// folder with the $filter f.
func filterPlan(t *testing.T, db *postgres.DB, mb contactgraph.Mailbox, f string) string {
	t.Helper()
	e, err := odata.ParseFilter(f, contactgraph.ContactSchema)
	if err != nil {
		t.Fatal(err)
	}
	q, args, err := db.QueryContactsSQL(mb, mb.RootID, contactgraph.ListQuery{Filter: e, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.SQL().QueryContext(context.Background(), "EXPLAIN "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}
