package postgres_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/contactgraph/contactgraph"
	"github.com/contactgraph/contactgraph/fakedata"
	"github.com/contactgraph/contactgraph/internal/sqlstore"
	"github.com/contactgraph/contactgraph/odata"
	"github.com/contactgraph/contactgraph/postgres"
)

// TestEmailFilterUsesIndex: on an analyzed folder of a few thousand
// contacts, an email filter, alone or and-ed with another condition, is an
// index lookup in contact_emails joined to contacts by key.
func TestEmailFilterUsesIndex(t *testing.T) {
	t.Parallel()
	db, mb := planStore(t, generated(1, 3000), "contacts", "contact_emails")
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
	const id = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name SourceId"
	key, err := contactgraph.ExtendedPropertyKey(id)
	if err != nil {
		t.Fatal(err)
	}
	in := generated(2, 3000)
	for i := range in {
		in[i].Extended = []contactgraph.ExtendedProperty{{ID: id, Key: key, Value: "src-" + strconv.Itoa(i)}}
	}
	db, mb := planStore(t, in, "contacts", "contact_ext_props", "contact_emails")
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

// generated returns n contacts of fakedata's generator with seed.
func generated(seed uint64, n int) []contactgraph.ContactInput {
	gen := fakedata.New(seed)
	in := make([]contactgraph.ContactInput, n)
	for i := range in {
		in[i] = gen.Contact()
	}
	return in
}

// planStore returns a store on a fresh schema whose mailbox's default
// folder holds in, with the tables analyzed so that the planner costs
// them by their statistics.
func planStore(t *testing.T, in []contactgraph.ContactInput, analyze ...string) (*postgres.DB, contactgraph.Mailbox) {
	t.Helper()
	ctx := context.Background()
	db := newEnv(t, nil).db
	mb, err := db.EnsureMailbox(ctx, tenant, contactgraph.UserID(tenant, "a@contoso.com"), "a@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportContacts(ctx, mb, mb.RootID, in); err != nil {
		t.Fatal(err)
	}
	for _, table := range analyze {
		if _, err := db.SQL().ExecContext(ctx, `ANALYZE `+table); err != nil {
			t.Fatal(err)
		}
	}
	return db, mb
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
	return explain(t, db, q, args...)
}

// explain returns the EXPLAIN output of the query q (with $n placeholders).
func explain(t *testing.T, db *postgres.DB, q string, args ...any) string {
	t.Helper()
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

// TestContactRoundUsesKeys: on an analyzed folder of a few thousand
// contacts, a delta page reads the change log's primary key and each
// contact by its primary key, never a sequential scan.
func TestContactRoundUsesKeys(t *testing.T) {
	t.Parallel()
	db, mb := planStore(t, generated(3, 3000), "contacts", "changes")
	p := explain(t, db, sqlstore.RebindQuestion(sqlstore.ContactRoundQuery), sqlstore.ContactRoundArgs(mb, mb.RootID, contactgraph.ChangeQuery{Limit: 200}, false)...)
	if !strings.Contains(p, "using changes_pkey on changes") || !strings.Contains(p, "using contacts_pkey on contacts") || strings.Contains(p, "Seq Scan") {
		t.Errorf("the plan of a delta page:\n%s", p)
	}
	t.Logf("delta page:\n%s", p)
}
